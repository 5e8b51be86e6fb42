package cluster

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/go-zookeeper/zk"
)

// watchDir returns a channel signalling changes of dir's children and of
// their data, with the semantics State documents, fed by one goroutine.
func (z *ZooKeeper) watchDir(ctx context.Context, dir string) <-chan struct{} {
	return z.watchWith(func(out chan<- struct{}) { z.watchLoop(ctx, dir, out) })
}

// watchWith returns the channel that loop, run on a tracked goroutine,
// signals; the channel is closed when loop returns, or at once if the
// ZooKeeper is closed.
func (z *ZooKeeper) watchWith(loop func(out chan<- struct{})) <-chan struct{} {
	out := make(chan struct{}, 1)
	if !z.goTracked(func() {
		defer close(out)
		loop(out)
	}) {
		close(out)
	}
	return out
}

// watchLoop keeps a ZooKeeper watch armed on dir's children and one on each
// child's data. ZooKeeper watches fire once, so after each fire the loop
// arms again what fired and only then signals: any change after the signal
// fires an armed watch, and any change before it is seen by the reads that
// follow the signal. Nothing is lost, and sending never blocks.
//
// A fired data watch stays in datas, marked unarmed (nil), so that arm arms
// it again; dropping it instead would leave the child unwatched until the
// children change, and every later update of it unseen.
func (z *ZooKeeper) watchLoop(ctx context.Context, dir string, out chan<- struct{}) {
	var (
		kids  <-chan zk.Event                // children watch, nil when not armed
		datas = map[string]<-chan zk.Event{} // child name → its data watch
		delay = 50 * time.Millisecond
	)
	for {
		if err := z.arm(ctx, dir, &kids, datas); err != nil {
			if ctx.Err() != nil || z.ctx.Err() != nil {
				return
			}
			if !errors.Is(err, zk.ErrNoServer) && !ambiguous(err) {
				z.log.Warn("arm zookeeper watch", "dir", dir, "err", err)
			}
			if sleep(ctx, z.ctx, delay) != nil {
				return
			}
			delay = min(2*delay, 2*time.Second)
			continue
		}
		delay = 50 * time.Millisecond
		select {
		case out <- struct{}{}:
		default: // a signal is pending already
		}

		// Wait for any armed watch, ctx or Close.
		cases := []reflect.SelectCase{
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(z.ctx.Done())},
			{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(kids)},
		}
		names := make([]string, 0, len(datas))
		for name, ch := range datas {
			names = append(names, name)
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)})
		}
		switch i, _, _ := reflect.Select(cases); i {
		case 0, 1:
			return
		case 2:
			kids = nil
		default:
			datas[names[i-3]] = nil // re-armed by the next arm
		}
	}
}

// arm arms the children watch of dir if kids is nil, and a data watch on
// every child missing from datas; it forgets the watches of children gone.
func (z *ZooKeeper) arm(ctx context.Context, dir string, kids *<-chan zk.Event, datas map[string]<-chan zk.Event) error {
	type listed struct {
		names []string
		ch    <-chan zk.Event
	}
	if *kids == nil {
		l, err := retry(ctx, z, true, func() (listed, error) {
			names, _, ch, err := z.conn.ChildrenW(dir)
			return listed{names, ch}, err
		})
		if errors.Is(err, zk.ErrNoNode) {
			if err := z.ensurePath(ctx, dir); err != nil {
				return err
			}
			return z.arm(ctx, dir, kids, datas)
		}
		if err != nil {
			return err
		}
		*kids = l.ch
		present := make(map[string]bool, len(l.names))
		for _, n := range l.names {
			present[n] = true
			if _, ok := datas[n]; !ok {
				datas[n] = nil // to arm below
			}
		}
		for n := range datas {
			if !present[n] {
				delete(datas, n) // its watch fires for the deletion, unread
			}
		}
	}
	for n, ch := range datas {
		if ch != nil {
			continue
		}
		p := dir + "/" + n
		ch, err := retry(ctx, z, true, func() (<-chan zk.Event, error) {
			_, _, ch, err := z.conn.GetW(p)
			return ch, err
		})
		switch {
		case errors.Is(err, zk.ErrNoNode):
			delete(datas, n) // deleted; the children watch fires for it
		case err != nil:
			return err
		default:
			datas[n] = ch
		}
	}
	return nil
}
