package metrics

import (
	"fmt"
	"time"
)

// Window is one of the four windows Storm's UI reports statistics for.
type Window int

const (
	Window10m Window = iota
	Window3h
	Window1d
	WindowAllTime
)

// NumWindows is the number of windows.
const NumWindows = 4

// Windows lists the windows in the order Storm's UI lists them.
var Windows = [NumWindows]Window{Window10m, Window3h, Window1d, WindowAllTime}

var windowNames = [NumWindows]struct{ id, pretty string }{
	{"600", "10m 0s"},
	{"10800", "3h 0m 0s"},
	{"86400", "1d 0h 0m 0s"},
	{":all-time", "All time"},
}

// String returns the window as Storm's API names it, its "window" field
// and query parameter: "600", "10800", "86400" or ":all-time".
func (w Window) String() string {
	if w < 0 || w >= NumWindows {
		return fmt.Sprintf("Window(%d)", int(w))
	}
	return windowNames[w].id
}

// Pretty returns the window as Storm's UI shows it, its "windowPretty"
// (or "windowHint") field: "10m 0s", "3h 0m 0s", "1d 0h 0m 0s", "All time".
func (w Window) Pretty() string {
	if w < 0 || w >= NumWindows {
		return w.String()
	}
	return windowNames[w].pretty
}

// Length returns how much time the window covers, 0 for all time.
func (w Window) Length() time.Duration {
	if w < 0 || w >= WindowAllTime {
		return 0
	}
	return windowLengths[w]
}

// ParseWindow reads a window as Storm's API names it; "" is all time.
func ParseWindow(s string) (Window, error) {
	if s == "" {
		return WindowAllTime, nil
	}
	for _, w := range Windows {
		if windowNames[w].id == s {
			return w, nil
		}
	}
	return 0, fmt.Errorf("%w: %q: want 600, 10800, 86400 or :all-time", ErrUnknownWindow, s)
}

// Counts are a count in each window, in Windows order.
type Counts [NumWindows]int64

// Sums are a sum in each window, in Windows order.
type Sums [NumWindows]float64

// Rolling windows, as Storm's CountStat and LatencyStat keep them: each
// timed window has numStatBuckets buckets; the newest grows until it
// covers bucketLengths of time, then the oldest is dropped and a new one
// started. A window's value is what was recorded since the last roll plus
// the newest buckets that cover the rest of the window. Counts pro-rate
// the oldest bucket they reach into; latencies (sums and their counts)
// take it whole, as Storm does.

// numStatBuckets is Storm's CommonStats.NUM_STAT_BUCKETS.
const numStatBuckets = 20

// timedWindows are the windows with buckets.
const timedWindows = 3

var windowLengths = [timedWindows]time.Duration{10 * time.Minute, 3 * time.Hour, 24 * time.Hour}

// bucketLengths are as if there were one bucket fewer, so that the full
// buckets always cover the window.
var bucketLengths = [timedWindows]time.Duration{
	windowLengths[0] / (numStatBuckets - 1),
	windowLengths[1] / (numStatBuckets - 1),
	windowLengths[2] / (numStatBuckets - 1),
}

// RollInterval is how often Registry.Roll should run, at least: Storm
// rolls its statistics every 10 minutes / 19, about 32 seconds. Rolling
// more often changes nothing; less often makes the windows coarser.
var RollInterval = bucketLengths[0]

// cell is what a bucket holds: a count and, for histograms, a sum.
type cell struct {
	n   int64
	sum float64
}

func (c cell) minus(o cell) cell { return cell{c.n - o.n, c.sum - o.sum} }

// rollClock holds the bucket times that every series of a registry
// shares, since they all roll together.
type rollClock struct {
	// last is when the buckets last rolled.
	last time.Time
	// head is the slot of each window's newest bucket; the k-th newest is
	// at (head+k) % numStatBuckets.
	head  [timedWindows]int
	times [timedWindows][numStatBuckets]time.Duration
	// shift says, between advance and finish, which windows start a new
	// bucket in this roll.
	shift [timedWindows]bool
}

func newRollClock(now time.Time) rollClock { return rollClock{last: now} }

// spent returns the time since the last roll; never negative, so a clock
// that steps back does not unwind the buckets.
func (c *rollClock) spent(now time.Time) time.Duration { return max(now.Sub(c.last), 0) }

// advance starts a roll at now: the newest buckets grow by the time spent
// since the last one, and those that reach their length will be closed.
// Every series then rolls, then finish ends the roll.
func (c *rollClock) advance(now time.Time) {
	spent := c.spent(now)
	if spent > 0 {
		c.last = now
	}
	for w := range timedWindows {
		c.times[w][c.head[w]] += spent
		c.shift[w] = c.times[w][c.head[w]] >= bucketLengths[w]
	}
}

// oldest returns the slot of window w's oldest bucket, which becomes the
// newest when the window shifts.
func (c *rollClock) oldest(w int) int { return (c.head[w] + numStatBuckets - 1) % numStatBuckets }

func (c *rollClock) finish() {
	for w := range timedWindows {
		if c.shift[w] {
			c.head[w] = c.oldest(w)
			c.times[w][c.head[w]] = 0
			c.shift[w] = false
		}
	}
}

// rolling is one series' buckets. A series is read as a cumulative cell
// (a counter's count, a histogram's count and sum); rolling keeps the
// differences between rolls.
type rolling struct {
	// last is the cumulative cell at the last roll.
	last cell
	vals [timedWindows][numStatBuckets]cell
}

// roll adds what was recorded since the last roll, cur being the
// cumulative cell now, to the newest buckets, during a roll of c.
func (r *rolling) roll(c *rollClock, cur cell) {
	d := cur.minus(r.last)
	r.last = cur
	for w := range timedWindows {
		v := &r.vals[w][c.head[w]]
		v.n += d.n
		v.sum += d.sum
		if c.shift[w] {
			r.vals[w][c.oldest(w)] = cell{}
		}
	}
}

// read returns the series' value in every window at now, cur being the
// cumulative cell now. prorate takes the part of the oldest bucket
// reached that falls in the window (Storm's counts) instead of all of it
// (Storm's latencies).
func (r *rolling) read(c *rollClock, now time.Time, cur cell, prorate bool) (Counts, Sums) {
	var counts Counts
	var sums Sums
	spent := c.spent(now)
	partial := cur.minus(r.last)
	for w := range timedWindows {
		total := partial
		need := windowLengths[w] - spent
		if prorate && need < 0 {
			// Not rolled for longer than the window: take the window's
			// share of what was recorded since, as if at an even rate.
			f := float64(windowLengths[w]) / float64(spent)
			total = cell{int64(f * float64(partial.n)), f * partial.sum}
		}
		for k := 0; k < numStatBuckets && need > 0; k++ {
			slot := (c.head[w] + k) % numStatBuckets
			t, v := c.times[w][slot], r.vals[w][slot]
			if prorate && need < t {
				f := float64(need) / float64(t)
				total.n += int64(f * float64(v.n))
				total.sum += f * v.sum
				break
			}
			total.n += v.n
			total.sum += v.sum
			need -= t
		}
		counts[w], sums[w] = total.n, total.sum
	}
	counts[WindowAllTime], sums[WindowAllTime] = cur.n, cur.sum
	return counts, sums
}
