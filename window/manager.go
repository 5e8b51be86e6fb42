package window

import (
	"container/heap"
	"math"
	"slices"
	"time"
)

// Window is one activation of a windowed bolt: Storm's TupleWindow.
type Window[T any] struct {
	// Tuples are the tuples in the window, oldest first. New are those
	// that were not in the previous window, Expired those of the previous
	// window that are not in this one (already returned for acking, or for
	// failing if the cap dropped them), so
	// that Tuples is always the previous window's, minus Expired, plus New.
	// (Storm forgets the expired tuples of a window skipped because it was
	// empty, which breaks this for incremental computations.)
	Tuples, New, Expired []T
	// End is the window's reference time in milliseconds: the last
	// millisecond it covers. Start is End minus the length (the window
	// covers (Start, End]) for duration windows, and equals End for count
	// windows, which have no start in Storm either.
	Start, End int64
}

// Result is what became due on an Add or Tick, to act on in the order of
// the fields: the windows before the expired tuples, since a window's
// tuples may expire right after it fired, and the bolt's emits are
// anchored to them.
type Result[T any] struct {
	// Dropped tuples were pushed out by Spec.MaxTuples: fail them.
	Dropped []T
	// Late tuples are behind the watermark: emit them on the late-tuple
	// stream, if any, and ack them.
	Late []T
	// Windows fired, in order.
	Windows []Window[T]
	// Expired tuples left every window: ack them.
	Expired []T
}

// Empty reports whether nothing became due.
func (r *Result[T]) Empty() bool {
	return len(r.Dropped) == 0 && len(r.Late) == 0 && len(r.Expired) == 0 && len(r.Windows) == 0
}

// Stats counts what a Manager did.
type Stats struct {
	Added, Fired, Expired, Late, Dropped int
	// Held is how many tuples the manager holds now: in windows and, in
	// event time, waiting for the watermark.
	Held int
	// Watermark is the last watermark (event time), math.MinInt64 before
	// the first.
	Watermark int64
}

type event[T any] struct {
	t   T
	ts  int64  // ms: event time, or processing time
	seq uint64 // arrival order, to keep ties in order
	// shown: the tuple was in a fired window. restored: it was put back
	// by Restore and no window fired since (so shown is set too).
	shown, restored bool
}

// Manager windows one task's input. It is not safe for concurrent use.
type Manager[T any] struct {
	spec   Spec
	length int64 // ms, duration windows
	slide  int64 // ms, time-slid windows

	started bool
	// events are the released tuples, in event-time order (processing
	// time: arrival order), from head on.
	events []event[T]
	head   int
	// nextEnd is the reference time of the next time-slid window.
	nextEnd int64
	// sinceTrigger counts releases since the last count trigger.
	sinceTrigger int
	// expired are the tuples of the last fired window that left it since,
	// for the next window's Expired. They are never more than that
	// window held.
	expired []T
	// lastTs is the last processing time seen, so that a clock stepping
	// back does not reorder tuples.
	lastTs int64

	// Event time: tuples waiting for the watermark, the newest timestamp
	// per input stream, the watermark, and when the next one is due (ms).
	pending       pendingHeap[T]
	seq           uint64
	streamTs      map[string]int64
	watermark     int64
	nextWatermark int64

	stats Stats
	res   Result[T]
}

// New returns a manager for spec, which ParseSpec made or which has one
// length and one sliding interval set.
func New[T any](spec Spec) *Manager[T] {
	if spec.SlideCount == 0 && spec.SlideDuration == 0 {
		spec.SlideCount = 1
	}
	if spec.WatermarkInterval <= 0 {
		spec.WatermarkInterval = DefaultWatermarkInterval
	}
	return &Manager[T]{
		spec:      spec,
		length:    spec.LengthDuration.Milliseconds(),
		slide:     spec.SlideDuration.Milliseconds(),
		streamTs:  make(map[string]int64),
		watermark: math.MinInt64,
	}
}

// Spec returns the manager's window.
func (m *Manager[T]) Spec() Spec { return m.spec }

// Stats returns the manager's counters.
func (m *Manager[T]) Stats() Stats {
	s := m.stats
	s.Held = len(m.events) - m.head + len(m.pending)
	s.Watermark = m.watermark
	return s
}

