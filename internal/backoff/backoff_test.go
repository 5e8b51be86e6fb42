package backoff

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestDelayGrowsToMax(t *testing.T) {
	b := New(Policy{Min: 100 * time.Millisecond, Max: time.Second, Jitter: -1})
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := b.Next(); got != w*time.Millisecond {
			t.Errorf("Next() #%d = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if b.Attempts() != len(want) {
		t.Errorf("Attempts() = %d, want %d", b.Attempts(), len(want))
	}
	b.Reset()
	if got := b.Next(); got != 100*time.Millisecond {
		t.Errorf("Next() after Reset = %v, want 100ms", got)
	}
}

func TestJitterStaysInRange(t *testing.T) {
	tests := []struct {
		name   string
		jitter float64
		rand   float64
		want   time.Duration
	}{
		{"default, no luck", 0, 0, time.Second},
		{"default, most", 0, 0.999999, 800*time.Millisecond + 200*time.Nanosecond},
		{"half", 0.5, 0.5, 750 * time.Millisecond},
		{"above one is one", 3, 0.5, 500 * time.Millisecond},
		{"none", -1, 0.9, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Policy{Min: time.Second, Max: time.Second, Jitter: tt.jitter})
			b.rand = func() float64 { return tt.rand }
			if got := b.Delay(1); got != tt.want {
				t.Errorf("Delay(1) = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDelayDoesNotOverflow(t *testing.T) {
	b := New(Policy{Min: time.Second, Max: time.Hour, Jitter: -1})
	if got := b.Delay(1000); got != time.Hour {
		t.Errorf("Delay(1000) = %v, want 1h", got)
	}
}

func TestMaxBelowMinIsMin(t *testing.T) {
	b := New(Policy{Min: time.Second, Max: time.Millisecond, Jitter: -1})
	if got := b.Delay(5); got != time.Second {
		t.Errorf("Delay(5) = %v, want 1s", got)
	}
}

func TestWaitEndsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		b := New(Policy{Min: time.Hour, Max: time.Hour})
		done := make(chan bool)
		go func() { done <- b.Wait(ctx) }()
		synctest.Wait()
		cancel()
		if <-done {
			t.Error("Wait() = true after cancel, want false")
		}
		if !Sleep(t.Context(), time.Minute) {
			t.Error("Sleep(1m) = false, want true")
		}
	})
}
