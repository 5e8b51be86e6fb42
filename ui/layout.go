package ui

import (
	"math"
	"slices"
	"strconv"
)

// This file is the Go twin of assets/js/layout.js, the layered
// (Sugiyama-style) layout the topology page draws its graph with, for
// what draws graphs outside a browser (`squall visualize`). Both place
// the same graph at the same coordinates: layout_test.go runs the
// JavaScript on the same graphs and compares. Change them together.
//
//  1. cycles are broken by reversing the back edges a depth-first search
//     finds;
//  2. layers by longest path from the sources;
//  3. edges longer than one layer get a dummy node in every layer between;
//  4. the order within layers minimises crossings by barycenter sweeps,
//     keeping the best order seen;
//  5. y coordinates move each node toward its neighbours' mean, without
//     overlaps, in a few passes; x comes from the layers' widths.

// LayoutNode is a node to place, with its size.
type LayoutNode struct {
	ID   string
	W, H float64
}

// LayoutEdge joins two nodes by id.
type LayoutEdge struct{ From, To string }

// LayoutOptions are the gaps of a layout; zero fields take the defaults
// (80 between layers, 22 between nodes, a margin of 12).
type LayoutOptions struct {
	LayerGap, NodeGap, Margin float64
}

// Point is a position.
type Point struct{ X, Y float64 }

// PlacedNode is a node's box and layer.
type PlacedNode struct {
	X, Y, W, H float64
	Layer      int
}

// PlacedEdge is an edge's route, from the right side of From to the left
// side of To; Reversed marks an edge turned round to break a cycle (its
// points still run from From to To).
type PlacedEdge struct {
	From, To string
	Points   []Point
	Reversed bool
}

// Layout is a placed graph.
type Layout struct {
	Width, Height float64
	Nodes         map[string]PlacedNode
	Edges         []PlacedEdge
	// Loops are the nodes with an edge to themselves, laid out apart.
	Loops     []string
	Crossings int
}

// dagEdge is an edge of the acyclic graph: orig is the index of the input
// edge it came from.
type dagEdge struct {
	from, to string
	orig     int
	rev      bool
}

