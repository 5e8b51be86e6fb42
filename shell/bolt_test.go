package shell

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

func TestBoltHandshake(t *testing.T) {
	checkLeaks(t)
	out := filepath.Join(t.TempDir(), "handshake.json")
	f := startBolt(t, "split", topology.Config{"custom.key": "v"}, fastOptions, handshakeOutEnv+"="+out)
	pid := f.waitUp(t)

	var got multilang.Handshake
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := multilang.Context{
		TaskToComponent: map[int]string{1: "__acker", 2: "count", 3: "count", 4: "counter", 5: "direct-sink", 6: "global-sink", 7: "source", 8: "split"},
		TaskID:          8,
		ComponentID:     "split",
		Streams:         []string{"default", "direct", "other"},
		StreamToOutputFields: map[string][]string{
			"default": {"word"}, "direct": {"v"}, "other": {"v"},
		},
		StreamToTargetToGrouping: map[string]map[string]multilang.Grouping{
			"default": {"count": {Type: "FIELDS", Fields: []string{"word"}}},
			"direct":  {"direct-sink": {Type: "DIRECT"}},
			"other":   {"global-sink": {Type: "FIELDS", Fields: []string{}}},
		},
		SourceToStreamToGrouping: map[string]map[string]multilang.Grouping{"source": {"default": {Type: "SHUFFLE"}}},
		SourceToStreamToFields:   map[string]map[string][]string{"source": {"default": {"sentence"}}},
	}
	if !reflect.DeepEqual(got.Context, want) {
		t.Errorf("handshake context =\n%+v\nwant\n%+v", got.Context, want)
	}
	if got.PidDir != f.ctx.PidDir {
		t.Errorf("pidDir = %q, want %q", got.PidDir, f.ctx.PidDir)
	}
	for k, v := range map[string]any{"custom.key": "v", "topology.name": "shelltest", "storm.id": "shelltest-1-1", "topology.shellbolt.max.pending": 100.0} {
		if got.Conf[k] != v {
			t.Errorf("conf[%q] = %v, want %v", k, got.Conf[k], v)
		}
	}
	if _, err := os.Stat(filepath.Join(f.ctx.PidDir, strconv.Itoa(pid))); err != nil {
		t.Errorf("pid file: %v", err)
	}
	f.bolt.Cleanup()
	if _, err := os.Stat(filepath.Join(f.ctx.PidDir, strconv.Itoa(pid))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pid file left behind after the child stopped: %v", err)
	}
}

// The worker owns the pid directory; a task given none refuses to start
// a child whose descendants no one could find.
func TestTaskWithoutPidDirRefused(t *testing.T) {
	logs := &logRecorder{}
	bctx := taskContext(t, "split", splitTask, nil, logs)
	bctx.PidDir = ""
	b := NewBolt(childSpec("split"), fastOptions)
	if err := b.Prepare(bctx, &recorder{}); err == nil || !strings.Contains(err.Error(), "no pid directory") {
		t.Errorf("Bolt.Prepare without a pid directory = %v, want an error saying so", err)
	}
	b.Cleanup()
	sctx := taskContext(t, "counter", counterTask, nil, logs)
	sctx.PidDir = ""
	s := NewSpout(childSpec("counter"), fastOptions)
	if err := s.Open(sctx, spoutRecorder{&recorder{}}); err == nil || !strings.Contains(err.Error(), "no pid directory") {
		t.Errorf("Spout.Open without a pid directory = %v, want an error saying so", err)
	}
	s.Close()
}

