package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zktest"
)

// One ZooKeeper server serves all tests of the package, each test under a
// root of its own.
func TestMain(m *testing.M) { os.Exit(zktest.Main(m)) }

func testConfig(srv *zktest.Server, root string) Config {
	cfg := DefaultConfig()
	// The server three times over: the client pauses a second whenever it
	// has tried every server in its list without success, which after an
	// expiry (old server: connection lost; next: session expired; next: new
	// session) would cost two seconds per expiry with one entry.
	cfg.Servers = []string{srv.Addr(), srv.Addr(), srv.Addr()}
	cfg.SessionTimeout = 10 * time.Second
	cfg.Root = root
	return cfg
}

// testLogWriter writes log lines to t until t's cleanup, then drops them
// (the ZooKeeper client may log from its own goroutine after Close).
type testLogWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool // guarded by mu
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	w := &testLogWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openZK opens a ZooKeeper State under root, closed when t ends, with a
// recorder of its sessions.
func openZK(t *testing.T, srv *zktest.Server, root string) (*ZooKeeper, *zktest.SessionRecorder) {
	return openZKAs(t, srv, root, zkacl.Credential{})
}

// openZKAs is openZK with the session's credential (zero: none).
func openZKAs(t *testing.T, srv *zktest.Server, root string, auth zkacl.Credential) (*ZooKeeper, *zktest.SessionRecorder) {
	t.Helper()
	rec := &zktest.SessionRecorder{}
	cfg := testConfig(srv, root)
	cfg.Auth = auth
	z, err := newZooKeeper(cfg, testLogger(t), rec.Dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	return z, rec
}

func newZooKeeperBackend(t *testing.T) backend {
	return newZooKeeperBackendAs(t, zkacl.Credential{})
}

// newZooKeeperACLBackend is the ZooKeeper backend with a daemon
// credential: every node the cluster's own.
func newZooKeeperACLBackend(t *testing.T) backend {
	return newZooKeeperBackendAs(t, testCredential)
}

// testCredential is the daemons' ZooKeeper credential in the tests.
var testCredential = zkacl.Credential{Scheme: zkacl.SchemeDigest, Payload: []byte("squall:test-password")}

func newZooKeeperBackendAs(t *testing.T, auth zkacl.Credential) backend {
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	var mu sync.Mutex
	recs := make(map[State]*zktest.SessionRecorder) // guarded by mu
	return backend{
		open: func(t *testing.T) State {
			z, rec := openZKAs(t, srv, root, auth)
			mu.Lock()
			recs[z] = rec
			mu.Unlock()
			return z
		},
		expire: func(t *testing.T, st State) {
			mu.Lock()
			rec := recs[st]
			mu.Unlock()
			expireZK(t, srv, st.(*ZooKeeper), rec)
		},
	}
}

// expireZK expires z's session and waits until z has a new one.
func expireZK(t *testing.T, srv *zktest.Server, z *ZooKeeper, rec *zktest.SessionRecorder) {
	t.Helper()
	testenv.WaitErr(t, 20*time.Second, "a session to expire", func() error {
		if _, _, ok := rec.Session(); !ok {
			return errors.New("no session yet")
		}
		return nil
	})
	id, passwd, _ := rec.Session()
	if err := srv.ExpireSession(id, passwd); err != nil {
		t.Fatal(err)
	}
	testenv.WaitErr(t, 20*time.Second, "a new session", func() error {
		z.mu.Lock()
		defer z.mu.Unlock()
		if z.session == id || !z.connected {
			return fmt.Errorf("session %s, connected %v", sessionHex(z.session), z.connected)
		}
		return nil
	})
}

// rawZK connects a plain client, for looking at what State wrote.
func rawZK(t *testing.T, srv *zktest.Server) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{srv.Addr()}, 10*time.Second, zk.WithLogger(zkLogger{testLogger(t)}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	tests := []struct {
		name   string
		modify func(*Config)
		field  string // in the error, "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"host only", func(c *Config) { c.Servers = []string{"zk1", "zk2:2182"} }, ""},
		{"ipv6", func(c *Config) { c.Servers = []string{"[::1]:2181", "::1"} }, ""},
		{"no servers", func(c *Config) { c.Servers = nil }, "Servers"},
		{"empty server", func(c *Config) { c.Servers = []string{""} }, "Servers"},
		{"bad port", func(c *Config) { c.Servers = []string{"zk1:http"} }, "Servers"},
		{"port out of range", func(c *Config) { c.Servers = []string{"zk1:70000"} }, "Servers"},
		{"zero timeout", func(c *Config) { c.SessionTimeout = 0 }, "SessionTimeout"},
		{"relative root", func(c *Config) { c.Root = "squall" }, "Root"},
		{"slash root", func(c *Config) { c.Root = "/" }, "Root"},
		{"trailing slash", func(c *Config) { c.Root = "/squall/" }, "Root"},
		{"dot element", func(c *Config) { c.Root = "/a/../b" }, "Root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			c.Servers = append([]string(nil), ok.Servers...)
			tt.modify(&c)
			err := c.Validate()
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.field != "" && (err == nil || !strings.Contains(err.Error(), tt.field)):
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.field)
			}
		})
	}
}

