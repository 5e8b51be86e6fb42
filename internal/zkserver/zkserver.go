// Package zkserver runs a standalone ZooKeeper server: Debian's package
// (zookeeper, which needs Java), run as
//
//	java -cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar \
//		org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg
//
// with a generated zoo.cfg: no admin server, listening on one address. The
// classpath can be overridden with ZOOKEEPER_CLASSPATH, or taken from a
// ZooKeeper distribution with ZOOKEEPER_HOME; java is $JAVA_HOME/bin/java
// or found in PATH. squall dev-cluster and the tests (internal/zktest) use
// it.
package zkserver

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/squallstream/squall/internal/serverproc"
)

// Server is a running ZooKeeper server. Its methods are safe for
// concurrent use.
type Server struct {
	*serverproc.Proc
	addr string
}

// Addr returns the server's client address, host:port.
func (s *Server) Addr() string { return s.addr }

// startTimeout bounds how long a server may take to answer; it usually
// takes well under 5 s.
const startTimeout = 60 * time.Second

// MissingError means Java or ZooKeeper is not installed.
type MissingError struct{ Msg string }

func (e *MissingError) Error() string { return e.Msg }

// Options configure a server.
type Options struct {
	// Dir holds the server's configuration, data and log.
	Dir string
	// Port is the client port; 0 picks a free one (and retries if it is
	// taken meanwhile).
	Port int
	// Host is the address to listen on; default 127.0.0.1.
	Host string
	// Test trades durability for speed: 200 ms ticks (short sessions
	// allowed) and no fsync.
	Test bool
}

// Start starts a standalone server and waits until it serves.
func Start(o Options) (*Server, error) {
	java, cp, err := findZooKeeper()
	if err != nil {
		return nil, err
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	return serverproc.Retry(o.Port != 0, func(attempt int) (*Server, error) { return startOnce(o, java, cp, attempt) })
}

// findZooKeeper returns the java binary and the classpath to run
// ZooKeeper's server with.
func findZooKeeper() (java, classpath string, err error) {
	java = "java"
	if home := os.Getenv("JAVA_HOME"); home != "" {
		java = filepath.Join(home, "bin", "java")
	}
	java, err = exec.LookPath(java)
	if err != nil {
		return "", "", &MissingError{fmt.Sprintf(
			"zkserver: java not found (%v): install the Debian package zookeeper, which brings Java, or set JAVA_HOME", err)}
	}
	if cp := os.Getenv("ZOOKEEPER_CLASSPATH"); cp != "" {
		return java, cp, nil
	}
	if home := os.Getenv("ZOOKEEPER_HOME"); home != "" {
		return java, filepath.Join(home, "conf") + ":" + filepath.Join(home, "lib", "*"), nil
	}
	const jar = "/usr/share/java/zookeeper.jar" // Debian's; its manifest lists its dependencies
	if _, err := os.Stat(jar); err != nil {
		return "", "", &MissingError{fmt.Sprintf(
			"zkserver: ZooKeeper not found (%v): install the Debian package zookeeper, or set ZOOKEEPER_HOME or ZOOKEEPER_CLASSPATH", err)}
	}
	cp := []string{jar}
	if fi, err := os.Stat("/etc/zookeeper/conf"); err == nil && fi.IsDir() {
		cp = append([]string{"/etc/zookeeper/conf"}, cp...)
	}
	// Without an SLF4J binding the server logs nothing; Debian's
	// libslf4j-java has a simple one that writes to stderr.
	if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
		cp = append(cp, "/usr/share/java/slf4j-simple.jar")
	}
	return java, strings.Join(cp, ":"), nil
}

// startOnce starts a server on a free port and waits until it serves.
func startOnce(o Options, java, classpath string, attempt int) (*Server, error) {
	dir, port := o.Dir, o.Port
	if port == 0 {
		var err error
		if port, err = serverproc.FreePort(); err != nil {
			return nil, fmt.Errorf("zkserver: pick a port: %w", err)
		}
	}
	dataDir := filepath.Join(dir, "data")
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	// Short ticks so that sessions can be short: the server allows session
	// timeouts from 2 ticks (minSessionTimeout) to maxSessionTimeout.
	tick, sync := 2000, "yes"
	if o.Test {
		tick, sync = 200, "no"
	}
	cfg := fmt.Sprintf(`tickTime=%d
minSessionTimeout=%d
maxSessionTimeout=60000
dataDir=%s
clientPort=%d
clientPortAddress=%s
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,cons,dump,mntr
forceSync=%s
`, tick, 2*tick, dataDir, port, o.Host, sync)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	logPath := filepath.Join(dir, fmt.Sprintf("zookeeper-%d.log", attempt))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("zkserver: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command(java,
		"-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Djava.awt.headless=true",
		"-Dzookeeper.admin.enableServer=false",
		"-Dzookeeper.jmx.log4j.disable=true",
		"-Dorg.slf4j.simpleLogger.showDateTime=true",
		"-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
		"-cp", classpath,
		"org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
	cmd.Dir = dir
	cmd.Env = javaEnv()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := serverproc.Start(cmd, logPath)
	if err != nil {
		return nil, fmt.Errorf("zkserver: start %s: %w", java, err)
	}
	s := &Server{Proc: proc, addr: net.JoinHostPort(o.Host, strconv.Itoa(port))}
	if err := s.WaitReady(startTimeout, 50*time.Millisecond, s.serving); err != nil {
		s.Stop()
		return nil, fmt.Errorf("zkserver: zookeeper on %s: %w\nlog %s:\n%s", s.addr, err, logPath, s.LogTail(40))
	}
	return s, nil
}

// javaEnv is the environment of the server: the test's, without variables
// that would make the JVM print to stdout or load agents.
func javaEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "JAVA_TOOL_OPTIONS=") || strings.HasPrefix(kv, "_JAVA_OPTIONS=") || strings.HasPrefix(kv, "JDK_JAVA_OPTIONS=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// serving asks the server with the "srvr" command whether it serves.
func (s *Server) serving() error {
	reply, err := s.FourLetterWord("srvr")
	if err == nil && !strings.Contains(reply, "Mode: standalone") {
		err = fmt.Errorf("srvr answered %q", reply)
	}
	return err
}

// FourLetterWord sends one of ZooKeeper's four-letter commands (ruok, srvr,
// stat, cons, dump, mntr) and returns the reply.
func (s *Server) FourLetterWord(cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", s.addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, cmd); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	_, err = io.Copy(&buf, c)
	return buf.String(), err
}