func TestBoltSplitCycle(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "split", nil, fastOptions)
	in := []topology.Tuple{sentence("snow white and the seven dwarfs"), sentence("i am at two with nature")}
	for _, tup := range in {
		f.bolt.Execute(tup)
	}
	f.bolt.Execute(topology.NewTuple(topology.TickSource, []any{int64(5)}, nil))
	waitUntil(t, patience, "three acks", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 3 })

	emits, acked, failed, errs := f.rec.snapshot()
	wantWords := strings.Fields("snow white and the seven dwarfs i am at two with nature")
	if got := words(emits); !slices.Equal(got, wantWords) {
		t.Errorf("emitted %q, want %q", got, wantWords)
	}
	for i, e := range emits {
		wantAnchor := in[0]
		if i >= 6 {
			wantAnchor = in[1]
		}
		if e.stream != "default" || len(e.anchors) != 1 || !reflect.DeepEqual(e.anchors[0], wantAnchor) {
			t.Errorf("emit %d = stream %q anchors %v, want default anchored to %v", i, e.stream, e.anchors, wantAnchor.Values())
		}
	}
	if got := values(acked); !slices.Equal(got, []string{in[0].String(0), in[1].String(0), "5"}) {
		t.Errorf("acked %q", got)
	}
	if len(failed) != 0 || len(errs) != 0 {
		t.Errorf("failed %v, errors %v; want none", values(failed), errs)
	}
}

func TestBoltBasicBoltFailure(t *testing.T) {
	f := startBolt(t, "split", nil, fastOptions)
	f.bolt.Execute(sentence(""))
	waitUntil(t, patience, "the failure", func() bool { _, _, failed, errs := f.rec.snapshot(); return len(failed) == 1 && len(errs) == 1 })
	_, _, _, errs := f.rec.snapshot()
	var re *ReportedError
	if !errors.As(errs[0], &re) || !strings.Contains(re.Msg, "empty sentence") || re.Task != splitTask {
		t.Errorf("reported %#v, want the child's error", errs[0])
	}
	if h := f.bolt.Health(); h.Failures != 0 {
		t.Errorf("a reported error restarted the child: %+v", h)
	}
}

func TestBoltReferenceCommands(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "reference", nil, fastOptions)
	ref := func(v ...any) topology.Tuple { return topology.NewTuple(sourceSrc, v, nil) }
	inputs := []topology.Tuple{
		ref("emit", "a"),
		ref("ids", "b"),
		ref("direct", int64(5), "c"),
		ref("stream", "other", "d"),
		ref("fail"),
		ref("log", int64(3), "careful"),
		ref("error", "oops"),
		ref("metric", "my-metric", int64(7)),
		ref("print", "printed"),
	}
	for _, in := range inputs {
		f.bolt.Execute(in)
	}
	waitUntil(t, patience, "every tuple answered", func() bool {
		_, acked, failed, _ := f.rec.snapshot()
		return len(acked)+len(failed) == len(inputs)
	})
	emits, acked, failed, errs := f.rec.snapshot()
	type e struct {
		stream string
		task   int
		values string
	}
	var got []e
	for _, em := range emits {
		got = append(got, e{em.stream, em.task, strings.Join(strings.Fields(strings.Trim(strings.ReplaceAll(fmtValues(em.values), ",", " "), "[]")), " ")})
	}
	want := []e{{"default", 0, "a"}, {"default", 0, "b"}, {"default", 0, "2 3"}, {"direct", 5, "c"}, {"other", 0, "d"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("emits = %+v, want %+v", got, want)
	}
	if len(acked) != len(inputs)-1 || len(failed) != 1 || failed[0].String(0) != "fail" {
		t.Errorf("acked %q failed %q", values(acked), values(failed))
	}
	if len(errs) != 1 || errs[0].Error() != "oops" {
		t.Errorf("errors = %v, want [oops]", errs)
	}
	if got := f.logs.matching("WARN careful", "source=child"); len(got) != 1 {
		t.Errorf("warn log lines = %q", got)
	}
	if got := f.logs.matching("INFO printed"); len(got) != 1 {
		t.Errorf("printed log lines = %q", got)
	}
	f.rec.mu.Lock()
	metric := f.rec.metrics["my-metric"]
	f.rec.mu.Unlock()
	if metric != int64(7) {
		t.Errorf("metric my-metric = %v, want 7", metric)
	}
}

func fmtValues(v []any) string {
	b, _ := json.Marshal(v)
	return strings.ReplaceAll(string(b), `"`, "")
}

