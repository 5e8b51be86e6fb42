package builtin

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/squallstream/squall/topology"
)

// TopNConfig configures a TopNBolt.
type TopNConfig struct {
	// N is how many keys to show; default 10.
	N int
	// Writer receives the final ranking; default standard output.
	Writer io.Writer
}

// TopN returns a factory of TopNBolts for the Builder.
func TopN(c TopNConfig) topology.BoltFunc {
	return func() (topology.Bolt, error) { return NewTopNBolt(c), nil }
}

// TopNBolt ranks keys by count. It takes [key, count] tuples (what Count
// emits), keeps the latest count of each key, logs the top N on every tick
// tuple and prints it when the topology stops. It declares no outputs.
type TopNBolt struct {
	n   int
	w   io.Writer
	log *slog.Logger
	out topology.BoltCollector
	// counts is read by Cleanup, written by Execute; mu guards it.
	mu     sync.Mutex
	counts map[string]int64
	name   string
}

// NewTopNBolt returns a TopNBolt.
func NewTopNBolt(c TopNConfig) *TopNBolt {
	if c.N <= 0 {
		c.N = 10
	}
	if c.Writer == nil {
		c.Writer = os.Stdout
	}
	return &TopNBolt{n: c.N, w: c.Writer, counts: map[string]int64{}}
}

// Prepare checks that every input stream carries a key and a count.
func (b *TopNBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out, b.log, b.name = out, ctx.Logger, ctx.ComponentID
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	return checkKeyCountInputs(ctx.Topology, ctx.ComponentID)
}

// Check checks, before the topology runs, that every input stream carries
// a key and a count.
func (b *TopNBolt) Check(ctx *topology.CheckContext) error {
	return checkKeyCountInputs(ctx.Topology, ctx.ComponentID)
}

func checkKeyCountInputs(t *topology.Topology, id string) error {
	c := t.Component(id)
	if c == nil {
		return nil
	}
	for _, in := range c.Inputs {
		src := t.Component(in.From)
		if src == nil || in.Stream == topology.CheckpointStream {
			continue
		}
		if s, ok := src.Output(in.Stream); ok && len(s.Fields) < 2 {
			return fmt.Errorf("%w: top-n bolt %q: stream %q of %q has fields %q, want [key, count]", topology.ErrBadComponent, id, in.Stream, in.From, s.Fields)
		}
	}
	return nil
}

// Execute records the count of a key, or logs the ranking on a tick.
func (b *TopNBolt) Execute(t topology.Tuple) {
	defer b.out.Ack(t)
	if t.IsTick() {
		b.log.Info("top words", "top", b.format(" "))
		return
	}
	n, ok := toInt64(t.Value(1))
	if !ok {
		b.out.ReportError(fmt.Errorf("top-n bolt %q: count %v (%T) is not an integer", b.name, t.Value(1), t.Value(1)))
		return
	}
	b.mu.Lock()
	b.counts[t.String(0)] = n
	b.mu.Unlock()
}

// Cleanup prints the final ranking.
func (b *TopNBolt) Cleanup() {
	fmt.Fprintf(b.w, "top %d of %q:\n%s", b.n, b.name, b.format("\n"))
}

// Top returns the current top N keys and counts, highest first.
func (b *TopNBolt) Top() []KeyCount {
	b.mu.Lock()
	defer b.mu.Unlock()
	all := make([]KeyCount, 0, len(b.counts))
	for k, n := range b.counts {
		all = append(all, KeyCount{k, n})
	}
	slices.SortFunc(all, func(x, y KeyCount) int {
		if c := cmp.Compare(y.Count, x.Count); c != 0 {
			return c
		}
		return cmp.Compare(x.Key, y.Key)
	})
	return all[:min(b.n, len(all))]
}

// KeyCount is a key and its count.
type KeyCount struct {
	Key   string
	Count int64
}

func (b *TopNBolt) format(sep string) string {
	var s strings.Builder
	for i, kc := range b.Top() {
		fmt.Fprintf(&s, "%3d. %-20s %d%s", i+1, kc.Key, kc.Count, sep)
	}
	return s.String()
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case uint64:
		return int64(n), true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	}
	return 0, false
}
