package topology_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

func TestRegistryLookups(t *testing.T) {
	r := topology.NewRegistry()
	builtin.Register(r)
	if _, ok := r.Spout(builtin.RandomSentencesName); !ok {
		t.Errorf("Spout(%q) not found", builtin.RandomSentencesName)
	}
	if _, ok := r.Bolt(builtin.RandomSentencesName); ok {
		t.Errorf("Bolt(%q) found, want only a spout", builtin.RandomSentencesName)
	}
	if _, ok := r.Bolt(builtin.CountName); !ok {
		t.Errorf("Bolt(%q) not found", builtin.CountName)
	}
	if _, ok := r.Grouping(builtin.NGroupingName); !ok {
		t.Errorf("Grouping(%q) not found", builtin.NGroupingName)
	}
	tests := []struct {
		class string
		want  topology.ClassAlias
	}{
		{builtin.StormTestWordSpout, topology.ClassAlias{Name: builtin.TestWordSpoutName, Params: []string{"distributed"}}},
		{builtin.StormTestWordCounter, topology.ClassAlias{Name: builtin.CountName}},
		{builtin.FluxLogInfoBolt, topology.ClassAlias{Name: builtin.LogName}},
		{builtin.StormNGrouping, topology.ClassAlias{Name: builtin.NGroupingName, Params: []string{"n"}}},
	}
	for _, tt := range tests {
		got, ok := r.Class(tt.class)
		if !ok || got.Name != tt.want.Name || len(got.Params) != len(tt.want.Params) || (len(got.Params) > 0 && !reflect.DeepEqual(got.Params, tt.want.Params)) {
			t.Errorf("Class(%q) = %+v, %v, want %+v", tt.class, got, ok, tt.want)
		}
	}
	spouts, bolts, groupings := r.Names()
	wantSpouts := []string{builtin.LinesName, builtin.RandomSentencesName, builtin.TestWordSpoutName}
	wantBolts := []string{builtin.CountName, builtin.IdentityName, builtin.LogName, builtin.NullName, builtin.StatefulCountName, builtin.TopNName}
	if !reflect.DeepEqual(spouts, wantSpouts) || !reflect.DeepEqual(bolts, wantBolts) || !reflect.DeepEqual(groupings, []string{builtin.NGroupingName}) {
		t.Errorf("Names() = %q, %q, %q, want %q, %q, [%s]", spouts, bolts, groupings, wantSpouts, wantBolts, builtin.NGroupingName)
	}

	var nilRegistry *topology.Registry
	if _, ok := nilRegistry.Spout("x"); ok {
		t.Errorf("nil Registry: Spout found")
	}
	if _, ok := nilRegistry.Class("x"); ok {
		t.Errorf("nil Registry: Class found")
	}
}

