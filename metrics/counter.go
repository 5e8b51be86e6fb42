package metrics

import (
	"math"
	"sync/atomic"
)

// A Counter is a count that only grows. Add is one atomic add (about 6 ns
// uncontended on the development machine); code that counts every tuple
// should count a batch locally and Add once per batch. Counters are safe
// for concurrent use; the zero value is ready to use.
type Counter struct{ n atomic.Int64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Add adds n, which must not be negative.
func (c *Counter) Add(n int64) { c.n.Add(n) }

// Value returns the count.
func (c *Counter) Value() int64 { return c.n.Load() }

// A Gauge is a value that goes up and down. Gauges are safe for concurrent
// use; the zero value is ready to use.
type Gauge struct{ bits atomic.Uint64 }

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Add adds d (which may be negative) to the value.
func (g *Gauge) Add(d float64) {
	for {
		old := g.bits.Load()
		if g.bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+d)) {
			return
		}
	}
}

// Value returns the value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }
