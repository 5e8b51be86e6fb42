package shell

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/topology"
)

// stateTopology is words (a spout) -> counter, a stateful shell bolt
// emitting out.
func stateTopology(stateful bool, out ...string) *topology.Topology {
	return &topology.Topology{
		Name:   "statetest",
		Config: topology.Config{},
		Components: []*topology.Component{
			{ID: "counter", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1, Stateful: stateful,
				Inputs:  []topology.Input{{From: "words", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}},
				Outputs: []topology.Stream{{ID: "default", Fields: out}}},
			{ID: "words", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"op", "arg"}}}},
		},
	}
}

var wordsSrc = &topology.Source{Component: "words", Task: 3, Stream: "default", Fields: topology.NewFields("op", "arg")}

// op is an input tuple for testdata/state_child.py.
func op(name string, arg any) topology.Tuple {
	return topology.NewTuple(wordsSrc, []any{name, arg}, nil)
}

// lockedState is a task's state as the worker gives it to a shell bolt:
// safe for the child's reader and the test (standing in for the
// executor's checkpoints) at once.
type lockedState struct {
	mu sync.Mutex
	s  *state.State
}

func (l *lockedState) Get(k string) ([]byte, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Get(k)
}
func (l *lockedState) Put(k string, v []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Put(k, v)
}
func (l *lockedState) Delete(k string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Delete(k)
}
func (l *lockedState) Range(fn func(string, []byte) bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Range(fn)
}

// do runs a checkpoint action under the state's lock.
func (l *lockedState) do(t *testing.T, what string, fn func(*state.State) error) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := fn(l.s); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value returns the JSON text of key (canonical JSON text) in the state.
func (l *lockedState) value(t *testing.T, key string) string {
	t.Helper()
	v, ok, err := l.Get(key)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return "<absent>"
	}
	return string(v)
}

func newLockedState(t *testing.T) *lockedState {
	t.Helper()
	s, err := state.Open(memstore.New().Backend("statetest/counter-2"))
	if err != nil {
		t.Fatal(err)
	}
	return &lockedState{s: s}
}

// startStateBolt prepares the counter bolt running testdata/state_child.py
// under the real python3.
func startStateBolt(t *testing.T, stateful bool, conf topology.Config) *boltFixture {
	t.Helper()
	python := transcript.Interpreter(t, "python3")
	script, err := filepath.Abs(filepath.Join("testdata", "state_child.py"))
	if err != nil {
		t.Fatal(err)
	}
	return startCounter(t, &topology.ShellSpec{Command: []string{python, script}}, stateTopology(stateful, "v"), conf)
}

