package builtin

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/squallstream/squall/topology"
)

// LogConfig configures a LogBolt.
type LogConfig struct {
	// Stdout prints each tuple on standard output instead of logging it.
	Stdout bool
	// Writer, if set, receives the printed tuples instead of standard
	// output (for tests).
	Writer io.Writer
}

// Log returns a factory of LogBolts for the Builder. Its bolts share one
// writer, written a whole line at a time.
func Log(c LogConfig) topology.BoltFunc {
	if c.Writer != nil {
		c.Writer = &lockedWriter{w: c.Writer}
	}
	return func() (topology.Bolt, error) { return NewLogBolt(c), nil }
}

// LogBolt logs every tuple it gets through the task's logger (at info
// level, like Flux's LogInfoBolt) or prints it, one line per tuple, and
// acks it. It declares no outputs.
type LogBolt struct {
	w   io.Writer
	log *slog.Logger
	out topology.BoltCollector
	buf []byte
}

// NewLogBolt returns a LogBolt.
func NewLogBolt(c LogConfig) *LogBolt {
	b := &LogBolt{w: c.Writer}
	if b.w == nil && c.Stdout {
		b.w = os.Stdout
	}
	return b
}

// Prepare picks up the task's logger.
func (b *LogBolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	if ctx != nil && ctx.Logger != nil {
		b.log = ctx.Logger
	} else {
		b.log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Execute logs or prints the tuple and acks it.
func (b *LogBolt) Execute(t topology.Tuple) {
	if b.w == nil {
		b.log.Info("tuple", "source", t.SourceComponent(), "task", t.SourceTask(), "stream", t.SourceStream(), "values", t.Values())
	} else {
		b.buf = fmt.Appendf(b.buf[:0], "%s:%d %s %v\n", t.SourceComponent(), t.SourceTask(), t.SourceStream(), t.Values())
		b.w.Write(b.buf)
	}
	b.out.Ack(t)
}

// Cleanup does nothing.
func (b *LogBolt) Cleanup() {}

// lockedWriter serialises writes from several tasks.
type lockedWriter struct {
	// mu guards w.
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