// TestBoltTaskIDsWhileQueued checks that a child blocked on its task ids
// gets them even with many tuples queued behind it: replies are written
// ahead of queued tuples and flushed at once.
func TestBoltTaskIDsWhileQueued(t *testing.T) {
	f := startBolt(t, "reference", nil, fastOptions)
	const n = 90
	for i := range n {
		f.bolt.Execute(topology.NewTuple(sourceSrc, []any{"ids", strconv.Itoa(i)}, nil))
	}
	waitUntil(t, patience, "all acks", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == n })
	emits, _, _, _ := f.rec.snapshot()
	if len(emits) != 2*n {
		t.Fatalf("%d emits, want %d", len(emits), 2*n)
	}
	for i := 0; i < len(emits); i += 2 {
		if got := fmtValues(emits[i+1].values); got != "[[2,3]]" {
			t.Fatalf("emit %d = %s, want the task ids [2 3]", i+1, got)
		}
	}
}

// TestBoltTaskIDsBurst checks that a child that emits several words
// asking for task ids, and only then reads the replies (as Storm's
// storm.js does), gets every reply: coalesced replies are flushed before
// the host waits for the child.
func TestBoltTaskIDsBurst(t *testing.T) {
	f := startBolt(t, "idsburst", nil, fastOptions)
	const n = 20
	for range n {
		f.bolt.Execute(sentence(taskIDsSentence))
	}
	waitUntil(t, patience, "all acks", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == n })
	if emits, _, _, _ := f.rec.snapshot(); len(emits) != 6*n {
		t.Errorf("%d emits, want %d", len(emits), 6*n)
	}
}

func TestOutboxRepliesFirst(t *testing.T) {
	o := newOutbox()
	o.put(outItem{kind: itemTuple, id: "1"}, false)
	o.put(outItem{kind: itemTuple, id: "2"}, false)
	o.put(outItem{kind: itemTaskIDs, taskIDs: []int{4}}, true)
	items := o.drain(nil)
	if len(items) != 3 || items[0].kind != itemTaskIDs || items[1].id != "1" || items[2].id != "2" {
		t.Errorf("drain() = %+v; want the reply first, then the tuples in order", items)
	}
	o.close()
	if o.wait() {
		t.Error("wait() after close = true")
	}
}

func TestBoltHeartbeats(t *testing.T) {
	f := startBolt(t, "heartbeats", nil, fastOptions)
	f.waitUp(t)
	waitUntil(t, patience, "three heartbeats answered", func() bool { return len(f.logs.matching("heartbeat 3")) == 1 })
	if h := f.bolt.Health(); h.Failures != 0 {
		t.Errorf("health = %+v, want no failures", h)
	}
}

// TestBoltWindow checks that the child holds at most
// KeyShellBoltMaxHeld tuples, that topology.shellbolt.max.pending more
// wait in the host and that Execute then blocks; and that a child killed from outside
// frees the window: its tuples fail, and the next child gets the queued
// ones and the one Execute was blocked on.
func TestBoltWindow(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "crash", topology.Config{topology.KeyShellBoltMaxPending: 2, KeyShellBoltMaxHeld: 2, topology.KeyMessageTimeoutSecs: 3600}, fastOptions)
	pid := f.waitUp(t)
	f.bolt.Execute(tracked("hold"))
	f.bolt.Execute(tracked("hold"))
	f.bolt.Execute(tracked("ok"))
	f.bolt.Execute(tracked("ok"))
	done := make(chan struct{})
	go func() {
		f.bolt.Execute(tracked("ok"))
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Execute returned with the window and the backlog full")
	case <-time.After(200 * time.Millisecond):
	}
	f.bolt.mu.Lock()
	inFlight, queued := f.bolt.held.len(), len(f.bolt.backlog)
	f.bolt.mu.Unlock()
	if inFlight != 2 || queued != 2 {
		t.Errorf("%d tuples at the child, %d queued; want 2 and 2", inFlight, queued)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatal("Execute still blocked after the child was replaced")
	}
	waitUntil(t, patience, "the new child's acks", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 3 })
	_, acked, failed, errs := f.rec.snapshot()
	if got := values(failed); !slices.Equal(got, []string{"hold", "hold"}) || !slices.Equal(values(acked), []string{"ok", "ok", "ok"}) {
		t.Errorf("failed %q acked %q, want the two held tuples failed and the three others acked", got, values(acked))
	}
	var ce *ChildError
	if len(errs) != 1 || !errors.As(errs[0], &ce) || ce.Status.Signal != syscall.SIGKILL {
		t.Errorf("reported %v, want the child killed by SIGKILL", errs)
	}
}

