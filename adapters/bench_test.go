package adapters

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
)

// benchWindow is how many tuples the ceiling benchmark keeps in flight, as
// many as a shell bolt's default topology.shellbolt.max.pending.
const benchWindow = 100

// BenchmarkPassthroughCeiling measures the raw pipe ceiling of one bolt
// child per adapter and wire format (python-json, python-msgpack, ruby-json,
// ...): the simplest Go loop writes tuples to the passthrough reference
// component and reads back its emit and ack, with up to benchWindow tuples
// in flight so the pipe never idles. A host cannot do better than this with
// that child; squall's host aims at 90% of it (BenchmarkHost in package
// shell).
func BenchmarkPassthroughCeiling(b *testing.B) {
	base := installAdapters(b)
	for _, l := range languages {
		for _, ser := range transcript.Serializers {
			b.Run(l.name+"-"+ser, func(b *testing.B) {
				interpreter := transcript.Interpreter(b, l.interpreter)
				env := serializerEnv(b, l, interpreter, ser, base)
				benchmarkCeiling(b, []string{interpreter, l.component(b, "passthrough")}, env, ser, passthroughAnswers)
			})
		}
	}
}

// BenchmarkSplitCeiling is the ceiling of the word count's split bolt:
// the Python splitsentence reference component, which answers a sentence
// of six words with six emits and an ack. BenchmarkWordCountPython in
// package worker runs the same child in a topology.
func BenchmarkSplitCeiling(b *testing.B) {
	base := installAdapters(b)
	l := languages[0] // python
	interpreter := transcript.Interpreter(b, l.interpreter)
	env := serializerEnv(b, l, interpreter, transcript.JSON, base)
	benchmarkCeiling(b, []string{interpreter, l.component(b, "splitsentence")}, env, transcript.JSON, splitAnswers)
}

// The answers the benchmarks' components give the benchmark tuple.
var (
	passthroughAnswers = []string{
		`{"command": "emit", "tuple": ["snow white and the seven dwarfs"], "anchors": ["-6955786537413359385"], "need_task_ids": false}`,
		`{"command": "ack", "id": "-6955786537413359385"}`,
	}
	splitAnswers = func() []string {
		var out []string
		for _, w := range strings.Fields("snow white and the seven dwarfs") {
			out = append(out, `{"command": "emit", "tuple": ["`+w+`"], "anchors": ["-6955786537413359385"], "need_task_ids": false}`)
		}
		return append(out, `{"command": "ack", "id": "-6955786537413359385"}`)
	}()
)

// encode returns a JSON message in the wire format ser.
func encode(b *testing.B, ser, msg string) []byte {
	b.Helper()
	if ser == transcript.JSON {
		return []byte(msg + "\nend\n")
	}
	data, err := transcript.JSONToMsgpack([]byte(msg))
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchmarkCeiling(b *testing.B, argv, env []string, ser string, want []string) {
	p := transcript.StartProc(b, argv, b.TempDir(), env)
	r := bufio.NewReaderSize(p.Stdout, 64<<10)
	w := bufio.NewWriterSize(p.Stdin, 64<<10)
	read := func() []byte {
		b.Helper()
		var msg []byte
		var err error
		if ser == transcript.JSON {
			msg, err = transcript.ReadJSONMessage(r)
		} else {
			msg, err = transcript.MsgpackToJSON(r)
		}
		if err != nil {
			b.Fatalf("read from the child: %v (child %s, stderr %q)", err, p.Status(), p.Stderr)
		}
		return msg
	}

	handshake := fmt.Sprintf(`{"pidDir": %s, "conf": {}, "context": {"taskid": 5, "componentid": "pass", "task->component": {"5": "pass"}}}`,
		strconv.Quote(b.TempDir()))
	if _, err := p.Stdin.Write(encode(b, ser, handshake)); err != nil {
		b.Fatalf("write handshake: %v", err)
	}
	if reply := read(); transcript.MatchMessage([]byte(`{"pid": "*"}`), reply) != nil {
		b.Fatalf("pid reply %s", reply)
	}

	// A typical tuple; the first round trip checks the child's answers.
	tuple := encode(b, ser, `{"id": "-6955786537413359385", "comp": "sentences", "stream": "default", "task": 4, "tuple": ["snow white and the seven dwarfs"]}`)
	if _, err := p.Stdin.Write(tuple); err != nil {
		b.Fatalf("write tuple: %v", err)
	}
	for _, wm := range want {
		if got := read(); transcript.MatchMessage([]byte(wm), got) != nil {
			b.Fatalf("answer %s, want %s", got, wm)
		}
	}
	skip := func() error {
		if ser == transcript.Msgpack {
			return transcript.SkipMsgpack(r)
		}
		for {
			line, err := r.ReadSlice('\n')
			if err != nil {
				return err
			}
			if string(line) == "end\n" {
				return nil
			}
		}
	}

	// A hung child must not hang the benchmark: kill it when no tuple
	// completes for a while; the reads below then fail.
	var progress atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		last := int64(-1)
		tick := time.NewTicker(2 * transcript.StepTimeout)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n := progress.Load()
				if n == last {
					_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
					return
				}
				last = n
			}
		}
	}()

	b.ResetTimer()
	cpu := transcript.StartCPUMeter(p.Cmd.Process.Pid)
	sent, inFlight := 0, 0
	for done := 0; done < b.N; done++ {
		for inFlight < benchWindow && sent < b.N {
			if _, err := w.Write(tuple); err != nil {
				b.Fatalf("write tuple %d: %v", sent, err)
			}
			sent++
			inFlight++
		}
		if err := w.Flush(); err != nil {
			b.Fatalf("write tuples: %v", err)
		}
		for range want { // the emits and the ack
			if err := skip(); err != nil {
				b.Fatalf("read answer to tuple %d: %v (child %s, stderr %q)", done, err, p.Status(), p.Stderr)
			}
		}
		inFlight--
		progress.Add(1)
	}
	b.StopTimer()
	cpu.Report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
}
