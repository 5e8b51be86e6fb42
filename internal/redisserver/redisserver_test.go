package redisserver_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/redisserver/redistest"
)

// command sends one RESP command and returns the first reply line.
func command(t *testing.T, addr string, args ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatalf("write: %v", err)
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if strings.HasPrefix(line, "$") && line != "$-1" {
		value, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read bulk: %v", err)
		}
		return strings.TrimRight(value, "\r\n")
	}
	return line
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	s := redistest.Start(t)
	if host, _, err := net.SplitHostPort(s.Addr()); err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", s.Addr())
	}
	if got := command(t, s.Addr(), "SET", "k", "v"); got != "+OK" {
		t.Fatalf("SET = %q, want +OK", got)
	}
	if got := command(t, s.Addr(), "GET", "k"); got != "v" {
		t.Fatalf("GET = %q, want v", got)
	}
	pid := s.Pid()
	s.Stop()
	s.Stop() // idempotent
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Errorf("server still accepts connections after Stop")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still exists after Stop", pid)
	}
}

// A persistent server keeps an acknowledged write through a kill -9; a
// plain one does not.
func TestRestartAfterKill(t *testing.T) {
	t.Parallel()
	for _, persist := range []bool{true, false} {
		t.Run(fmt.Sprint("persist=", persist), func(t *testing.T) {
			t.Parallel()
			start := redistest.Start
			if persist {
				start = redistest.StartPersistent
			}
			s := start(t)
			if got := command(t, s.Addr(), "SET", "k", "v"); got != "+OK" {
				t.Fatalf("SET = %q, want +OK", got)
			}
			port := s.Port()
			s = s.Restart(t)
			if s.Port() != port {
				t.Fatalf("Restart moved the server from port %d to %d", port, s.Port())
			}
			want := "$-1"
			if persist {
				want = "v"
			}
			if got := command(t, s.Addr(), "GET", "k"); got != want {
				t.Fatalf("GET after restart = %q, want %q", got, want)
			}
		})
	}
}
