package drpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
)

// countingKeysState is a topology's record and secret, counting reads.
type countingKeysState struct {
	reads  int
	secret []byte
	err    error
}

func (s *countingKeysState) GetTopology(context.Context, string) (cluster.TopologyRecord, error) {
	s.reads++
	return cluster.TopologyRecord{Owner: "alice"}, s.err
}

func (s *countingKeysState) GetTopologySecret(context.Context, string) ([]byte, error) {
	s.reads++
	return s.secret, s.err
}

// TestClusterKeysKeptForTheirTTL: a worker's calls are verified without
// reading ZooKeeper again until keysTTL has passed, and through an outage
// of ZooKeeper meanwhile; a failed read is not kept.
func TestClusterKeysKeptForTheirTTL(t *testing.T) {
	st := &countingKeysState{secret: []byte("s1")}
	now := time.Unix(1800000000, 0)
	c := &keysCache{st: st, now: func() time.Time { return now }}
	get := func(what string, wantReads int) {
		t.Helper()
		secret, owner, err := c.keys(t.Context(), "t-1-1")
		if err != nil || string(secret) != string(st.secret) || owner != "alice" {
			t.Fatalf("%s: keys = %q, %q, %v; want %q of alice", what, secret, owner, err, st.secret)
		}
		if st.reads != wantReads {
			t.Fatalf("%s: %d reads of the state, want %d", what, st.reads, wantReads)
		}
	}
	get("first", 2)
	st.err = errors.New("zookeeper away")
	now = now.Add(keysTTL - time.Second)
	get("within the TTL, ZooKeeper away", 2)
	now = now.Add(time.Second)
	if _, _, err := c.keys(t.Context(), "t-1-1"); err == nil {
		t.Fatal("keys after the TTL with ZooKeeper away: no error")
	}
	st.err, st.secret = nil, []byte("s2")
	get("after the TTL, read again (a failed read was not kept)", 5)
}