// startCounter prepares the counter bolt of topo running spec.
func startCounter(t *testing.T, spec *topology.ShellSpec, topo *topology.Topology, conf topology.Config) *boltFixture {
	t.Helper()
	topo.Config = topology.Defaults().Merge(conf)
	logs := &logRecorder{}
	tasks := topology.TopologyTasks(topo, 1)
	task := tasks.Tasks("counter")[0]
	ctx := &topology.TaskContext{
		Topology:     topo,
		Tasks:        tasks,
		TaskID:       task,
		ComponentID:  "counter",
		Config:       topo.Config.Merge(topology.Config{topology.KeyTopologyName: "statetest", topology.KeyStormID: "statetest-1-1"}),
		ResourcesDir: t.TempDir(),
		PidDir:       t.TempDir(),
		Logger:       slog.New(logs).With("component", "counter", "task", task),
	}
	f := &boltFixture{bolt: NewBolt(spec, fastOptions), rec: &recorder{}, logs: logs, ctx: ctx}
	if err := f.bolt.Prepare(ctx, f.rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(f.bolt.Cleanup)
	return f
}

// emitted waits for n emits and returns their values as JSON.
func (f *boltFixture) emitted(t *testing.T, n int) []string {
	t.Helper()
	waitUntil(t, patience, fmt.Sprintf("%d emits", n), func() bool { emits, _, _, _ := f.rec.snapshot(); return len(emits) >= n })
	emits, _, _, _ := f.rec.snapshot()
	var out []string
	for _, e := range emits {
		b, err := jsonText(e.values[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func jsonText(v any) (string, error) {
	b, err := multilang.StateValue(v)
	return string(b), err
}

// acks waits for n acks.
func (f *boltFixture) acks(t *testing.T, n int) {
	t.Helper()
	waitUntil(t, patience, fmt.Sprintf("%d acks", n), func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) >= n })
}

func (f *boltFixture) logged(t *testing.T, sub string) {
	t.Helper()
	waitUntil(t, patience, "the child to log "+sub, func() bool { return len(f.logs.matching(sub)) > 0 })
}

// readerHeld reports whether the child's reader waits for the state.
func (f *boltFixture) readerHeld() bool {
	f.bolt.mu.Lock()
	defer f.bolt.mu.Unlock()
	return f.bolt.cur != nil && f.bolt.cur.busy.Load()
}

func TestStatefulBoltHoldsUntilOpenState(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	kv.do(t, "seed", func(s *state.State) error {
		if err := s.Put(`"boot"`, []byte(`7`)); err != nil {
			return err
		}
		if err := s.PrepareCommit(1); err != nil {
			return err
		}
		return s.Commit(1)
	})
	f := startStateBolt(t, true, topology.Config{"squall.test.boot": true})
	f.logged(t, `squall {"protocol": 1, "state": {"cache_max_keys": 100000}}`)
	f.logged(t, "asking boot")
	// The child's first read waits, and so does everything after it.
	waitUntil(t, patience, "the reader to wait for the state", f.readerHeld)
	f.bolt.Execute(op("count", "x"))
	if lines := f.logs.matching("boot="); len(lines) > 0 {
		t.Fatalf("the child got a reply before OpenState: %q", lines)
	}
	if _, acked, _, _ := f.rec.snapshot(); len(acked) > 0 {
		t.Fatalf("acked %v before OpenState", values(acked))
	}
	if h := f.bolt.Health(); h.Failures != 0 {
		t.Fatalf("the held child failed: %v", h.LastError)
	}

	f.bolt.OpenState(kv)
	f.logged(t, `boot=[["boot", 7]]`)
	if got := f.emitted(t, 1); !slices.Equal(got, []string{`["x",1]`}) {
		t.Errorf("emitted %q", got)
	}
	f.acks(t, 1)
	if got := kv.value(t, `"x"`); got != `1` {
		t.Errorf(`state "x" = %s, want 1`, got)
	}
}

func TestStatefulBoltHandshakeDefault(t *testing.T) {
	f := startStateBolt(t, true, nil)
	f.logged(t, `squall {"protocol": 1, "state": {"cache_max_keys": 100000}}`)
	g := startStateBolt(t, false, nil)
	g.logged(t, `squall null`)
}

func TestStatefulBoltCommands(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	f := startStateBolt(t, true, nil)
	f.bolt.OpenState(kv)
	in := []topology.Tuple{
		op("count", "apple"),
		op("count", "apple"),
		op("put", []any{[]any{"pear", map[string]any{"n": int64(1)}}, []any{int64(1), "one"}, []any{"1", "string one"}, []any{true, nil}, []any{2.0, 2.5}}),
		op("get", []any{"apple", "pear", int64(1), "1", true, int64(2), "missing"}),
		op("delete", []any{"pear", "missing"}),
		op("get", []any{"pear", "apple"}),
		op("count", "apple"),
	}
	for _, tup := range in {
		f.bolt.Execute(tup)
	}
	want := []string{
		`["apple",1]`,
		`["apple",2]`,
		`[["apple",2],["pear",{"n":1}],[1,"one"],["1","string one"],[true,null],[2,2.5]]`,
		`[["apple",2]]`,
		`["apple",3]`,
	}
	if got := f.emitted(t, len(want)); !slices.Equal(got, want) {
		t.Errorf("emitted\n%q\nwant\n%q", got, want)
	}
	f.acks(t, len(in))
	for key, want := range map[string]string{`"apple"`: `3`, `"pear"`: `<absent>`, `1`: `"one"`, `"1"`: `"string one"`, `2`: `2.5`, `true`: `null`} {
		if got := kv.value(t, key); got != want {
			t.Errorf("state %s = %s, want %s", key, got, want)
		}
	}
	if _, _, failed, errs := f.rec.snapshot(); len(failed) > 0 || len(errs) > 0 {
		t.Errorf("failed %v, errors %v", values(failed), errs)
	}
}

func TestStatefulBoltItemsStreaming(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	const n = 2500
	var pairs []any
	sum := 0
	for i := range n {
		pairs = append(pairs, []any{fmt.Sprintf("k%d", i), int64(i)})
		sum += i
	}
	// Values of 600 KiB: no two fit in one reply of at most 1 MiB.
	const bigs = 5
	big := strings.Repeat("b", 600<<10)
	kv.do(t, "seed", func(s *state.State) error {
		for i := range bigs {
			if err := s.Put(fmt.Sprintf(`"big%d"`, i), []byte(`"`+big+`"`)); err != nil {
				return err
			}
		}
		// The runtime's own records are not the child's.
		return s.Put("\x00squall/seen/1", []byte{0, 1, 2})
	})
	f := startStateBolt(t, true, nil)
	f.bolt.OpenState(kv)
	f.bolt.Execute(op("put", pairs))
	f.bolt.Execute(op("items", nil))
	got := f.emitted(t, 1)
	// 2505 items: 3 replies of at most 1000 would do, but no two big
	// values share one; and at most one reply per big value more.
	var count, replies, total, largest int
	if _, err := fmt.Sscanf(got[0], "[%d,%d,%d,%d]", &count, &replies, &total, &largest); err != nil {
		t.Fatalf("emitted %s: %v", got[0], err)
	}
	if count != n+bigs || total != sum || replies < bigs || replies > 3+bigs || largest > 1000 {
		t.Errorf("items: %d in %d replies (at most %d in one), sum %d; want %d in %d to %d (at most 1000 in one), sum %d",
			count, replies, largest, total, n+bigs, bigs, 3+bigs, sum)
	}
	f.acks(t, 2)
}

func TestStatefulBoltReset(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	f := startStateBolt(t, true, nil)
	f.bolt.OpenState(kv)
	f.bolt.Execute(op("count", "a"))
	f.acks(t, 1)
	kv.do(t, "commit 1", func(s *state.State) error {
		if err := s.PrepareCommit(1); err != nil {
			return err
		}
		return s.Commit(1)
	})
	f.bolt.Execute(op("count", "a"))
	f.bolt.Execute(op("hold", nil))
	waitUntil(t, patience, "the held tuple", func() bool {
		_, acked, _, _ := f.rec.snapshot()
		return len(acked) == 2 && f.bolt.Backlog() == 1
	})
	if err := f.bolt.ResetState(1); !errors.Is(err, ErrStateInFlight) {
		t.Fatalf("ResetState with a tuple in flight = %v, want ErrStateInFlight", err)
	}
	f.bolt.Execute(op("put", []any{}))
	f.acks(t, 4)
	if got := kv.value(t, `"a"`); got != `2` {
		t.Fatalf(`state "a" = %s before the rollback, want 2`, got)
	}
	kv.do(t, "rollback", (*state.State).Rollback)
	if err := f.bolt.ResetState(1); err != nil {
		t.Fatal(err)
	}
	f.logged(t, "reset 1")
	f.bolt.Execute(op("count", "a"))
	if got := f.emitted(t, 3); got[2] != `["a",2]` {
		t.Errorf("after the rollback counted %s, want [\"a\",2]", got[2])
	}
	if n := len(f.logs.matching("reset")); n != 1 {
		t.Errorf("%d resets logged, want 1", n)
	}
}

func TestStatefulBoltChildLost(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	f := startStateBolt(t, true, nil)
	f.bolt.OpenState(kv)
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	// The callback runs before the lost child's tuples are failed: the
	// task must know of the death before it sees those fails.
	f.bolt.OnChildLost(func() {
		_, _, failed, _ := f.rec.snapshot()
		f.bolt.mu.Lock()
		cur := f.bolt.cur
		f.bolt.mu.Unlock()
		note(fmt.Sprintf("lost: failed %d, child %v, pid %d", len(failed), cur != nil, f.bolt.Health().Pid))
	})
	first := f.waitUp(t)
	f.bolt.Execute(op("count", "a"))
	f.acks(t, 1)
	f.bolt.Execute(op("crash", nil))
	waitUntil(t, patience, "the child to be lost", func() bool { mu.Lock(); defer mu.Unlock(); return len(events) == 1 })
	f.bolt.Execute(op("count", "a"))
	f.acks(t, 2)
	mu.Lock()
	if want := []string{"lost: failed 0, child false, pid 0"}; !slices.Equal(events, want) {
		t.Errorf("events %q, want %q", events, want)
	}
	mu.Unlock()
	if pid := f.bolt.Health().Pid; pid == first || pid == 0 {
		t.Errorf("pid %d after the crash of %d", pid, first)
	}
	_, _, failed, _ := f.rec.snapshot()
	if got := values(failed); !slices.Equal(got, []string{"crash"}) {
		t.Errorf("failed %q, want the crash tuple", got)
	}
	// The state was not rolled back here (the worker does that): the
	// replacement reads what the lost child wrote.
	if got := f.emitted(t, 2); got[1] != `["a",2]` {
		t.Errorf("the replacement counted %s", got[1])
	}
}

func TestStatefulBoltBadCommands(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		name     string
		stateful bool
		msg      map[string]any
		want     string
		sentinel error
	}{
		{"keys not a list", true, map[string]any{"command": "state_get", "keys": "apple"}, "state_get: keys must be a list of keys", ErrProtocol},
		{"bad item", true, map[string]any{"command": "state_put", "items": []any{[]any{"a"}}}, "state_put: items[0] must be a [key, value] pair", ErrProtocol},
		{"not stateful", false, map[string]any{"command": "state_get", "keys": []any{"a"}}, `state_get from the child of component "counter", which is not stateful`, ErrProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startStateBolt(t, tt.stateful, nil)
			if tt.stateful {
				f.bolt.OpenState(newLockedState(t))
			}
			f.bolt.Execute(op("send", tt.msg))
			waitUntil(t, patience, "the child to fail", func() bool { return f.bolt.Health().Failures > 0 })
			err := f.bolt.Health().LastError
			if !errors.Is(err, tt.sentinel) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("child failed with %v, want %v with %q", err, tt.sentinel, tt.want)
			}
			waitUntil(t, patience, "the tuple to fail", func() bool { _, _, failed, _ := f.rec.snapshot(); return len(failed) == 1 })
		})
	}

	t.Run("reserved key", func(t *testing.T) {
		kv := newLockedState(t)
		f := startStateBolt(t, true, nil)
		f.bolt.OpenState(kv)
		f.bolt.Execute(op("put", []any{[]any{"\x00squall/seen/1", int64(1)}, []any{"ok", int64(2)}}))
		f.acks(t, 1)
		_, _, _, errs := f.rec.snapshot()
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), `state_put of key "\u0000squall/seen/1" refused: keys starting with a 0 byte are reserved`) {
			t.Errorf("errors %v, want the reserved key reported", errs)
		}
		if got := kv.value(t, `"ok"`); got != `2` {
			t.Errorf(`state "ok" = %s: the rest of the command was lost`, got)
		}
		if h := f.bolt.Health(); h.Failures != 0 {
			t.Errorf("a reserved key failed the child: %v", h.LastError)
		}
	})

	t.Run("state failure", func(t *testing.T) {
		kv := newLockedState(t)
		f := startStateBolt(t, true, nil)
		f.bolt.OpenState(kv)
		lost := make(chan struct{}, 4)
		f.bolt.OnChildLost(func() { lost <- struct{}{} })
		kv.do(t, "close", (*state.State).Close)
		f.bolt.Execute(op("count", "a"))
		waitUntil(t, patience, "the child to fail", func() bool { return f.bolt.Health().Failures > 0 })
		if err := f.bolt.Health().LastError; !errors.Is(err, ErrState) || !strings.Contains(err.Error(), `state_get of key "a": state closed`) {
			t.Errorf("child failed with %v, want ErrState naming the key", err)
		}
		<-lost
	})
}

// TestStatefulBoltResetReachesLateChild: a child that read the state
// before it came up, while a reset went to no child, gets the reset.
func TestStatefulBoltResetReachesLateChild(t *testing.T) {
	st := newStateHost()
	c := &child{dead: make(chan struct{})}
	st.openOnce.Do(func() { close(st.opened) })
	if _, err := st.wait(c); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.pendingReset(c); ok {
		t.Fatal("a reset before any ResetState")
	}
	st.resets, st.lastTxid = 1, 41 // ResetState while c was not up
	txid, ok := st.pendingReset(c)
	if !ok || txid != 41 {
		t.Fatalf("pendingReset = %d, %v; want 41", txid, ok)
	}
	if _, ok := st.pendingReset(c); ok {
		t.Fatal("the reset was pending twice")
	}
	if !reflect.DeepEqual(st.readAt, map[*child]int64{c: 1}) {
		t.Errorf("readAt = %v", st.readAt)
	}
}