// The nodes are where DESIGN.md says, hold JSON, and are ephemeral where
// they should be.
func TestZooKeeperLayout(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	z, _ := openZK(t, srv, root)

	if _, err := z.SetTopology(ctx, sampleTopology("wc-1-1")); err != nil {
		t.Fatal(err)
	}
	if _, err := z.SetAssignment(ctx, sampleAssignment("wc-1-1")); err != nil {
		t.Fatal(err)
	}
	if err := z.RegisterSupervisor(ctx, sampleSupervisor("sup-1", "host-a")); err != nil {
		t.Fatal(err)
	}
	if err := z.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: "wc-1-1", NodeID: "node-a", Port: 6700, Time: t0}); err != nil {
		t.Fatal(err)
	}
	if err := z.ReportError(ctx, "wc-1-1", ErrorInfo{Component: "split", Message: "boom", Time: t0}); err != nil {
		t.Fatal(err)
	}
	nimbus := NimbusInfo{Host: "nimbus-a", Port: 6627, StartTime: t0}
	if err := z.RegisterNimbus(ctx, nimbus); err != nil {
		t.Fatal(err)
	}
	if _, err := z.Campaign(ctx, nimbus); err != nil {
		t.Fatal(err)
	}

	raw := rawZK(t, srv)
	session := z.conn.SessionID()
	tests := []struct {
		path      string
		ephemeral bool
		contains  string
	}{
		{"/storms/wc-1-1", false, `"status":"ACTIVE"`},
		{"/assignments/wc-1-1", false, `"[-1 -1]":{"node":"node-a","port":6700}`},
		{"/supervisors/sup-1", true, `"ports":[6700,6701,6702]`},
		{"/workerbeats/wc-1-1/node-a-6700", false, `"port":6700`},
		{"/errors/wc-1-1/split/e0000000000", false, `"message":"boom"`},
		{"/nimbuses/nimbus-a:6627", true, `"host":"nimbus-a"`},
	}
	for _, tt := range tests {
		data, stat, err := raw.Get(root + tt.path)
		if err != nil {
			t.Errorf("get %s: %v", tt.path, err)
			continue
		}
		if !json.Valid(data) || !strings.Contains(string(data), tt.contains) {
			t.Errorf("%s = %s, want JSON containing %s", tt.path, data, tt.contains)
		}
		if owner := stat.EphemeralOwner; (owner == session) != tt.ephemeral {
			t.Errorf("%s: ephemeral owner %s, want ephemeral %v of session %s", tt.path, sessionHex(owner), tt.ephemeral, sessionHex(session))
		}
	}
	kids, _, err := raw.Children(root + "/leader-lock")
	if err != nil || len(kids) != 1 || !regexp.MustCompile(`^[0-9a-f]{32}-n_\d{10}$`).MatchString(kids[0]) {
		t.Fatalf("leader-lock children = %q, %v; want one <guid>-n_<seq>", kids, err)
	}
	if _, stat, err := raw.Get(root + "/leader-lock/" + kids[0]); err != nil || stat.EphemeralOwner != session {
		t.Errorf("candidate node: %v, owner %v; want ephemeral of %s", err, stat, sessionHex(session))
	}
}