func ms(t time.Time) int64 { return t.UnixMilli() }

// start fixes the time windows' schedule at the first call.
func (m *Manager[T]) start(now int64) {
	if m.started {
		return
	}
	m.started = true
	m.lastTs = now
	if m.slide > 0 && !m.spec.EventTime() {
		// Storm's timer fires every interval from the start; a window
		// firing at t covers up to t-1.
		m.nextEnd = now + m.slide - 1
	}
	if m.spec.EventTime() {
		m.nextWatermark = now + m.spec.WatermarkInterval.Milliseconds()
		m.nextEnd = math.MinInt64 // aligned to the first event
	}
}

// take returns the accumulated result and resets it.
func (m *Manager[T]) take() Result[T] {
	r := m.res
	m.res = Result[T]{}
	return r
}

// Add gives the manager tuple t at time now. ts is its event time (ms; see
// Timestamp) and stream its input stream ("component:stream"), both used in
// event time only.
func (m *Manager[T]) Add(now time.Time, t T, ts int64, stream string) Result[T] {
	return m.add(now, t, ts, stream, false)
}

// Restore puts back tuple t, which a window already evaluated before a
// restart or a rollback (Storm's recovery by message id,
// topology.bolts.message.id.field.name): it is in the windows as Add
// would put it, but in no window's New, it does not count towards a count
// trigger, and a window holding nothing but restored tuples does not fire
// (it was evaluated before). Once a window fired with it, it is a tuple
// like any other; it expires, and is reported in Expired, as one.
func (m *Manager[T]) Restore(now time.Time, t T, ts int64, stream string) Result[T] {
	return m.add(now, t, ts, stream, true)
}

func (m *Manager[T]) add(now time.Time, t T, ts int64, stream string, restored bool) Result[T] {
	// Make room first: a window fired below must not hold a tuple dropped
	// right after.
	m.enforceCap(1)
	m.tick(now)
	m.stats.Added++
	if !m.spec.EventTime() {
		ts = max(ms(now), m.lastTs)
		m.lastTs = ts
		m.release(event[T]{t: t, ts: ts, shown: restored, restored: restored})
		return m.take()
	}
	if cur, ok := m.streamTs[stream]; !ok || ts > cur {
		m.streamTs[stream] = ts
	}
	if ts < m.watermark {
		m.stats.Late++
		m.res.Late = append(m.res.Late, t)
		return m.take()
	}
	m.seq++
	heap.Push(&m.pending, event[T]{t: t, ts: ts, seq: m.seq, shown: restored, restored: restored})
	return m.take()
}

// Tick tells the manager that time now has come: time-slid windows up to
// now fire (processing time), or due watermarks advance (event time).
func (m *Manager[T]) Tick(now time.Time) Result[T] {
	m.tick(now)
	return m.take()
}

func (m *Manager[T]) tick(now time.Time) {
	t := ms(now)
	m.start(t)
	if !m.spec.EventTime() {
		t = max(t, m.lastTs)
		m.lastTs = t
		m.advance(t - 1)
		return
	}
	if t < m.nextWatermark {
		return
	}
	// Watermarks are due every interval; only the newest matters.
	interval := m.spec.WatermarkInterval.Milliseconds()
	m.nextWatermark += ((t-m.nextWatermark)/interval + 1) * interval
	w, ok := m.computeWatermark()
	if !ok || w <= m.watermark {
		return
	}
	m.watermark = w
	// Everything before the watermark has arrived: release it in order.
	for len(m.pending) > 0 && m.pending[0].ts < w {
		m.release(heap.Pop(&m.pending).(event[T]))
	}
	m.advance(w - 1)
}

// computeWatermark is Storm's: once every input stream has seen a tuple,
// the oldest of their newest timestamps, minus the lag.
func (m *Manager[T]) computeWatermark() (int64, bool) {
	if len(m.streamTs) == 0 || len(m.streamTs) < len(m.spec.Streams) {
		return 0, false
	}
	oldest := int64(math.MaxInt64)
	if len(m.spec.Streams) > 0 {
		for _, s := range m.spec.Streams {
			ts, ok := m.streamTs[s]
			if !ok {
				return 0, false
			}
			oldest = min(oldest, ts)
		}
	} else {
		for _, ts := range m.streamTs {
			oldest = min(oldest, ts)
		}
	}
	return oldest - m.spec.Lag.Milliseconds(), true
}

