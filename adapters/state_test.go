package adapters

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/memstore"
	"github.com/squallstream/squall/topology"
)

// TestStateCacheTranscripts replays the adapters' own state transcripts
// (testdata/*.txt: the cache's bound and hit path, with a handshake the
// Go host does not send today) against each language's statecount.
func TestStateCacheTranscripts(t *testing.T) {
	ts, err := transcript.ParseDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) == 0 {
		t.Fatal("no transcripts in testdata")
	}
	env := installAdapters(t)
	for _, l := range languages {
		t.Run(l.name, func(t *testing.T) {
			interpreter := transcript.Interpreter(t, l.interpreter)
			for _, ser := range transcript.Serializers {
				t.Run(ser, func(t *testing.T) {
					env := serializerEnv(t, l, interpreter, ser, env)
					for _, tr := range ts {
						t.Run(tr.Name, func(t *testing.T) {
							t.Parallel()
							transcript.Replay(t, tr, transcript.Child{
								Argv:       []string{interpreter, l.component(t, tr.Component)},
								Env:        env,
								Serializer: ser,
							})
						})
					}
				})
			}
		})
	}
}

// countingState is a task's state as the worker gives a shell bolt (safe
// for the child's reader and the test at once) that counts the host's
// reads: each is a round trip the adapter asked for.
type countingState struct {
	mu   sync.Mutex
	s    *state.State
	gets int
}

func (c *countingState) Get(k string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	return c.s.Get(k)
}

func (c *countingState) Put(k string, v []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Put(k, v)
}

func (c *countingState) Delete(k string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Delete(k)
}

func (c *countingState) Range(fn func(string, []byte) bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s.Range(fn)
}

func (c *countingState) reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gets
}

// do runs a checkpoint action on the state, as the worker's executor does.
func (c *countingState) do(t *testing.T, what string, fn func(*state.State) error) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := fn(c.s); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// stateBolt is a statecount child behind squall's real shell host.
type stateBolt struct {
	bolt *shell.Bolt
	rec  *recordingCollector
	src  *topology.Source
	sent int
}

// startStateBolt starts argv as the component counter, stateful or not, of
// a topology whose words spout sends [op, arg] tuples.
func startStateBolt(t testing.TB, argv, env []string, ser string, stateful bool) *stateBolt {
	t.Helper()
	topo := &topology.Topology{
		Name: "statetest",
		Components: []*topology.Component{
			{ID: "counter", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1, Stateful: stateful,
				Inputs:  []topology.Input{{From: "words", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}},
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"word", "count"}}}},
			{ID: "words", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"op", "arg"}}}},
		},
	}
	topo.Config = topology.Defaults().Merge(topology.Config{
		topology.KeyTopologyName: "statetest", topology.KeyStormID: "statetest-1-1",
		topology.KeyMultilangSerializer:   ser,
		topology.KeyMessageTimeoutSecs:    3600,
		topology.KeySubprocessTimeoutSecs: 120,
	})
	tasks := topology.TopologyTasks(topo, 1)
	ctx := &topology.TaskContext{
		Topology: topo, Tasks: tasks, TaskID: tasks.Tasks("counter")[0], ComponentID: "counter",
		Config: topo.Config, ResourcesDir: t.TempDir(), PidDir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler),
	}
	b := &stateBolt{
		bolt: shell.NewBolt(&topology.ShellSpec{Command: argv, Env: envMap(env)}, shell.Options{StopGrace: time.Second}),
		rec:  &recordingCollector{},
		src:  &topology.Source{Component: "words", Task: tasks.Tasks("words")[0], Stream: "default", Fields: topology.NewFields("op", "arg")},
	}
	if err := b.bolt.Prepare(ctx, b.rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(b.bolt.Cleanup)
	return b
}

