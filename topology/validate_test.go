package topology

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

type testSpout struct{ outputs []Stream }

func (s *testSpout) Open(*TaskContext, SpoutCollector) error { return nil }
func (s *testSpout) Next()                                   {}
func (s *testSpout) Ack(any)                                 {}
func (s *testSpout) Fail(any)                                {}
func (s *testSpout) Close()                                  {}
func (s *testSpout) DeclareOutputs() []Stream                { return s.outputs }

type testBolt struct{}

func (testBolt) Prepare(*TaskContext, BoltCollector) error { return nil }
func (testBolt) Execute(Tuple)                             {}
func (testBolt) Cleanup()                                  {}

func goSpout() *GoSpec {
	return &GoSpec{NewSpout: func() (Spout, error) { return &testSpout{}, nil }}
}

func goBolt() *GoSpec {
	return &GoSpec{NewBolt: func() (Bolt, error) { return testBolt{}, nil }}
}

// handMade returns a valid, normalized topology built without the Builder.
func handMade() *Topology {
	return &Topology{
		Name: "hand",
		Components: []*Component{
			{ID: "sink", Kind: KindBolt, Parallelism: 1, NumTasks: 1, Go: goBolt(),
				Inputs: []Input{{From: "src", Stream: "default", Grouping: Grouping{Type: Shuffle}}}},
			{ID: "src", Kind: KindSpout, Parallelism: 1, NumTasks: 1, Go: goSpout(),
				Outputs: []Stream{{ID: "default", Fields: []string{"w"}}, {ID: "direct", Fields: []string{"w"}, Direct: true}}},
		},
	}
}

