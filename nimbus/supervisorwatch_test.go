package nimbus

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
)

// supervisorReadCounter counts the reads of supervisor records.
type supervisorReadCounter struct {
	cluster.State
	reads atomic.Int64
}

func (c *supervisorReadCounter) GetSupervisor(ctx context.Context, id string) (cluster.SupervisorInfo, error) {
	c.reads.Add(1)
	return c.State.GetSupervisor(ctx, id)
}

// A supervisor rewriting its record with a new Time, as a live one does
// every few seconds, costs no pass (a full reading of the cluster state)
// and one reading of the supervisors, which both the leader's liveness
// and the last known state see. A supervisor joining causes a pass.
func TestSupervisorBeatNeedsNoPass(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	mem := cluster.NewMemory()
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	st := &supervisorReadCounter{State: sess}
	n := startNimbus(t, st, withClock(clock), monitorConf)
	waitLeader(t, n)
	a := addSupervisor(t, mem, clock, "a", 6700)
	l := n.currentLeader()
	seen := func(id string) (cluster.SupervisorInfo, time.Time) {
		var info cluster.SupervisorInfo
		var at time.Time
		if err := l.do(t.Context(), func(context.Context) error {
			s := l.live.sups[id]
			info, at = s.info, s.seen
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return info, at
	}
	waitFor(t, "the supervisor known to the leader", func() bool {
		info, _ := seen("a")
		return info.ID == "a"
	})
	known := func() time.Time {
		kv, _ := n.known.get(knownKey{knownSupervisor, "a"})
		info, _ := kv.v.(cluster.SupervisorInfo)
		return info.Time
	}
	before, readsBefore := n.passes.Load(), st.reads.Load()
	const beats = 8 // seconds, short of a monitor tick (10 s)
	for range beats {
		clock.Advance(time.Second) // less than a monitor tick
		refresh(t, clock, a)
		want := clock.Now()
		waitFor(t, "the leader and the last known state to see the supervisor's new record", func() bool {
			info, at := seen("a")
			return info.Time.Equal(want) && at.Equal(want) && known().Equal(want)
		})
	}
	// One pass may still come from the start (a watch's first signal),
	// and the supervisor's arrival refreshes the last known state: each
	// reads the supervisor once more.
	if got := n.passes.Load() - before; got > 1 {
		t.Errorf("%d passes for %d rewrites of a supervisor's record that changed only its Time, want none", got, beats)
	}
	if got := st.reads.Load() - readsBefore; got > beats+2 {
		t.Errorf("%d reads of the supervisor's record for %d rewrites of it, want one each", got, beats)
	}

	before = n.passes.Load()
	addSupervisor(t, mem, clock, "b", 6700)
	waitFor(t, "a pass for a supervisor joining", func() bool { return n.passes.Load() > before })
}

func TestSupervisorsChanged(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := cluster.SupervisorInfo{ID: "a", Host: "h", Ports: []int{6700}, UsedPorts: []int{6700},
		StartTime: at, Time: at, Version: "v", Address: "h:8000"}
	same := base
	same.Time = at.Add(time.Minute)
	if supervisorsChanged([]cluster.SupervisorInfo{base}, []cluster.SupervisorInfo{same}) {
		t.Errorf("supervisorsChanged = true for a change of Time alone")
	}
	if !supervisorsChanged(nil, []cluster.SupervisorInfo{base}) || !supervisorsChanged([]cluster.SupervisorInfo{base}, nil) {
		t.Errorf("supervisorsChanged = false for a supervisor joining or leaving")
	}
	// Every field but Time is a change: a field added to SupervisorInfo
	// and forgotten by supervisorsChanged fails here.
	typ := reflect.TypeOf(base)
	for i := range typ.NumField() {
		f := typ.Field(i)
		if f.Name == "Time" {
			continue
		}
		changed := base
		v := reflect.ValueOf(&changed).Elem().Field(i)
		switch v.Kind() {
		case reflect.String:
			v.SetString(v.String() + "x")
		case reflect.Slice:
			v.Set(reflect.ValueOf([]int{1}))
		case reflect.Struct: // time.Time
			v.Set(reflect.ValueOf(at.Add(time.Hour)))
		default:
			t.Fatalf("field %s of kind %v: teach this test to change it", f.Name, v.Kind())
		}
		if !supervisorsChanged([]cluster.SupervisorInfo{base}, []cluster.SupervisorInfo{changed}) {
			t.Errorf("supervisorsChanged = false for a change of %s", f.Name)
		}
	}
}

func TestNextJudgement(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lv := newLiveness(timing{supervisorTimeout: 60 * time.Second})
	if got := lv.nextJudgement(now, 10*time.Second); got != 10*time.Second {
		t.Errorf("nextJudgement with no supervisor = %v, want 10s", got)
	}
	lv.sups["a"] = supervisorSeen{seen: now.Add(-55 * time.Second)} // due in 5s
	lv.sups["b"] = supervisorSeen{seen: now.Add(-90 * time.Second)} // dead already
	if got, want := lv.nextJudgement(now, 10*time.Second), 5*time.Second+time.Millisecond; got != want {
		t.Errorf("nextJudgement = %v, want %v", got, want)
	}
}

// TestStaleReadingMovesNoSupervisorBack: a reading of the supervisors
// taken before the last pass, and handed to the leader after it, does not
// undo what the pass saw.
func TestStaleReadingMovesNoSupervisorBack(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lv := newLiveness(timing{supervisorTimeout: 60 * time.Second})
	old := cluster.SupervisorInfo{ID: "a", Time: t0}
	lv.supervisors([]cluster.SupervisorInfo{old}, nil, t0)
	renewed := cluster.SupervisorInfo{ID: "a", Time: t0.Add(3 * time.Second)}
	lv.supervisors([]cluster.SupervisorInfo{renewed}, nil, t0.Add(4*time.Second)) // the pass
	// Read before the pass, stamped before it or, finishing later, after.
	for _, at := range []time.Time{t0.Add(time.Second), t0.Add(5 * time.Second)} {
		lv.saw([]cluster.SupervisorInfo{old}, at)
		if s := lv.sups["a"]; !s.seen.Equal(t0.Add(4*time.Second)) || !s.info.Time.Equal(renewed.Time) {
			t.Errorf("after a stale reading stamped %v: seen %v, record of %v; want the pass's, %v and %v", at, s.seen, s.info.Time, t0.Add(4*time.Second), renewed.Time)
		}
	}
	lv.saw([]cluster.SupervisorInfo{{ID: "a", Time: t0.Add(6 * time.Second)}}, t0.Add(7*time.Second))
	if s := lv.sups["a"]; !s.seen.Equal(t0.Add(7 * time.Second)) {
		t.Errorf("a fresh reading: seen %v, want %v", s.seen, t0.Add(7*time.Second))
	}
}