func TestBoltHungChildIsKilled(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "hang", topology.Config{topology.KeySubprocessTimeoutSecs: 0.3}, fastOptions)
	pid := f.waitUp(t)
	tup := sentence("never answered")
	f.bolt.Execute(tup)
	waitUntil(t, patience, "the timeout", func() bool { _, _, failed, errs := f.rec.snapshot(); return len(failed) == 1 && len(errs) >= 1 })
	_, _, failed, errs := f.rec.snapshot()
	var ce *ChildError
	if !errors.As(errs[0], &ce) || !errors.Is(ce, ErrTimeout) || ce.Pid != pid || ce.Phase != PhaseRunning {
		t.Fatalf("reported %v, want a timeout of pid %d", errs[0], pid)
	}
	if !reflect.DeepEqual(failed[0], tup) {
		t.Errorf("failed %v, want the held tuple", failed[0].Values())
	}
	if ce.Status.Signal == 0 {
		t.Errorf("status %v, want killed by a signal", ce.Status)
	}
	waitUntil(t, patience, "a new child", func() bool { p := f.bolt.Health().Pid; return p != 0 && p != pid })
}

func TestBoltCrashFailsHeldTuplesAndRestarts(t *testing.T) {
	checkLeaks(t)
	// No heartbeat may follow the crash tuple before the child's exit is
	// seen (a loaded machine takes more than fastOptions' 50 ms): the
	// report's last sent message must be that tuple.
	opts := fastOptions
	opts.HeartbeatInterval = time.Hour
	f := startBolt(t, "crash", nil, opts)
	pid := f.waitUp(t)
	in := []topology.Tuple{sentence("a"), sentence("hold"), sentence("b"), sentence("crash")}
	for _, tup := range in {
		f.bolt.Execute(tup)
	}
	waitUntil(t, patience, "the crash", func() bool { _, _, failed, errs := f.rec.snapshot(); return len(failed) == 2 && len(errs) == 1 })
	_, acked, failed, errs := f.rec.snapshot()
	if got := values(acked); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("acked %q, want [a b]", got)
	}
	if got := values(failed); !slices.Equal(sorted(got), []string{"crash", "hold"}) {
		t.Errorf("failed %q, want exactly the held tuples [hold crash]", got)
	}
	var ce *ChildError
	if !errors.As(errs[0], &ce) || !errors.Is(ce, ErrExited) || ce.Status.Code != 1 {
		t.Fatalf("reported %v, want exit status 1", errs[0])
	}
	if !slices.Contains(ce.Stderr, "crashing now") {
		t.Errorf("report stderr = %q, want the child's last words", ce.Stderr)
	}
	if !strings.Contains(ce.LastSent, `"crash"`) || !strings.Contains(ce.LastReceived, `"ack"`) {
		t.Errorf("report last sent %s, last received %s", ce.LastSent, ce.LastReceived)
	}
	for _, s := range []string{"exit status 1", "crashing now", "last sent"} {
		if !strings.Contains(ce.Error(), s) {
			t.Errorf("report %q lacks %q", ce.Error(), s)
		}
	}
	newPid := 0
	waitUntil(t, patience, "a new child", func() bool { newPid = f.bolt.Health().Pid; return newPid != 0 && newPid != pid })
	f.bolt.Execute(sentence("c"))
	waitUntil(t, patience, "the new child's ack", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 3 })
	if procgroup.Alive(pid) {
		t.Errorf("crashed child %d still exists", pid)
	}
}

func sorted(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }

func TestBoltCrashLoop(t *testing.T) {
	f := startBolt(t, "crash", nil, Options{StopGrace: 100 * time.Millisecond, HeartbeatInterval: 50 * time.Millisecond,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, CrashLoopRestarts: 3})
	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { // one crash tuple for every child
		defer close(fed)
		for {
			select {
			case <-stop:
				return
			default:
				f.bolt.Execute(sentence("crash"))
			}
		}
	}()
	waitUntil(t, patience, "three failures", func() bool { return f.bolt.Health().Failures >= 3 })
	close(stop)
	f.bolt.Cleanup()
	<-fed
	h := f.bolt.Health()
	var ce *ChildError
	if !h.CrashLooping || !errors.As(h.LastError, &ce) || !ce.CrashLooping || ce.Restarts < 3 {
		t.Errorf("health = %+v, want crash-looping after 3 quick failures", h)
	}
}

