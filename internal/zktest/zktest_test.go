package zktest

import (
	"errors"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestStartStop(t *testing.T) {
	t.Parallel()
	s := Start(t)
	if host, _, err := net.SplitHostPort(s.Addr()); err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:port", s.Addr())
	}
	reply, err := s.FourLetterWord("ruok")
	if err != nil || reply != "imok" {
		t.Fatalf(`FourLetterWord("ruok") = %q, %v; want "imok"`, reply, err)
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

func TestSharedAndRoot(t *testing.T) {
	t.Parallel()
	a, b := Shared(t), Shared(t)
	if a != b {
		t.Fatalf("Shared returned two servers")
	}
	r1, r2 := Root(t), Root(t)
	if r1 == r2 || !strings.HasPrefix(r1, "/TestSharedAndRoot-") {
		t.Fatalf("Root() = %q then %q, want distinct /TestSharedAndRoot-N paths", r1, r2)
	}
}

func TestExpireSession(t *testing.T) {
	t.Parallel()
	s := Shared(t)
	var rec SessionRecorder
	conn, _, err := zk.Connect([]string{s.Addr()}, 10*time.Second, zk.WithDialer(rec.Dial), zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := Root(t)
	if _, err := conn.Create(root, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create(root+"/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	id, passwd, ok := rec.Session()
	if !ok || id != conn.SessionID() {
		t.Fatalf("Session() = %#x, ok %v; client's session is %#x", id, ok, conn.SessionID())
	}

	if err := s.ExpireSession(id, passwd); err != nil {
		t.Fatal(err)
	}
	// The ephemeral node is gone at once, for everyone.
	other, _, err := zk.Connect([]string{s.Addr()}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if ok, _, err := other.Exists(root + "/eph"); err != nil || ok {
		t.Errorf("ephemeral node exists = %v, %v after ExpireSession; want false", ok, err)
	}
	// The client gets a new session.
	deadline := time.Now().Add(20 * time.Second)
	for conn.SessionID() == id || conn.State() != zk.StateHasSession {
		if time.Now().After(deadline) {
			t.Fatalf("client still has session %#x (state %v)", conn.SessionID(), conn.State())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if newID, _, _ := rec.Session(); newID != conn.SessionID() {
		t.Errorf("Session() = %#x after expiry, client's session is %#x", newID, conn.SessionID())
	}
	// Expiring it again fails: the server no longer knows the old session.
	if err := s.ExpireSession(id, passwd); !errors.Is(err, errNoSession) {
		t.Errorf("ExpireSession(old) = %v, want errNoSession", err)
	}
}
