package acker

import "sync/atomic"

// Edge is a tuple's edge in one tuple tree: the tree's root id (the spout
// tuple's id) and the random id of this tuple within it.
type Edge struct {
	Root, ID uint64
}

// Anchor records, for a tracked tuple delivery, its edge in every tuple
// tree it belongs to, and accumulates the XOR of the ids of tuples later
// anchored to it, which the acker needs when this tuple is acked. The
// runtime keeps it in the tuple (topology.Tuple's tracking): an *Anchor
// for a tuple in one tree, the usual case, a *MultiAnchor for one in
// several. Its methods are safe for concurrent use.
//
// An Anchor holds no pointer: one is made for every tracked delivery, and
// the garbage collector neither scans it nor is it the larger size class
// that a slice of edges would put it in. (When a tuple's process latency
// is sampled, its collector keeps the start, not the anchor: 24 bytes a
// delivery rather than 32.)
type Anchor struct {
	edge     [1]Edge
	children atomic.Uint64
}

// MultiAnchor is the anchor of a tuple in several tuple trees.
type MultiAnchor struct {
	Anchor
	edges []Edge
}

// NewAnchor returns the anchor of a tuple in a single tuple tree.
func NewAnchor(e Edge) *Anchor { return &Anchor{edge: [1]Edge{e}} }

// NewMultiAnchor returns the anchor of a tuple with the given edges, which
// it keeps.
func NewMultiAnchor(edges []Edge) *MultiAnchor { return &MultiAnchor{edges: edges} }

// Edges returns the tuple's edge. The caller must not modify it.
func (a *Anchor) Edges() []Edge { return a.edge[:] }

// Edges returns the tuple's edges. The caller must not modify them.
func (a *MultiAnchor) Edges() []Edge { return a.edges }

// AddChild folds the id of a tuple anchored to this one into the XOR the
// acker will receive.
func (a *Anchor) AddChild(id uint64) {
	for {
		old := a.children.Load()
		if a.children.CompareAndSwap(old, old^id) {
			return
		}
	}
}

// Children returns the XOR of the ids of tuples anchored to this one.
func (a *Anchor) Children() uint64 { return a.children.Load() }

// Of returns the anchor and edges of a tuple's tracking (what the runtime
// gave topology.NewTuple), nil if the tuple is not tracked.
func Of(tracking any) (*Anchor, []Edge) {
	switch a := tracking.(type) {
	case *Anchor:
		return a, a.edge[:]
	case *MultiAnchor:
		return &a.Anchor, a.edges
	case *LineageAnchor:
		return &a.Anchor, a.edge[:]
	case *LineageMultiAnchor:
		return &a.Anchor, a.edges
	}
	return nil, nil
}

// Lineage is the identity of a tuple across replays, carried only in
// exactly-once topologies (docs/windowing-and-state.md): a spout tuple's
// is a hash of its component and message id, an emit's a hash of its
// anchors' lineages, component, stream and index among the emits
// anchored to the same input.
type Lineage [16]byte

// LineageAnchor is the anchor of a tuple in one tree that has a lineage.
type LineageAnchor struct {
	Anchor
	lineage Lineage
	// emits counts the emits anchored to this delivery, for their
	// lineages.
	emits atomic.Uint32
}

// LineageMultiAnchor is the anchor of a tuple in several trees that has a
// lineage.
type LineageMultiAnchor struct {
	MultiAnchor
	lineage Lineage
	emits   atomic.Uint32
}

// NewLineageAnchor returns the anchor of a tuple with the given edges and
// lineage.
func NewLineageAnchor(edges []Edge, l Lineage) any {
	if len(edges) == 1 {
		return &LineageAnchor{Anchor: Anchor{edge: [1]Edge{edges[0]}}, lineage: l}
	}
	return &LineageMultiAnchor{MultiAnchor: MultiAnchor{edges: edges}, lineage: l}
}

// LineageOf returns the lineage of a tuple's tracking and the count of
// emits anchored to it so far (counted up), if it has one.
func LineageOf(tracking any) (l Lineage, next func() uint32, ok bool) {
	switch a := tracking.(type) {
	case *LineageAnchor:
		return a.lineage, func() uint32 { return a.emits.Add(1) - 1 }, true
	case *LineageMultiAnchor:
		return a.lineage, func() uint32 { return a.emits.Add(1) - 1 }, true
	}
	return Lineage{}, nil, false
}
