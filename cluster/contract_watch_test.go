package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

// Watches, part of the contract suite (contract_test.go).

func TestWatchTopologies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		w, writer := b.open(t), b.open(t)
		wctx, cancel := context.WithCancel(ctx)
		ch := w.WatchTopologies(wctx)
		awaitSignal(t, ch, "initial signal", func() error { return nil })

		topo := func(id string) (TopologyRecord, error) { return w.GetTopology(ctx, id) }
		r1, err := writer.SetTopology(ctx, sampleTopology("t1"))
		if err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "create", func() error { _, err := topo("t1"); return err })

		r1.Status = StatusInactive
		if r1, err = writer.SetTopology(ctx, r1); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "update", func() error {
			got, err := topo("t1")
			if err == nil && got.Status != StatusInactive {
				err = fmt.Errorf("status %s", got.Status)
			}
			return err
		})

		// A slow consumer: several changes while it does not read; it still
		// ends up seeing the last state.
		r2, err := writer.SetTopology(ctx, sampleTopology("t2"))
		if err != nil {
			t.Fatal(err)
		}
		r2.NumWorkers = 7
		if _, err := writer.SetTopology(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if err := writer.DeleteTopology(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		lastState := func() error {
			ids, err := w.ListTopologies(ctx)
			if err != nil {
				return err
			}
			got, err := topo("t2")
			if err != nil {
				return err
			}
			if !slices.Equal(ids, []string{"t2"}) || got.NumWorkers != 7 {
				return fmt.Errorf("ids %q, t2 workers %d", ids, got.NumWorkers)
			}
			return nil
		}
		awaitSignal(t, ch, "several changes", lastState)

		// The watch outlives an expiry of the watcher's session.
		b.expire(t, w)
		r2, err = writer.GetTopology(ctx, "t2")
		if err != nil {
			t.Fatal(err)
		}
		r2.NumWorkers = 9
		if _, err := writer.SetTopology(ctx, r2); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "change after expiry", func() error {
			got, err := topo("t2")
			if err == nil && got.NumWorkers != 9 {
				err = fmt.Errorf("t2 workers %d", got.NumWorkers)
			}
			return err
		})

		cancel()
		awaitClosed(t, ch)
	})
}

func TestWatchAssignments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		w, writer := b.open(t), b.open(t)
		ch := w.WatchAssignments(ctx)
		a, err := writer.SetAssignment(ctx, sampleAssignment("t1"))
		if err != nil {
			t.Fatal(err)
		}
		a.Executors[ExecutorID{9, 9}] = Slot{"node-c", 6700}
		if a, err = writer.SetAssignment(ctx, a); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "create and update", func() error {
			got, err := w.GetAssignment(ctx, "t1")
			if err == nil && got.Version != a.Version {
				err = fmt.Errorf("version %d, want %d", got.Version, a.Version)
			}
			return err
		})
		if err := writer.DeleteAssignment(ctx, "t1"); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "delete", func() error {
			if ids, err := w.ListAssignments(ctx); err != nil || len(ids) > 0 {
				return fmt.Errorf("assignments %q, %v", ids, err)
			}
			return nil
		})
		// Close ends the watch.
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		awaitClosed(t, ch)
	})
}

func TestWatchSupervisors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ctx := t.Context()
		w, sup := b.open(t), b.open(t)
		ch := w.WatchSupervisors(ctx)
		info := sampleSupervisor("sup-1", "host-a")
		if err := sup.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "join", func() error { _, err := w.GetSupervisor(ctx, "sup-1"); return err })
		info.UsedPorts = []int{6700}
		if err := sup.RegisterSupervisor(ctx, info); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "update", func() error {
			got, err := w.GetSupervisor(ctx, "sup-1")
			if err == nil && len(got.UsedPorts) != 1 {
				err = fmt.Errorf("used ports %v", got.UsedPorts)
			}
			return err
		})
		if err := sup.Close(); err != nil {
			t.Fatal(err)
		}
		awaitSignal(t, ch, "leave", func() error {
			if ids, err := w.ListSupervisors(ctx); err != nil || len(ids) > 0 {
				return fmt.Errorf("supervisors %q, %v", ids, err)
			}
			return nil
		})
	})
}

