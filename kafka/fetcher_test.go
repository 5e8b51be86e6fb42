package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestStartOffset is Storm's doSeek: the UNCOMMITTED_ strategies resume any
// commit of the group; EARLIEST and LATEST resume only commits of the same
// topology id, and otherwise start at the log's start or end.
func TestStartOffset(t *testing.T) {
	ours := committedOffset{offset: 42, metadata: `{"topologyId":"topo-1-1","taskId":3,"threadName":"executor-kafka"}`}
	theirs := committedOffset{offset: 42, metadata: `{"topologyId":"other-1-1","taskId":3,"threadName":"x"}`}
	foreign := committedOffset{offset: 42, metadata: "written by some other consumer"}
	at := kgo.NewOffset().At(42).String()
	start := kgo.NewOffset().AtStart().String()
	end := kgo.NewOffset().AtEnd().String()
	tests := []struct {
		strategy FirstPollOffsetStrategy
		c        committedOffset
		ok       bool
		want     string
	}{
		{Earliest, ours, true, at},
		{Earliest, theirs, true, start},
		{Earliest, foreign, true, start},
		{Earliest, committedOffset{}, false, start},
		{Latest, ours, true, at},
		{Latest, theirs, true, end},
		{Latest, committedOffset{}, false, end},
		{UncommittedEarliest, theirs, true, at},
		{UncommittedEarliest, foreign, true, at},
		{UncommittedEarliest, committedOffset{}, false, start},
		{UncommittedLatest, theirs, true, at},
		{UncommittedLatest, committedOffset{}, false, end},
	}
	for _, tt := range tests {
		if got := startOffset(tt.strategy, tt.c, tt.ok, "topo-1-1").String(); got != tt.want {
			t.Errorf("startOffset(%s, %q, %v) = %s, want %s", tt.strategy, tt.c.metadata, tt.ok, got, tt.want)
		}
	}
}
