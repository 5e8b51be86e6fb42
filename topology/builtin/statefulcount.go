package builtin

import (
	"fmt"
	"strconv"

	"github.com/squallstream/squall/topology"
)

// StatefulCountBolt is CountBolt with its counts in the task's
// checkpointed key-value state (a topology.StatefulBolt, like Storm's
// stateful word count example): after a crash the counts resume from the
// last checkpoint, and the spouts replay what it did not include. A count
// is stored as its decimal text, under the counted value's text.
type StatefulCountBolt struct {
	CountBolt
	state topology.KeyValueState
}

// NewStatefulCountBolt returns a StatefulCountBolt.
func NewStatefulCountBolt(c CountConfig) *StatefulCountBolt {
	return &StatefulCountBolt{CountBolt: CountBolt{field: c.Field}}
}

// StatefulCount returns a factory of StatefulCountBolts for the Builder.
func StatefulCount(c CountConfig) topology.BoltFunc {
	return func() (topology.Bolt, error) { return NewStatefulCountBolt(c), nil }
}

// InitState receives the task's state.
func (b *StatefulCountBolt) InitState(s topology.KeyValueState) { b.state = s }

// Execute counts the tuple in the state, emits the new count and acks.
func (b *StatefulCountBolt) Execute(t topology.Tuple) {
	if t.IsTick() {
		b.out.Ack(t)
		return
	}
	key, v, ok := b.counted(t)
	if !ok {
		b.out.Fail(t)
		return
	}
	n, err := b.add(key)
	if err != nil {
		b.out.ReportError(fmt.Errorf("stateful count bolt: %w", err))
		b.out.Fail(t)
		return
	}
	b.emitCount(t, v, n)
}

func (b *StatefulCountBolt) add(key string) (int64, error) {
	var n int64
	cur, ok, err := b.state.Get(key)
	if err != nil {
		return 0, err
	}
	if ok {
		if n, err = strconv.ParseInt(string(cur), 10, 64); err != nil {
			return 0, fmt.Errorf("count of %.40q: %w", key, err)
		}
	}
	n++
	return n, b.state.Put(key, strconv.AppendInt(nil, n, 10))
}
