package ui

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// layoutCases are graphs both layouts place: a chain, a diamond, a cycle,
// a long edge (dummy nodes), crossings to remove, duplicates and a loop.
var layoutCases = map[string]struct {
	Nodes []LayoutNode
	Edges []LayoutEdge
}{
	"wordcount": {
		Nodes: []LayoutNode{{"sentences", 120, 46}, {"split", 96, 46}, {"count", 96, 46}, {"top", 96, 46}},
		Edges: []LayoutEdge{{"sentences", "split"}, {"split", "count"}, {"count", "top"}, {"count", "top"}},
	},
	"diamond and long edge": {
		Nodes: []LayoutNode{{"s", 100, 46}, {"a", 140, 46}, {"b", 96, 46}, {"c", 96, 46}, {"d", 110, 46}},
		Edges: []LayoutEdge{{"s", "a"}, {"s", "b"}, {"a", "c"}, {"b", "c"}, {"c", "d"}, {"s", "d"}},
	},
	"cycle and loop": {
		Nodes: []LayoutNode{{"s", 100, 46}, {"x", 96, 46}, {"y", 96, 46}},
		Edges: []LayoutEdge{{"s", "x"}, {"x", "y"}, {"y", "x"}, {"y", "y"}, {"y", "nowhere"}},
	},
	"crossings": {
		Nodes: []LayoutNode{{"s1", 96, 46}, {"s2", 96, 46}, {"s3", 96, 46}, {"b1", 96, 46}, {"b2", 96, 46}, {"b3", 96, 46}},
		Edges: []LayoutEdge{{"s1", "b3"}, {"s2", "b2"}, {"s3", "b1"}, {"s1", "b2"}},
	},
}

// TestPlaceGraphMatchesJavaScript places each case with PlaceGraph and
// with assets/js/layout.js (run by node) and compares every coordinate.
func TestPlaceGraphMatchesJavaScript(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node is required to compare the layouts: %v", err)
		}
		t.Skipf("node not found: %v", err)
	}
	type jsNode struct {
		ID string  `json:"id"`
		W  float64 `json:"w"`
		H  float64 `json:"h"`
	}
	type jsEdge struct {
		From string `json:"from"`
		To   string `json:"to"`
	}
	in := map[string]map[string]any{}
	for name, c := range layoutCases {
		var ns []jsNode
		for _, n := range c.Nodes {
			ns = append(ns, jsNode(n))
		}
		var es []jsEdge
		for _, e := range c.Edges {
			es = append(es, jsEdge(e))
		}
		in[name] = map[string]any{"nodes": ns, "edges": es}
	}
	data, _ := json.Marshal(in)
	layoutJS, err := filepath.Abs("assets/js/layout.js")
	if err != nil {
		t.Fatal(err)
	}
	script := `import { layout } from ` + jsonString(layoutJS) + `;
const cases = JSON.parse(process.argv[process.argv.length - 1]);
const out = {};
for (const [name, c] of Object.entries(cases)) {
  const L = layout(c.nodes, c.edges);
  out[name] = { width: L.width, height: L.height, crossings: L.crossings, loops: L.loops.map((l) => l.id),
    nodes: Object.fromEntries([...L.nodes].map(([id, n]) => [id, n])), edges: L.edges };
}
console.log(JSON.stringify(out));`
	cmd := exec.CommandContext(t.Context(), node, "--input-type=module", "-e", script, string(data))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	outJS, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var js map[string]struct {
		Width, Height float64
		Crossings     int
		Loops         []string
		Nodes         map[string]struct {
			X, Y, W, H float64
			Layer      int
		}
		Edges []struct {
			From, To string
			Points   []struct{ X, Y float64 }
			Reversed bool
		}
	}
	if err := json.Unmarshal(outJS, &js); err != nil {
		t.Fatalf("node's answer: %v: %s", err, outJS)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	for name, c := range layoutCases {
		t.Run(name, func(t *testing.T) {
			want, ok := js[name]
			if !ok || len(want.Nodes) != len(c.Nodes) {
				t.Fatalf("layout.js placed %d nodes of %d", len(want.Nodes), len(c.Nodes))
			}
			got := PlaceGraph(c.Nodes, c.Edges, LayoutOptions{})
			if !near(got.Width, want.Width) || !near(got.Height, want.Height) || got.Crossings != want.Crossings || len(got.Loops) != len(want.Loops) {
				t.Errorf("PlaceGraph = %vx%v, %d crossings, loops %v; layout.js %vx%v, %d, %v",
					got.Width, got.Height, got.Crossings, got.Loops, want.Width, want.Height, want.Crossings, want.Loops)
			}
			for id, w := range want.Nodes {
				g := got.Nodes[id]
				if !near(g.X, w.X) || !near(g.Y, w.Y) || g.Layer != w.Layer {
					t.Errorf("node %s at (%v,%v) layer %d, layout.js (%v,%v) layer %d", id, g.X, g.Y, g.Layer, w.X, w.Y, w.Layer)
				}
			}
			if len(got.Edges) != len(want.Edges) {
				t.Fatalf("%d edges, layout.js %d", len(got.Edges), len(want.Edges))
			}
			for i, w := range want.Edges {
				g := got.Edges[i]
				if g.From != w.From || g.To != w.To || g.Reversed != w.Reversed || len(g.Points) != len(w.Points) {
					t.Errorf("edge %d = %+v, layout.js %+v", i, g, w)
					continue
				}
				for j, p := range w.Points {
					if !near(g.Points[j].X, p.X) || !near(g.Points[j].Y, p.Y) {
						t.Errorf("edge %s->%s point %d = %v, layout.js %v", g.From, g.To, j, g.Points[j], p)
					}
				}
			}
		})
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }
