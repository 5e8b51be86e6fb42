package zkacl

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/internal/zktest"
)

func TestCredentials(t *testing.T) {
	tests := []struct {
		name    string
		conf    map[string]any
		want    string // Credential.String(), "" for an error
		wantErr bool
	}{
		{"unset", map[string]any{}, "none", false},
		{"digest", map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall:s3cret"}, "digest:squall:*****", false},
		{"sasl", map[string]any{KeyAuthScheme: "sasl", KeyAuthPayload: "x"}, "", true},
		{"no password", map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall"}, "", true},
		{"empty password", map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall:"}, "", true},
		{"no payload", map[string]any{KeyAuthScheme: "digest"}, "", true},
		{"not a string", map[string]any{KeyAuthScheme: 1}, "", true},
	}
	for _, tt := range tests {
		c, err := DaemonCredential(tt.conf)
		if tt.wantErr {
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%s: DaemonCredential() = %v, %v; want ErrConfig", tt.name, c, err)
			}
			continue
		}
		if err != nil || c.String() != tt.want {
			t.Errorf("%s: DaemonCredential() = %v, %v; want %s", tt.name, c, err, tt.want)
		}
	}
	// A worker never falls back to the daemons' credential.
	c, err := TopologyCredential(map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall:s3cret"})
	if err != nil || !c.IsZero() {
		t.Errorf("TopologyCredential(daemon keys only) = %v, %v; want none", c, err)
	}
}

func TestDigestIDAndSuperACL(t *testing.T) {
	daemon := Credential{Scheme: SchemeDigest, Payload: []byte("super:superpw")}
	// base64(sha1("super:superpw")), computed independently (Python).
	id, err := DigestID(daemon)
	if err != nil || id != "super:g9oN2HttPfn8MMWJZ2r45Np/LIA=" {
		t.Errorf("DigestID(super:superpw) = %q, %v", id, err)
	}
	acl, ok, err := SuperACL(map[string]any{}, daemon)
	if err != nil || !ok || acl.Scheme != "digest" || acl.ID != id || acl.Perms != zk.PermAll {
		t.Errorf("SuperACL(derived) = %+v, %v, %v", acl, ok, err)
	}
	acl, ok, err = SuperACL(map[string]any{KeySuperACL: "sasl:nimbus"}, daemon)
	if err != nil || !ok || acl.Scheme != "sasl" || acl.ID != "nimbus" {
		t.Errorf("SuperACL(configured) = %+v, %v, %v", acl, ok, err)
	}
	if _, ok, err := SuperACL(map[string]any{}, Credential{}); ok || err != nil {
		t.Errorf("SuperACL(nothing) = %v, %v; want none", ok, err)
	}
	for _, bad := range []string{"nocolon", ":id", "digest:"} {
		if _, _, err := SuperACL(map[string]any{KeySuperACL: bad}, daemon); !errors.Is(err, ErrConfig) {
			t.Errorf("SuperACL(%q) = %v, want ErrConfig", bad, err)
		}
	}
	if _, err := DigestID(Credential{Scheme: "sasl", Payload: []byte("a:b")}); !errors.Is(err, ErrConfig) {
		t.Errorf("DigestID(sasl) = %v, want ErrConfig", err)
	}
}

func TestPolicyACLs(t *testing.T) {
	open := Policy{}
	for _, k := range []Kind{KindDaemon, KindTopologyState, KindTopologyShared, KindWorker, KindSecret} {
		acl, err := open.ACL(k, Credential{})
		if err != nil || len(acl) != 1 || acl[0].Scheme != "world" {
			t.Errorf("open policy, kind %d: %v, %v; want world", k, acl, err)
		}
	}
	p, err := DaemonPolicy(map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall:pw"})
	if err != nil {
		t.Fatal(err)
	}
	topo := DerivedTopologyCredential("wc-1-1", []byte("0123456789abcdef0123456789abcdef"))
	topoID, _ := DigestID(topo)
	tests := []struct {
		kind Kind
		want string
	}{
		{KindDaemon, "auth::31"},
		{KindSecret, "auth::31"},
		{KindTopologyState, "auth::31 digest:" + topoID + ":1"},
		{KindTopologyShared, "auth::31 digest:" + topoID + ":31"},
	}
	for _, tt := range tests {
		acl, err := p.ACL(tt.kind, topo)
		if err != nil || aclString(acl) != tt.want {
			t.Errorf("ACL(kind %d) = %s, %v; want %s", tt.kind, aclString(acl), err, tt.want)
		}
	}
	if _, err := p.ACL(KindTopologyState, Credential{}); !errors.Is(err, ErrNoTopologyCredential) {
		t.Errorf("ACL(topology state, no credential) = %v, want ErrNoTopologyCredential", err)
	}

	// The worker's side, from what nimbus put in the topology's config.
	conf := TopologyConfig(topo, p.Super)
	w, err := WorkerPolicy(conf)
	if err != nil || !w.Worker || string(w.Self.Payload) != string(topo.Payload) {
		t.Fatalf("WorkerPolicy() = %+v, %v", w, err)
	}
	superID, _ := DigestID(p.Self)
	acl, err := w.ACL(KindWorker, Credential{})
	if err != nil || aclString(acl) != "auth::31 digest:"+superID+":31" {
		t.Errorf("worker ACL = %s, %v", aclString(acl), err)
	}
	delete(conf, KeySuperACL)
	if _, err := WorkerPolicy(conf); !errors.Is(err, ErrConfig) {
		t.Errorf("WorkerPolicy(no superACL) = %v, want ErrConfig", err)
	}
	if TopologyConfig(Credential{}, zk.ACL{}) != nil {
		t.Errorf("TopologyConfig(none) != nil")
	}
	workerNode, err := p.WorkerNodeACL(topo)
	if err != nil || aclString(workerNode) != "digest:"+topoID+":31 digest:"+superID+":31" {
		t.Errorf("WorkerNodeACL = %s, %v", aclString(workerNode), err)
	}
	if _, err := p.WorkerNodeACL(Credential{}); !errors.Is(err, ErrNoTopologyCredential) {
		t.Errorf("WorkerNodeACL(no credential) = %v, want ErrNoTopologyCredential", err)
	}
}

// TestDerivedTopologyCredential: the same topology and secret give the
// same credential on every daemon; another topology or secret, another
// one; it parses back from a worker's configuration.
func TestDerivedTopologyCredential(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	a := DerivedTopologyCredential("wc-1-1", secret)
	if b := DerivedTopologyCredential("wc-1-1", append([]byte(nil), secret...)); string(a.Payload) != string(b.Payload) {
		t.Errorf("the derivation is not deterministic: %s, %s", a.Payload, b.Payload)
	}
	for _, other := range []Credential{
		DerivedTopologyCredential("wc-1-2", secret),
		DerivedTopologyCredential("wc-1-1", []byte("another secret")),
	} {
		au, _, _ := strings.Cut(string(a.Payload), ":")
		ou, _, _ := strings.Cut(string(other.Payload), ":")
		if string(other.Payload) == string(a.Payload) || au == ou {
			t.Errorf("two topologies share a credential or user: %s, %s", a.Payload, other.Payload)
		}
	}
	back, err := TopologyCredential(TopologyConfig(a, zk.ACL{Scheme: "digest", ID: "x:y"}))
	if err != nil || string(back.Payload) != string(a.Payload) {
		t.Errorf("the credential does not parse back: %v, %v", back, err)
	}
	if strings.Contains(a.String(), string(a.Payload[strings.IndexByte(string(a.Payload), ':')+1:])) {
		t.Errorf("String() shows the password: %s", a)
	}
}

func aclString(acl []zk.ACL) string {
	var parts []string
	for _, a := range acl {
		parts = append(parts, a.Scheme+":"+a.ID+":"+itoa(a.Perms))
	}
	return strings.Join(parts, " ")
}

func itoa(n int32) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

// session connects to srv with cred (zero: anonymous).
func session(t *testing.T, srv *zktest.Server, cred Credential) *zk.Conn {
	t.Helper()
	conn, _, err := zk.Connect([]string{srv.Addr()}, 20*time.Second, zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	if !cred.IsZero() {
		if err := conn.AddAuth(cred.Scheme, cred.Payload); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// TestACLsOnZooKeeper applies the policy on a real ZooKeeper and tries
// every access a daemon, a worker, another topology's worker and an
// anonymous client might.
func TestACLsOnZooKeeper(t *testing.T) {
	srv := zktest.Start(t)
	daemonConf := map[string]any{KeyAuthScheme: "digest", KeyAuthPayload: "squall:daemon-pw"}
	daemon, err := DaemonPolicy(daemonConf)
	if err != nil {
		t.Fatal(err)
	}
	t1, t2 := DerivedTopologyCredential("t1", []byte("secret one")), DerivedTopologyCredential("t2", []byte("secret two"))
	worker1, err := WorkerPolicy(TopologyConfig(t1, daemon.Super))
	if err != nil {
		t.Fatal(err)
	}
	d := session(t, srv, daemon.Self)
	w1 := session(t, srv, t1)
	w2 := session(t, srv, t2)
	anon := session(t, srv, Credential{})

	create := func(c *zk.Conn, p Policy, path string, kind Kind, topo Credential) error {
		acl, err := p.ACL(kind, topo)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Create(path, []byte("x"), 0, acl)
		return err
	}
	for _, n := range []struct {
		path string
		kind Kind
	}{
		{"/squall", KindDaemon},
		{"/squall/assignments", KindDaemon},
		{"/squall/assignments/t1", KindTopologyState},
		{"/squall/workerbeats", KindDaemon},
		{"/squall/workerbeats/t1", KindTopologyShared},
		{"/squall/secrets", KindDaemon},
		{"/squall/secrets/t1", KindSecret},
		{"/squall/supervisors", KindDaemon},
	} {
		if err := create(d, daemon, n.path, n.kind, t1); err != nil {
			t.Fatalf("daemon creates %s: %v", n.path, err)
		}
	}
	if err := create(w1, worker1, "/squall/workerbeats/t1/node-6700", KindWorker, Credential{}); err != nil {
		t.Fatalf("worker creates its heartbeat: %v", err)
	}

	get := func(c *zk.Conn, path string) error { _, _, err := c.Get(path); return err }
	set := func(c *zk.Conn, path string) error { _, err := c.Set(path, []byte("y"), -1); return err }
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"worker reads its assignment", get(w1, "/squall/assignments/t1"), nil},
		{"worker rewrites its assignment", set(w1, "/squall/assignments/t1"), zk.ErrNoAuth},
		{"worker reads the secret", get(w1, "/squall/secrets/t1"), zk.ErrNoAuth},
		{"worker registers a supervisor", create(w1, worker1, "/squall/supervisors/fake", KindWorker, Credential{}), zk.ErrNoAuth},
		{"other topology reads the assignment", get(w2, "/squall/assignments/t1"), zk.ErrNoAuth},
		{"other topology writes a heartbeat", create(w2, worker1, "/squall/workerbeats/t1/node-6701", KindWorker, Credential{}), zk.ErrNoAuth},
		{"other topology overwrites a heartbeat", set(w2, "/squall/workerbeats/t1/node-6700"), zk.ErrNoAuth},
		{"anonymous reads the assignment", get(anon, "/squall/assignments/t1"), zk.ErrNoAuth},
		{"anonymous reads the secret", get(anon, "/squall/secrets/t1"), zk.ErrNoAuth},
		{"anonymous creates under the root", create(anon, Policy{}, "/squall/x", KindDaemon, Credential{}), zk.ErrNoAuth},
		{"daemon reads the heartbeat", get(d, "/squall/workerbeats/t1/node-6700"), nil},
		{"daemon rewrites the heartbeat", set(d, "/squall/workerbeats/t1/node-6700"), nil},
		{"daemon reads the secret", get(d, "/squall/secrets/t1"), nil},
		{"daemon deletes the heartbeat", d.Delete("/squall/workerbeats/t1/node-6700", -1), nil},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) || (tt.want == nil) != (tt.err == nil) {
			t.Errorf("%s: %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	// Another daemon (a supervisor with the same credential) has the
	// same rights as the one that created the nodes.
	sup := session(t, srv, daemon.Self)
	if err := get(sup, "/squall/secrets/t1"); err != nil {
		t.Errorf("a second daemon reads the secret: %v", err)
	}
}
