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
	"time"

	"github.com/squallstream/squall/internal/serverproc"
)

// Server is a running Redis server. Its methods are safe for concurrent use.
type Server struct {
	*serverproc.Proc
	addr string
	port int
}

// Addr returns the server's client address, host:port.
func (s *Server) Addr() string { return s.addr }

// Port returns the server's client port, so that a test can start the
// server again where its clients expect it.
func (s *Server) Port() int { return s.port }

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
	return serverproc.Retry(o.Port != 0, func(attempt int) (*Server, error) { return startOnce(o, bin, attempt) })
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
		if port, err = serverproc.FreePort(); err != nil {
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
	proc, err := serverproc.Start(cmd, logPath)
	if err != nil {
		return nil, fmt.Errorf("redisserver: start %s: %w", bin, err)
	}
	s := &Server{Proc: proc, addr: net.JoinHostPort(o.Host, strconv.Itoa(port)), port: port}
	if err := s.WaitReady(startTimeout, 20*time.Millisecond, s.serving); err != nil {
		s.Stop()
		return nil, fmt.Errorf("redisserver: redis on %s: %w\nlog %s:\n%s", s.addr, err, logPath, s.LogTail(40))
	}
	return s, nil
}

// serving asks the server with PING whether it serves: PONG, not LOADING.
func (s *Server) serving() error {
	reply, err := s.Ping()
	if err == nil && reply != "+PONG" {
		err = fmt.Errorf("PING answered %q", reply)
	}
	return err
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
