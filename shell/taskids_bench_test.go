package shell

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
)

// taskIDsChildEnv names a command (words separated by spaces, run in the
// directory of its last word) that BenchmarkTaskIDsChild drives instead of
// testdata/taskids_split.py: Storm's own adapters are measured by hand
// this way, without copying them into the repository.
const taskIDsChildEnv = "SQUALL_BENCH_TASKIDS_CHILD"

// taskIDsSentence is the benchmark's input: six words, so six emits that
// wait for their task ids and one ack per tuple.
const taskIDsSentence = "snow white and the seven dwarfs"

// taskIDsWindow is how many tuples the bare loop keeps in flight, as many
// as a shell bolt's default topology.shellbolt.max.pending.
const taskIDsWindow = 100

// BenchmarkTaskIDsChild measures a split bolt that waits for the task ids
// after every emit, as Storm's storm.py, storm.rb and storm.js do, driven
// by the simplest Go loop over its pipes (bare) and by squall's host
// (host). Each emit is a round trip, so the host's reply latency is the
// child's speed: the host should reach 95% of the bare loop.
//
// ratio runs both, each with its own child, in turns of taskIDsSlice
// tuples, and reports the median of the per-turn throughput ratios
// host/bare (host-%): load from other processes slows both sides of a
// pair alike, so on a busy machine it moves far less than tuples/s do.
func BenchmarkTaskIDsChild(b *testing.B) {
	argv, dir := taskIDsChild(b)
	measure := func(b *testing.B, start func(*testing.B, []string, string, []string) (func(int), int)) {
		run, pid := start(b, argv, dir, nil)
		run(taskIDsSlice) // the interpreter starts and warms up
		b.ResetTimer()
		cpu := transcript.StartCPUMeter(pid)
		run(b.N)
		b.StopTimer()
		cpu.Report(b)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
	}
	b.Run("bare", func(b *testing.B) { measure(b, startTaskIDsBare) })
	b.Run("host", func(b *testing.B) { measure(b, startTaskIDsHost) })
	b.Run("ratio", func(b *testing.B) {
		bare, _ := startTaskIDsBare(b, argv, dir, nil)
		host, _ := startTaskIDsHost(b, argv, dir, nil)
		bare(taskIDsSlice)
		host(taskIDsSlice)
		timed := func(run func(int)) time.Duration {
			start := time.Now()
			run(taskIDsSlice)
			return time.Since(start)
		}
		var ratios []float64
		var bareTime, hostTime time.Duration
		for i := 0; i*taskIDsSlice < b.N; i++ {
			var tb, th time.Duration
			if i%2 == 0 {
				tb, th = timed(bare), timed(host)
			} else {
				th, tb = timed(host), timed(bare)
			}
			bareTime += tb
			hostTime += th
			ratios = append(ratios, float64(tb)/float64(th))
		}
		slices.Sort(ratios)
		b.ReportMetric(100*ratios[len(ratios)/2], "host-%")
		b.ReportMetric(100*ratios[len(ratios)/4], "p25-%")
		b.ReportMetric(100*ratios[3*len(ratios)/4], "p75-%")
		n := float64(len(ratios) * taskIDsSlice)
		b.ReportMetric(n/bareTime.Seconds(), "bare-tuples/s")
		b.ReportMetric(n/hostTime.Seconds(), "host-tuples/s")
		b.ReportMetric(0, "ns/op")
	})
}

// taskIDsSlice is how many tuples one turn of the ratio benchmark feeds.
const taskIDsSlice = 500

func taskIDsChild(b *testing.B) (argv []string, dir string) {
	if cmd := os.Getenv(taskIDsChildEnv); cmd != "" {
		argv = strings.Fields(cmd)
		dir, err := filepath.Abs(filepath.Dir(argv[len(argv)-1]))
		if err != nil {
			b.Fatal(err)
		}
		return argv, dir
	}
	script, err := filepath.Abs(filepath.Join("testdata", "taskids_split.py"))
	if err != nil {
		b.Fatal(err)
	}
	return []string{transcript.Interpreter(b, "python3"), script}, filepath.Dir(script)
}

// windowCollector discards emits, answering them with task 2, and counts
// acks, so that the benchmark keeps up to taskIDsWindow tuples in flight
// as a spout does under topology.max.spout.pending. It wakes the feeding
// goroutine once half the window is free, as an executor works in
// batches, rather than at every ack.
type windowCollector struct {
	sent, done atomic.Int64
	room       chan struct{}
}

func (c *windowCollector) Emit(string, []topology.Tuple, []any) []int      { return taskIDsReply }
func (c *windowCollector) EmitDirect(int, string, []topology.Tuple, []any) {}
func (c *windowCollector) Ack(topology.Tuple)                              { c.finished() }
func (c *windowCollector) Fail(topology.Tuple)                             { c.finished() }
func (c *windowCollector) ResetTimeout(topology.Tuple)                     {}
func (c *windowCollector) ReportError(err error)                           { panic(err) }

