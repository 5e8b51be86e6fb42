package topology_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

// fluxTopology is a valid Flux file around one spout definition: the
// placeholder SPOUT is replaced by each case's lines.
const fluxTopology = `name: t
SPOUT
bolts:
  - id: sink
    go: squall.Null
streams:
  - {from: src, to: sink, grouping: {type: SHUFFLE}}
`

// TestFluxUnsupportedNamesTheFeature checks that every Flux feature squall
// cannot honour is rejected with ErrUnsupported by its Flux name, so a
// Storm user knows what to change. The text is the point of these
// messages, so it is checked (only the feature's name and a hint).
func TestFluxUnsupportedNamesTheFeature(t *testing.T) {
	const shellSpout = "spouts:\n  - id: src\n    shell: {command: [python3, src.py], fields: [word]}\n"
	tests := []struct {
		name  string
		spout string // replaces SPOUT
		line  int
		want  []string // substrings of the message
	}{
		{"factory", "spouts:\n  - id: src\n    className: org.apache.storm.kafka.spout.KafkaSpout\n    factory: build\n    factoryArgs: [a]\n", 5,
			[]string{"Flux factories are not supported", "`shell: {command"}},
		{"factoryArgs alone", "spouts:\n  - id: src\n    className: org.apache.storm.kafka.spout.KafkaSpout\n    factoryArgs: [a]\n", 5,
			[]string{"Flux factories are not supported"}},
		{"properties", "spouts:\n  - id: src\n    className: org.apache.storm.testing.TestWordSpout\n    properties:\n      - {name: x, value: 1}\n", 5,
			[]string{"Flux properties are not supported", "Java bean"}},
		{"components", "components:\n  - {id: scheme, className: org.apache.storm.kafka.StringScheme}\n" + shellSpout, 2,
			[]string{"Flux components are not supported"}},
		{"topologySource", "topologySource:\n  className: org.example.Topo\n" + shellSpout, 2,
			[]string{"Flux topologySource is not supported"}},
		{"workerHooks", "workerHooks:\n  - {id: h, className: org.example.Hook}\n" + shellSpout, 2,
			[]string{"Flux worker hooks are not supported"}},
		{"ref", "spouts:\n  - id: src\n    className: org.apache.storm.testing.TestWordSpout\n    constructorArgs:\n      - ref: scheme\n", 6,
			[]string{"Flux references (ref, reflist) are not supported"}},
		{"classpath include", "includes:\n  - {resource: true, file: /base.yaml}\n" + shellSpout, 3,
			[]string{"Flux classpath includes (resource: true) are not supported"}},
		{"config method of a mapped class", "spouts:\n  - id: src\n    className: org.apache.storm.testing.TestWordSpout\n    configMethods:\n      - {name: setFoo, args: [1]}\n", 5,
			[]string{"Flux configMethods are not supported", `Go component "squall.TestWordSpout"`, "constructorArgs: [distributed]"}},
		{"unknown shell config method", "spouts:\n  - id: src\n    className: org.apache.storm.flux.wrappers.spouts.FluxShellSpout\n    constructorArgs: [[python3, src.py], [word]]\n    configMethods:\n      - {name: setNamedStreem, args: [a, [b]]}\n", 7,
			[]string{`Flux config method "setNamedStreem"`, "is not supported", `did you mean "setNamedStream"?`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := strings.Replace(fluxTopology, "SPOUT\n", tt.spout, 1)
			_, err := topology.LoadNamed("flux.yaml", []byte(data), topology.LoadOptions{Registry: testRegistry(t)})
			if err == nil {
				t.Fatalf("Load(%q) succeeded, want %v", data, topology.ErrUnsupported)
			}
			for _, e := range problems(t, err) {
				if !errors.Is(e, topology.ErrUnsupported) || e.Line != tt.line {
					continue
				}
				for _, w := range tt.want {
					if !strings.Contains(e.Error(), w) {
						t.Errorf("Load(%s) = %q, want it to say %q", tt.name, e, w)
					}
				}
				return
			}
			t.Errorf("Load(%s) = %v, want %v at line %d", tt.name, err, topology.ErrUnsupported, tt.line)
		})
	}
}

// TestFluxConfigMethodsOfUnknownClass: configMethods on a class squall does
// not map must say the class is unknown, never claim a Go mapping.
func TestFluxConfigMethodsOfUnknownClass(t *testing.T) {
	data := `name: t
spouts:
  - id: src
    shell: {command: [python3, src.py], fields: [word]}
bolts:
  - id: hdfs
    className: org.apache.storm.hdfs.bolt.HdfsBolt
    configMethods:
      - {name: withFsUrl, args: ["hdfs://localhost:54310"]}
streams:
  - {from: src, to: hdfs, grouping: {type: SHUFFLE}}
`
	_, err := topology.Load([]byte(data), topology.LoadOptions{Registry: testRegistry(t)})
	if !errors.Is(err, topology.ErrUnknownClass) {
		t.Fatalf("Load(HdfsBolt with configMethods) = %v, want %v", err, topology.ErrUnknownClass)
	}
	for _, e := range problems(t, err) {
		if errors.Is(e, topology.ErrUnsupported) || strings.Contains(e.Error(), "Go component") && !strings.Contains(e.Error(), "`go:") {
			t.Errorf("Load(HdfsBolt with configMethods) = %q: it claims a mapping that does not exist", e)
		}
	}
}