// release moves one tuple into the window, in time order: time-slid
// windows ending before it fire first; a count trigger may fire after.
func (m *Manager[T]) release(e event[T]) {
	m.advance(e.ts - 1)
	if m.slide > 0 && m.nextEnd == math.MinInt64 {
		m.nextEnd = alignUp(e.ts, m.slide)
	}
	if len(m.events) == cap(m.events) {
		// Double: append grows a large slice by a quarter, and a 10 s
		// window can hold millions of events.
		m.events = slices.Grow(m.events, len(m.events)+64)
	}
	m.events = append(m.events, e)
	m.evictEarly(e.ts)
	if m.spec.SlideCount > 0 && !e.restored {
		m.sinceTrigger++
		if m.sinceTrigger >= m.spec.SlideCount {
			m.sinceTrigger = 0
			m.evaluate(e.ts)
		}
	}
}

// advance fires the time-slid windows that end at or before frontier, all
// of whose tuples have been released.
func (m *Manager[T]) advance(frontier int64) {
	if m.slide == 0 || m.nextEnd == math.MinInt64 {
		return
	}
	for m.nextEnd <= frontier {
		if m.evaluate(m.nextEnd) {
			m.nextEnd += m.slide
			continue
		}
		// An empty window: skip to the first window that can hold a tuple
		// not yet released, after frontier (Storm skips empty windows).
		m.nextEnd = m.firstEndAfter(frontier)
	}
}

// firstEndAfter returns the first window end of the schedule after t.
func (m *Manager[T]) firstEndAfter(t int64) int64 {
	if m.nextEnd > t {
		return m.nextEnd
	}
	steps := (t-m.nextEnd)/m.slide + 1
	return m.nextEnd + steps*m.slide
}

// alignUp returns the smallest multiple of step at or after t.
func alignUp(t, step int64) int64 {
	r := t % step
	switch {
	case r == 0:
		return t
	case r < 0:
		return t - r
	}
	return t + step - r
}

// evaluate expires what falls out of the window ending at ref and fires it
// if it holds anything; it reports whether it fired.
func (m *Manager[T]) evaluate(ref int64) bool {
	if m.spec.LengthCount > 0 {
		m.expireBeyondCount()
	} else {
		m.expireUpTo(ref - m.length)
	}
	live := m.events[m.head:]
	if len(live) == 0 || allRestored(live) {
		return false // empty, or evaluated before (Restore)
	}
	w := Window[T]{Tuples: make([]T, len(live)), Expired: m.expired, Start: ref, End: ref}
	m.expired = nil
	if m.length > 0 {
		w.Start = ref - m.length
	}
	for i := range live {
		e := &live[i]
		w.Tuples[i] = e.t
		e.restored = false
		if !e.shown {
			e.shown = true
			w.New = append(w.New, e.t)
		}
	}
	m.stats.Fired++
	m.res.Windows = append(m.res.Windows, w)
	return true
}

// allRestored reports whether every event of live was put back by
// Restore and shown by no window since. It looks from the newest, as new
// tuples are mostly newer than those a recovery put back: a window with
// one stops the scan at once. A window of restored tuples alone costs one
// scan per evaluation, which then does not fire.
func allRestored[T any](live []event[T]) bool {
	for i := len(live) - 1; i >= 0; i-- {
		if !live[i].restored {
			return false
		}
	}
	return true
}

// evictEarly expires, as soon as a tuple arrives, what no later window can
// hold, so that a count window never holds more than its length.
func (m *Manager[T]) evictEarly(ts int64) {
	if m.spec.LengthCount > 0 {
		m.expireBeyondCount()
		return
	}
	// The next window ends at the next scheduled end or, with a count
	// slide, no earlier than this tuple.
	next := ts
	if m.slide > 0 {
		next = max(next, m.nextEnd)
	}
	m.expireUpTo(next - m.length)
}

