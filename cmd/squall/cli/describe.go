package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/squallstream/squall/auth/redact"
	"github.com/squallstream/squall/topology"
)

// describeTopology prints a validated topology for --dry-run: components
// with their parallelism and task ids, then every subscription as
// "a --GROUPING--> b".
func describeTopology(w io.Writer, t *topology.Topology, tasks *topology.TaskMap, conf topology.Config) {
	workers := conf.Int(topology.KeyWorkers, 1)
	fmt.Fprintf(w, "topology %s: %d components, %d tasks (%d ackers), %d worker(s)\n",
		t.Name, len(t.Components), tasks.NumTasks(), len(tasks.Tasks(topology.AckerComponent)), workers)
	for _, kind := range []topology.Kind{topology.KindSpout, topology.KindBolt} {
		fmt.Fprintf(w, "%ss:\n", kind)
		for _, c := range t.Components {
			if c.Kind != kind {
				continue
			}
			fmt.Fprintf(w, "  %-16s %-36s parallelism %d, tasks %v\n", c.ID, implementation(c), c.Parallelism, tasks.Tasks(c.ID))
			if spec, ok, _ := t.WindowSpec(c.ID); ok {
				fmt.Fprintf(w, "  %-16s   window: %s\n", "", spec)
			}
			if c.Stateful {
				fmt.Fprintf(w, "  %-16s   state: %s provider\n", "", t.ComponentConfig(c.ID).String(topology.KeyStateProvider, "embedded"))
			}
			for _, s := range c.Outputs {
				direct := ""
				if s.Direct {
					direct = " (direct)"
				}
				fmt.Fprintf(w, "  %-16s   stream %s%s: %v\n", "", s.ID, direct, s.Fields)
			}
		}
	}
	fmt.Fprintf(w, "streams:\n")
	for _, c := range t.Components {
		for _, in := range c.Inputs {
			fmt.Fprintf(w, "  %s\n", subscription(in, c.ID))
		}
	}
	if len(t.Config) > 0 {
		// Secrets stay out of terminals and CI logs, as out of REST.
		shown := redact.Config(t.Config)
		fmt.Fprintf(w, "config:\n")
		for _, k := range slices.Sorted(maps.Keys(shown)) {
			fmt.Fprintf(w, "  %s: %v\n", k, shown[k])
		}
	}
}

func implementation(c *topology.Component) string {
	switch {
	case c.Shell != nil:
		return "shell " + strings.Join(c.Shell.Command, " ")
	case c.Go != nil && c.Go.Name != "":
		return "go " + c.Go.Name
	}
	return "go (built in code)"
}

// subscription renders an input as "from --GROUPING--> to", with the
// fields of FIELDS/PARTIAL_KEY and the stream when it is not the default.
func subscription(in topology.Input, to string) string {
	g := string(in.Grouping.Type)
	switch {
	case len(in.Grouping.Fields) > 0:
		g += "(" + strings.Join(in.Grouping.Fields, ",") + ")"
	case in.Grouping.Custom != "":
		g += "(" + in.Grouping.Custom + ")"
	}
	if in.Stream != topology.DefaultStream {
		g += "[" + in.Stream + "]"
	}
	return fmt.Sprintf("%s --%s--> %s", in.From, g, to)
}
