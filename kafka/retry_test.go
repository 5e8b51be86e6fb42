package kafka

import (
	"testing"
	"time"
)

func TestRetryPolicyDelay(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name  string
		p     RetryPolicy
		fails []int
		want  []time.Duration
	}{
		// Storm's default: 0, then 2ms·2^(n-1): 4, 8, 16 ms ... capped at 10 s.
		{"storm default", DefaultRetryPolicy, []int{1, 2, 3, 4, 13, 14, 100}, []time.Duration{0, 4 * ms, 8 * ms, 16 * ms, 8192 * ms, 10 * time.Second, 10 * time.Second}},
		{"initial delay", RetryPolicy{InitialDelay: 500 * ms, DelayPeriod: 100 * ms, MaxDelay: time.Second}, []int{1, 2, 3, 4}, []time.Duration{500 * ms, 200 * ms, 400 * ms, 800 * ms}},
		{"initial delay capped", RetryPolicy{InitialDelay: 5 * time.Second, DelayPeriod: ms, MaxDelay: time.Second}, []int{1}, []time.Duration{time.Second}},
		{"no period", RetryPolicy{MaxDelay: time.Second}, []int{1, 2, 30}, []time.Duration{0, 0, 0}},
	}
	for _, tt := range tests {
		for i, f := range tt.fails {
			if got := tt.p.Delay(f); got != tt.want[i] {
				t.Errorf("%s: Delay(%d) = %v, want %v", tt.name, f, got, tt.want[i])
			}
		}
	}
}

func TestRetryPolicyRetries(t *testing.T) {
	tests := []struct {
		max   int
		fails int
		want  bool
	}{
		{-1, 1 << 30, true},
		{0, 1, false},
		{3, 3, true},
		{3, 4, false},
	}
	for _, tt := range tests {
		if got := (RetryPolicy{MaxRetries: tt.max}).Retries(tt.fails); got != tt.want {
			t.Errorf("MaxRetries %d: Retries(%d) = %v, want %v", tt.max, tt.fails, got, tt.want)
		}
	}
}

func TestRetryQueue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var q retryQueue
	a := &inflight{offset: 5}
	b := &inflight{offset: 3}
	c := &inflight{offset: 9}
	q.schedule(a, t0.Add(time.Second))
	q.schedule(c, t0.Add(2*time.Second))
	q.schedule(b, t0.Add(time.Second))
	if m := q.next(t0); m != nil {
		t.Errorf("next(t0) = offset %d, want nothing due", m.offset)
	}
	// Two due at once: the lower offset first.
	var got []int64
	for m := q.next(t0.Add(1500 * time.Millisecond)); m != nil; m = q.next(t0.Add(1500 * time.Millisecond)) {
		got = append(got, m.offset)
	}
	if len(got) != 2 || got[0] != 3 || got[1] != 5 || q.len() != 1 {
		t.Errorf("due at 1.5s: %v (left %d), want [3 5] (left 1)", got, q.len())
	}
	q.schedule(a, t0)
	q.drop(func(m *inflight) bool { return m != c })
	if m := q.next(t0.Add(time.Hour)); m != a || q.len() != 0 {
		t.Errorf("after drop: next = %v, len %d; want offset 5 and empty", m, q.len())
	}
}