func (c *windowCollector) finished() {
	if c.sent.Load()-c.done.Add(1) <= taskIDsWindow/2 {
		select {
		case c.room <- struct{}{}:
		default:
		}
	}
}

var taskIDsReply = []int{2}

// startTaskIDsHost starts the child under squall's host, with env added
// to its environment. The returned run feeds n tuples, at most
// taskIDsWindow of them unacked, and waits for the last acks.
func startTaskIDsHost(b *testing.B, argv []string, dir string, env []string) (run func(n int), pid int) {
	topo := testTopology()
	topo.Config = topology.Defaults()
	ctx := &topology.TaskContext{
		Topology: topo, Tasks: topology.TopologyTasks(topo, 1), TaskID: splitTask, ComponentID: "split",
		Config: topo.Config, ResourcesDir: dir, PidDir: b.TempDir(), Logger: discardLogger(&logRecorder{}),
	}
	out := &windowCollector{room: make(chan struct{}, 1)}
	bolt := NewBolt(&topology.ShellSpec{Command: argv}, Options{Env: env})
	if err := bolt.Prepare(ctx, out); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bolt.Cleanup)
	tup := sentence(taskIDsSentence)
	run = func(n int) {
		end := out.sent.Load() + int64(n)
		for out.sent.Load() < end {
			for out.sent.Load() < end && out.sent.Load()-out.done.Load() < taskIDsWindow {
				out.sent.Add(1)
				bolt.Execute(tup)
			}
			<-out.room
		}
		for out.done.Load() < end {
			<-out.room
		}
	}
	run(1) // the child is up: its pid is known
	return run, bolt.Health().Pid
}

// startTaskIDsBare starts the child under the bare loop, with env added
// to its environment: the returned run feeds n tuples from the calling
// goroutine, keeping taskIDsWindow in flight, answers every emit that
// wants task ids at once, and flushes whenever it is about to wait for
// the child.
func startTaskIDsBare(b *testing.B, argv []string, dir string, env []string) (run func(n int), pid int) {
	p := transcript.StartProc(b, argv, dir, append(os.Environ(), env...))
	r := bufio.NewReaderSize(p.Stdout, 64<<10)
	w := bufio.NewWriterSize(p.Stdin, 64<<10)
	handshake := fmt.Sprintf(`{"pidDir": %s, "conf": {}, "context": {"taskid": 8, "componentid": "split", `+
		`"task->component": {"2": "count", "7": "source", "8": "split"}, "streams": ["default"], `+
		`"stream->outputfields": {"default": ["word"]}}}`, strconv.Quote(b.TempDir()))
	if err := transcript.WriteJSONMessage(p.Stdin, []byte(handshake)); err != nil {
		b.Fatalf("write handshake: %v", err)
	}
	tuple := []byte(`{"id": "-6955786537413359385", "comp": "source", "stream": "default", "task": 7, "tuple": ["` + taskIDsSentence + `"]}` + "\nend\n")
	reply := []byte("[2]\nend\n")
	// feed returns how many emits it answered.
	feed := func(n int) (emits int) {
		sent, acked := 0, 0
		for acked < n {
			for sent < n && sent-acked < taskIDsWindow {
				w.Write(tuple)
				sent++
			}
			if r.Buffered() == 0 {
				if err := w.Flush(); err != nil {
					b.Fatalf("write to the child: %v", err)
				}
			}
			msg, err := transcript.ReadJSONMessage(r)
			if err != nil {
				b.Fatalf("read from the child: %v (child %s, stderr %q)", err, p.Status(), p.Stderr)
			}
			switch command(msg) {
			case "emit":
				if !bytes.Contains(msg, []byte(`"task"`)) && !noTaskIDs(msg) {
					w.Write(reply)
					emits++
				}
			case "ack", "fail":
				acked++
			case "":
				if !bytes.Contains(msg, []byte(`"pid"`)) {
					b.Fatalf("unexpected message from the child: %s", msg)
				}
			}
		}
		return emits
	}
	if emits, want := feed(1), len(strings.Fields(taskIDsSentence)); emits != want {
		b.Fatalf("the child asked for task ids %d times for one tuple, want %d", emits, want)
	}
	return func(n int) { feed(n) }, p.Cmd.Process.Pid
}

// command returns the value of a JSON message's "command" key, "" if it
// has none: enough for the bare loop, which must cost next to nothing.
func command(msg []byte) string {
	i := bytes.Index(msg, []byte(`"command"`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(msg[i+len(`"command"`):], ": ")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return ""
	}
	return string(rest[1 : 1+end])
}

// noTaskIDs reports whether an emit says "need_task_ids": false.
func noTaskIDs(msg []byte) bool {
	i := bytes.Index(msg, []byte(`"need_task_ids"`))
	return i >= 0 && bytes.HasPrefix(bytes.TrimLeft(msg[i+len(`"need_task_ids"`):], ": "), []byte("false"))
}
