package drpc

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/squallstream/squall/topology"
)

// The bolts a `drpc:` section wires around its chain (Storm's
// LinearDRPCTopologyBuilder): PrepareRequest gives each request an id,
// JoinResult pairs the chain's answer with the request's return-info.

// Registry names of the two bolts.
const (
	PrepareRequestName = "squall.PrepareRequest"
	JoinResultName     = "squall.JoinResult"
)

// PrepareRequest is Storm's PrepareRequest: for each [args, return-info]
// from DRPCSpout it makes a request id and emits [request, args] on the
// default stream (to the chain), [request, return] on "ret" (to
// JoinResult) and [request] on "id" (to the chain's last bolt), all
// anchored to the input. The id is a random string, the same in every
// language the chain's bolts are written in.
type PrepareRequest struct {
	out topology.BoltCollector
}

// DeclareOutputs declares Storm's three streams.
func (*PrepareRequest) DeclareOutputs() []topology.Stream {
	return []topology.Stream{
		{ID: topology.DefaultStream, Fields: []string{"request", "args"}},
		{ID: topology.ReturnStream, Fields: []string{"request", "return"}},
		{ID: topology.IDStream, Fields: []string{"request"}},
	}
}

func (b *PrepareRequest) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}

func (b *PrepareRequest) Execute(t topology.Tuple) {
	if t.IsTick() {
		return
	}
	if t.Len() < 2 {
		b.out.ReportError(fmt.Errorf("prepare request: %w: got %d values", errBadRequestTuple, t.Len()))
		b.out.Fail(t)
		return
	}
	id := newRequestID()
	anchors := []topology.Tuple{t}
	b.out.Emit(topology.DefaultStream, anchors, []any{id, t.Value(0)})
	b.out.Emit(topology.ReturnStream, anchors, []any{id, t.Value(1)})
	b.out.Emit(topology.IDStream, anchors, []any{id})
	b.out.Ack(t)
}

func (*PrepareRequest) Cleanup() {}

// errBadRequestTuple is the cause of a tuple PrepareRequest cannot use.
var errBadRequestTuple = errors.New("PrepareRequest needs tuples of [args, return-info]")

// newRequestID returns 16 random hex digits.
func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// JoinResult is Storm's JoinResult: it pairs the chain's [request,
// result] with PrepareRequest's [request, return] and emits [result,
// return] to ReturnResults, anchored to both. A half that waits longer
// than topology.message.timeout.secs for its other half is failed, so a
// request whose chain lost its answer fails rather than leaks.
type JoinResult struct {
	out     topology.BoltCollector
	timeout time.Duration
	now     func() time.Time
	// results and returns hold the halves waiting for their match, by
	// request id; used from the executor's goroutine only.
	results, returns map[any]waiting
	nextSweep        time.Time
}

type waiting struct {
	t     topology.Tuple
	since time.Time
}

// DeclareOutputs declares [result, return-info].
func (*JoinResult) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"result", "return-info"}}}
}

func (b *JoinResult) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	b.timeout = time.Duration(ctx.Config.Int(topology.KeyMessageTimeoutSecs, 30)) * time.Second
	if b.now == nil {
		b.now = time.Now
	}
	b.results, b.returns = map[any]waiting{}, map[any]waiting{}
	return nil
}

func (b *JoinResult) Execute(t topology.Tuple) {
	if t.IsTick() {
		return
	}
	now := b.now()
	b.sweep(now)
	if t.Len() < 2 {
		b.out.ReportError(fmt.Errorf("join result: a tuple from %s needs [request, value], got %d values", t.SourceComponent(), t.Len()))
		b.out.Fail(t)
		return
	}
	id := requestKey(t.Value(0))
	mine, other := b.results, b.returns
	if t.SourceStream() == topology.ReturnStream && t.SourceComponent() == topology.PrepareRequestID {
		mine, other = b.returns, b.results
	}
	o, ok := other[id]
	if !ok {
		if prev, dup := mine[id]; dup {
			// Storm keeps the last; fail the one it replaces, so that
			// nothing waits unacked.
			b.out.Fail(prev.t)
		}
		mine[id] = waiting{t, now}
		return
	}
	delete(other, id)
	result, ret := t, o.t
	if t.SourceStream() == topology.ReturnStream && t.SourceComponent() == topology.PrepareRequestID {
		result, ret = o.t, t
	}
	b.out.Emit(topology.DefaultStream, []topology.Tuple{result, ret}, []any{result.Value(1), ret.Value(1)})
	b.out.Ack(result)
	b.out.Ack(ret)
}

// requestKey is a request id as a map key; ids that are not strings
// (from a Go chain) are printed.
func requestKey(v any) any {
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// sweep fails halves that waited past the timeout, at most once per
// tenth of it.
func (b *JoinResult) sweep(now time.Time) {
	if now.Before(b.nextSweep) {
		return
	}
	b.nextSweep = now.Add(b.timeout / 10)
	for _, m := range []map[any]waiting{b.results, b.returns} {
		for id, w := range m {
			if now.Sub(w.since) >= b.timeout {
				b.out.Fail(w.t)
				delete(m, id)
			}
		}
	}
}

func (*JoinResult) Cleanup() {}
