package checkpoint_test

import (
	"errors"
	"testing"
	"time"

	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name string
		conf topology.Config
		want checkpoint.Config
		err  bool
	}{
		{"defaults", topology.Config{},
			checkpoint.Config{Interval: time.Second, DedupRetain: time.Minute, DedupMaxIDs: 1_000_000, MaxBuffered: 50_000}, false},
		{"Storm's interval, exactly-once", topology.Config{checkpoint.KeyInterval: 250, checkpoint.KeyExactlyOnce: true, topology.KeyMessageTimeoutSecs: 10},
			checkpoint.Config{Interval: 250 * time.Millisecond, ExactlyOnce: true, DedupRetain: 20 * time.Second, DedupMaxIDs: 1_000_000, MaxBuffered: 50_000}, false},
		{"an interval below Storm's minimum", topology.Config{checkpoint.KeyInterval: 10},
			checkpoint.Config{Interval: 100 * time.Millisecond, DedupRetain: time.Minute, DedupMaxIDs: 1_000_000, MaxBuffered: 50_000}, false},
		{"squall's keys", topology.Config{checkpoint.KeyDedupRetainSecs: 300, checkpoint.KeyDedupMaxIDs: 0, checkpoint.KeyMaxBuffered: 7},
			checkpoint.Config{Interval: time.Second, DedupRetain: 5 * time.Minute, MaxBuffered: 7}, false},
		{"an interval as long as the message timeout", topology.Config{checkpoint.KeyInterval: 30000}, checkpoint.Config{}, true},
		{"... is fine without message timeouts", topology.Config{checkpoint.KeyInterval: 30000, topology.KeyEnableMessageTimeouts: false},
			checkpoint.Config{Interval: 30 * time.Second, DedupRetain: time.Minute, DedupMaxIDs: 1_000_000, MaxBuffered: 50_000}, false},
		{"a zero interval", topology.Config{checkpoint.KeyInterval: 0}, checkpoint.Config{}, true},
		{"a zero retention", topology.Config{checkpoint.KeyDedupRetainSecs: 0}, checkpoint.Config{}, true},
		{"no buffer", topology.Config{checkpoint.KeyMaxBuffered: 0}, checkpoint.Config{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkpoint.ParseConfig(tt.conf)
			if tt.err != (err != nil) || (err != nil && !errors.Is(err, checkpoint.ErrBadConfig)) {
				t.Fatalf("ParseConfig() err = %v, want error %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("ParseConfig() = %+v, want %+v", got, tt.want)
			}
		})
	}
	c := checkpoint.Config{Interval: time.Second, DedupRetain: time.Minute}
	if got := c.RetainTxids(); got != 61 {
		t.Errorf("RetainTxids() = %d, want 61", got)
	}
}