func (m *Manager[T]) expireBeyondCount() {
	for len(m.events)-m.head > m.spec.LengthCount {
		m.expireHead()
	}
}

func (m *Manager[T]) expireUpTo(ts int64) {
	for m.head < len(m.events) && m.events[m.head].ts <= ts {
		m.expireHead()
	}
}

func (m *Manager[T]) expireHead() {
	shown := m.events[m.head].shown
	t := m.popHead()
	m.stats.Expired++
	m.res.Expired = append(m.res.Expired, t)
	// The next window reports what left the last one, so that each
	// window's tuples are the last one's, minus Expired, plus New.
	if shown {
		m.expired = append(m.expired, t)
	}
}

func (m *Manager[T]) popHead() T {
	var zero event[T]
	t := m.events[m.head].t
	m.events[m.head] = zero // let the tuple go
	m.head++
	if m.head == len(m.events) {
		m.events, m.head = m.events[:0], 0
	} else if m.head > 1024 && m.head > len(m.events)/2 {
		m.events = append(m.events[:0], m.events[m.head:]...)
		m.head = 0
	}
	return t
}

// enforceCap drops the oldest tuples while the manager, with incoming more,
// would hold more than Spec.MaxTuples: released ones first, then those
// waiting for the watermark.
func (m *Manager[T]) enforceCap(incoming int) {
	if m.spec.MaxTuples <= 0 {
		return
	}
	for len(m.events)-m.head+len(m.pending)+incoming > m.spec.MaxTuples && len(m.events)-m.head+len(m.pending) > 0 {
		var t T
		if m.head < len(m.events) {
			shown := m.events[m.head].shown
			t = m.popHead()
			if shown {
				m.expired = append(m.expired, t) // it left the window too
			}
		} else {
			t = heap.Pop(&m.pending).(event[T]).t
		}
		m.stats.Dropped++
		m.res.Dropped = append(m.res.Dropped, t)
	}
}

// Remove takes out of the manager every tuple it holds for which match is
// true (a windowed bolt failed a window: its tuples are failed and must not
// be acked when they expire), and returns them. Those a window showed are
// reported in the next window's Expired.
func (m *Manager[T]) Remove(match func(T) bool) []T {
	var removed []T
	kept := m.events[:m.head]
	for _, e := range m.events[m.head:] {
		if !match(e.t) {
			kept = append(kept, e)
			continue
		}
		removed = append(removed, e.t)
		if e.shown {
			m.expired = append(m.expired, e.t)
		}
	}
	clear(m.events[len(kept):])
	m.events = kept
	keptPending := m.pending[:0]
	for _, e := range m.pending {
		if match(e.t) {
			removed = append(removed, e.t)
		} else {
			keptPending = append(keptPending, e)
		}
	}
	clear(m.pending[len(keptPending):])
	m.pending = keptPending
	heap.Init(&m.pending)
	if m.head == len(m.events) {
		m.events, m.head = m.events[:0], 0
	}
	return removed
}

// NextTick returns when Tick should next be called, if time alone can make
// something due: the next time-slid window (processing time) or the next
// watermark (event time).
func (m *Manager[T]) NextTick() (time.Time, bool) {
	switch {
	case !m.started:
		return time.Time{}, false
	case m.spec.EventTime():
		return time.UnixMilli(m.nextWatermark), true
	case m.slide > 0:
		return time.UnixMilli(m.nextEnd + 1), true
	}
	return time.Time{}, false
}

// pendingHeap orders tuples waiting for the watermark by event time, then
// arrival.
type pendingHeap[T any] []event[T]

func (h pendingHeap[T]) Len() int { return len(h) }
func (h pendingHeap[T]) Less(i, j int) bool {
	if h[i].ts != h[j].ts {
		return h[i].ts < h[j].ts
	}
	return h[i].seq < h[j].seq
}
func (h pendingHeap[T]) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pendingHeap[T]) Push(x any)   { *h = append(*h, x.(event[T])) }
func (h *pendingHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	var zero event[T]
	old[len(old)-1] = zero
	*h = old[:len(old)-1]
	return e
}