func TestRegistryPanics(t *testing.T) {
	spout := func(topology.Args) (topology.Spout, error) { return nil, nil }
	tests := []struct {
		name string
		f    func(r *topology.Registry)
	}{
		{"duplicate spout", func(r *topology.Registry) { r.RegisterSpout("a", spout); r.RegisterSpout("a", spout) }},
		{"empty name", func(r *topology.Registry) { r.RegisterSpout("", spout) }},
		{"nil factory", func(r *topology.Registry) { r.RegisterBolt("a", nil) }},
		{"nil grouping", func(r *topology.Registry) { r.RegisterGrouping("a", nil) }},
		{"duplicate class", func(r *topology.Registry) { r.RegisterClass("a.B", "a"); r.RegisterClass("a.B", "b") }},
		{"class to nothing", func(r *topology.Registry) { r.RegisterClass("a.B", "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f(topology.NewRegistry())
		})
	}
	// A spout and a bolt may share a name.
	r := topology.NewRegistry()
	r.RegisterSpout("same", spout)
	r.RegisterBolt("same", func(topology.Args) (topology.Bolt, error) { return nil, nil })
}

func TestRegistryUnregisteredSuggests(t *testing.T) {
	_, err := topology.Load([]byte(`name: t
spouts:
  - id: s
    go: squall.RandomSentence
bolts:
  - id: b
    go: squall.Null
streams:
  - {from: s, to: b, grouping: {type: SHUFFLE}}
`), topology.LoadOptions{Registry: testRegistry(t)})
	if !errors.Is(err, topology.ErrNotRegistered) {
		t.Fatalf("Load = %v, want ErrNotRegistered", err)
	}
	const want = `line 3: component "s": spout "squall.RandomSentence": not registered (did you mean "squall.RandomSentences"?)`
	if got := err.Error(); got != want {
		t.Errorf("Load error = %q, want %q", got, want)
	}
}

func TestArgs(t *testing.T) {
	a := topology.NewArgs(map[string]any{
		"s": "text", "n": 3, "big": int64(1) << 40, "f": 1.5, "fi": 2.0, "b": true, "bs": "false",
		"l": []any{"a", "b"}, "one": "x", "num": 42, "null": nil,
		"badn": "three", "badb": "maybe", "badl": []any{"a", 1}, "badf": "x", "bads": []any{},
	})
	if got := a.String("s", ""); got != "text" {
		t.Errorf("String(s) = %q, want text", got)
	}
	if got := a.String("num", ""); got != "42" {
		t.Errorf("String(num) = %q, want 42", got)
	}
	if got := a.String("missing", "def"); got != "def" {
		t.Errorf("String(missing) = %q, want def", got)
	}
	if got := a.String("null", "def"); got != "def" {
		t.Errorf("String(null) = %q, want def", got)
	}
	if got := a.Int("n", 0); got != 3 {
		t.Errorf("Int(n) = %d, want 3", got)
	}
	if got := a.Int64("big", 0); got != 1<<40 {
		t.Errorf("Int64(big) = %d, want %d", got, int64(1)<<40)
	}
	if got := a.Int("fi", 0); got != 2 {
		t.Errorf("Int(fi) = %d, want 2", got)
	}
	if got := a.Float("f", 0); got != 1.5 {
		t.Errorf("Float(f) = %v, want 1.5", got)
	}
	if got := a.Bool("b", false); !got {
		t.Errorf("Bool(b) = false, want true")
	}
	if got := a.Bool("bs", true); got {
		t.Errorf("Bool(bs) = true, want false")
	}
	if got := a.Strings("l", nil); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Strings(l) = %q, want [a b]", got)
	}
	if got := a.Strings("one", nil); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("Strings(one) = %q, want [x]", got)
	}
	if a.Err() != nil {
		t.Fatalf("Err() = %v after good reads", a.Err())
	}
	if got := a.Unused(); !reflect.DeepEqual(got, []string{"badb", "badf", "badl", "badn", "bads"}) {
		t.Errorf("Unused() = %q, want the bad* keys", got)
	}

	if got := a.Int("badn", 7); got != 7 {
		t.Errorf("Int(badn) = %d, want the default 7", got)
	}
	a.Bool("badb", false)
	a.Strings("badl", nil)
	a.Float("badf", 0)
	a.String("bads", "")
	a.Require("s", "absent")
	err := a.Err()
	if !errors.Is(err, topology.ErrBadArgs) {
		t.Fatalf("Err() = %v, want ErrBadArgs", err)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != 6 {
		t.Errorf("Err() joins %d errors, want 6: %v", n, err)
	}
	if got := a.Unused(); len(got) != 0 {
		t.Errorf("Unused() = %q after reading every key, want none", got)
	}

	var zero topology.Args
	if got := zero.Int("x", 5); got != 5 || zero.Err() != nil || zero.Unused() != nil {
		t.Errorf("zero Args: Int = %d, Err = %v, Unused = %v, want 5, nil, nil", got, zero.Err(), zero.Unused())
	}
	m := topology.NewArgs(map[string]any{"a": 1, "b": 2})
	if got := m.Map(); len(got) != 2 || len(m.Unused()) != 0 {
		t.Errorf("Map() = %v, Unused() = %v, want both keys read", got, m.Unused())
	}
}
