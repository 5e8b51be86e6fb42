// Package redisserver runs a standalone Redis server: Debian's package
// redis-server, run as
//
//	redis-server --port PORT --bind 127.0.0.1 --save '' --appendonly no
//
// in a directory of its own, or with an append-only file synced on every
// write when persistence is the point (Options.Persist). The binary is
// $REDIS_SERVER or redis-server in PATH. The tests of package state use it
// through redistest.
package redisserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Server is a running Redis server. Its methods are safe for concurrent use.
type Server struct {
	addr    string
	port    int
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has been reaped
	stop    sync.Once
}

// Addr returns the server's client address, host:port.
func (s *Server) Addr() string { return s.addr }

// Port returns the server's client port, so that a test can start the
// server again where its clients expect it.
func (s *Server) Port() int { return s.port }

// Pid returns the server's process id (also its process group's).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited is closed once the server's process has been reaped.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// Stop kills the server's process group with SIGKILL, as a crash would, and
// waits for it. It is idempotent.
func (s *Server) Stop() {
	s.stop.Do(func() {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	})
}

// LogTail returns the last n lines of the server's log.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return fmt.Sprintf("(read log: %v)", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// startTimeout bounds how long a server may take to answer; it usually
// answers within milliseconds, loading a large append-only file takes
// longer.
const startTimeout = 60 * time.Second

// MissingError means redis-server is not installed.
type MissingError struct{ Msg string }

func (e *MissingError) Error() string { return e.Msg }

// Options configure a server.
type Options struct {
	// Dir holds the server's data and log.
	Dir string
	// Port is the client port; 0 picks a free one (and retries if it is
	// taken meanwhile).
	Port int
	// Host is the address to listen on; default 127.0.0.1.
	Host string
	// Persist keeps the data in an append-only file in Dir, synced on every
	// write, so that a server started again on Dir after a kill -9 has
	// every acknowledged write. Without it nothing is written to disk.
	Persist bool
}

// Start starts a server and waits until it answers PING.
func Start(o Options) (*Server, error) {
	bin, err := findRedis()
	if err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Dir == "" {
		return nil, errors.New("redisserver: Options.Dir is empty")
	}
	for attempt := 1; ; attempt++ {
		s, err := startOnce(o, bin, attempt)
		if err == nil || attempt == 3 || o.Port != 0 || !strings.Contains(err.Error(), "Address already in use") {
			return s, err
		}
	}
}

func findRedis() (string, error) {
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin = "redis-server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return "", &MissingError{fmt.Sprintf(
			"redisserver: %s not found (%v): install the Debian package redis-server, or set REDIS_SERVER", bin, err)}
	}
	return path, nil
}

func startOnce(o Options, bin string, attempt int) (*Server, error) {
	port := o.Port
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("redisserver: pick a port: %w", err)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("redisserver: %w", err)
	}
	logPath := filepath.Join(o.Dir, fmt.Sprintf("redis-%d-%d.log", port, attempt))
	args := []string{
		"--port", strconv.Itoa(port),
		"--bind", o.Host,
		"--dir", o.Dir,
		"--logfile", logPath,
		"--daemonize", "no",
		"--save", "",
		"--databases", "16",
	}
	if o.Persist {
		args = append(args, "--appendonly", "yes", "--appendfsync", "always")
	} else {
		args = append(args, "--appendonly", "no")
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = o.Dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("redisserver: start %s: %w", bin, err)
	}
	s := &Server{
		addr:    net.JoinHostPort(o.Host, strconv.Itoa(port)),
		port:    port,
		logPath: logPath,
		cmd:     cmd,
		exited:  make(chan struct{}),
	}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(); err != nil {
		s.Stop()
		return nil, fmt.Errorf("redisserver: redis on %s: %w\nlog %s:\n%s", s.addr, err, logPath, s.LogTail(40))
	}
	return s, nil
}

// waitReady polls the server with PING until it answers PONG (not LOADING),
// the process exits, or startTimeout passes.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("exited before serving (%v)", s.cmd.ProcessState)
		default:
		}
		reply, err := s.Ping()
		if err == nil && reply == "+PONG" {
			return nil
		}
		last = err
		if err == nil {
			last = fmt.Errorf("PING answered %q", reply)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not serving after %v: %v", startTimeout, last)
}

// Ping sends PING over a fresh connection and returns the reply line, such
// as "+PONG" or "-LOADING ...".
func (s *Server) Ping() (string, error) {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

// freePort returns a port nothing listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
