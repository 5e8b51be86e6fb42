package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/topology"
)

// Storm's event logger. With debug on for a topology or a component
// (POST /api/v1/topology/{id}/debug/enable/{spct}), a sampled share of the
// tuples its tasks emit is written, one line each, to the worker's event
// log (events.log beside worker.log). Storm routes them through
// __eventlogger bolts; squall's tasks hand them to one writer goroutine
// per worker instead, through a bounded queue that drops (and counts)
// what it cannot take, so that debugging slows no emit down on a slow disk.
const (
	// KeyEventLoggers is Storm's topology.eventlogger.executors: 0 turns
	// event logging off; any other number (or none) leaves it on, one
	// event log per worker.
	KeyEventLoggers = "topology.eventlogger.executors"
	// eventQueue is how many events wait for the writer.
	eventQueue = 4096
)

// DebugOption is Storm's DebugOptions for a topology or one component.
type DebugOption struct {
	Enable bool
	// SamplingPct is the percent of emitted tuples logged, 0 to 100.
	SamplingPct float64
}

// debugState is what a task does with the tuples it emits while it is set:
// sample a share of them into the event log, log every one of them into the
// worker's log (topology.debug, as Storm's executors do), or both.
type debugState struct {
	// sample is the chance of an emit being logged, out of 1<<32.
	sample   uint64
	logEmits bool
}

// event is a tuple emitted while debug is on.
type event struct {
	at      time.Time
	comp    string
	task    int
	stream  string
	msgID   any
	values  []any
	emitLog bool // for the worker's log (topology.debug), not the event log
}

// eventLog writes events on its own goroutine.
type eventLog struct {
	events  *slog.Logger
	workers *slog.Logger
	queue   chan event
	dropped atomic.Int64
	quit    chan struct{}
	done    chan struct{}
	// running is set by start; start and stop are called from the
	// goroutine that runs the worker.
	running bool
}

func newEventLog(events, workers *slog.Logger) *eventLog {
	return &eventLog{events: events, workers: workers, queue: make(chan event, eventQueue),
		quit: make(chan struct{}), done: make(chan struct{})}
}

// offer queues ev for writing, or counts it dropped when the queue is full.
func (l *eventLog) offer(ev event) {
	select {
	case l.queue <- ev:
	default:
		l.dropped.Add(1)
	}
}

// start starts the writer.
func (l *eventLog) start() {
	l.running = true
	go l.run()
}

// run writes events until stop, then what is left in the queue.
func (l *eventLog) run() {
	defer close(l.done)
	for {
		select {
		case ev := <-l.queue:
			l.write(ev)
		case <-l.quit:
			for {
				select {
				case ev := <-l.queue:
					l.write(ev)
				default:
					l.noteDropped()
					return
				}
			}
		}
		if len(l.queue) == 0 {
			l.noteDropped()
		}
	}
}

// stop stops the writer once it wrote what was queued; a writer never
// started has nothing to stop.
func (l *eventLog) stop() {
	if !l.running {
		return
	}
	l.running = false
	close(l.quit)
	<-l.done
}

// noteDropped writes how many events were dropped since it last did.
func (l *eventLog) noteDropped() {
	if n := l.dropped.Swap(0); n > 0 {
		l.events.Warn("events dropped", "count", n, "reason", "the event log could not keep up")
	}
}

func (l *eventLog) write(ev event) {
	values, err := json.Marshal(ev.values)
	if err != nil {
		values = fmt.Appendf(nil, "%v", ev.values)
	}
	to, msg := l.events, "event"
	if ev.emitLog {
		to, msg = l.workers, "emitting"
	}
	r := slog.NewRecord(ev.at, slog.LevelInfo, msg, 0)
	r.AddAttrs(slog.String(logline.KeyComponent, ev.comp), slog.Int(logline.KeyTask, ev.task), slog.String("stream", ev.stream))
	if ev.msgID != nil {
		r.AddAttrs(slog.String("messageId", fmt.Sprint(ev.msgID)))
	}
	r.AddAttrs(slog.String("values", string(values)))
	if to.Handler().Enabled(context.Background(), slog.LevelInfo) {
		_ = to.Handler().Handle(context.Background(), r)
	}
}

// logEmit is the slow path of an emit while debug is on: it hands the
// tuple to the event log if sampled, and to the worker's log under
// topology.debug.
func (e *emitter) logEmit(d *debugState, stream string, values []any, msgID any) {
	l := e.w.events
	if d.sample > 0 && uint64(rand.Uint32()) < d.sample {
		l.offer(event{at: time.Now(), comp: e.comp, task: e.task, stream: stream, msgID: msgID, values: values})
	}
	if d.logEmits {
		l.offer(event{at: time.Now(), comp: e.comp, task: e.task, stream: stream, msgID: msgID, values: values, emitLog: true})
	}
}

// SetDebug sets Storm's debug options of the worker's tasks, by component,
// "" for the whole topology: a component's own option, if it has one,
// wins over the topology's, as in Storm. Tasks of components with neither
// stop sampling. With topology.eventlogger.executors 0 nothing is sampled.
func (w *Worker) SetDebug(opts map[string]DebugOption) {
	w.debugMu.Lock()
	defer w.debugMu.Unlock()
	w.debugOpts = opts
	w.applyDebug()
}

// applyDebug sets every task's debug state from debugOpts and
// topology.debug; debugMu is held.
func (w *Worker) applyDebug() {
	logEmits := w.conf.Bool(topology.KeyDebug, false)
	eventsOn := w.conf.Int(KeyEventLoggers, 1) != 0
	states := map[string]*debugState{}
	state := func(comp string) *debugState {
		if s, ok := states[comp]; ok {
			return s
		}
		o, ok := w.debugOpts[comp]
		if !ok {
			o = w.debugOpts[""]
		}
		var s *debugState
		pct := min(max(o.SamplingPct, 0), 100)
		if sample := uint64(pct / 100 * (1 << 32)); (o.Enable && eventsOn && sample > 0) || logEmits {
			s = &debugState{logEmits: logEmits}
			if o.Enable && eventsOn {
				s.sample = sample
			}
		}
		states[comp] = s
		return s
	}
	for _, x := range w.spouts {
		for _, t := range x.tasks {
			t.out.debug.Store(state(x.comp.ID))
		}
	}
	for _, x := range w.bolts {
		for _, t := range x.tasks {
			t.out.debug.Store(state(x.comp.ID))
		}
	}
}

// startEvents makes the worker's event log and applies topology.debug.
func (w *Worker) startEvents() {
	events := w.cfg.Events
	if events == nil {
		events = w.log
	}
	w.events = newEventLog(events, w.log)
	w.flowMetrics()
	w.debugMu.Lock()
	defer w.debugMu.Unlock()
	w.applyDebug()
}
