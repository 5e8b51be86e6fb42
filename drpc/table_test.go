package drpc

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func ids(fs []fetched) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.args
	}
	return out
}

func mustAdd(t *testing.T, tb *table, function, args string) *request {
	t.Helper()
	r, err := tb.add(function, args)
	if err != nil {
		t.Fatalf("add(%q, %q): %v", function, args, err)
	}
	return r
}

func TestTableQueuesPerFunctionInOrder(t *testing.T) {
	tb := newTable(1<<20, 100)
	for _, a := range []string{"a1", "a2", "a3"} {
		mustAdd(t, tb, "a", a)
	}
	mustAdd(t, tb, "b", "b1")
	tb.subscribe("a")
	got, ready, closed := tb.take("a", "", 2, nil)
	if want := []string{"a1", "a2"}; !slices.Equal(ids(got), want) || ready != nil || closed {
		t.Fatalf("take(a, 2) = %v, %v, %v; want %v", ids(got), ready, closed, want)
	}
	got, _, _ = tb.take("a", "", 10, nil)
	if want := []string{"a3"}; !slices.Equal(ids(got), want) {
		t.Fatalf("take(a, 10) = %v, want %v", ids(got), want)
	}
	got, ready, _ = tb.take("a", "", 10, nil)
	if len(got) != 0 || ready == nil {
		t.Fatalf("take(a) on an empty queue = %v, %v; want nothing and a channel", ids(got), ready)
	}
	mustAdd(t, tb, "a", "a4")
	select {
	case <-ready:
	default:
		t.Fatal("a new request did not wake the waiting fetcher")
	}
	st := tb.snapshot()
	if st.Queued != 2 || st.Outstanding != 5 || st.Fetched != 3 || st.Executed != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestTableLimits(t *testing.T) {
	size := func(fn, args string) int { return len(fn) + len(args) + requestOverhead }
	tests := []struct {
		name           string
		maxBytes, maxN int
		adds           []string
		want           []error
	}{
		{"fits exactly", 2 * size("f", "xx"), 10, []string{"xx", "xx"}, []error{nil, nil}},
		{"buffer full", 2 * size("f", "xx"), 10, []string{"xx", "xx", "x"}, []error{nil, nil, ErrBusy}},
		{"one too large", size("f", "xx"), 10, []string{"xxx", "xx"}, []error{ErrTooLarge, nil}},
		{"empty requests are bounded too", 3 * requestOverhead, 10, []string{"", "", "", ""}, []error{nil, nil, ErrBusy, ErrBusy}},
		{"outstanding", 1 << 20, 2, []string{"a", "b", "c"}, []error{nil, nil, ErrBusy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTable(tt.maxBytes, tt.maxN)
			for i, a := range tt.adds {
				if _, err := tb.add("f", a); !errorIs(err, tt.want[i]) {
					t.Errorf("add #%d (%q) = %v, want %v", i, a, err, tt.want[i])
				}
			}
		})
	}
}

func errorIs(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return errors.Is(err, target)
}

// TestTableFetchFreesBuffer: what a topology fetched no longer counts
// against drpc.max_buffer_size; what it gives back does again.
func TestTableFetchFreesBuffer(t *testing.T) {
	one := len("f") + len("xx") + requestOverhead
	tb := newTable(one, 10)
	mustAdd(t, tb, "f", "xx")
	if _, err := tb.add("f", "xx"); !errors.Is(err, ErrBusy) {
		t.Fatalf("second add = %v, want ErrBusy", err)
	}
	tb.subscribe("f")
	got, _, _ := tb.take("f", "", 1, nil)
	mustAdd(t, tb, "f", "yy")
	tb.requeue("f", got)
	if st := tb.snapshot(); st.QueuedBytes != 2*one || st.Queued != 2 {
		t.Errorf("after requeue: %+v", st)
	}
	got, _, _ = tb.take("f", "", 5, nil)
	if want := []string{"xx", "yy"}; !slices.Equal(ids(got), want) {
		t.Errorf("requeued request not first: %v, want %v", ids(got), want)
	}
}

func TestTableSettle(t *testing.T) {
	tb := newTable(1<<20, 10)
	first := mustAdd(t, tb, "f", "first")
	second := mustAdd(t, tb, "f", "second")
	tb.subscribe("f")
	tb.take("f", "", 1, nil) // fetches first
	if !tb.settle(first.id, outcome{result: "r1"}) {
		t.Fatal("settle of a fetched request = false")
	}
	if o := <-first.done; o.result != "r1" || o.err != nil {
		t.Errorf("outcome = %+v", o)
	}
	// Settling one still queued (a failure from anyone) takes it out of
	// the queue.
	if !tb.settle(second.id, outcome{err: executionError(3, "no")}) {
		t.Fatal("settle of a queued request = false")
	}
	if tb.settle(second.id, outcome{}) || tb.settle("nope", outcome{}) {
		t.Error("settle of an unknown request = true")
	}
	if got, _, _ := tb.take("f", "", 5, nil); len(got) != 0 {
		t.Errorf("settled request still queued: %v", ids(got))
	}
	tb.requeue("f", []fetched{{id: first.id, args: "first"}})
	if st := tb.snapshot(); st.Queued != 0 || st.Outstanding != 0 || st.QueuedBytes != 0 {
		t.Errorf("stats = %+v, want nothing left", st)
	}
}

func TestTableAbandon(t *testing.T) {
	tb := newTable(1<<20, 10)
	r := mustAdd(t, tb, "f", "x")
	if !tb.abandon(r, true) {
		t.Fatal("abandon = false")
	}
	if tb.abandon(r, true) || tb.settle(r.id, outcome{}) {
		t.Error("an abandoned request is still known")
	}
	r2 := mustAdd(t, tb, "f", "y")
	tb.settle(r2.id, outcome{result: "z"})
	if tb.abandon(r2, false) {
		t.Error("abandon of a settled request = true")
	}
	if st := tb.snapshot(); st.Outstanding != 0 || st.QueuedBytes != 0 || st.TimedOut != 1 || len(tb.fns) != 0 {
		t.Errorf("stats = %+v, functions %d; want nothing left", st, len(tb.fns))
	}
}

// TestTableForgetsFunctions: function names do not pile up: one nobody
// fetches and nobody waits on is forgotten.
func TestTableForgetsFunctions(t *testing.T) {
	tb := newTable(1<<20, 1000)
	for i := range 100 {
		r := mustAdd(t, tb, strings.Repeat("f", i+1), "")
		tb.abandon(r, false)
	}
	tb.subscribe("g")
	r := mustAdd(t, tb, "g", "")
	got, _, _ := tb.take("g", "", 1, nil)
	tb.settle(got[0].id, outcome{})
	<-r.done
	tb.unsubscribe("g")
	if len(tb.fns) != 0 {
		t.Errorf("%d functions remembered, want 0", len(tb.fns))
	}
}

func TestTableClose(t *testing.T) {
	tb := newTable(1<<20, 10)
	r1 := mustAdd(t, tb, "f", "1")
	r2 := mustAdd(t, tb, "g", "2")
	tb.subscribe("h")
	_, ready, _ := tb.take("h", "", 1, nil)
	tb.close()
	for _, r := range []*request{r1, r2} {
		if o := <-r.done; !errors.Is(o.err, ErrShutdown) {
			t.Errorf("outcome after close = %v, want ErrShutdown", o.err)
		}
	}
	select {
	case <-ready:
	default:
		t.Error("close did not wake a waiting fetcher")
	}
	if _, _, closed := tb.take("h", "", 1, nil); !closed {
		t.Error("take after close: not closed")
	}
	if _, err := tb.add("f", ""); !errors.Is(err, ErrShutdown) {
		t.Errorf("add after close = %v, want ErrShutdown", err)
	}
}

// TestTableIDsDifferAcrossRuns: two tables (two runs of a server) never
// hand out the same id.
func TestTableIDsDifferAcrossRuns(t *testing.T) {
	a, b := newTable(1<<20, 10), newTable(1<<20, 10)
	ra, rb := mustAdd(t, a, "f", ""), mustAdd(t, b, "f", "")
	if ra.id == rb.id {
		t.Errorf("both runs' first request is %q", ra.id)
	}
}