func TestBoltGrandchildrenDieWithGroup(t *testing.T) {
	f := startBolt(t, "forker", nil, fastOptions)
	var line []string
	waitUntil(t, patience, "the grandchild's pid", func() bool { line = f.logs.matching("INFO grandchild "); return len(line) == 1 })
	pid, err := strconv.Atoi(strings.Fields(strings.TrimPrefix(line[0], "INFO grandchild "))[0])
	if err != nil || !procgroup.Alive(pid) {
		t.Fatalf("grandchild %q not running: %v", line[0], err)
	}
	f.bolt.Cleanup()
	waitUntil(t, patience, "the grandchild to die", func() bool { return !procgroup.Alive(pid) || zombie(pid) })
}

func zombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

func TestBoltStopsChildIgnoringTerm(t *testing.T) {
	f := startBolt(t, "ignoreterm", nil, Options{StopGrace: 100 * time.Millisecond})
	pid := f.waitUp(t)
	// It exits on stdin EOF, so this only exercises the ordered stop.
	f.bolt.Cleanup()
	if procgroup.Alive(pid) && !zombie(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("child %d survived Cleanup", pid)
	}
}

func TestBoltStrayStdout(t *testing.T) {
	f := startBolt(t, "stray", nil, fastOptions)
	f.bolt.Execute(sentence("x y"))
	f.bolt.Execute(sentence("z"))
	waitUntil(t, patience, "the acks", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 2 })
	emits, _, _, errs := f.rec.snapshot()
	if got := words(emits); !slices.Equal(got, []string{"x", "y", "z"}) || len(errs) != 0 {
		t.Errorf("emits %q errors %v", got, errs)
	}
	if got := f.logs.matching("stray stdout", "stray output from print()"); len(got) != 2 {
		t.Errorf("stray log lines = %q, want 2", got)
	}
}

// TestBoltProtocolErrors checks what each kind of misbehaviour gives.
func TestBoltProtocolErrors(t *testing.T) {
	tests := []struct {
		mode    string
		conf    topology.Config
		want    error  // nil: the child keeps running
		mention string // in the report
	}{
		{"malformed", nil, ErrProtocol, "malformed message"},
		{"ackunknown", nil, ErrProtocol, `unknown or already acked/failed tuple id "12345"`},
		{"oversized", topology.Config{topology.KeyMultilangMaxMessageBytes: 1 << 20}, ErrProtocol, "message too large"},
		{"badstream", nil, ErrProtocol, `undeclared stream "nope"`},
		{"unknown", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			checkLeaks(t)
			f := startBolt(t, tt.mode, tt.conf, fastOptions)
			pid := f.waitUp(t)
			tup := sentence("x")
			f.bolt.Execute(tup)
			if tt.want == nil {
				waitUntil(t, patience, "the ack", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 1 })
				if got := f.logs.matching("unknown command", "dance"); len(got) != 1 {
					t.Errorf("unknown command logged %d times, want once", len(got))
				}
				if h := f.bolt.Health(); h.Failures != 0 || h.Pid != pid {
					t.Errorf("health = %+v, want the same child running", h)
				}
				return
			}
			waitUntil(t, patience, "the failure", func() bool { _, _, failed, errs := f.rec.snapshot(); return len(failed) == 1 && len(errs) == 1 })
			_, _, failed, errs := f.rec.snapshot()
			if !errors.Is(errs[0], tt.want) || !strings.Contains(errs[0].Error(), tt.mention) {
				t.Errorf("reported %v, want %v mentioning %q", errs[0], tt.want, tt.mention)
			}
			if !reflect.DeepEqual(failed[0], tup) {
				t.Errorf("failed %v, want the held tuple", failed[0].Values())
			}
			waitUntil(t, patience, "a restart", func() bool { p := f.bolt.Health().Pid; return p != 0 && p != pid })
		})
	}
}

