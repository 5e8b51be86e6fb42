package supervisor

import (
	"testing"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
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
