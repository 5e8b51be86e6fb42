package worker

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// Lineage IDs (docs/windowing-and-state.md, exactly-once state): in an
// exactly-once topology every tracked tuple carries an ID that stays the
// same when its spout replays it, so that a stateful bolt recognises a
// replay whose effect it committed. A spout tuple's ID hashes its
// component and message id; an emit's hashes the IDs of its anchors, the
// emitting component and stream, and the emit's index among the emits
// anchored to the same input. Only deterministic bolts give a replay the
// same IDs; unanchored tuples have none.

// spoutLineage is the lineage of a spout tuple.
func spoutLineage(component string, msgID any) acker.Lineage {
	h := fnv.New128a()
	h.Write([]byte(component))
	h.Write([]byte{0})
	fmt.Fprintf(h, "%T:%v", msgID, msgID)
	var l acker.Lineage
	h.Sum(l[:0])
	return l
}

// emitLineage is the lineage of an emit of the task on stream, anchored to
// anchors: ok is false when no anchor has a lineage.
func (c *boltCollector) emitLineage(stream string, anchors []topology.Tuple) (l acker.Lineage, ok bool) {
	h := fnv.New128a()
	var index uint32
	for _, a := range anchors {
		al, next, has := acker.LineageOf(a.Tracking())
		if !has {
			continue
		}
		if !ok {
			index = next() // the first anchor counts the emits
			ok = true
		}
		h.Write(al[:])
	}
	if !ok {
		return l, false
	}
	h.Write([]byte(c.comp))
	h.Write([]byte{0})
	h.Write([]byte(stream))
	h.Write(binary.LittleEndian.AppendUint32(nil, index))
	h.Sum(l[:0])
	return l, true
}

// sendWithLineage is send in an exactly-once topology. mu is held.
func (c *boltCollector) sendWithLineage(so *streamOut, anchors []topology.Tuple, values []any, targets []int) {
	lin, ok := c.emitLineage(so.stream.ID, anchors)
	for _, t := range targets {
		tracking := c.anchorFor(anchors)
		if ok {
			if _, edges := acker.Of(tracking); edges != nil {
				tracking = acker.NewLineageAnchor(edges, lin)
			}
		}
		c.put(t, &message{kind: kindTuple, task: int32(t), tuple: topology.NewTuple(so.src, values, tracking)})
	}
	c.counted(so, len(targets))
}

// lineageOf returns a tuple's ID for the checkpoint core.
func lineageOf(t topology.Tuple) (checkpoint.ID, bool) {
	l, _, ok := acker.LineageOf(t.Tracking())
	return checkpoint.ID(l), ok
}