func TestValidate(t *testing.T) {
	if err := handMade().Validate(); err != nil {
		t.Fatalf("Validate(valid) = %v", err)
	}
	tests := []struct {
		name   string
		change func(t *Topology)
		want   error
	}{
		{"declared direct, subscribed with shuffle", func(t *Topology) {
			t.Components[0].Inputs[0].Stream = "direct"
		}, ErrDirectMismatch},
		{"not direct, subscribed with DIRECT", func(t *Topology) {
			t.Components[0].Inputs[0].Grouping.Type = Direct
		}, ErrDirectMismatch},
		{"custom without factory", func(t *Topology) {
			t.Components[0].Inputs[0].Grouping = Grouping{Type: Custom, Custom: "x"}
		}, ErrNotRegistered},
		{"custom without name or factory", func(t *Topology) {
			t.Components[0].Inputs[0].Grouping = Grouping{Type: Custom}
		}, ErrBadGrouping},
		{"custom name on shuffle", func(t *Topology) {
			t.Components[0].Inputs[0].Grouping.Custom = "x"
		}, ErrBadGrouping},
		{"repeated grouping field", func(t *Topology) {
			t.Components[0].Inputs[0].Grouping = Grouping{Type: FieldsGrouping, Fields: []string{"w", "w"}}
		}, ErrBadGrouping},
		{"both shell and go", func(t *Topology) {
			t.Components[1].Shell = &ShellSpec{Command: []string{"x"}}
		}, ErrBadComponent},
		{"go spout without spout factory", func(t *Topology) {
			t.Components[1].Go = goBolt()
		}, ErrBadComponent},
		{"bad kind", func(t *Topology) {
			t.Components[1].Kind = 0
		}, ErrBadComponent},
		{"unsorted duplicate stream", func(t *Topology) {
			t.Components[1].Outputs = append(t.Components[1].Outputs, Stream{ID: "direct", Direct: true})
		}, ErrBadStream},
		{"empty stream id", func(t *Topology) {
			t.Components[1].Outputs = append([]Stream{{ID: ""}}, t.Components[1].Outputs...)
		}, ErrBadID},
		{"empty field", func(t *Topology) {
			t.Components[1].Outputs[0].Fields = []string{""}
		}, ErrBadStream},
		{"empty id", func(t *Topology) {
			t.Components[0].ID = ""
		}, ErrBadID},
		{"no name", func(t *Topology) {
			t.Name = ""
		}, ErrBadName},
		{"name with colon", func(t *Topology) {
			t.Name = "a:b"
		}, ErrBadName},
		{"name with backslash", func(t *Topology) {
			t.Name = `a\b`
		}, ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			top := handMade()
			tt.change(top)
			if err := top.Validate(); !errors.Is(err, tt.want) {
				t.Errorf("Validate() = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestValidateCustomFactoryWithoutName(t *testing.T) {
	top := handMade()
	top.Components[0].Inputs[0].Grouping = Grouping{Type: Custom, NewCustom: func() (CustomGrouping, error) { return nil, nil }}
	if err := top.Validate(); err != nil {
		t.Errorf("Validate(custom grouping given as a factory) = %v", err)
	}
}

func TestValidateDoesNotModify(t *testing.T) {
	top := handMade()
	top.Components[0].NumTasks = 0
	top.Components[0].Inputs[0].Grouping.Type = Direct
	_ = top.Validate()
	if top.Components[0].NumTasks != 0 {
		t.Errorf("Validate set NumTasks")
	}
	if s, _ := top.Components[1].Output("default"); s.Direct {
		t.Errorf("Validate marked a stream direct")
	}
}

func TestNormalize(t *testing.T) {
	top := &Topology{Name: "n", Components: []*Component{
		{ID: "b", Kind: KindBolt, Parallelism: 3, Go: goBolt(),
			Inputs: []Input{{From: "a", Stream: "x", Grouping: Grouping{Type: Direct}}}},
		{ID: "a", Kind: KindSpout, Parallelism: 2, NumTasks: 4, Go: goSpout(),
			Outputs: []Stream{{ID: "y"}, {ID: "x"}}},
	}}
	normalize(top)
	if top.Components[0].ID != "a" || top.Components[1].ID != "b" {
		t.Errorf("components not sorted: %s, %s", top.Components[0].ID, top.Components[1].ID)
	}
	a := top.Components[0]
	if a.Outputs[0].ID != "x" || !a.Outputs[0].Direct || a.Outputs[1].Direct {
		t.Errorf("outputs = %+v, want x (direct) then y", a.Outputs)
	}
	if a.NumTasks != 4 || top.Components[1].NumTasks != 3 {
		t.Errorf("NumTasks = %d, %d, want 4, 3", a.NumTasks, top.Components[1].NumTasks)
	}
	if err := top.Validate(); err != nil {
		t.Errorf("Validate(normalized) = %v", err)
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "t.yaml", Line: 3, Component: "c", Err: ErrNoInputs}, `t.yaml:3: component "c": bolt has no inputs`},
		{&Error{File: "t.yaml", Err: ErrNoSpouts}, `t.yaml: topology has no spouts`},
		{&Error{Line: 7, Err: ErrNoSpouts}, `line 7: topology has no spouts`},
		{&Error{Component: "c", Err: ErrNoInputs}, `component "c": bolt has no inputs`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if got := suggest("paralelism", []string{"parallelism", "numTasks"}); got != ` (did you mean "parallelism"?)` {
		t.Errorf("suggest(paralelism) = %q", got)
	}
	if got := suggest("zzz", []string{"parallelism"}); got != "" {
		t.Errorf("suggest(zzz) = %q, want none", got)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"wordcount", true},
		{"word count", true},
		{"wörter-zählen_2", true},
		{"単語数", true},
		{strings.Repeat("a", MaxNameBytes), true},
		{strings.Repeat("é", MaxNameBytes/2), true},
		{"", false},
		{strings.Repeat("a", MaxNameBytes+1), false},
		{"a/b", false},
		{"a.b", false},
		{"a:b", false},
		{`a\b`, false},
		{" lead", false},
		{"trail ", false},
		{"tab\tin", false},
		{"new\nline", false},
		{"nul\x00", false},
		{"esc\x1b[31mred", false},
		{"del\x7f", false},
		{"c1\u0085", false},
		{"rtl\u202eevil", false},
		{"iso\u2067late", false},
		{"mark\u200f", false},
		{"arabic\u061cmark", false},
		{"zero\u200bwidth", false},
		{"nbsp\u00a0in", false},
		{"bad\xffutf8", false},
	}
	for _, tt := range tests {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("CheckName(%q) = %v, want ErrBadName", tt.name, err)
		}
		if err != nil && strings.ContainsFunc(err.Error(), func(r rune) bool { return r < 0x20 || r == 0x7f || unicode.Is(unicode.Bidi_Control, r) }) {
			t.Errorf("CheckName(%q) = %q: the message holds the raw character", tt.name, err)
		}
	}
}
