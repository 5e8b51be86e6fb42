package builtin

import (
	"fmt"
	"io"
	"os"

	"github.com/squallstream/squall/topology"
)

// Registry names of the built-in components.
const (
	RandomSentencesName = "squall.RandomSentences"
	TestWordSpoutName   = "squall.TestWordSpout"
	LinesName           = "squall.Lines"
	CountName           = "squall.Count"
	StatefulCountName   = "squall.StatefulCount"
	LogName             = "squall.Log"
	NullName            = "squall.Null"
	IdentityName        = "squall.Identity"
	TopNName            = "squall.TopN"
	NGroupingName       = "squall.NGrouping"
)

// Storm and Flux class names that map to built-in components, so that
// Storm's example Flux files run unchanged.
const (
	StormTestWordSpout   = "org.apache.storm.testing.TestWordSpout"
	StormTestWordCounter = "org.apache.storm.testing.TestWordCounter"
	FluxLogInfoBolt      = "org.apache.storm.flux.wrappers.bolts.LogInfoBolt"
	StormNGrouping       = "org.apache.storm.testing.NGrouping"
)

// Register adds every built-in component, grouping and class alias to r.
// It panics if one of the names is already registered.
func Register(r *topology.Registry) { RegisterWith(r, Options{}) }

// Options say where the built-in components that print write.
type Options struct {
	// Stdout receives what squall.TopN and squall.Log (with stdout: true)
	// print; default os.Stdout.
	Stdout io.Writer
}

// RegisterWith is Register with options.
func RegisterWith(r *topology.Registry, o Options) {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	stdout := &lockedWriter{w: o.Stdout}
	r.RegisterSpout(RandomSentencesName, func(a topology.Args) (topology.Spout, error) {
		c := SentencesConfig{
			Field:    a.String("field", ""),
			Seed:     uint64(a.Int64("seed", 0)),
			Limit:    a.Int("limit", 0),
			Reliable: a.Bool("reliable", false),
		}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return spout(NewSentenceSpout(c))
	})
	r.RegisterSpout(TestWordSpoutName, func(a topology.Args) (topology.Spout, error) {
		c := WordsConfig{
			Field:      a.String("field", ""),
			Seed:       uint64(a.Int64("seed", 0)),
			Limit:      a.Int("limit", 0),
			IntervalMs: a.Int("intervalMs", DefaultWordIntervalMs),
		}
		// Storm's TestWordSpout(boolean isDistributed) only caps the
		// parallelism, which squall leaves to the topology.
		a.Bool("distributed", true)
		if err := a.Err(); err != nil {
			return nil, err
		}
		return spout(NewWordSpout(c))
	})
	r.RegisterSpout(LinesName, func(a topology.Args) (topology.Spout, error) {
		a.Require("path")
		c := LinesConfig{Path: a.String("path", ""), Field: a.String("field", "")}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return spout(NewLineSpout(c))
	})
	r.RegisterBolt(CountName, func(a topology.Args) (topology.Bolt, error) {
		c := CountConfig{Field: a.String("field", "")}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return NewCountBolt(c), nil
	})
	r.RegisterBolt(StatefulCountName, func(a topology.Args) (topology.Bolt, error) {
		c := CountConfig{Field: a.String("field", "")}
		if err := a.Err(); err != nil {
			return nil, err
		}
		return NewStatefulCountBolt(c), nil
	})
	r.RegisterBolt(TopNName, func(a topology.Args) (topology.Bolt, error) {
		c := TopNConfig{N: a.Int("n", 10), Writer: stdout}
		if err := a.Err(); err != nil {
			return nil, err
		}
		if c.N < 1 {
			return nil, fmt.Errorf("%w: n is %d, it must be at least 1", topology.ErrBadArgs, c.N)
		}
		return NewTopNBolt(c), nil
	})
	r.RegisterBolt(LogName, func(a topology.Args) (topology.Bolt, error) {
		print := a.Bool("stdout", false)
		if err := a.Err(); err != nil {
			return nil, err
		}
		if print {
			return NewLogBolt(LogConfig{Writer: stdout}), nil
		}
		return NewLogBolt(LogConfig{}), nil
	})
	r.RegisterBolt(NullName, func(a topology.Args) (topology.Bolt, error) {
		return &NullBolt{}, nil
	})
	r.RegisterBolt(IdentityName, func(a topology.Args) (topology.Bolt, error) {
		a.Require("fields")
		fields := a.Strings("fields", nil)
		if err := a.Err(); err != nil {
			return nil, err
		}
		return NewIdentityBolt(fields...), nil
	})
	r.RegisterGrouping(NGroupingName, func(a topology.Args) (topology.CustomGrouping, error) {
		n := a.Int("n", 1)
		if err := a.Err(); err != nil {
			return nil, err
		}
		g, err := NewNGrouping(n)
		if err != nil {
			return nil, err
		}
		return g, nil
	})

	r.RegisterClass(StormTestWordSpout, TestWordSpoutName, "distributed")
	r.RegisterClass(StormTestWordCounter, CountName)
	r.RegisterClass(FluxLogInfoBolt, LogName)
	r.RegisterClass(StormNGrouping, NGroupingName, "n")
}
