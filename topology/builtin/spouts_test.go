package builtin

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

func openSpout(t *testing.T, s topology.Spout, ctx *topology.TaskContext) *fakeSpoutCollector {
	t.Helper()
	out := &fakeSpoutCollector{}
	if err := s.Open(ctx, out); err != nil {
		t.Fatalf("Open() = %v", err)
	}
	t.Cleanup(s.Close)
	return out
}

func TestSentenceSpout(t *testing.T) {
	run := func(task int) []any {
		s, err := NewSentenceSpout(SentencesConfig{Seed: 42, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		out := openSpout(t, s, &topology.TaskContext{TaskID: task})
		for range 30 {
			s.Next()
		}
		if len(out.emits) != 20 || s.Emitted() != 20 {
			t.Fatalf("emitted %d tuples (Emitted() = %d), want the limit 20", len(out.emits), s.Emitted())
		}
		var got []any
		for _, e := range out.emits {
			if e.stream != topology.DefaultStream || len(e.values) != 1 || e.msgID != nil {
				t.Fatalf("emit = %+v, want one value on default without message id", e)
			}
			if !slices.Contains(Sentences(), e.values[0].(string)) {
				t.Fatalf("emitted %q, not one of Storm's sentences", e.values[0])
			}
			got = append(got, e.values[0])
		}
		return got
	}
	first, again, other := run(1), run(1), run(2)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("same seed and task gave different sentences")
	}
	if reflect.DeepEqual(first, other) {
		t.Errorf("two tasks with one seed gave the same sentences")
	}
	s, _ := NewSentenceSpout(SentencesConfig{})
	if got := s.DeclareOutputs(); !reflect.DeepEqual(got, []topology.Stream{{ID: "default", Fields: []string{"sentence"}}}) {
		t.Errorf("DeclareOutputs() = %+v, want default [sentence]", got)
	}
	if _, err := NewSentenceSpout(SentencesConfig{Limit: -1}); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("NewSentenceSpout(limit -1) = %v, want ErrBadArgs", err)
	}
}

func TestSentenceSpoutReliable(t *testing.T) {
	s, _ := NewSentenceSpout(SentencesConfig{Seed: 7, Limit: 3, Reliable: true, Field: "text"})
	out := openSpout(t, s, nil)
	for range 3 {
		s.Next()
	}
	ids := map[any]bool{}
	for _, e := range out.emits {
		if e.msgID == nil || ids[e.msgID] {
			t.Fatalf("message id %v missing or repeated", e.msgID)
		}
		ids[e.msgID] = true
	}
	failed := out.emits[1]
	s.Fail(failed.msgID)
	s.Ack(out.emits[0].msgID)
	s.Next()
	if len(out.emits) != 4 {
		t.Fatalf("after a fail, Next emitted %d tuples in all, want 4", len(out.emits))
	}
	if replay := out.emits[3]; replay.msgID != failed.msgID || replay.values[0] != failed.values[0] {
		t.Errorf("replay = %+v, want %+v", replay, failed)
	}
	s.Next()
	if len(out.emits) != 4 {
		t.Errorf("Next emitted past the limit")
	}
	if s.Acked() != 1 || s.Failed() != 1 {
		t.Errorf("Acked, Failed = %d, %d, want 1, 1", s.Acked(), s.Failed())
	}
	if got := s.DeclareOutputs()[0].Fields; !reflect.DeepEqual(got, []string{"text"}) {
		t.Errorf("fields = %q, want [text]", got)
	}
}

func TestSentenceSpoutAllocations(t *testing.T) {
	s, _ := NewSentenceSpout(SentencesConfig{Seed: 1})
	s.Open(nil, nopSpoutCollector{})
	if n := testing.AllocsPerRun(1000, s.Next); n != 0 {
		t.Errorf("Next allocates %v times per tuple, want 0", n)
	}
	r, _ := NewSentenceSpout(SentencesConfig{Seed: 1, Reliable: true})
	r.Open(nil, nopSpoutCollector{})
	if n := testing.AllocsPerRun(1000, r.Next); n > 1 {
		t.Errorf("reliable Next allocates %v times per tuple, want at most 1 (the message id)", n)
	}
}

