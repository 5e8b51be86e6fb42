package cluster

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
)

// With the in-memory store, blocking can be checked exactly: synctest.Wait
// returns once every goroutine of the bubble is durably blocked.

func TestMemoryCampaignBlocksWhileOtherLeads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory()
		a, b := m.Session(), m.Session()
		defer a.Close()
		defer b.Close()
		ctx := t.Context()
		la, err := a.Campaign(ctx, NimbusInfo{Host: "a", Port: 1})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan *Leadership, 1)
		go func() {
			lb, err := b.Campaign(ctx, NimbusInfo{Host: "b", Port: 1})
			if err != nil {
				t.Error(err)
			}
			done <- lb
		}()
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("b leads while a does")
		default:
		}
		b.Expire() // b stays a candidate
		synctest.Wait()
		select {
		case <-done:
			t.Fatal("b leads after its session expired, while a leads")
		default:
		}
		if err := la.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case lb := <-done:
			if lb.IsLost() {
				t.Error("b's new leadership is lost")
			}
		default:
			t.Fatal("b does not lead after a resigned")
		}
	})
}

func TestMemoryWatchCoalesces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := NewMemory()
		s := m.Session()
		defer s.Close()
		ctx, cancel := context.WithCancel(t.Context())
		ch := s.WatchTopologies(ctx)
		for i := range 5 {
			if _, err := s.SetTopology(ctx, sampleTopology(string(rune('a'+i)))); err != nil {
				t.Fatal(err)
			}
		}
		// One signal is pending (the initial one, merged with the changes).
		if n := len(ch); n != 1 {
			t.Fatalf("pending signals = %d, want 1", n)
		}
		<-ch
		if _, err := s.SetTopology(ctx, sampleTopology("f")); err != nil {
			t.Fatal(err)
		}
		if n := len(ch); n != 1 {
			t.Fatalf("pending signals after a change = %d, want 1", n)
		}
		cancel()
		synctest.Wait()
		<-ch
		if _, ok := <-ch; ok {
			t.Fatal("channel open after its context ended")
		}
		if _, err := s.GetTopology(t.Context(), "f"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetTopology(t.Context(), "f"); !errors.Is(err, ErrClosed) {
			t.Fatalf("GetTopology after Close = %v, want ErrClosed", err)
		}
	})
}
