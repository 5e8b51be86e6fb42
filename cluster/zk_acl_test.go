package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/zktest"
)

// openWorkerZK opens a worker's session under root with topology id's
// credential, derived from its secret as the supervisor does.
func openWorkerZK(t *testing.T, srv *zktest.Server, root, id string, secret []byte) *ZooKeeper {
	t.Helper()
	super, _, err := zkacl.SuperACL(nil, testCredential)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(srv, root)
	cfg.Auth = zkacl.DerivedTopologyCredential(id, secret)
	cfg.SuperACL = super
	cfg.Worker = true
	z, err := newZooKeeper(cfg, testLogger(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { z.Close() })
	return z
}

// aclTopology makes topology id with its secret, assignment, a heartbeat
// and an error through st.
func aclTopology(t *testing.T, st State, id string) []byte {
	t.Helper()
	ctx := t.Context()
	secret := []byte("secret-of-" + id + "-0123456789abcdef")
	if _, err := st.SetTopology(ctx, sampleTopology(id)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTopologySecret(ctx, id, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetAssignment(ctx, sampleAssignment(id)); err != nil {
		t.Fatal(err)
	}
	return secret
}

// checkWorkerRights checks that worker, topology mine's worker session,
// can do exactly what its workers need, and gets zk.ErrNoAuth for topology
// other's nodes and the daemons'.
func checkWorkerRights(t *testing.T, daemon, worker *ZooKeeper, mine, other string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	allowed := []struct {
		what string
		do   func() error
	}{
		{"read its topology", func() error { _, err := worker.GetTopology(ctx, mine); return err }},
		{"read its assignment", func() error { _, err := worker.GetAssignment(ctx, mine); return err }},
		{"write its heartbeat", func() error {
			return worker.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: mine, NodeID: "node-a", Port: 6700, Time: t0})
		}},
		{"rewrite its heartbeat", func() error {
			return worker.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: mine, NodeID: "node-a", Port: 6700, Time: t0.Add(time.Second)})
		}},
		{"report an error", func() error {
			return worker.ReportError(ctx, mine, ErrorInfo{Component: "split", Message: "boom", Time: t0})
		}},
	}
	for _, a := range allowed {
		if err := a.do(); err != nil {
			t.Errorf("worker of %s: %s: %v", mine, a.what, err)
		}
	}
	refused := []struct {
		what string
		do   func() error
	}{
		{"read another topology", func() error { _, err := worker.GetTopology(ctx, other); return err }},
		{"read another assignment", func() error { _, err := worker.GetAssignment(ctx, other); return err }},
		{"write another's heartbeat", func() error {
			return worker.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: other, NodeID: "node-a", Port: 6700, Time: t0})
		}},
		{"report another's error", func() error {
			return worker.ReportError(ctx, other, ErrorInfo{Component: "split", Message: "x", Time: t0})
		}},
		{"read another's errors", func() error { _, err := worker.ListErrors(ctx, other); return err }},
		{"read its own worker secret", func() error { _, err := worker.GetTopologySecret(ctx, mine); return err }},
		{"read another's worker secret", func() error { _, err := worker.GetTopologySecret(ctx, other); return err }},
		{"change its topology", func() error {
			rec, err := daemon.GetTopology(ctx, mine)
			if err == nil {
				rec.Status = StatusKilled
				_, err = worker.SetTopology(ctx, rec)
			}
			return err
		}},
		{"change its assignment", func() error {
			a, err := daemon.GetAssignment(ctx, mine)
			if err == nil {
				_, err = worker.SetAssignment(ctx, a)
			}
			return err
		}},
		{"create a topology", func() error { _, err := worker.SetTopology(ctx, sampleTopology("evil-1-1")); return err }},
		{"list the topologies", func() error { _, err := worker.ListTopologies(ctx); return err }},
		{"list the supervisors", func() error { _, err := worker.ListSupervisors(ctx); return err }},
		{"read a supervisor", func() error { _, err := worker.GetSupervisor(ctx, "sup-1"); return err }},
		{"register as a supervisor", func() error { return worker.RegisterSupervisor(ctx, sampleSupervisor("evil", "h")) }},
		{"delete its assignment", func() error { return worker.DeleteAssignment(ctx, mine) }},
	}
	for _, r := range refused {
		if err := r.do(); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("worker of %s: %s: %v, want zk.ErrNoAuth", mine, r.what, err)
		}
	}
	// The daemons read and clean up what the worker wrote.
	if hbs, err := daemon.ListWorkerHeartbeats(ctx, mine); err != nil || len(hbs) != 1 || !hbs[0].Time.Equal(t0.Add(time.Second)) {
		t.Errorf("daemon: heartbeats of %s = %v, %v", mine, hbs, err)
	}
	if errs, err := daemon.ListErrors(ctx, mine); err != nil || len(errs) == 0 {
		t.Errorf("daemon: errors of %s = %v, %v", mine, errs, err)
	}
}