func TestWordSpout(t *testing.T) {
	s, err := NewWordSpout(WordsConfig{Seed: 3, Limit: 3, IntervalMs: 100})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	out := openSpout(t, s, nil)
	s.Next()
	s.Next()
	if len(out.emits) != 1 {
		t.Fatalf("two Nexts at once emitted %d words, want 1", len(out.emits))
	}
	for range 5 {
		now = now.Add(100 * time.Millisecond)
		s.Next()
	}
	if len(out.emits) != 3 {
		t.Fatalf("emitted %d words, want the limit 3", len(out.emits))
	}
	for _, e := range out.emits {
		if !slices.Contains(words[:], e.values[0].(string)) || e.msgID != nil {
			t.Errorf("emit = %+v, want one of Storm's test words without message id", e)
		}
	}
	if got := s.DeclareOutputs(); !reflect.DeepEqual(got, []topology.Stream{{ID: "default", Fields: []string{"word"}}}) {
		t.Errorf("DeclareOutputs() = %+v, want default [word]", got)
	}

	fast, _ := NewWordSpout(WordsConfig{Seed: 1})
	fast.Open(nil, nopSpoutCollector{})
	if n := testing.AllocsPerRun(1000, fast.Next); n != 0 {
		t.Errorf("Next without interval allocates %v times, want 0", n)
	}
	if _, err := NewWordSpout(WordsConfig{IntervalMs: -1}); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("NewWordSpout(interval -1) = %v, want ErrBadArgs", err)
	}
}

func TestLineSpout(t *testing.T) {
	s, err := NewLineSpout(LinesConfig{Input: strings.NewReader("first\nsecond\r\n\nlast")})
	if err != nil {
		t.Fatal(err)
	}
	out := openSpout(t, s, nil)
	for range 6 {
		s.Next()
	}
	want := []emitted{
		{stream: "default", values: []any{"first"}, msgID: 1},
		{stream: "default", values: []any{"second"}, msgID: 2},
		{stream: "default", values: []any{""}, msgID: 3},
		{stream: "default", values: []any{"last"}, msgID: 4},
	}
	if !reflect.DeepEqual(out.emits, want) {
		t.Fatalf("emits = %+v, want %+v", out.emits, want)
	}
	s.Ack(1)
	s.Ack(3)
	s.Fail(2)
	s.Fail(99) // unknown ids are ignored
	if s.Done() {
		t.Errorf("Done() = true with lines pending")
	}
	s.Next()
	if got := out.emits[len(out.emits)-1]; len(out.emits) != 5 || got.msgID != 2 || got.values[0] != "second" {
		t.Fatalf("after Fail(2), Next emitted %+v, want line 2 again", got)
	}
	s.Ack(2)
	s.Ack(4)
	if !s.Done() {
		t.Errorf("Done() = false after every line was acked")
	}
	s.Next()
	if len(out.emits) != 5 {
		t.Errorf("Next emitted after the end of input")
	}
	if len(out.errs) != 0 {
		t.Errorf("ReportError(%v), want none", out.errs)
	}
}

func TestLineSpoutFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("a\nb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := NewLineSpout(LinesConfig{Path: "in.txt", Field: "text"})
	out := openSpout(t, s, &topology.TaskContext{ResourcesDir: dir})
	s.Next()
	s.Next()
	s.Next()
	if len(out.emits) != 2 || out.emits[1].values[0] != "b" {
		t.Errorf("emits = %+v, want lines a and b", out.emits)
	}
	if got := s.DeclareOutputs()[0].Fields; !reflect.DeepEqual(got, []string{"text"}) {
		t.Errorf("fields = %q, want [text]", got)
	}

	missing, _ := NewLineSpout(LinesConfig{Path: filepath.Join(dir, "nope.txt")})
	if err := missing.Open(nil, &fakeSpoutCollector{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing file) = %v, want os.ErrNotExist", err)
	}
	if _, err := NewLineSpout(LinesConfig{}); !errors.Is(err, topology.ErrBadArgs) {
		t.Errorf("NewLineSpout(no path) = %v, want ErrBadArgs", err)
	}
}
