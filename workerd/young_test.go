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
