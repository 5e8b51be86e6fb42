package adapters

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
)

// thirdPartyDir is where .ci/install-test-deps installs the third-party
// clients the tests run (npm packages in its node_modules).
var thirdPartyDir = filepath.Join("..", ".ci", "deps")

// nodeStormBolt is a split-sentence bolt written against npm node-storm
// 0.0.1 (a third-party Node client, unrelated to Storm's storm.js): its
// topology DSL declares the bolt, and its worker runs the component the
// handshake names.
const nodeStormBolt = `
var storm = require('node-storm');
var worker = require('node-storm/lib/worker');

var split = storm.basicbolt(function(data) {
	var words = data.tuple[0].split(' ');
	for (var i = 0; i < words.length; i++) {
		if (words[i] === 'fail') throw new Error('asked to fail');
		this.emit([words[i]]);
	}
}).declareOutputFields(['word']);

var builder = storm.topologybuilder();
builder.setBolt('split', split, 1).shuffleGrouping('source');
worker(builder.createTopology()).run();
`

// TestNodeStormBolt runs npm node-storm@0.0.1 as a bolt under squall's real
// host: handshake, emits (node-storm asks for task ids after every one),
// acks, a failure, heartbeats.
func TestNodeStormBolt(t *testing.T) {
	node := transcript.Interpreter(t, "node")
	modules, err := filepath.Abs(filepath.Join(thirdPartyDir, "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "node-storm", "package.json")); err != nil {
		transcript.Missing(t, "npm node-storm is not installed in %s (run .ci/install-test-deps): %v", modules, err)
	}
	resources := t.TempDir()
	if err := os.WriteFile(filepath.Join(resources, "split.js"), []byte(nodeStormBolt), 0o644); err != nil {
		t.Fatal(err)
	}

	topo := &topology.Topology{
		Name: "thirdparty",
		Components: []*topology.Component{
			{ID: "count", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs: []topology.Input{{From: "split", Stream: "default", Grouping: topology.Grouping{Type: topology.FieldsGrouping, Fields: []string{"word"}}}}},
			{ID: "source", Kind: topology.KindSpout, Parallelism: 1, NumTasks: 1,
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"sentence"}}}},
			{ID: "split", Kind: topology.KindBolt, Parallelism: 1, NumTasks: 1,
				Inputs:  []topology.Input{{From: "source", Stream: "default", Grouping: topology.Grouping{Type: topology.Shuffle}}},
				Outputs: []topology.Stream{{ID: "default", Fields: []string{"word"}}}},
		},
	}
	topo.Config = topology.Defaults().Merge(topology.Config{topology.KeyTopologyName: "thirdparty", topology.KeyStormID: "thirdparty-1-1"})
	tasks := topology.TopologyTasks(topo, 1)
	splitTask := tasks.Tasks("split")[0]
	ctx := &topology.TaskContext{
		Topology: topo, Tasks: tasks, TaskID: splitTask, ComponentID: "split",
		Config: topo.Config, ResourcesDir: resources, PidDir: t.TempDir(),
		Logger: slog.New(slog.DiscardHandler),
	}
	rec := &recordingCollector{taskIDs: []int{tasks.Tasks("count")[0]}}
	bolt := shell.NewBolt(&topology.ShellSpec{
		Command: []string{node, "split.js"},
		Env:     map[string]string{"NODE_PATH": modules},
	}, shell.Options{HeartbeatInterval: 20 * time.Millisecond, StopGrace: time.Second})
	if err := bolt.Prepare(ctx, rec); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	t.Cleanup(bolt.Cleanup)

	src := &topology.Source{Component: "source", Task: tasks.Tasks("source")[0], Stream: "default", Fields: topology.NewFields("sentence")}
	in := []string{"snow white and the seven dwarfs", "please fail now", "i am at two with nature"}
	for _, s := range in {
		bolt.Execute(topology.NewTuple(src, []any{s}, nil))
	}
	// Node starts in well under a second on an idle machine; a loaded one
	// may take many.
	deadline := time.Now().Add(testenv.Patience(time.Minute))
	for {
		if acked, failed := rec.done(); acked == 2 && failed == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for 2 acks and a fail: %s; health %+v", rec, bolt.Health())
		}
		time.Sleep(5 * time.Millisecond)
	}

	emits, acked, failed, errs := rec.snapshot()
	wantWords := strings.Fields("snow white and the seven dwarfs please i am at two with nature")
	var gotWords []string
	for _, e := range emits {
		gotWords = append(gotWords, fmt.Sprint(e.values...))
		if e.stream != "default" || len(e.anchors) != 1 {
			t.Errorf("emit %v: stream %q, %d anchors; want the default stream anchored to its input", e.values, e.stream, len(e.anchors))
		}
	}
	if !slices.Equal(gotWords, wantWords) {
		t.Errorf("emitted %q, want %q", gotWords, wantWords)
	}
	if got := []string{acked[0].String(0), acked[1].String(0), failed[0].String(0)}; !slices.Equal(got, []string{in[0], in[2], in[1]}) {
		t.Errorf("acked and failed %q", got)
	}
	if len(errs) != 0 || bolt.Health().Failures != 0 {
		t.Errorf("errors %v, health %+v; want none", errs, bolt.Health())
	}
}

type emitRecord struct {
	stream  string
	anchors []topology.Tuple
	values  []any
}

// recordingCollector records what a bolt does; it is safe for concurrent use.
type recordingCollector struct {
	taskIDs []int
	// mu guards the rest.
	mu            sync.Mutex
	emits         []emitRecord
	acked, failed []topology.Tuple
	errs          []error
}

func (r *recordingCollector) Emit(stream string, anchors []topology.Tuple, values []any) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.emits = append(r.emits, emitRecord{stream, slices.Clone(anchors), values})
	return r.taskIDs
}

func (r *recordingCollector) EmitDirect(task int, stream string, anchors []topology.Tuple, values []any) {
	r.Emit(stream, anchors, values)
}

func (r *recordingCollector) Ack(t topology.Tuple) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acked = append(r.acked, t)
}

func (r *recordingCollector) Fail(t topology.Tuple) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, t)
}

func (r *recordingCollector) ResetTimeout(topology.Tuple) {}

func (r *recordingCollector) ReportError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *recordingCollector) done() (acked, failed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked), len(r.failed)
}

func (r *recordingCollector) snapshot() ([]emitRecord, []topology.Tuple, []topology.Tuple, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.emits), slices.Clone(r.acked), slices.Clone(r.failed), slices.Clone(r.errs)
}

func (r *recordingCollector) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("%d emits, %d acked, %d failed, errors %v", len(r.emits), len(r.acked), len(r.failed), r.errs)
}