// After an expiry the registrations belong to the new session, so they
// live as long as it does.
func TestZooKeeperReregistersInNewSession(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	z, rec := openZK(t, srv, root)
	if err := z.RegisterSupervisor(ctx, sampleSupervisor("sup-1", "host-a")); err != nil {
		t.Fatal(err)
	}
	old := z.conn.SessionID()
	expireZK(t, srv, z, rec)
	raw := rawZK(t, srv)
	testenv.WaitErr(t, 20*time.Second, "supervisor owned by the new session", func() error {
		_, stat, err := raw.Get(root + "/supervisors/sup-1")
		if err != nil {
			return err
		}
		if now := z.conn.SessionID(); stat.EphemeralOwner != now || now == old {
			return fmt.Errorf("owner %s, session %s (old %s)", sessionHex(stat.EphemeralOwner), sessionHex(now), sessionHex(old))
		}
		return nil
	})
}

// connCutter dials through a SessionRecorder and can drop every connection
// it made, as a network failure would.
type connCutter struct {
	rec   zktest.SessionRecorder
	mu    sync.Mutex
	conns []net.Conn // guarded by mu
}

func (c *connCutter) Dial(network, address string, timeout time.Duration) (net.Conn, error) {
	conn, err := c.rec.Dial(network, address, timeout)
	if err == nil {
		c.mu.Lock()
		c.conns = append(c.conns, conn)
		c.mu.Unlock()
	}
	return conn, err
}

func (c *connCutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// A lost connection ends the leadership at once, even though the session
// survives; once reconnected, the former leader withdraws its candidacy so
// that the next candidate leads.
func TestZooKeeperConnectionLossEndsLeadership(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	var cutter connCutter
	a, err := newZooKeeper(testConfig(srv, root), testLogger(t), cutter.Dial)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, _ := openZK(t, srv, root)
	na := NimbusInfo{Host: "nimbus-a", Port: 6627}
	nb := NimbusInfo{Host: "nimbus-b", Port: 6627}
	la := awaitLeadership(t, campaign(ctx, a, na), "a")
	bres := campaign(ctx, b, nb)
	testenv.WaitErr(t, 20*time.Second, "b's candidacy", func() error {
		kids, err := b.candidates(ctx)
		if err == nil && len(kids) != 2 {
			err = fmt.Errorf("candidates %q", kids)
		}
		return err
	})
	session := a.conn.SessionID()

	cutter.cut()
	awaitLost(t, la, "a lost connection")
	awaitLeadership(t, bres, "b")
	waitLeader(t, b, &nb)
	if now := a.conn.SessionID(); now != session {
		t.Errorf("a's session changed from %s to %s; want it to survive", sessionHex(session), sessionHex(now))
	}
}

// Deleting the leader's node (an operator with zkCli) ends its leadership.
func TestZooKeeperLeaderNodeDeleted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	z, _ := openZK(t, srv, root)
	l, err := z.Campaign(ctx, NimbusInfo{Host: "nimbus-a", Port: 6627})
	if err != nil {
		t.Fatal(err)
	}
	raw := rawZK(t, srv)
	kids, _, err := raw.Children(root + "/leader-lock")
	if err != nil || len(kids) != 1 {
		t.Fatalf("leader-lock children = %q, %v", kids, err)
	}
	if err := raw.Delete(root+"/leader-lock/"+kids[0], -1); err != nil {
		t.Fatal(err)
	}
	awaitLost(t, l, "deletion of its node")
}

// With no server reachable, calls end with their context, the client's
// complaints go to the injected logger, and Close does not hang.
func TestZooKeeperUnreachable(t *testing.T) {
	t.Parallel()
	var h captureHandler
	cfg := DefaultConfig()
	cfg.Servers = []string{"127.0.0.1:1"} // nothing listens on port 1
	z, err := NewZooKeeper(cfg, slog.New(&h))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := z.GetTopology(ctx, "t1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetTopology = %v, want context.DeadlineExceeded", err)
	}
	testenv.WaitErr(t, 20*time.Second, "client log in slog", func() error {
		if !h.has("zookeeper client", "failed to connect") {
			return errors.New("no record")
		}
		return nil
	})
	start := time.Now()
	z.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

// captureHandler keeps the records logged through it.
type captureHandler struct {
	mu   sync.Mutex
	recs []string // guarded by mu: message and attributes of each record
}

