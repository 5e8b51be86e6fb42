package ui

import (
	"bytes"
	"fmt"
	"html"
	"strings"
)

// Graph is a topology as a standalone drawing (`squall visualize`): its
// components and the streams between them.
type Graph struct {
	Name  string
	Nodes []GraphNode
	Edges []GraphEdge
}

// GraphNode is a component.
type GraphNode struct {
	ID          string
	Kind        string // "spout" or "bolt"
	Parallelism int
	// Detail is an extra line, such as "python3 splitsentence.py".
	Detail string
}

// GraphEdge is one stream from a component to a subscriber.
type GraphEdge struct {
	From, To, Stream, Grouping string
}

const (
	svgNodeH   = 46
	svgCharW   = 7.8 // the node labels' average character width
	svgMaxNode = 230
)

// nodeWidth fits a node's id and detail, as the topology page does.
func nodeWidth(n GraphNode) float64 {
	w := max(96, svgCharW*float64(len([]rune(n.ID)))+24, 6.8*float64(len([]rune(detailOf(n)))+2)+24)
	return min(svgMaxNode, w)
}

func detailOf(n GraphNode) string {
	d := fmt.Sprintf("%s · %d ex", n.Kind, n.Parallelism)
	if n.Detail != "" {
		d += " · " + n.Detail
	}
	return d
}

// shorten cuts a label to what fits w, with an ellipsis.
func shorten(label string, w float64) string {
	r := []rune(label)
	fit := int((w - 16) / svgCharW)
	if len(r) <= fit {
		return label
	}
	return string(r[:max(1, fit-1)]) + "…"
}

// SVG draws g as a self-contained SVG document, laid out by PlaceGraph
// as the web UI lays out its graph: spouts rounded with a thick blue
// border, edges labelled with their streams and groupings.
func SVG(g Graph) []byte {
	nodes := make([]LayoutNode, len(g.Nodes))
	byID := map[string]GraphNode{}
	for i, n := range g.Nodes {
		nodes[i] = LayoutNode{ID: n.ID, W: nodeWidth(n), H: svgNodeH}
		byID[n.ID] = n
	}
	type pair struct{ from, to string }
	groups := map[pair][]GraphEdge{}
	var edges []LayoutEdge
	longest := 0
	for _, e := range g.Edges {
		edges = append(edges, LayoutEdge{From: e.From, To: e.To})
		groups[pair{e.From, e.To}] = append(groups[pair{e.From, e.To}], e)
		longest = max(longest, len([]rune(edgeLabel(e))))
	}
	layerGap := min(260, max(70, 6.4*float64(longest+4)+16))
	L := PlaceGraph(nodes, edges, LayoutOptions{LayerGap: layerGap})
	const top = 24 // room for the title and self-loops
	var b bytes.Buffer
	w, h := L.Width, L.Height+top+8
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(g.Name))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>` + "\n")
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="12" y="16" font-weight="bold">%s</text>`+"\n", esc(g.Name))
	fmt.Fprintf(&b, `<g transform="translate(0 %d)">`+"\n", top)
	for _, le := range L.Edges {
		streams := groups[pair{le.From, le.To}]
		var labels []string
		for _, s := range streams {
			labels = append(labels, edgeLabel(s))
		}
		label := strings.Join(labels, ", ")
		n := len(le.Points)
		mid := le.Points[n/2]
		lx, ly := mid.X, mid.Y-6
		if n%2 == 0 {
			prev := le.Points[n/2-1]
			lx, ly = (mid.X+prev.X)/2, (mid.Y+prev.Y)/2-6
		}
		fmt.Fprintf(&b, `<g class="edge"><path d="%s" fill="none" stroke="#555" stroke-width="1.4" marker-end="url(#arrow)"/>`, curve(le.Points))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" stroke="#fff" stroke-width="4" paint-order="stroke" fill="#333">%s</text></g>`+"\n", lx, ly, esc(label))
	}
	for _, id := range L.Loops {
		n := L.Nodes[id]
		x0, x1 := n.X+n.W*0.3, n.X+n.W*0.7
		var labels []string
		for _, s := range groups[pair{id, id}] {
			labels = append(labels, edgeLabel(s))
		}
		fmt.Fprintf(&b, `<g class="edge"><path d="M %.1f %.1f C %.1f %.1f, %.1f %.1f, %.1f %.1f" fill="none" stroke="#555" stroke-width="1.4" marker-end="url(#arrow)"/>`,
			x1, n.Y, x1, n.Y-22, x0, n.Y-22, x0, n.Y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#333">%s</text></g>`+"\n", n.X+n.W/2, n.Y-24, esc(strings.Join(labels, ", ")))
	}
	for _, gn := range g.Nodes {
		p := L.Nodes[gn.ID]
		rx, stroke, width, fill := 4, "#666", 1.2, "#f4f6f8"
		if gn.Kind == "spout" {
			rx, stroke, width, fill = 14, "#1f5fbf", 3, "#eaf1fb"
		}
		fmt.Fprintf(&b, `<g class="node %s"><title>%s</title>`, esc(gn.Kind), esc(gn.ID+": "+detailOf(gn)))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%d" fill="%s" stroke="%s" stroke-width="%.1f"/>`, p.X, p.Y, p.W, p.H, rx, fill, stroke, width)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-weight="bold">%s</text>`, p.X+p.W/2, p.Y+19, esc(shorten(gn.ID, p.W)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="#444">%s</text></g>`+"\n", p.X+p.W/2, p.Y+36, esc(shorten(detailOf(gn), p.W)))
	}
	b.WriteString("</g>\n</svg>\n")
	return b.Bytes()
}

func edgeLabel(e GraphEdge) string {
	if e.Grouping == "" {
		return e.Stream
	}
	return e.Stream + " (" + e.Grouping + ")"
}

// curve draws a smooth path through points, horizontal at each point.
func curve(pts []Point) string {
	var b strings.Builder
	fmt.Fprintf(&b, "M %.1f %.1f", pts[0].X, pts[0].Y)
	for i := 1; i < len(pts); i++ {
		a, c := pts[i-1], pts[i]
		dx := (c.X - a.X) / 2
		fmt.Fprintf(&b, " C %.1f %.1f, %.1f %.1f, %.1f %.1f", a.X+dx, a.Y, c.X-dx, c.Y, c.X, c.Y)
	}
	return b.String()
}

// esc escapes text for XML.
func esc(s string) string { return html.EscapeString(s) }