// TestWatchSeesEveryChange changes the same entry many times, waiting after
// each change for a signal followed by a read that shows it: a watch that
// fires once and is not armed again misses the second change. Halfway, the
// watcher's session expires, and the watch must go on seeing every change.
func TestWatchSeesEveryChange(t *testing.T) {
	const changes = 12
	kinds := []struct {
		name  string
		watch func(st State, ctx context.Context) <-chan struct{}
		// change makes the i-th change (i from 1) through w; seen
		// reports whether r shows it.
		change func(t *testing.T, w State, i int)
		seen   func(r State, i int) error
	}{
		{
			name:  "topology",
			watch: func(st State, ctx context.Context) <-chan struct{} { return st.WatchTopologies(ctx) },
			change: func(t *testing.T, w State, i int) {
				rec, err := w.GetTopology(t.Context(), "t1")
				if errors.Is(err, ErrNotFound) {
					rec, err = sampleTopology("t1"), nil
				}
				if err != nil {
					t.Fatal(err)
				}
				rec.NumWorkers = i
				rec.Status = []TopologyStatus{StatusActive, StatusInactive}[i%2]
				if _, err := w.SetTopology(t.Context(), rec); err != nil {
					t.Fatal(err)
				}
			},
			seen: func(r State, i int) error {
				got, err := r.GetTopology(context.Background(), "t1")
				if err == nil && got.NumWorkers != i {
					err = fmt.Errorf("workers %d, want %d", got.NumWorkers, i)
				}
				return err
			},
		},
		{
			name:  "assignment",
			watch: func(st State, ctx context.Context) <-chan struct{} { return st.WatchAssignments(ctx) },
			change: func(t *testing.T, w State, i int) {
				a, err := w.GetAssignment(t.Context(), "t1")
				if errors.Is(err, ErrNotFound) {
					a, err = sampleAssignment("t1"), nil
				}
				if err != nil {
					t.Fatal(err)
				}
				a.Executors[ExecutorID{3, 3}] = Slot{"node-b", 6700 + i}
				if _, err := w.SetAssignment(t.Context(), a); err != nil {
					t.Fatal(err)
				}
			},
			seen: func(r State, i int) error {
				got, err := r.GetAssignment(context.Background(), "t1")
				if err == nil && got.Executors[ExecutorID{3, 3}].Port != 6700+i {
					err = fmt.Errorf("executor [3 3] on %v, want port %d", got.Executors[ExecutorID{3, 3}], 6700+i)
				}
				return err
			},
		},
		{
			name:  "supervisor",
			watch: func(st State, ctx context.Context) <-chan struct{} { return st.WatchSupervisors(ctx) },
			change: func(t *testing.T, w State, i int) {
				info := sampleSupervisor("sup-1", "host-a")
				info.UsedPorts = []int{6700 + i}
				if err := w.RegisterSupervisor(t.Context(), info); err != nil {
					t.Fatal(err)
				}
			},
			seen: func(r State, i int) error {
				got, err := r.GetSupervisor(context.Background(), "sup-1")
				if err == nil && !slices.Equal(got.UsedPorts, []int{6700 + i}) {
					err = fmt.Errorf("used ports %v, want [%d]", got.UsedPorts, 6700+i)
				}
				return err
			},
		},
	}
	// The same changes, seen through the watch of one node (a worker's).
	one := []func(st State, ctx context.Context) <-chan struct{}{
		func(st State, ctx context.Context) <-chan struct{} { return st.WatchTopology(ctx, "t1") },
		func(st State, ctx context.Context) <-chan struct{} { return st.WatchAssignment(ctx, "t1") },
	}
	for i, watch := range one {
		k := kinds[i]
		k.name, k.watch = "one "+k.name, watch
		kinds = append(kinds, k)
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				r, w := b.open(t), b.open(t)
				ch := k.watch(r, t.Context())
				for i := 1; i <= changes; i++ {
					if i == changes/2 {
						b.expire(t, r)
					}
					k.change(t, w, i)
					awaitSignal(t, ch, fmt.Sprintf("change %d", i), func() error { return k.seen(r, i) })
				}
			})
		})
	}
}
