package nimbus

import (
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/zktest"
	"github.com/squallstream/squall/topology"
)

// TestLeaderReportsTopologyWithoutSecret: a topology record made by hand,
// without the worker secret nimbus makes at submission, cannot be given
// its ZooKeeper credential's nodes; the leader's SetACL pass leaves it as
// it is, and says so where its operator looks: the topology's errors.
func TestLeaderReportsTopologyWithoutSecret(t *testing.T) {
	t.Parallel()
	srv := zktest.Shared(t)
	root := zktest.Root(t)
	open := zkState(t, srv.Addr(), root)
	const id = "handmade-1-1"
	rec := cluster.TopologyRecord{ID: id, Name: "handmade", Status: cluster.StatusInactive, NumWorkers: 1, LaunchTime: time.Now()}
	if _, err := open.SetTopology(t.Context(), rec); err != nil {
		t.Fatal(err)
	}

	secured := securedZKState(t, srv.Addr(), root)
	n := startNimbus(t, secured)
	waitLeader(t, n)

	var got []cluster.ErrorInfo
	var err error
	testenv.WaitUntil(t, 60*time.Second, "an error of the topology without a secret", func() bool {
		got, err = secured.ListErrors(t.Context(), id)
		return err == nil && len(got) > 0
	})
	e := got[0]
	if e.Component != topology.SystemComponent || !strings.Contains(e.Message, "no worker secret") || !strings.Contains(e.Message, "resubmit") {
		t.Errorf("the topology's error = %+v, want one of %s saying it has no worker secret and to resubmit it", e, topology.SystemComponent)
	}
}