// run sends the tuple [op, arg] and waits until it is acked; it returns
// the JSON text of the emits it caused.
func (b *stateBolt) run(t testing.TB, op string, arg any) []string {
	t.Helper()
	emits, _, _, _ := b.rec.snapshot()
	before := len(emits)
	b.bolt.Execute(topology.NewTuple(b.src, []any{op, arg}, "tracked by the test"))
	b.sent++
	deadline := time.Now().Add(testenv.Patience(time.Minute))
	for {
		acked, failed := b.rec.done()
		if acked+failed == b.sent {
			break
		}
		if _, _, _, errs := b.rec.snapshot(); len(errs) > 0 || time.Now().After(deadline) {
			t.Fatalf("[%s %v]: %s; health %+v", op, arg, b.rec, b.bolt.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}
	emits, _, failed, _ := b.rec.snapshot()
	if len(failed) != 0 {
		t.Fatalf("[%s %v] failed", op, arg)
	}
	var out []string
	for _, e := range emits[before:] {
		text, err := json.Marshal(e.values)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(text))
	}
	return out
}

// TestStatefulBoltThroughHost runs each language's statecount behind the
// real shell host, over a real state.State: counts read once and then hit
// the adapter's cache, writes reach the state before the acks, a
// rollback and ResetState make the adapter read the restored values, and
// items streams the state.
func TestStatefulBoltThroughHost(t *testing.T) {
	base := installAdapters(t)
	for _, l := range languages {
		t.Run(l.name, func(t *testing.T) {
			interpreter := transcript.Interpreter(t, l.interpreter)
			for _, ser := range transcript.Serializers {
				t.Run(ser, func(t *testing.T) {
					t.Parallel()
					env := serializerEnv(t, l, interpreter, ser, base)
					b := startStateBolt(t, []string{interpreter, l.component(t, "statecount")}, env, ser, true)
					s, err := state.Open(memstore.New().Backend("statetest/counter-1"))
					if err != nil {
						t.Fatal(err)
					}
					kv := &countingState{s: s}
					b.bolt.OpenState(kv)

					check := func(op string, arg any, want ...string) {
						t.Helper()
						if got := b.run(t, op, arg); !slices.Equal(got, want) {
							t.Fatalf("[%s %v] emitted %v, want %v", op, arg, got, want)
						}
					}
					reads := func(want int) {
						t.Helper()
						if got := kv.reads(); got != want {
							t.Fatalf("the host read the state %d times, want %d", got, want)
						}
					}
					check("count", "apple", `["apple",1]`)
					check("count", "pear", `["pear",1]`)
					check("count", "apple", `["apple",2]`)
					check("count", "apple", `["apple",3]`)
					reads(2) // one per word: the rest are hits
					kv.do(t, "prepare", func(s *state.State) error { return s.PrepareCommit(1) })
					kv.do(t, "commit", func(s *state.State) error { return s.Commit(1) })

					check("count", "apple", `["apple",4]`)
					check("delete", "pear")
					check("count", "plum", `["plum",1]`)
					reads(3)
					if v, ok, _ := kv.Get(`"apple"`); !ok || string(v) != "4" {
						t.Fatalf("state apple = %s (%v), want 4", v, ok)
					}

					// Roll back to transaction 1 (apple 3, pear 1): the
					// adapter must forget what it cached.
					kv.do(t, "rollback", (*state.State).Rollback)
					if err := b.bolt.ResetState(1); err != nil {
						t.Fatal(err)
					}
					check("count", "apple", `["apple",4]`)
					check("count", "pear", `["pear",2]`)
					check("count", "plum", `["plum",1]`)
					got := b.run(t, "items", nil)
					if len(got) != 1 {
						t.Fatalf("items emitted %v", got)
					}
					var items []any
					if err := json.Unmarshal([]byte(got[0]), &items); err != nil {
						t.Fatal(err)
					}
					var pairs []string
					for _, p := range items[1].([]any) {
						text, _ := json.Marshal(p)
						pairs = append(pairs, string(text))
					}
					slices.Sort(pairs)
					if want := []string{`["apple",4]`, `["pear",2]`, `["plum",1]`}; !slices.Equal(pairs, want) {
						t.Fatalf("items = %v, want %v", pairs, want)
					}
					if h := b.bolt.Health(); h.Failures != 0 {
						t.Errorf("health %+v, want no failure", h)
					}
				})
			}
		})
	}
}

// TestStatefulBoltRefusedWithoutState runs statecount for a component that
// does not declare state: the adapter refuses to run, saying so.
func TestStatefulBoltRefusedWithoutState(t *testing.T) {
	base := installAdapters(t)
	for _, l := range languages {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			interpreter := transcript.Interpreter(t, l.interpreter)
			b := startStateBolt(t, []string{interpreter, l.component(t, "statecount")}, base, transcript.JSON, false)
			deadline := time.Now().Add(testenv.Patience(time.Minute))
			for {
				_, _, _, errs := b.rec.snapshot()
				if msg := fmt.Sprint(errs); strings.Contains(msg, "declares no state") {
					if !strings.Contains(msg, "state: {}") {
						t.Errorf("the error does not say what to do: %s", msg)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no error saying the component declares no state: %s; health %+v", b.rec, b.bolt.Health())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
