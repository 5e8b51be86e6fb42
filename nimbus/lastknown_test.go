package nimbus

import (
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
)

// TestLastKnownBounded checks that the last known state forgets what the
// cluster no longer has, so that it stays the size of the cluster, and
// never replaces a value by an older one.
func TestLastKnownBounded(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	k := newLastKnown()
	for _, id := range []string{"a-1-1", "b-2-1", "gone-3-1"} {
		k.put(knownKey{knownTopology, id}, cluster.TopologyRecord{ID: id}, t0)
		k.put(knownKey{knownAssignment, id}, cluster.Assignment{TopologyID: id}, t0)
		k.put(knownKey{knownHeartbeats, id}, []cluster.WorkerHeartbeat{}, t0)
	}
	k.put(knownKey{knownSupervisor, "s1"}, cluster.SupervisorInfo{ID: "s1"}, t0)
	k.put(knownKey{knownSupervisor, "s2"}, cluster.SupervisorInfo{ID: "s2"}, t0)

	k.put(knownKey{kind: knownTopologyIDs}, []string{"a-1-1", "b-2-1"}, t0.Add(time.Second))
	k.put(knownKey{kind: knownSupervisorIDs}, []string{"s2"}, t0.Add(time.Second))
	k.drop(knownKey{knownHeartbeats, "b-2-1"})

	tests := []struct {
		key  knownKey
		want bool
	}{
		{knownKey{knownTopology, "a-1-1"}, true},
		{knownKey{knownAssignment, "b-2-1"}, true},
		{knownKey{knownHeartbeats, "b-2-1"}, false},
		{knownKey{knownTopology, "gone-3-1"}, false},
		{knownKey{knownAssignment, "gone-3-1"}, false},
		{knownKey{knownHeartbeats, "gone-3-1"}, false},
		{knownKey{knownSupervisor, "s1"}, false},
		{knownKey{knownSupervisor, "s2"}, true},
	}
	for _, tt := range tests {
		if _, ok := k.get(tt.key); ok != tt.want {
			t.Errorf("get(%v) found = %v, want %v", tt.key, ok, tt.want)
		}
	}
	if n := len(k.entries); n != 8 { // and the two lists
		t.Errorf("%d entries kept, want 8", n)
	}

	k.put(knownKey{knownTopology, "a-1-1"}, cluster.TopologyRecord{ID: "a-1-1", NumWorkers: 2}, t0.Add(2*time.Second))
	k.put(knownKey{knownTopology, "a-1-1"}, cluster.TopologyRecord{ID: "a-1-1", NumWorkers: 1}, t0.Add(time.Second))
	if v, _ := k.get(knownKey{knownTopology, "a-1-1"}); v.v.(cluster.TopologyRecord).NumWorkers != 2 || !v.at.Equal(t0.Add(2*time.Second)) {
		t.Errorf("an older read replaced a newer one: %+v", v)
	}
}
