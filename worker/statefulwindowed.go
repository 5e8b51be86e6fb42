package worker

import (
	"errors"

	"github.com/squallstream/squall/topology"
)

// A stateful windowed bolt (Storm's IStatefulWindowedBolt,
// docs/windowing-and-state.md): a component with both window: and state:.
// The windowed wrapper sits inside the stateful one: barriers reach the
// checkpoint core, data tuples go through the core into the windows, and
// the windows' acks and fails go back to the core instead of the acker. So
// a window tuple is acked once it left every window and then a checkpoint
// committed (the one that holds the effects of every window it was in);
// a rollback fails every tuple in the windows too, and the windows start
// again from what the spouts replay. Windows are not checkpointed: they
// are rebuilt from replays, as in Storm.
//
// In Storm's mode this is at least once: a window evaluated before a
// commit may be evaluated again after a crash (its tuples were still in a
// later window, so they are replayed), as in Storm without a message id
// field. Exactly-once mode is refused: its quiescing waits until every
// tuple given to the bolt is acked, which a window's tuples are not until
// they leave it.

// errExactlyOnceWindowed: exactly-once state on a windowed bolt.
var errExactlyOnceWindowed = errors.New("exactly-once state (topology.state.exactly.once) does not support a windowed bolt: " +
	"its windows hold tuples unacked across checkpoints; use Storm's mode (at least once) for this topology")

// unwindowed is the bolt a windowed wrapper runs, which has the state
// hooks; other bolts are returned as they are.
func unwindowed(b topology.Bolt) topology.Bolt {
	if wb := windowedOf(b); wb != nil {
		return wb.inner
	}
	return b
}

func windowedOf(b topology.Bolt) *windowedBolt {
	switch w := b.(type) {
	case *windowedBolt:
		return w
	case windowedShellBolt:
		return w.windowedBolt
	}
	return nil
}

// attachWindow routes the acks and fails of a stateful task's windows
// through the checkpoint core; a task without windows is left alone.
func (b *statefulBolt) attachWindow(inner topology.Bolt, exactlyOnce bool) error {
	wb := windowedOf(inner)
	if wb == nil {
		return nil
	}
	if exactlyOnce {
		return errExactlyOnceWindowed
	}
	wb.settled = b.resolve
	b.win = wb
	// A rollback must not wait for the windows to empty; a window in
	// flight to a shell child when its cache is reset is failed below.
	b.cfg.QuiesceRollback = false
	return nil
}

// rollback fails every tuple the windows hold, so that the spouts replay
// them against the restored state, and empties the windows: a window
// evaluated since the last commit had effects the rollback undid. A shell
// child is sent its next window whole. Executor goroutine.
func (b *windowedBolt) rollback() {
	b.removeFailed()
	removed := b.mgr.Remove(func(*windowed) bool { return true })
	b.mu.Lock()
	b.reset = true
	var fail []topology.Tuple
	for _, e := range removed {
		if !e.failed {
			e.failed = true
			fail = append(fail, e.t)
		}
		if b.goBolt == nil && e.gen != 0 && !e.shown {
			b.forget = append(b.forget, e.id)
		}
	}
	// Tuples expired and waiting for windows in flight: failed too (their
	// windows' effects were undone), not acked when those windows end.
	for _, g := range b.inflight {
		for _, e := range g.expired {
			if !e.failed {
				e.failed = true
				fail = append(fail, e.t)
			}
		}
		for _, e := range g.entries {
			e.failed = true
		}
	}
	b.mu.Unlock()
	for _, t := range fail {
		b.settle(true, t)
	}
}
