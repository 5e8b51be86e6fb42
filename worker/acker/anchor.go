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
// runtime keeps it in the tuple (topology.Tuple's tracking). Its methods
// are safe for concurrent use.
type Anchor struct {
	edges []Edge
	// inline holds the edge of a tuple in a single tree, the usual case,
	// so that such an anchor is one allocation.
	inline   [1]Edge
	children atomic.Uint64
	// sampled is when the runtime started executing the tuple (unix ns),
	// if it measures this tuple's latencies; 0 otherwise.
	sampled atomic.Int64
}

// NewAnchor returns the anchor of a tuple with the given edges.
func NewAnchor(edges []Edge) *Anchor { return &Anchor{edges: edges} }

// NewAnchorEdge returns the anchor of a tuple in a single tuple tree.
func NewAnchorEdge(e Edge) *Anchor {
	a := &Anchor{inline: [1]Edge{e}}
	a.edges = a.inline[:]
	return a
}

// Edges returns the tuple's edges. The caller must not modify them.
func (a *Anchor) Edges() []Edge { return a.edges }

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

// SetSampled records when the runtime started executing the tuple, for
// its process latency; SampledAt returns it (0 if never set).
func (a *Anchor) SetSampled(unixNanos int64) { a.sampled.Store(unixNanos) }
func (a *Anchor) SampledAt() int64           { return a.sampled.Load() }
