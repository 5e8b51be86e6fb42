// Package window is the pure core of windowed bolts, with the semantics of
// Apache Storm's WindowManager and its trigger and eviction policies:
// sliding and tumbling windows whose length and sliding interval are each a
// count of tuples or a duration, in processing time or in event time (a
// timestamp field, a maximum lag, periodic watermarks, late tuples).
//
// A Manager is driven by tuples and by time, both passed in: Add gives it a
// tuple at the current time, Tick the passing of time. Each returns what
// became due: windows to hand to the bolt (their tuples, the new ones and
// the expired ones), tuples that left every window (to ack), late tuples,
// and tuples dropped because the window reached its cap (to fail). It has no
// goroutines, timers or clock of its own.
//
// Memory is bounded: a count window holds at most its length (older tuples
// are expired as new ones arrive, not at the next trigger); a duration
// window, and in event time the tuples waiting for the watermark, at most
// Spec.MaxTuples (topology.bolts.window.max.tuples), beyond which the
// oldest are dropped and counted.
package window
