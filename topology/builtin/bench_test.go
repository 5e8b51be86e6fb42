package builtin

import (
	"testing"

	"github.com/squallstream/squall/topology"
)

func BenchmarkSentenceSpoutNext(b *testing.B) {
	s, _ := NewSentenceSpout(SentencesConfig{Seed: 1})
	s.Open(nil, nopSpoutCollector{})
	b.ReportAllocs()
	for b.Loop() {
		s.Next()
	}
}

func BenchmarkSentenceSpoutNextReliable(b *testing.B) {
	s, _ := NewSentenceSpout(SentencesConfig{Seed: 1, Reliable: true})
	s.Open(nil, nopSpoutCollector{})
	b.ReportAllocs()
	for b.Loop() {
		s.Next()
	}
}

func BenchmarkNullBoltExecute(b *testing.B) {
	n := &NullBolt{}
	n.Prepare(nil, nopBoltCollector{})
	t := topology.NewTuple(source("s", "w"), []any{"x"}, nil)
	b.ReportAllocs()
	for b.Loop() {
		n.Execute(t)
	}
}

func BenchmarkCountBoltExecute(b *testing.B) {
	c := NewCountBolt(CountConfig{Field: "word"})
	c.Prepare(nil, nopBoltCollector{})
	src := source("split", "word")
	tuples := make([]topology.Tuple, len(words))
	for i, w := range words {
		tuples[i] = topology.NewTuple(src, []any{w}, nil)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		c.Execute(tuples[i%len(tuples)])
		i++
	}
}
