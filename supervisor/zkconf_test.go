package supervisor

import (
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/testenv"
)

// TestWorkerZooKeeperConf: with ZooKeeper authentication, a worker's
// configuration holds its own topology's credential, derived from the
// topology's secret, and the daemons' identity, never the daemons'
// credential; without it, the configuration is passed on as is.
func TestWorkerZooKeeperConf(t *testing.T) {
	super := zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "squall:hash"}
	base := map[string]any{"topology.workers": 2}
	secret := []byte("0123456789abcdef0123456789abcdef")

	l := &loop{cfg: Config{WorkerConf: base, ZooKeeperSuperACL: super}}
	conf := l.workerConf("wc-1-1", secret)
	cred, err := zkacl.TopologyCredential(conf)
	if err != nil || string(cred.Payload) != string(zkacl.DerivedTopologyCredential("wc-1-1", secret).Payload) {
		t.Errorf("worker's credential = %v, %v; want its topology's", cred, err)
	}
	pol, err := zkacl.WorkerPolicy(conf)
	if err != nil || pol.Super != super {
		t.Errorf("worker's policy = %+v, %v; want super %v", pol, err, super)
	}
	if _, ok := conf[zkacl.KeyAuthPayload]; ok {
		t.Errorf("the worker's configuration holds the daemons' %s", zkacl.KeyAuthPayload)
	}
	if conf["topology.workers"] != 2 {
		t.Errorf("the worker's configuration lost the supervisor's: %v", conf)
	}
	if _, ok := base[zkacl.KeyTopologyAuthPayload]; ok {
		t.Error("workerConf changed Config.WorkerConf, which every worker shares")
	}
	other := l.workerConf("other-1-1", secret)
	if other[zkacl.KeyTopologyAuthPayload] == conf[zkacl.KeyTopologyAuthPayload] {
		t.Error("two topologies got the same credential")
	}

	off := &loop{cfg: Config{WorkerConf: base}}
	if conf := off.workerConf("wc-1-1", secret); conf[zkacl.KeyTopologyAuthScheme] != nil {
		t.Errorf("without ZooKeeper authentication the worker got %v", conf)
	}
}

// TestRestartWithZooKeeperAuthRelaunchesWorkers: workers launched before
// ZooKeeper authentication was turned on hold no credential, so once the
// leader closes their topology's nodes their ZooKeeper heartbeats fail.
// A supervisor restarted with authentication does not adopt them: it
// restarts each with its topology's credential.
func TestRestartWithZooKeeperAuthRelaunchesWorkers(t *testing.T) {
	h := newHarness(t)
	local := t.TempDir()
	s1 := h.startSupervisor(local, []int{6700})
	node := s1.NodeID()
	h.submit("zkauth-1-1", nil, nil)
	h.assign("zkauth-1-1", slots(cluster.Slot{NodeID: node, Port: 6700}, 1))
	old := s1.waitRunning(t, 6700)
	s1.stop(t)
	if !running(old.Pid) {
		t.Fatal("the worker died with its supervisor")
	}

	super := zk.ACL{Perms: zk.PermAll, Scheme: "digest", ID: "squall:hash"}
	s2 := h.startSupervisor(local, []int{6700}, func(c *Config) {
		c.WorkerConf = map[string]any{}
		c.ZooKeeperSuperACL = super
	})
	renewed := s2.waitRunning(t, 6700, old.Pid)
	testenv.WaitUntil(t, testWaitDeadline, "the old worker to stop", func() bool { return !running(old.Pid) })
	if len(s2.logs.find(`reason="started without its topology's zookeeper credential"`, "worker="+old.WorkerID)) == 0 {
		t.Error("no log of why the worker was restarted")
	}
	conf, err := readWorkerConf(layout.WorkerConfFile(layout.WorkerDir(local, renewed.WorkerID)))
	if err != nil {
		t.Fatal(err)
	}
	if cred, err := zkacl.TopologyCredential(conf); err != nil || cred.IsZero() {
		t.Errorf("the new worker's credential = %v, %v; want its topology's", cred, err)
	}

	// Restarted again, the supervisor adopts the worker that has it.
	s2.stop(t)
	s3 := h.startSupervisor(local, []int{6700}, func(c *Config) {
		c.WorkerConf = map[string]any{}
		c.ZooKeeperSuperACL = super
	})
	testenv.WaitUntil(t, testWaitDeadline, "the worker with its credential adopted", func() bool {
		return len(s3.logs.find(`msg="adopted worker"`, "worker="+renewed.WorkerID)) == 1
	})
	if got, _ := s3.worker(6700); got.Pid != renewed.Pid {
		t.Errorf("port 6700 runs %d, want the adopted %d", got.Pid, renewed.Pid)
	}
}
