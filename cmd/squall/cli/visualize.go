package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/ui"
)

type visualizeOptions struct {
	topologyFlags
	output string
}

// newVisualizeCmd draws a topology: DOT on stdout, and an SVG laid out as
// the web UI lays out its graph.
func newVisualizeCmd(deps *Options) *cobra.Command {
	var o visualizeOptions
	cmd := &cobra.Command{
		Use:   "visualize TOPOLOGY",
		Short: "Print a topology's graph as DOT and write it as an SVG file",
		Long: `Draw a topology (a YAML file, native or Flux, or a directory holding
topology.yaml): its components and the streams between them, with their
groupings. The graph is printed in Graphviz's DOT language and written as an
SVG file laid out by squall itself (the web UI's layout: no Graphviz needed).`,
		Example: `  squall visualize examples/wordcount
  squall visualize -o /tmp/wc.svg examples/wordcount
  squall visualize examples/wordcount | dot -Tpng -o wordcount.png`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVisualize(o, deps.Registry, args[0], cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.topologyFlags.register(cmd.Flags())
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "the SVG `file` to write (default: NAME.svg in the working directory; - for none)")
	return cmd
}

func runVisualize(o visualizeOptions, reg *topology.Registry, path string, stdout, stderr io.Writer) error {
	src, err := locateTopology(path)
	if err != nil {
		return err
	}
	topo, err := o.load(src, reg)
	if err != nil {
		return err
	}
	g := graphOf(topo)
	if _, err := io.WriteString(stdout, dot(g)); err != nil {
		return err
	}
	out := o.output
	if out == "-" {
		return nil
	}
	if out == "" {
		out = topo.Name + ".svg"
	}
	if err := os.WriteFile(out, ui.SVG(g), 0o644); err != nil {
		return fmt.Errorf("write the SVG: %w", err)
	}
	fmt.Fprintf(stderr, "wrote %s\n", out)
	return nil
}

// graphOf returns a topology's components and streams, in definition
// order.
func graphOf(t *topology.Topology) ui.Graph {
	g := ui.Graph{Name: t.Name}
	for _, c := range t.Components {
		n := ui.GraphNode{ID: c.ID, Kind: c.Kind.String(), Parallelism: c.Parallelism}
		switch {
		case c.Shell != nil:
			n.Detail = strings.Join(c.Shell.Command, " ")
		case c.Go != nil:
			n.Detail = c.Go.Name
		}
		g.Nodes = append(g.Nodes, n)
		for _, in := range c.Inputs {
			g.Edges = append(g.Edges, ui.GraphEdge{From: in.From, To: c.ID, Stream: in.Stream,
				Grouping: strings.ToLower(string(in.Grouping.Type))})
		}
	}
	return g
}

// dot writes g in Graphviz's DOT language, left to right, spouts in bold
// blue as in the web UI.
func dot(g ui.Graph) string {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph %s {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n  edge [fontname=\"sans-serif\", fontsize=10];\n", dotID(g.Name))
	for _, n := range g.Nodes {
		label := fmt.Sprintf("%s\\n%s · %d ex", dotEscape(n.ID), n.Kind, n.Parallelism)
		if n.Detail != "" {
			label += "\\n" + dotEscape(n.Detail)
		}
		style := ""
		if n.Kind == "spout" {
			style = `, style="rounded,bold", color="#1f5fbf", penwidth=2`
		}
		fmt.Fprintf(&b, "  %s [label=\"%s\"%s];\n", dotID(n.ID), label, style)
	}
	for _, e := range g.Edges {
		label := dotEscape(e.Stream)
		if e.Grouping != "" {
			label += " (" + e.Grouping + ")"
		}
		fmt.Fprintf(&b, "  %s -> %s [label=\"%s\"];\n", dotID(e.From), dotID(e.To), label)
	}
	b.WriteString("}\n")
	return b.String()
}

// dotID quotes an identifier for DOT.
func dotID(s string) string { return `"` + dotEscape(s) + `"` }

// dotEscape escapes text for a DOT quoted string: quotes and backslashes
// (which DOT would read as label escapes), and line breaks.
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", " ", "\r", " ").Replace(s)
}