func TestBoltStartupFailures(t *testing.T) {
	tests := []struct {
		name    string
		spec    *topology.ShellSpec
		conf    topology.Config
		cause   error
		phase   Phase
		mention string
	}{
		{"exits before the handshake", childSpec("failstart"), nil, ErrExited, PhaseHandshake, "ImportError: No module named 'storm'"},
		{"no pid reply", childSpec("slowstart"), topology.Config{KeyStartupTimeoutSecs: 0.2}, ErrTimeout, PhaseHandshake, "read pid reply"},
		{"no such program", &topology.ShellSpec{Command: []string{"no-such-program-squall"}}, nil, ErrLaunch, PhaseLaunch, "executable file not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			logs := &logRecorder{}
			ctx := taskContext(t, "split", splitTask, tt.conf, logs)
			rec := &recorder{}
			b := NewBolt(tt.spec, fastOptions)
			if err := b.Prepare(ctx, rec); err != nil {
				t.Fatal(err)
			}
			defer b.Cleanup()
			waitUntil(t, patience, "a reported failure", func() bool { _, _, _, errs := rec.snapshot(); return len(errs) >= 1 })
			_, _, _, errs := rec.snapshot()
			var ce *ChildError
			if !errors.As(errs[0], &ce) || !errors.Is(ce, tt.cause) || ce.Phase != tt.phase || !strings.Contains(ce.Error(), tt.mention) {
				t.Errorf("reported %v, want %v during %s mentioning %q", errs[0], tt.cause, tt.phase, tt.mention)
			}
		})
	}
}

// TestBoltBackpressurePausesLiveness checks that a child is not killed for
// silence while the host itself is blocked delivering its emits.
func TestBoltBackpressurePausesLiveness(t *testing.T) {
	// The child has 2 s to answer each heartbeat, generous on a busy
	// machine; the host holds it up for longer than that.
	f := startBolt(t, "split", topology.Config{topology.KeySubprocessTimeoutSecs: 2}, fastOptions)
	f.waitUp(t)
	gate := make(chan struct{})
	f.rec.mu.Lock()
	f.rec.gate = gate
	f.rec.mu.Unlock()
	f.bolt.Execute(sentence("blocked downstream"))
	time.Sleep(5 * time.Second) // well past the liveness timeout, with the emit blocked
	f.rec.mu.Lock()
	f.rec.gate = nil
	f.rec.mu.Unlock()
	close(gate)
	waitUntil(t, patience, "the ack", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == 1 })
	if h := f.bolt.Health(); h.Failures != 0 {
		t.Errorf("health = %+v: the child was killed while the host held it up", h)
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(bin, "notexec"), []byte(""), 0o644)
	tests := []struct {
		name, path, want string
		err              bool
	}{
		{"tool", "/nowhere:" + bin, filepath.Join(bin, "tool"), false},
		{"tool", "/nowhere:bin", "./bin/tool", false},
		{"./script.py", "", "./script.py", false},
		{"notexec", bin, "", true},
		{"missing", bin, "", true},
	}
	for _, tt := range tests {
		got, err := lookPath(tt.name, dir, []string{"PATH=" + tt.path})
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("lookPath(%q, PATH=%q) = %q, %v; want %q, error %v", tt.name, tt.path, got, err, tt.want, tt.err)
		}
	}
}

func TestChildEnvAppendsPath(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	env := childEnv([]string{"PYTHONPATH=/adapters"}, map[string]string{"PATH": "/opt/bin", "A": "1"}, topology.Config{topology.KeyTopologyEnvironment: map[string]any{"B": 2}})
	last := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		last[k] = v
	}
	for k, want := range map[string]string{"PATH": "/usr/bin:/opt/bin", "A": "1", "B": "2", "PYTHONPATH": "/adapters"} {
		if last[k] != want {
			t.Errorf("child env %s = %q, want %q", k, last[k], want)
		}
	}
}