// TestTopologyCredentialACLs: a worker's session with its topology's
// credential does exactly what workers do (read its topology and
// assignment, write its heartbeats and errors) and gets NoAuth for
// everything else; the daemons still read and delete it all.
func TestTopologyCredentialACLs(t *testing.T) {
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	daemon, _ := openZKAs(t, srv, root, testCredential)
	ctx := t.Context()
	secret := aclTopology(t, daemon, "mine-1-1")
	aclTopology(t, daemon, "other-1-1")
	if err := daemon.RegisterSupervisor(ctx, sampleSupervisor("sup-1", "host-a")); err != nil {
		t.Fatal(err)
	}
	worker := openWorkerZK(t, srv, root, "mine-1-1", secret)

	// The worker follows its topology without listing the others.
	topo := worker.WatchTopology(ctx, "mine-1-1")
	asg := worker.WatchAssignment(ctx, "mine-1-1")
	awaitSignal(t, topo, "first topology signal", func() error { return nil })
	awaitSignal(t, asg, "first assignment signal", func() error { return nil })

	checkWorkerRights(t, daemon, worker, "mine-1-1", "other-1-1")

	rec, err := daemon.GetTopology(ctx, "mine-1-1")
	if err != nil {
		t.Fatal(err)
	}
	rec.Status = StatusInactive
	if _, err := daemon.SetTopology(ctx, rec); err != nil {
		t.Fatal(err)
	}
	awaitSignal(t, topo, "deactivation", func() error {
		got, err := worker.GetTopology(ctx, "mine-1-1")
		if err == nil && got.Status != StatusInactive {
			err = fmt.Errorf("status %s", got.Status)
		}
		return err
	})
	if err := daemon.DeleteAssignment(ctx, "mine-1-1"); err != nil {
		t.Fatal(err)
	}
	awaitSignal(t, asg, "removal", func() error {
		if _, err := worker.GetAssignment(ctx, "mine-1-1"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("GetAssignment = %v, want ErrNotFound", err)
		}
		return nil
	})

	// A credential derived from another secret opens nothing.
	wrong := openWorkerZK(t, srv, root, "mine-1-1", []byte("not-the-secret"))
	if _, err := wrong.GetTopology(ctx, "mine-1-1"); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("a wrong credential reads the topology: %v, want zk.ErrNoAuth", err)
	}

	// Killing the topology removes what the worker wrote.
	for _, del := range []func() error{
		func() error { return daemon.DeleteWorkerHeartbeats(ctx, "mine-1-1") },
		func() error { return daemon.DeleteErrors(ctx, "mine-1-1") },
		func() error { return daemon.DeleteTopology(ctx, "mine-1-1") },
	} {
		if err := del(); err != nil {
			t.Errorf("daemon cleanup: %v", err)
		}
	}
}

