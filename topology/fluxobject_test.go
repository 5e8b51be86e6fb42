package topology_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

// describeFlux prints a FluxObject compactly, references inline.
func describeFlux(v any) string {
	switch x := v.(type) {
	case *topology.FluxObject:
		var b strings.Builder
		fmt.Fprintf(&b, "%s{", x.ClassName)
		if x.ConstructorArgs != nil {
			fmt.Fprintf(&b, "ctor%s", describeFlux(x.ConstructorArgs))
		}
		if x.Factory != "" {
			fmt.Fprintf(&b, " factory %s%s", x.Factory, describeFlux(x.FactoryArgs))
		}
		for _, p := range x.Properties {
			fmt.Fprintf(&b, " %s=%s", p.Name, describeFlux(p.Value))
		}
		for _, m := range x.ConfigMethods {
			fmt.Fprintf(&b, " .%s%s", m.Name, describeFlux(m.Args))
		}
		return b.String() + "}"
	case []*topology.FluxObject:
		parts := make([]string, len(x))
		for i, o := range x {
			parts[i] = describeFlux(o)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = describeFlux(e)
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprint(v)
}

// translatingRegistry maps com.example.Spout to squall.Null's spout
// double, recording what the translator saw.
func translatingRegistry(seen *string) *topology.Registry {
	r := topology.NewRegistry()
	r.RegisterSpout("test.Spout", func(a topology.Args) (topology.Spout, error) {
		a.Map()
		return nopSpout{}, nil
	})
	r.RegisterFluxTranslator("com.example.Spout", func(o *topology.FluxObject) (string, map[string]any, error) {
		*seen = describeFlux(o)
		for _, m := range o.ConfigMethods {
			if m.Name == "explode" {
				return "", nil, fmt.Errorf("%w: explode cannot be translated", topology.ErrUnsupported)
			}
		}
		return "test.Spout", map[string]any{"seen": *seen}, nil
	})
	return r
}

type nopSpout struct{}

func (nopSpout) Open(*topology.TaskContext, topology.SpoutCollector) error { return nil }
func (nopSpout) Next()                                                     {}
func (nopSpout) Ack(any)                                                   {}
func (nopSpout) Fail(any)                                                  {}
func (nopSpout) Close()                                                    {}
func (nopSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: "default", Fields: []string{"x"}}}
}

const fluxTail = `
bolts:
  - id: sink
    className: org.apache.storm.flux.wrappers.bolts.FluxShellBolt
    constructorArgs: [[python3, x.py]]
streams:
  - {from: src, to: sink, grouping: {type: SHUFFLE}}
`

func TestFluxTranslator(t *testing.T) {
	y := `
name: t
components:
  - id: inner
    className: com.example.Inner
    factory: of
    factoryArgs: [3, "s"]
  - id: b
    className: com.example.Builder
    constructorArgs: ["host:1", [a, b], {ref: inner}]
    properties:
      - {name: mode, value: FAST}
      - {name: helper, ref: inner}
    configMethods:
      - {name: setProp, args: [{k: v}]}
      - {name: many, args: [{reflist: [inner, inner]}]}
spouts:
  - id: src
    className: com.example.Spout
    constructorArgs: [{ref: b}]
    configMethods: [{name: done, args: [true]}]
` + fluxTail
	var seen string
	topo, err := topology.Load([]byte(y), topology.LoadOptions{Registry: translatingRegistry(&seen)})
	if err != nil {
		t.Fatal(err)
	}
	want := "com.example.Spout{ctor(com.example.Builder{ctor(host:1, (a, b), com.example.Inner{ factory of(3, s)})" +
		" mode=FAST helper=com.example.Inner{ factory of(3, s)} .setProp(map[k:v]) .many([com.example.Inner{ factory of(3, s)} com.example.Inner{ factory of(3, s)}])}) .done(true)}"
	if seen != want {
		t.Errorf("the translator saw\n%s\nwant\n%s", seen, want)
	}
	if c := topo.Component("src"); c.Go == nil || c.Go.Name != "test.Spout" || c.Go.Args["seen"] != want {
		t.Errorf("src = %+v", c.Go)
	}
}

func TestFluxTranslatorErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       error
	}{
		{"translator refuses", `
name: t
spouts:
  - id: src
    className: com.example.Spout
    configMethods: [{name: explode}]
`, topology.ErrUnsupported},
		{"unknown ref", `
name: t
spouts:
  - id: src
    className: com.example.Spout
    constructorArgs: [{ref: nope}]
`, topology.ErrUnknownComponent},
		{"cycle", `
name: t
components:
  - {id: a, className: A, constructorArgs: [{ref: b}]}
  - {id: b, className: B, properties: [{name: x, ref: a}]}
spouts:
  - id: src
    className: com.example.Spout
    constructorArgs: [{ref: a}]
`, topology.ErrBadValue},
		{"unused component", `
name: t
components:
  - {id: lonely, className: java.util.Properties}
spouts:
  - id: src
    className: com.example.Spout
`, topology.ErrUnsupported},
		{"duplicate component", `
name: t
components:
  - {id: a, className: A}
  - {id: a, className: B}
spouts:
  - id: src
    className: com.example.Spout
    constructorArgs: [{ref: a}]
`, topology.ErrDuplicateID},
		{"ref to a class without a translator", `
name: t
components:
  - {id: a, className: A}
spouts:
  - id: src
    className: org.apache.storm.testing.TestWordSpout
    constructorArgs: [{ref: a}]
`, topology.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			r := translatingRegistry(&seen)
			r.RegisterSpout("squall.TestWordSpout", func(topology.Args) (topology.Spout, error) { return nopSpout{}, nil })
			r.RegisterClass("org.apache.storm.testing.TestWordSpout", "squall.TestWordSpout", "distributed")
			_, err := topology.Load([]byte(tt.yaml+fluxTail), topology.LoadOptions{Registry: r})
			if !errors.Is(err, tt.want) {
				t.Errorf("Load = %v, want %v", err, tt.want)
			}
		})
	}
}