// TestBoltBigTuplesNeverBlockTheReader checks that the goroutine reading a
// child never writes a tuple the pipe has no room for: here, while the
// child writes a 2 MB emit, its first 2 MB input must not be written from
// the reader (which would wait for a child waiting for it), whatever size
// the tuples before it had.
func TestBoltBigTuplesNeverBlockTheReader(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "blowup", topology.Config{
		topology.KeyShellBoltMaxPending: 2,
		KeyShellBoltMaxHeld:             2,    // the reader refills the window from the backlog
		topology.KeyMessageTimeoutSecs:  3600, // however slow: no held tuple is released
		// Long enough for a busy machine under the race detector; a deadlock
		// shows as a timeout.
		topology.KeySubprocessTimeoutSecs: 30,
	}, fastOptions)
	f.waitUp(t)
	big := strings.Repeat("B", 2<<20)
	in := []string{"small", "blowup", "blowup", big, "small", big, "blowup", "small"}
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for _, v := range in {
			f.bolt.Execute(tracked(v))
		}
	}()
	waitUntil(t, patience, "every tuple answered", func() bool {
		_, acked, failed, errs := f.rec.snapshot()
		return len(acked)+len(failed) == len(in) || len(errs) > 0
	})
	<-fed
	emits, acked, failed, errs := f.rec.snapshot()
	if len(errs) > 0 || len(failed) > 0 {
		t.Fatalf("failed %d tuples, errors %v; want every tuple acked", len(failed), errs)
	}
	for i, v := range in {
		want := len(v)
		if v == "blowup" {
			want = 2 << 20
		}
		if got := len(emits[i].values[0].(string)); got != want || acked[i].String(0) != v {
			t.Errorf("tuple %d: echoed %d bytes, acked %.10q; want %d bytes, %.10q", i, got, acked[i].String(0), want, v)
		}
	}
}

// tracked returns a tuple that belongs to a tree the acker tracks.
func tracked(s string) topology.Tuple {
	return topology.NewTuple(sourceSrc, []any{s}, "tracked by the test")
}

// heldCount returns how many tuples the bolt's child holds.
func (f *boltFixture) heldCount() int {
	f.bolt.mu.Lock()
	defer f.bolt.mu.Unlock()
	return f.bolt.held.len()
}

// TestBoltHeldTuplesDoNotStopTheFeed checks that, as in Storm, a child
// holding more than topology.shellbolt.max.pending unacked tuples keeps
// being fed: this one acks 150 at a time.
func TestBoltHeldTuplesDoNotStopTheFeed(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "batchack", topology.Config{topology.KeyShellBoltMaxPending: 100}, fastOptions)
	const n = 300
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := range n {
			f.bolt.Execute(tracked(strconv.Itoa(i)))
		}
	}()
	waitUntil(t, patience, "every tuple acked", func() bool { _, acked, _, _ := f.rec.snapshot(); return len(acked) == n })
	<-fed
	if _, _, failed, errs := f.rec.snapshot(); len(failed) != 0 || len(errs) != 0 {
		t.Errorf("failed %d, errors %v; want none", len(failed), errs)
	}
}

