package builtin

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/squallstream/squall/topology"
)

// words are the words of Storm's TestWordSpout.
var words = [...]string{"nathan", "mike", "jackson", "golda", "bertels"}

// DefaultWordIntervalMs is the pause between two words of a WordSpout, as
// in Storm's TestWordSpout.
const DefaultWordIntervalMs = 100

// WordsConfig configures a WordSpout.
type WordsConfig struct {
	// Field names the single output field; default "word".
	Field string
	// Seed seeds the choice of words (mixed with the task id); 0 picks a
	// random seed.
	Seed uint64
	// Limit stops the spout after that many words; 0 means no limit.
	Limit int
	// IntervalMs is the least time between two words. Storm's
	// TestWordSpout sleeps 100 ms before each word; this spout instead
	// emits nothing until the interval has passed, so the runtime backs
	// off. 0 emits as fast as Next is called.
	IntervalMs int
}

// Words returns a factory of WordSpouts for the Builder.
func Words(c WordsConfig) topology.SpoutFunc {
	return func() (topology.Spout, error) { return spout(NewWordSpout(c)) }
}

// WordSpout is Storm's TestWordSpout: it emits a random word among
// "nathan", "mike", "jackson", "golda" and "bertels" on the default stream,
// without message ids.
type WordSpout struct {
	cfg      WordsConfig
	interval time.Duration
	out      topology.SpoutCollector
	rng      *rand.Rand
	values   [len(words)][]any
	emitted  int
	// next is when the next word is due; now is the clock (time.Now
	// except in tests).
	next time.Time
	now  func() time.Time
}

// NewWordSpout returns a WordSpout.
func NewWordSpout(c WordsConfig) (*WordSpout, error) {
	if c.Field == "" {
		c.Field = "word"
	}
	if c.Limit < 0 || c.IntervalMs < 0 {
		return nil, fmt.Errorf("%w: limit (%d) and intervalMs (%d) must not be negative", topology.ErrBadArgs, c.Limit, c.IntervalMs)
	}
	s := &WordSpout{cfg: c, interval: time.Duration(c.IntervalMs) * time.Millisecond, now: time.Now}
	for i, w := range words {
		s.values[i] = []any{w}
	}
	return s, nil
}

// DeclareOutputs declares the default stream with one field.
func (s *WordSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{s.cfg.Field}}}
}

// Open seeds the generator.
func (s *WordSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	s.rng = taskRand(s.cfg.Seed, ctx)
	return nil
}

// Next emits one word if it is due.
func (s *WordSpout) Next() {
	if s.cfg.Limit > 0 && s.emitted >= s.cfg.Limit {
		return
	}
	if s.interval > 0 {
		now := s.now()
		if now.Before(s.next) {
			return
		}
		s.next = now.Add(s.interval)
	}
	s.emitted++
	s.out.Emit(topology.DefaultStream, s.values[s.rng.IntN(len(words))], nil)
}

// Ack, Fail and Close do nothing: words are emitted without message ids.
func (s *WordSpout) Ack(msgID any)  {}
func (s *WordSpout) Fail(msgID any) {}
func (s *WordSpout) Close()         {}

// taskRand returns the random source of one task: seeded with seed (a
// random one when 0) and the task id, so that a fixed seed repeats per task
// while tasks of one component differ.
func taskRand(seed uint64, ctx *topology.TaskContext) *rand.Rand {
	if seed == 0 {
		seed = rand.Uint64()
	}
	task := 0
	if ctx != nil {
		task = ctx.TaskID
	}
	return rand.New(rand.NewPCG(seed, uint64(task)))
}