// TestSecureNodes: a tree made without authentication is closed by the
// SetACL pass, node by node as planned, and a second pass changes nothing.
func TestSecureNodes(t *testing.T) {
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	ctx := t.Context()
	open, _ := openZK(t, srv, root)
	secret := aclTopology(t, open, "mine-1-1")
	aclTopology(t, open, "other-1-1")
	if err := open.RegisterSupervisor(ctx, sampleSupervisor("sup-1", "host-a")); err != nil {
		t.Fatal(err)
	}
	if err := open.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: "mine-1-1", NodeID: "node-a", Port: 6700, Time: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"mine-1-1", "other-1-1"} {
		if err := open.ReportError(ctx, id, ErrorInfo{Component: "split", Message: "old", Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	// A node of a topology that has no secret (made by hand, say).
	if _, err := open.SetTopology(ctx, sampleTopology("nosecret-1-1")); err != nil {
		t.Fatal(err)
	}

	daemon, _ := openZKAs(t, srv, root, testCredential)
	res, err := daemon.SecureNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := res.Changed
	changed := map[string]bool{}
	for _, c := range changes {
		changed[c.Path] = true
	}
	stranger := rawZK(t, srv)
	for _, p := range []string{
		root, daemon.dir(dirStorms), daemon.node(dirStorms, "mine-1-1"), daemon.node(dirAssignments, "other-1-1"),
		daemon.node(dirSecrets, "mine-1-1"), daemon.node(dirSupervisors, "sup-1"),
		daemon.beatPath("mine-1-1", "node-a", 6700), daemon.node(dirErrors, "mine-1-1", "split"),
	} {
		if !changed[p] {
			t.Errorf("SecureNodes did not change %s (changes: %v)", p, changes)
		}
		if _, _, err := stranger.Get(p); !errors.Is(err, zk.ErrNoAuth) {
			t.Errorf("a session without credentials reads %s after SecureNodes: %v, want zk.ErrNoAuth", p, err)
		}
	}
	if p := daemon.node(dirStorms, "nosecret-1-1"); changed[p] {
		t.Errorf("SecureNodes set an ACL on %s, whose topology has no credential", p)
	}
	if !slices.Equal(res.WithoutSecret, []string{"nosecret-1-1"}) {
		t.Errorf("SecureNodes().WithoutSecret = %q, want [nosecret-1-1]", res.WithoutSecret)
	}
	worker := openWorkerZK(t, srv, root, "mine-1-1", secret)
	checkWorkerRights(t, daemon, worker, "mine-1-1", "other-1-1")

	again, err := daemon.SecureNodes(ctx)
	if err != nil || len(again.Changed) != 0 {
		t.Errorf("a second SecureNodes = %v, %v; want no change", again, err)
	}
}

// TestSecureNodesOfDaemonsOnlyTree: a tree where every node is the
// daemons' alone, as squall made it before topologies had credentials
// (heartbeats included), is opened to each topology's credential for
// exactly its nodes by the SetACL pass.
func TestSecureNodesOfDaemonsOnlyTree(t *testing.T) {
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	ctx := t.Context()
	daemon, _ := openZKAs(t, srv, root, testCredential)
	secret := aclTopology(t, daemon, "mine-1-1")
	aclTopology(t, daemon, "other-1-1")
	if err := daemon.RegisterSupervisor(ctx, sampleSupervisor("sup-1", "host-a")); err != nil {
		t.Fatal(err)
	}
	// What the old squall left: the topologies' nodes and a heartbeat and
	// errors written with the daemons' credential, theirs alone.
	if err := daemon.PutWorkerHeartbeat(ctx, WorkerHeartbeat{TopologyID: "mine-1-1", NodeID: "node-a", Port: 6700, Time: t0}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"mine-1-1", "other-1-1"} {
		if err := daemon.ReportError(ctx, id, ErrorInfo{Component: "split", Message: "old", Time: t0}); err != nil {
			t.Fatal(err)
		}
	}
	daemonsOnly := zk.AuthACL(zk.PermAll)
	for _, id := range []string{"mine-1-1", "other-1-1"} {
		for _, p := range []string{daemon.node(dirStorms, id), daemon.node(dirAssignments, id), daemon.node(dirWorkerBeats, id), daemon.node(dirErrors, id)} {
			if err := daemon.setACL(ctx, p, daemonsOnly); err != nil {
				t.Fatal(err)
			}
		}
	}
	worker := openWorkerZK(t, srv, root, "mine-1-1", secret)
	if _, err := worker.GetTopology(ctx, "mine-1-1"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("before the pass the worker reads its topology: %v, want zk.ErrNoAuth", err)
	}

	res, err := daemon.SecureNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	changes := res.Changed
	changed := map[string]bool{}
	for _, c := range changes {
		changed[c.Path] = true
	}
	for _, p := range []string{daemon.node(dirStorms, "mine-1-1"), daemon.beatPath("mine-1-1", "node-a", 6700), daemon.node(dirErrors, "mine-1-1", "split")} {
		if !changed[p] {
			t.Errorf("SecureNodes did not change %s (changes: %v)", p, changes)
		}
	}
	for _, p := range []string{root, daemon.node(dirSecrets, "mine-1-1"), daemon.node(dirSupervisors, "sup-1")} {
		if changed[p] {
			t.Errorf("SecureNodes changed %s, which was the daemons' already", p)
		}
	}
	checkWorkerRights(t, daemon, worker, "mine-1-1", "other-1-1")
	if again, err := daemon.SecureNodes(ctx); err != nil || len(again.Changed) != 0 || len(again.WithoutSecret) != 0 {
		t.Errorf("a second SecureNodes = %v, %v; want no change", again, err)
	}
}