// TestBoltNeverAckingChildRunsFlat feeds untracked tuples to a child that
// never acks (Storm's storm-starter splitsentence.rb fed by an unreliable
// spout): it keeps being fed, the tuples it holds stay bounded, and so
// does the host's memory.
func TestBoltNeverAckingChildRunsFlat(t *testing.T) {
	checkLeaks(t)
	const maxHeld = 100
	f := startBolt(t, "neverack", topology.Config{topology.KeyShellBoltMaxPending: 10, KeyShellBoltMaxHeld: maxHeld}, fastOptions)
	feed := func(n int) uint64 {
		for range n {
			f.bolt.Execute(sentence("the cow jumped over the moon"))
			if h := f.heldCount(); h > maxHeld {
				t.Fatalf("the child holds %d tuples, more than %d", h, maxHeld)
			}
		}
		f.bolt.Execute(sentence("report"))
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := feed(20_000)
	waitUntil(t, patience, "the child to get 20001 tuples", func() bool { return len(f.logs.matching("INFO got 20001")) == 1 })
	after := feed(80_000)
	waitUntil(t, patience, "the child to get 100002 tuples", func() bool { return len(f.logs.matching("INFO got 100002")) == 1 })
	if grown := int64(after) - int64(before); grown > 4<<20 {
		t.Errorf("heap grew by %d bytes over 80000 more tuples the child never acked", grown)
	}
	f.bolt.mu.Lock()
	window, old, released := f.bolt.held.window.len(), len(f.bolt.held.old), f.bolt.held.released.len()
	f.bolt.mu.Unlock()
	if window > 2*maxHeld+windowSlack || old > maxHeld || released > minRemembered {
		t.Errorf("bookkeeping grew: %d ids in the window, %d old, %d remembered as released; want at most %d, %d and %d",
			window, old, released, 2*maxHeld+windowSlack, maxHeld, minRemembered)
	}
	h := f.bolt.Health()
	if h.Released < 100_002-maxHeld || h.Failures != 0 {
		t.Errorf("health = %+v, want at least %d tuples released and no failure", h, 100_002-maxHeld)
	}
	if got := f.logs.matching("WARN", "released"); len(got) == 0 {
		t.Errorf("no warning about released tuples")
	}
	if _, _, failed, errs := f.rec.snapshot(); len(failed) != 0 || len(errs) != 0 {
		t.Errorf("failed %d, errors %v; want none", len(failed), errs)
	}
}

// TestBoltLateAckOfReleasedTuple checks that acks of tuples released while
// the child held too many are accepted silently.
func TestBoltLateAckOfReleasedTuple(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "lateack", topology.Config{KeyShellBoltMaxHeld: 10}, fastOptions)
	pid := f.waitUp(t)
	for i := range 50 {
		f.bolt.Execute(sentence(strconv.Itoa(i)))
	}
	f.bolt.Execute(sentence("ackall"))
	waitUntil(t, patience, "the held tuples acked", func() bool { return f.heldCount() == 0 })
	_, acked, failed, errs := f.rec.snapshot()
	if len(acked) == 0 || len(acked) > 10 || acked[len(acked)-1].String(0) != "ackall" || len(failed) != 0 || len(errs) != 0 {
		t.Errorf("acked %q, failed %d, errors %v; want the tuples still held acked, nothing else", values(acked), len(failed), errs)
	}
	if h := f.bolt.Health(); h.Pid != pid || h.Failures != 0 {
		t.Errorf("health = %+v, want the same child, no failure", h)
	}
}

// TestBoltReleasesTimedOutTuples checks that tracked tuples held past the
// message timeout make room for more when the child holds too many.
func TestBoltReleasesTimedOutTuples(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "neverack", topology.Config{KeyShellBoltMaxHeld: 5, topology.KeyMessageTimeoutSecs: 1}, fastOptions)
	for i := range 14 {
		f.bolt.Execute(tracked(strconv.Itoa(i)))
		if h := f.heldCount(); h > 5 {
			t.Fatalf("the child holds %d tuples, more than 5", h)
		}
	}
	f.bolt.Execute(tracked("report"))
	waitUntil(t, patience, "the child to get every tuple", func() bool { return len(f.logs.matching("INFO got 15")) == 1 })
	if h := f.bolt.Health(); h.Released < 10 {
		t.Errorf("health = %+v, want at least 10 tuples released", h)
	}
}

// TestBoltKeepsOrder checks that tuples reach the child in the order
// Execute got them, while the child's reader sends queued ones as acks
// come in and Execute sends new ones.
func TestBoltKeepsOrder(t *testing.T) {
	checkLeaks(t)
	f := startBolt(t, "blowup", topology.Config{topology.KeyShellBoltMaxPending: 3, KeyShellBoltMaxHeld: 3, topology.KeyMessageTimeoutSecs: 3600}, fastOptions)
	const n = 3000
	go func() {
		for i := range n {
			f.bolt.Execute(tracked(strconv.Itoa(i)))
		}
	}()
	waitUntil(t, patience, "every tuple acked", func() bool {
		_, acked, _, errs := f.rec.snapshot()
		if len(errs) > 0 {
			t.Fatalf("after %d acks: %v", len(acked), errs)
		}
		return len(acked) == n
	})
	emits, _, _, _ := f.rec.snapshot()
	for i, e := range emits {
		if got := e.values[0].(string); got != strconv.Itoa(i) {
			t.Fatalf("emit %d echoes tuple %s: the child got the tuples out of order", i, got)
		}
	}
}
