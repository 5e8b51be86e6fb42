package workerd

import (
	"testing"
	"time"
)

func TestStatsEvery(t *testing.T) {
	for _, tc := range []struct {
		up, every, want time.Duration
	}{
		{0, 3 * time.Second, youngStatsEvery},
		{youngFor - time.Millisecond, 3 * time.Second, youngStatsEvery},
		{youngFor, 3 * time.Second, 3 * time.Second},
		{time.Hour, 3 * time.Second, 3 * time.Second},
		{0, 100 * time.Millisecond, 100 * time.Millisecond}, // already faster
	} {
		if got := statsEvery(tc.up, tc.every); got != tc.want {
			t.Errorf("statsEvery(%v, %v) = %v, want %v", tc.up, tc.every, got, tc.want)
		}
	}
}

func TestOnBeatGrid(t *testing.T) {
	anchor := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return anchor.Add(d) }
	for _, tc := range []struct {
		t, every, want time.Duration // after anchor
	}{
		{2500 * time.Millisecond, time.Second, 3 * time.Second},
		{3 * time.Second, time.Second, 3 * time.Second},
		{3*time.Second + time.Nanosecond, time.Second, 4 * time.Second},
		{100 * time.Millisecond, 3 * time.Second, 3 * time.Second},
		{-time.Second, time.Second, -time.Second}, // before the grid starts: as is
		{1500 * time.Millisecond, 0, 1500 * time.Millisecond},
	} {
		if got := onBeatGrid(anchor, at(tc.t), tc.every); !got.Equal(at(tc.want)) {
			t.Errorf("onBeatGrid(anchor, anchor+%v, %v) = anchor+%v, want anchor+%v", tc.t, tc.every, got.Sub(anchor), tc.want)
		}
	}
}
