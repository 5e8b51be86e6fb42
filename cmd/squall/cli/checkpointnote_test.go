package cli

import (
	"strings"
	"testing"
)

func TestCheckpointStallNote(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name      string
		stalled   bool
		txid, age *int64
		want      string
	}{
		{"not stateful", false, nil, nil, ""},
		{"committing", false, n(41), n(0), ""},
		{"stalled", true, n(41), n(75), "CHECKPOINT STALLED: the last checkpoint (txid 41) committed 1m15s ago (10 checkpoint intervals or more); its state is not advancing"},
		{"never committed", true, n(-1), n(12), "CHECKPOINT STALLED: no checkpoint committed yet, for 12s (10 checkpoint intervals or more); its state is not advancing"},
		{"stalled without figures", true, nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := checkpointStallNote(tt.stalled, tt.txid, tt.age); got != tt.want {
				t.Errorf("checkpointStallNote = %q, want %q", got, tt.want)
			}
		})
	}
}

// The monitor says when a stall begins and when it ends, once each.
func TestCheckpointWatch(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	var out strings.Builder
	w := checkpointWatch{name: "counts", out: &out}
	w.update(false, n(3), n(0))
	w.update(true, n(3), n(6))
	w.update(true, n(3), n(8))
	w.update(false, n(5), n(0))
	w.update(false, n(6), n(0))
	want := "counts: CHECKPOINT STALLED: the last checkpoint (txid 3) committed 6s ago (10 checkpoint intervals or more); its state is not advancing\n" +
		"counts: checkpoints commit again (txid 5)\n"
	if out.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", out.String(), want)
	}
}
