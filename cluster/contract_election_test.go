package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
)

// Leader election, part of the contract suite (contract_test.go).

// campaign runs Campaign in a goroutine; the result arrives on the
// returned channel.
func campaign(ctx context.Context, st State, info NimbusInfo) <-chan campaignResult {
	ch := make(chan campaignResult, 1)
	go func() {
		l, err := st.Campaign(ctx, info)
		ch <- campaignResult{l, err}
	}()
	return ch
}

type campaignResult struct {
	l   *Leadership
	err error
}

func awaitLeadership(t *testing.T, ch <-chan campaignResult, who string) *Leadership {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("Campaign(%s) = %v", who, r.err)
		}
		return r.l
	case <-time.After(20 * time.Second):
		t.Fatalf("%s does not lead", who)
		return nil
	}
}

// waitLeader waits until Leader reports want (nil: no leader).
func waitLeader(t *testing.T, st State, want *NimbusInfo) {
	t.Helper()
	testenv.WaitErr(t, 20*time.Second, "leader", func() error {
		got, ok, err := st.Leader(t.Context())
		switch {
		case err != nil:
			return err
		case want == nil && ok:
			return fmt.Errorf("leader %s, want none", got.Addr())
		case want != nil && !ok:
			return fmt.Errorf("no leader, want %s", want.Addr())
		case want != nil:
			w := *want
			w.IsLeader = true
			if !reflect.DeepEqual(got, w) {
				return fmt.Errorf("leader %+v, want %+v", got, w)
			}
		}
		return nil
	})
}

func TestElection(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		a, bb, reader := b.open(t), b.open(t), b.open(t)
		na := NimbusInfo{Host: "nimbus-a", Port: 6627, Version: "v1", StartTime: t0}
		nb := NimbusInfo{Host: "nimbus-b", Port: 6627, Version: "v1", StartTime: t0}
		for st, n := range map[State]NimbusInfo{a: na, bb: nb} {
			if err := st.RegisterNimbus(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		if _, ok, err := reader.Leader(ctx); err != nil || ok {
			t.Fatalf("Leader() before any campaign = %v, %v; want none", ok, err)
		}

		la := awaitLeadership(t, campaign(ctx, a, na), "a")
		if la.IsLost() || la.Info().Addr() != na.Addr() {
			t.Fatalf("a's leadership: lost %v, info %+v", la.IsLost(), la.Info())
		}
		waitLeader(t, reader, &na)
		nims, err := reader.ListNimbuses(ctx)
		if err != nil || len(nims) != 2 || !nims[0].IsLeader || nims[1].IsLeader {
			t.Fatalf("ListNimbuses = %+v, %v; want a leading, b not", nims, err)
		}

		// b waits while a leads, and leads once a resigns.
		bres := campaign(ctx, bb, nb)
		waitLeader(t, reader, &na)
		select {
		case r := <-bres:
			t.Fatalf("b's Campaign returned (%v) while a leads", r.err)
		default:
		}
		if err := la.Resign(ctx); err != nil {
			t.Fatalf("Resign = %v", err)
		}
		if !la.IsLost() {
			t.Fatal("leadership not lost after Resign")
		}
		lb := awaitLeadership(t, bres, "b")
		waitLeader(t, reader, &nb)

		// a campaigns again and waits; b's session expires, so b loses and
		// a takes over.
		ares := campaign(ctx, a, na)
		b.expire(t, bb)
		awaitLost(t, lb, "session expiry")
		la = awaitLeadership(t, ares, "a")
		waitLeader(t, reader, &na)

		// Closing a's session ends its leadership; nobody leads.
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		awaitLost(t, la, "Close")
		waitLeader(t, reader, nil)
		if err := lb.Resign(ctx); err != nil {
			t.Errorf("Resign of a lost leadership = %v, want nil", err)
		}
	})
}

// A candidate whose session expires while it waits stays a candidate.
func TestCampaignSurvivesExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		a, bb, reader := b.open(t), b.open(t), b.open(t)
		na := NimbusInfo{Host: "nimbus-a", Port: 6627}
		nb := NimbusInfo{Host: "nimbus-b", Port: 6627}
		la := awaitLeadership(t, campaign(ctx, a, na), "a")
		bres := campaign(ctx, bb, nb)
		b.expire(t, bb)
		select {
		case r := <-bres:
			t.Fatalf("b's Campaign returned (%v) after its session expired", r.err)
		default:
		}
		if err := la.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		awaitLeadership(t, bres, "b")
		waitLeader(t, reader, &nb)
	})
}

// A campaign whose context ends withdraws.
func TestCampaignCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		a, bb, reader := b.open(t), b.open(t), b.open(t)
		na := NimbusInfo{Host: "nimbus-a", Port: 6627}
		la := awaitLeadership(t, campaign(ctx, a, na), "a")

		cctx, cancel := context.WithCancel(ctx)
		bres := campaign(cctx, bb, NimbusInfo{Host: "nimbus-b", Port: 6627})
		cancel()
		select {
		case r := <-bres:
			if !errors.Is(r.err, context.Canceled) {
				t.Fatalf("Campaign(cancelled) = %v, want context.Canceled", r.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("Campaign ignores its context")
		}
		if err := la.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		waitLeader(t, reader, nil)
	})
}
