package adapters

import (
	"bufio"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/transcript"
)

// BenchmarkPythonPassthroughCeiling measures the raw pipe ceiling of one
// Python bolt child: the simplest Go loop writes tuples to the passthrough
// reference component and reads back its emit and ack, with up to
// benchWindow tuples in flight so the pipe never idles. A host cannot do
// better than this with that child; squall's host aims at 90% of it.
func BenchmarkPythonPassthroughCeiling(b *testing.B) {
	const benchWindow = 100
	py := python3(b)
	env := installAdapters(b)
	script, err := filepath.Abs(filepath.Join(componentsDir, "passthrough.py"))
	if err != nil {
		b.Fatal(err)
	}
	p := startProc(b, []string{py, script}, b.TempDir(), env)
	r := bufio.NewReaderSize(p.stdout, 64<<10)
	w := bufio.NewWriterSize(p.stdin, 64<<10)

	handshake := fmt.Sprintf(`{"pidDir": %s, "conf": {}, "context": {"taskid": 5, "componentid": "pass", "task->component": {"5": "pass"}}}`,
		strconv.Quote(b.TempDir()))
	if err := writeMsg(p.stdin, []byte(handshake)); err != nil {
		b.Fatalf("write handshake: %v", err)
	}
	reply, err := readMsg(r)
	if err != nil {
		b.Fatalf("read pid reply: %v (child %s, stderr %q)", err, p.status(), p.stderr)
	}
	if err := transcript.MatchMessage([]byte(`{"pid": "*"}`), reply); err != nil {
		b.Fatalf("pid reply %s: %v", reply, err)
	}

	// A typical tuple; the first round trip checks the child's answers.
	tuple := []byte(`{"id": "-6955786537413359385", "comp": "sentences", "stream": "default", "task": 4, "tuple": ["snow white and the seven dwarfs"]}` + "\nend\n")
	want := []string{
		`{"command": "emit", "tuple": ["snow white and the seven dwarfs"], "anchors": ["-6955786537413359385"], "need_task_ids": false}`,
		`{"command": "ack", "id": "-6955786537413359385"}`,
	}
	if _, err := p.stdin.Write(tuple); err != nil {
		b.Fatalf("write tuple: %v", err)
	}
	for _, wm := range want {
		got, err := readMsg(r)
		if err != nil {
			b.Fatalf("read answer: %v (child %s, stderr %q)", err, p.status(), p.stderr)
		}
		if err := transcript.MatchMessage([]byte(wm), got); err != nil {
			b.Fatalf("answer %s: %v", got, err)
		}
	}

	// A hung child must not hang the benchmark: kill it when no tuple
	// completes for a while; the reads below then fail.
	var progress atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		last := int64(-1)
		tick := time.NewTicker(2 * stepTimeout)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n := progress.Load()
				if n == last {
					_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
					return
				}
				last = n
			}
		}
	}()

	b.ResetTimer()
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
		for range 2 { // emit and ack
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					b.Fatalf("read answer to tuple %d: %v (child %s, stderr %q)", done, err, p.status(), p.stderr)
				}
				if string(line) == "end\n" {
					break
				}
			}
		}
		inFlight--
		progress.Add(1)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
}
