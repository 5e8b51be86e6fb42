package worker

import (
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
)

// TestNoteQueueFull: a control lane keeps its notes in order, with every
// field, whether they come as notes or as messages; tryPushNotes takes
// what fits, pushNotes waits for room, and pushNotesNow and pushNow go
// beyond the limit (the acker's completions never wait).
func TestNoteQueueFull(t *testing.T) {
	const limit = 4
	q := newNoteQueue(limit, make(chan struct{}, 1))
	ns := make([]note, limit+2)
	for i := range ns {
		ns[i] = note{kind: kindAck, task: 3, from: int32(i), root: uint64(i + 1), val: uint64(100 + i)}
	}
	if n := q.tryPushNotes(ns); n != limit {
		t.Fatalf("tryPushNotes(%d notes) into an empty queue of %d = %d, want %d", len(ns), limit, n, limit)
	}
	if n := q.tryPushNotes(ns[limit:]); n != 0 {
		t.Fatalf("tryPushNotes into a full queue = %d, want 0", n)
	}
	q.pushNotesNow(ns[limit : limit+1])
	q.pushNow(&message{kind: kindComplete, task: 5, root: 77})
	q.pushBatchNow([]message{{kind: kindInit, task: 3, from: 9, root: 78, val: 79}})
	if n := q.len(); n != limit+3 {
		t.Fatalf("after pushes beyond the limit the queue holds %d, want %d", n, limit+3)
	}

	pushed := make(chan bool)
	go func() {
		bp := waitStrategy{spin: 1, yield: 1}
		pushed <- q.pushNotes(ns[limit+1:], &bp)
	}()
	testenv.WaitUntil(t, 30*time.Second, "pushNotes waiting for room", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.producersWaiting > 0
	})

	want := append(append([]note{}, ns[:limit+1]...),
		note{kind: kindComplete, task: 5, root: 77},
		note{kind: kindInit, task: 3, from: 9, root: 78, val: 79})
	got := q.takeNotes(nil)
	if !equalNotes(got, want) {
		t.Fatalf("takeNotes = %+v, want %+v", got, want)
	}
	if !<-pushed {
		t.Fatal("pushNotes returned false on an open queue")
	}
	if got := q.takeNotes(nil); !equalNotes(got, ns[limit+1:]) {
		t.Errorf("takeNotes after room was made = %+v, want %+v", got, ns[limit+1:])
	}
	q.close()
	if q.pushNotes(ns[:1], &waitStrategy{}) || q.pushNotesNow(ns[:1]) || q.tryPushNotes(ns[:1]) != 1 {
		t.Error("a closed queue took notes (tryPushNotes drops them)")
	}
	if got := q.takeNotes(nil); got != nil {
		t.Errorf("a closed queue holds %+v", got)
	}
}

func equalNotes(a, b []note) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSpoutNotesPassFullDataQueue: a spout's collector whose data queue
// is full still delivers its inits to the acker's lane, and keeps its
// tuples until there is room: control never waits behind data.
func TestSpoutNotesPassFullDataQueue(t *testing.T) {
	data := newQueue(2)
	fill(data, 2)
	ctl := newNoteQueue(2, make(chan struct{}, 1))
	e := &emitter{spout: true, batching: true}
	e.out = []outBatch{
		{q: data, msgs: []message{{kind: kindTuple, task: 1}, {kind: kindTuple, task: 1}}},
		{q: ctl, notes: []note{{kind: kindInit, task: 2, from: 3, root: 4, val: 5}}},
	}
	e.flush(false)
	if got := ctl.takeNotes(nil); len(got) != 1 || got[0] != (note{kind: kindInit, task: 2, from: 3, root: 4, val: 5}) {
		t.Errorf("the acker's lane got %+v, want the init", got)
	}
	if !e.stalled.Load() || len(e.out[0].msgs) != 2 {
		t.Errorf("stalled %v with %d tuples kept, want stalled with 2", e.stalled.Load(), len(e.out[0].msgs))
	}
	if n := data.heldBack.Load(); n != 2 {
		t.Errorf("the data queue counts %d held back, want 2", n)
	}
}
