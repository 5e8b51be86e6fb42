package builtin

import (
	"fmt"
	"math/rand/v2"
	"sync/atomic"

	"github.com/squallstream/squall/topology"
)

// sentences are the five sentences of Storm's RandomSentenceSpout.
var sentences = [...]string{
	"the cow jumped over the moon",
	"an apple a day keeps the doctor away",
	"four score and seven years ago",
	"snow white and the seven dwarfs",
	"i am at two with nature",
}

// Sentences returns the sentences the RandomSentences spout emits.
func Sentences() []string { return append([]string(nil), sentences[:]...) }

// SentencesConfig configures a SentenceSpout.
type SentencesConfig struct {
	// Field names the single output field; default "sentence".
	Field string
	// Seed seeds the choice of sentences (mixed with the task id, so tasks
	// differ but runs repeat); 0 picks a random seed.
	Seed uint64
	// Limit stops the spout after emitting that many new sentences
	// (replays not counted); 0 means no limit.
	Limit int
	// Reliable emits every sentence with a message id and re-emits it
	// when it fails.
	Reliable bool
}

func (c *SentencesConfig) fill() error {
	if c.Field == "" {
		c.Field = "sentence"
	}
	if c.Limit < 0 {
		return fmt.Errorf("%w: limit is %d, it must be 0 (no limit) or more", topology.ErrBadArgs, c.Limit)
	}
	return nil
}

// RandomSentences returns a factory of SentenceSpouts for the Builder.
func RandomSentences(c SentencesConfig) topology.SpoutFunc {
	return func() (topology.Spout, error) { return spout(NewSentenceSpout(c)) }
}

// SentenceSpout emits Storm's five classic sentences, chosen at random, on
// the default stream, one per Next. Its methods other than Acked and
// Failed must be called from the task's goroutine, as the runtime does.
type SentenceSpout struct {
	cfg SentencesConfig
	out topology.SpoutCollector
	rng *rand.Rand
	// values holds the preallocated values of each sentence, shared by
	// every emit of it.
	values [len(sentences)][]any
	// emitted counts new sentences, the base of message ids.
	emitted uint64
	// replay holds message ids of failed tuples to emit again.
	replay []uint64

	acked, failed atomic.Int64
}

// NewSentenceSpout returns a SentenceSpout.
func NewSentenceSpout(c SentencesConfig) (*SentenceSpout, error) {
	if err := c.fill(); err != nil {
		return nil, err
	}
	s := &SentenceSpout{cfg: c}
	for i, text := range sentences {
		s.values[i] = []any{text}
	}
	return s, nil
}

// DeclareOutputs declares the default stream with one field.
func (s *SentenceSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{s.cfg.Field}}}
}

// Open seeds the generator.
func (s *SentenceSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	s.rng = taskRand(s.cfg.Seed, ctx)
	return nil
}

// Next emits one sentence: a replay of a failed one first, else a new one
// unless the limit is reached.
func (s *SentenceSpout) Next() {
	if n := len(s.replay); n > 0 {
		id := s.replay[n-1]
		s.replay = s.replay[:n-1]
		s.out.Emit(topology.DefaultStream, s.values[id%uint64(len(sentences))], id)
		return
	}
	if s.cfg.Limit > 0 && s.emitted >= uint64(s.cfg.Limit) {
		return
	}
	i := s.rng.IntN(len(sentences))
	s.emitted++
	if !s.cfg.Reliable {
		s.out.Emit(topology.DefaultStream, s.values[i], nil)
		return
	}
	// The id encodes the sentence, so a replay needs no lookup table.
	s.out.Emit(topology.DefaultStream, s.values[i], s.emitted*uint64(len(sentences))+uint64(i))
}

// Ack counts a completed sentence.
func (s *SentenceSpout) Ack(msgID any) { s.acked.Add(1) }

// Fail queues the sentence for replay.
func (s *SentenceSpout) Fail(msgID any) {
	s.failed.Add(1)
	if id, ok := msgID.(uint64); ok {
		s.replay = append(s.replay, id)
	}
}

// Close does nothing.
func (s *SentenceSpout) Close() {}

// Emitted returns the number of new sentences emitted so far. It must be
// called from the task's goroutine or after the task stopped.
func (s *SentenceSpout) Emitted() int { return int(s.emitted) }

// Acked and Failed return the number of acks and fails received; they are
// safe to call from any goroutine.
func (s *SentenceSpout) Acked() int64  { return s.acked.Load() }
func (s *SentenceSpout) Failed() int64 { return s.failed.Load() }
