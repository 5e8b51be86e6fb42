package topology_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// testRegistry returns a registry with the built-in components and a bolt
// declaring a direct stream.
func testRegistry(t *testing.T) *topology.Registry {
	t.Helper()
	r := topology.NewRegistry()
	builtin.Register(r)
	r.RegisterBolt("test.DirectEmitter", func(a topology.Args) (topology.Bolt, error) {
		return &directEmitter{}, nil
	})
	return r
}

// directEmitter is a bolt that declares the direct stream "routed".
type directEmitter struct{ builtin.NullBolt }

func (*directEmitter) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: "routed", Fields: []string{"word"}, Direct: true}}
}

// render prints a topology's model canonically, leaving out functions and
// lines, so two topologies can be compared as text.
func render(t *topology.Topology) string {
	var b strings.Builder
	fmt.Fprintf(&b, "topology %s config=%v\n", t.Name, t.Config)
	for _, c := range t.Components {
		fmt.Fprintf(&b, "%s %s p=%d n=%d config=%v\n", c.Kind, c.ID, c.Parallelism, c.NumTasks, c.Config)
		if c.Shell != nil {
			fmt.Fprintf(&b, "  shell %q env=%v\n", c.Shell.Command, c.Shell.Env)
		}
		if c.Go != nil {
			fmt.Fprintf(&b, "  go %s args=%v\n", c.Go.Name, c.Go.Args)
		}
		for _, s := range c.Outputs {
			fmt.Fprintf(&b, "  out %s %q direct=%v\n", s.ID, s.Fields, s.Direct)
		}
		for _, in := range c.Inputs {
			g := in.Grouping
			fmt.Fprintf(&b, "  in %s/%s %s %q", in.From, in.Stream, g.Type, g.Fields)
			if g.Type == topology.Custom {
				fmt.Fprintf(&b, " custom=%s %v", g.Custom, g.CustomArgs)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// problems returns the entries of a *ValidationError.
func problems(t *testing.T, err error) []*topology.Error {
	t.Helper()
	var ve *topology.ValidationError
	if !errorsAs(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	return ve.Errors
}

func fmtMap(m map[string]any) string { return fmt.Sprint(m) }