func (h *captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *captureHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *captureHandler) WithGroup(string) slog.Handler            { return h }

func (h *captureHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, b.String())
	return nil
}

// has reports whether a record has message msg and contains detail.
func (h *captureHandler) has(msg, detail string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if strings.HasPrefix(r, msg) && strings.Contains(r, detail) {
			return true
		}
	}
	return false
}

// TestZooKeeperHandshakeBounded points a session at a server that accepts
// connections and never answers, as ZooKeeper does for a while when it
// starts again and loads its database. The client library waits ten
// receive timeouts (6.7 session timeouts: 133 s by default) for the
// handshake; a daemon stuck that long after ZooKeeper is back misses its
// heartbeats. The session must give up after a session timeout and try
// again.
func TestZooKeeperHandshakeBounded(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var mu sync.Mutex
	var accepts []time.Time
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepts = append(accepts, time.Now())
			mu.Unlock()
			go io.Copy(io.Discard, c) // reads the handshake, answers nothing
			t.Cleanup(func() { c.Close() })
		}
	}()
	cfg := DefaultConfig()
	cfg.Servers = []string{l.Addr().String()}
	cfg.SessionTimeout = time.Second
	z, err := NewZooKeeper(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	// Uncapped, the first handshake alone lasts 6.7 s.
	testenv.WaitErr(t, 20*time.Second, "a second connection attempt", func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(accepts) < 2 {
			return fmt.Errorf("%d connections", len(accepts))
		}
		if d := accepts[1].Sub(accepts[0]); d > 4*time.Second {
			return fmt.Errorf("the second attempt came %v after the first, want within about a session timeout (1s)", d)
		}
		return nil
	})
}

// TestZooKeeperACLs: with a credential, the cluster's nodes, the worker
// secrets among them, are closed to a session without it.
func TestZooKeeperACLs(t *testing.T) {
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	z, _ := openZKAs(t, srv, root, testCredential)
	ctx := t.Context()
	if _, err := z.SetTopology(ctx, TopologyRecord{ID: "acl-1-1", Name: "acl", Status: StatusActive, NumWorkers: 1}); err != nil {
		t.Fatal(err)
	}
	if err := z.SetTopologySecret(ctx, "acl-1-1", []byte("0123456789abcdef0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if got, err := z.GetTopologySecret(ctx, "acl-1-1"); err != nil || string(got) != "0123456789abcdef0123456789abcdef" {
		t.Fatalf("GetTopologySecret = %q, %v", got, err)
	}
	stranger, daemon := rawZK(t, srv), rawZK(t, srv)
	if err := daemon.AddAuth(testCredential.Scheme, testCredential.Payload); err != nil {
		t.Fatal(err)
	}
	// The topology's own credential reads its record (zk_acl_test.go).
	topoID, err := zkacl.DigestID(zkacl.DerivedTopologyCredential("acl-1-1", []byte("0123456789abcdef0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	for p, topoRead := range map[string]bool{root: false, z.node(dirStorms, "acl-1-1"): true, z.node(dirSecrets, "acl-1-1"): false} {
		if _, _, err := stranger.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("a session without the credential reads %s: %v, want zk.ErrNoAuth", p, err)
		}
		acl, _, err := daemon.GetACL(p)
		want := 1
		if topoRead {
			want = 2
		}
		if err != nil || len(acl) != want || acl[0].Scheme != zkacl.SchemeDigest || acl[0].Perms != zk.PermAll {
			t.Errorf("ACL of %s = %v, %v; want the credential's first, %d entries", p, acl, err, want)
		}
		if topoRead && (acl[1] != zk.ACL{Perms: zk.PermRead, Scheme: zkacl.SchemeDigest, ID: topoID}) {
			t.Errorf("ACL of %s = %v; want read for the topology's credential %s", p, acl, topoID)
		}
	}
	if _, err := stranger.Create(z.node(dirStorms, "evil-1-1"), []byte("{}"), 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("a session without the credential creates a topology: %v, want zk.ErrNoAuth", err)
	}
	// Another daemon with the credential reads it all.
	other, _ := openZKAs(t, srv, root, testCredential)
	if _, err := other.GetTopology(ctx, "acl-1-1"); err != nil {
		t.Errorf("a daemon with the credential: %v", err)
	}
}