// PlaceGraph lays nodes and edges out left to right. Several edges
// between the same pair are laid out once; edges naming unknown nodes are
// left out.
func PlaceGraph(nodes []LayoutNode, edges []LayoutEdge, opts LayoutOptions) Layout {
	layerGap := cmpOr(opts.LayerGap, 80)
	nodeGap := cmpOr(opts.NodeGap, 22)
	margin := cmpOr(opts.Margin, 12)
	type size struct{ w, h float64 }
	ids := make([]string, 0, len(nodes))
	sizes := map[string]size{}
	for _, n := range nodes {
		ids = append(ids, n.ID)
		sizes[n.ID] = size{n.W, n.H}
	}

	// Unique edges between known nodes; self-loops apart.
	seen := map[LayoutEdge]bool{}
	var pairs []LayoutEdge
	var loops []string
	for _, e := range edges {
		if _, ok := sizes[e.From]; !ok {
			continue
		}
		if _, ok := sizes[e.To]; !ok {
			continue
		}
		if seen[e] {
			continue
		}
		seen[e] = true
		if e.From == e.To {
			loops = append(loops, e.From)
		} else {
			pairs = append(pairs, e)
		}
	}

	// 1. Break cycles: DFS in input order; an edge to a node on the stack
	// is a back edge and is reversed.
	out := map[string][]int{}
	for i, p := range pairs {
		out[p.From] = append(out[p.From], i)
	}
	state := map[string]int{} // 1 on stack, 2 done
	reversed := map[int]bool{}
	dfs := func(start string) {
		type frame struct {
			id   string
			next int
		}
		stack := []frame{{start, 0}}
		state[start] = 1
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			list := out[top.id]
			if top.next >= len(list) {
				state[top.id] = 2
				stack = stack[:len(stack)-1]
				continue
			}
			i := list[top.next]
			top.next++
			switch state[pairs[i].To] {
			case 1:
				reversed[i] = true
			case 0:
				state[pairs[i].To] = 1
				stack = append(stack, frame{pairs[i].To, 0})
			}
		}
	}
	indeg := map[string]int{}
	for _, p := range pairs {
		indeg[p.To]++
	}
	for _, id := range ids {
		if indeg[id] == 0 && state[id] == 0 {
			dfs(id)
		}
	}
	for _, id := range ids {
		if state[id] == 0 {
			dfs(id)
		}
	}
	dag := make([]dagEdge, len(pairs))
	for i, p := range pairs {
		if reversed[i] {
			dag[i] = dagEdge{from: p.To, to: p.From, orig: i, rev: true}
		} else {
			dag[i] = dagEdge{from: p.From, to: p.To, orig: i}
		}
	}

	// 2. Longest-path layering, in topological order (Kahn).
	layer := map[string]int{}
	succ := map[string][]string{}
	deg := map[string]int{}
	for _, e := range dag {
		succ[e.from] = append(succ[e.from], e.to)
		deg[e.to]++
	}
	var queue []string
	for _, id := range ids {
		if deg[id] == 0 {
			queue = append(queue, id)
		}
	}
	for i := 0; i < len(queue); i++ {
		u := queue[i]
		for _, v := range succ[u] {
			layer[v] = max(layer[v], layer[u]+1)
			deg[v]--
			if deg[v] == 0 {
				queue = append(queue, v)
			}
		}
	}

	// 3. Dummy nodes on long edges: every edge becomes a chain of unit
	// edges.
	nlayers := 1
	for _, id := range ids {
		nlayers = max(nlayers, layer[id]+1)
	}
	layers := make([][]string, nlayers)
	for _, id := range ids {
		layers[layer[id]] = append(layers[layer[id]], id)
	}
	type chain struct {
		e   dagEdge
		ids []string
	}
	var chains []chain
	up, down := map[string][]string{}, map[string][]string{}
	dummies := 0
	for _, e := range dag {
		c := []string{e.from}
		for l := layer[e.from] + 1; l < layer[e.to]; l++ {
			d := "\x01d" + strconv.Itoa(dummies)
			dummies++
			layer[d] = l
			sizes[d] = size{}
			layers[l] = append(layers[l], d)
			c = append(c, d)
		}
		c = append(c, e.to)
		for i := 0; i+1 < len(c); i++ {
			down[c[i]] = append(down[c[i]], c[i+1])
			up[c[i+1]] = append(up[c[i+1]], c[i])
		}
		chains = append(chains, chain{e, c})
	}

	// 4. Crossing minimisation: barycenter sweeps down and up.
	pos := map[string]int{}
	index := func() {
		for _, L := range layers {
			for i, id := range L {
				pos[id] = i
			}
		}
	}
	index()
	crossings := func() int {
		c := 0
		for l := 0; l+1 < len(layers); l++ {
			var es [][2]int
			for _, a := range layers[l] {
				for _, b := range down[a] {
					es = append(es, [2]int{pos[a], pos[b]})
				}
			}
			for i := range es {
				for j := i + 1; j < len(es); j++ {
					if (es[i][0]-es[j][0])*(es[i][1]-es[j][1]) < 0 {
						c++
					}
				}
			}
		}
		return c
	}
	sortBy := func(L []string, nbrs map[string][]string) {
		bary := map[string]float64{}
		for _, id := range L {
			ns := nbrs[id]
			if len(ns) == 0 {
				bary[id] = float64(pos[id])
				continue
			}
			sum := 0.0
			for _, n := range ns {
				sum += float64(pos[n])
			}
			bary[id] = sum / float64(len(ns))
		}
		slices.SortStableFunc(L, func(a, b string) int {
			if d := bary[a] - bary[b]; d != 0 {
				if d < 0 {
					return -1
				}
				return 1
			}
			return pos[a] - pos[b]
		})
		for i, id := range L {
			pos[id] = i
		}
	}
	clone := func() [][]string {
		c := make([][]string, len(layers))
		for i, L := range layers {
			c[i] = slices.Clone(L)
		}
		return c
	}
	best, bestC := clone(), crossings()
	for it := 0; it < 12 && bestC > 0; it++ {
		for l := 1; l < len(layers); l++ {
			sortBy(layers[l], up)
		}
		for l := len(layers) - 2; l >= 0; l-- {
			sortBy(layers[l], down)
		}
		if c := crossings(); c < bestC {
			bestC, best = c, clone()
		}
	}
	layers = best
	index()

	// 5. Coordinates. x: each layer as wide as its widest node.
	type span struct{ x, w float64 }
	layerX := make([]span, len(layers))
	x := margin
	for l, L := range layers {
		w := 0.0
		for _, id := range L {
			w = max(w, sizes[id].w)
		}
		layerX[l] = span{x, w}
		x += w + layerGap
	}
	y := map[string]float64{}
	for _, L := range layers {
		cy := margin
		for _, id := range L {
			y[id] = cy
			cy += sizes[id].h + nodeGap
		}
	}
	center := func(id string) float64 { return y[id] + sizes[id].h/2 }
	place := func(L []string, nbrs map[string][]string) {
		want := make([]float64, len(L))
		for i, id := range L {
			ns := nbrs[id]
			if len(ns) == 0 {
				want[i] = y[id]
				continue
			}
			sum := 0.0
			for _, n := range ns {
				sum += center(n)
			}
			want[i] = sum/float64(len(ns)) - sizes[id].h/2
		}
		// Keep order and gaps: push down, then pull up, then push down
		// again.
		gap := func(i int) float64 {
			if sizes[L[i]].h == 0 || i+1 < len(L) && sizes[L[i+1]].h == 0 {
				return nodeGap / 2
			}
			return nodeGap
		}
		for i := 1; i < len(L); i++ {
			want[i] = max(want[i], want[i-1]+sizes[L[i-1]].h+gap(i-1))
		}
		for i := len(L) - 2; i >= 0; i-- {
			want[i] = min(want[i], want[i+1]-sizes[L[i]].h-gap(i))
		}
		for i := 1; i < len(L); i++ {
			want[i] = max(want[i], want[i-1]+sizes[L[i-1]].h+gap(i-1))
		}
		for i, id := range L {
			y[id] = want[i]
		}
	}
	for range 6 {
		for l := 1; l < len(layers); l++ {
			place(layers[l], up)
		}
		for l := len(layers) - 2; l >= 0; l-- {
			place(layers[l], down)
		}
	}
	minY := math.Inf(1)
	for _, v := range y {
		minY = min(minY, v)
	}
	for id, v := range y {
		y[id] = v - minY + margin
	}

	res := Layout{Nodes: map[string]PlacedNode{}, Loops: loops, Crossings: bestC}
	height := 0.0
	for _, id := range ids {
		l, s := layer[id], sizes[id]
		res.Nodes[id] = PlacedNode{X: layerX[l].x + (layerX[l].w-s.w)/2, Y: y[id], W: s.w, H: s.h, Layer: l}
		height = max(height, y[id]+s.h)
	}
	for _, L := range layers {
		for _, id := range L {
			height = max(height, y[id])
		}
	}
	for _, c := range chains {
		pts := make([]Point, len(c.ids))
		for i, id := range c.ids {
			l, s := layer[id], sizes[id]
			cx, cy := layerX[l].x+layerX[l].w/2, y[id]+s.h/2
			switch i {
			case 0:
				pts[i] = Point{cx + s.w/2, cy}
			case len(c.ids) - 1:
				pts[i] = Point{cx - s.w/2, cy}
			default:
				pts[i] = Point{cx, cy}
			}
		}
		if c.e.rev {
			slices.Reverse(pts)
		}
		p := pairs[c.e.orig]
		res.Edges = append(res.Edges, PlacedEdge{From: p.From, To: p.To, Points: pts, Reversed: c.e.rev})
	}
	res.Width = max(margin, x-layerGap+margin)
	res.Height = height + margin
	return res
}

func cmpOr(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}
