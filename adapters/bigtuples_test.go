package adapters

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// TestBigTuplesThroughHost sends a mix of 100 B, 2 MB and 10 MB tuples
// through squall's host to each adapter's passthrough component, in each
// wire format: every tuple comes back whole and is acked, and no child is
// killed for silence while the host and the child each write a big
// message to the other.
func TestBigTuplesThroughHost(t *testing.T) {
	base := installAdapters(t)
	sizes := []int{100, 100, 2 << 20, 100, 10 << 20, 2 << 20, 100, 10 << 20, 100, 2 << 20, 100, 100}
	for _, l := range languages {
		t.Run(l.name, func(t *testing.T) {
			interpreter := transcript.Interpreter(t, l.interpreter)
			for _, ser := range transcript.Serializers {
				t.Run(ser, func(t *testing.T) {
					t.Parallel()
					env := serializerEnv(t, l, interpreter, ser, base)
					runBigTuples(t, []string{interpreter, l.component(t, "passthrough")}, env, ser, sizes)
				})
			}
		})
	}
}

func runBigTuples(t *testing.T, argv, env []string, ser string, sizes []int) {
	topo := &topology.Topology{ // components sorted by id
		Name: "bigtuples",
		Components: []*topology.Component{
			{ID: "echo", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs:  []topology.Input{{From: "source", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}},
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"payload"}}}},
			{ID: "sink", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs: []topology.Input{{From: "echo", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}}},
			{ID: "source", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"payload"}}}},
		},
	}
	topo.Config = topology.Defaults().Merge(topology.Config{
		topology.KeyTopologyName: "bigtuples", topology.KeyStormID: "bigtuples-1-1",
		topology.KeyMultilangSerializer: ser,
		// A small queue, so that tuples wait for the child and the child's
		// reader writes them as acks come in.
		topology.KeyShellBoltMaxPending: 2,
		shell.KeyShellBoltMaxHeld:       2,
		// No tuple's tree times out, however slow the machine: the host
		// would release the tuples held past it to make room.
		topology.KeyMessageTimeoutSecs: 3600,
		// Long enough for a 10 MB message through Python on a busy
		// machine (tens of seconds); a child waiting for the host would
		// show as a timeout.
		topology.KeySubprocessTimeoutSecs: 120,
	})
	tasks := topology.TopologyTasks(topo, 1)
	ctx := &topology.TaskContext{
		Topology: topo, Tasks: tasks, TaskID: tasks.Tasks("echo")[0], ComponentID: "echo",
		Config: topo.Config, ResourcesDir: t.TempDir(), PidDir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler),
	}
	rec := &recordingCollector{taskIDs: tasks.Tasks("sink")}
	bolt := shell.NewBolt(&topology.ShellSpec{Command: argv, Env: envMap(env)}, shell.Options{StopGrace: time.Second})
	if err := bolt.Prepare(ctx, rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(bolt.Cleanup)

	src := &topology.Source{Component: "source", Task: tasks.Tasks("source")[0], Stream: "default", Fields: topology.NewFields("payload")}
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i, n := range sizes {
			payload := strings.Repeat(string(rune('a'+i)), n)
			// Tracked, so that the bolt holds it until the child acks.
			bolt.Execute(topology.NewTuple(src, []any{payload}, "tracked by the test"))
		}
	}()
	deadline := time.Now().Add(testenv.Patience(5 * time.Minute))
	for {
		acked, failed := rec.done()
		if acked+failed == len(sizes) {
			break
		}
		if _, _, _, errs := rec.snapshot(); len(errs) > 0 || time.Now().After(deadline) {
			t.Fatalf("%s; health %+v", rec, bolt.Health())
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-fed
	emits, acked, failed, errs := rec.snapshot()
	if len(failed) != 0 || len(errs) != 0 || len(emits) != len(sizes) {
		t.Fatalf("%d emits, %d failed, errors %v; want %d echoes and no failure", len(emits), len(failed), errs, len(sizes))
	}
	for i, n := range sizes {
		got, _ := emits[i].values[0].(string)
		if len(got) != n || got[0] != byte('a'+i) || acked[i].Values()[0].(string)[0] != byte('a'+i) {
			t.Errorf("tuple %d: echoed %d bytes of %.1q, acked %.1q; want %d bytes of %q", i, len(got), got, acked[i].Values()[0], n, rune('a'+i))
		}
	}
	if h := bolt.Health(); h.Failures != 0 {
		t.Errorf("health %+v, want no failure", h)
	}
}

// envMap turns KEY=VALUE pairs into a component's env map.
func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}
