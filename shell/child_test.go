package shell

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/multilang"
	"github.com/squallstream/squall/topology"
)

// The test binary is also the child process: with childModeEnv set,
// TestMain runs a multilang component in Go instead of the tests.
const (
	childModeEnv      = "SHELL_TEST_CHILD"
	handshakeOutEnv   = "SHELL_TEST_HANDSHAKE_OUT"
	childCounterLimit = "squall.test.limit"
)

func TestMain(m *testing.M) {
	mode := os.Getenv(childModeEnv)
	if mode == "" {
		os.Exit(m.Run())
	}
	os.Exit(runChild(mode))
}

// testChild is the Go side of a child: a minimal multilang adapter.
type testChild struct {
	dec  *multilang.Decoder
	enc  *multilang.Encoder
	conf map[string]any
	// queued holds tuples read while waiting for task ids.
	queued []multilang.HostMessage
}

func (c *testChild) send(m multilang.Message) {
	if err := c.enc.WriteMessage(&m); err != nil {
		panic(err)
	}
	if err := c.enc.Flush(); err != nil {
		os.Exit(70)
	}
}

func (c *testChild) next() (multilang.HostMessage, bool) {
	if len(c.queued) > 0 {
		m := c.queued[0]
		c.queued = c.queued[1:]
		return m, true
	}
	var m multilang.HostMessage
	if err := c.dec.DecodeHost(&m); err != nil {
		return m, false
	}
	return m, true
}

// taskIDs reads until the host's task-id reply, keeping tuples for later.
func (c *testChild) taskIDs() []int {
	for {
		var m multilang.HostMessage
		if err := c.dec.DecodeHost(&m); err != nil {
			os.Exit(71)
		}
		if m.Kind == multilang.HostTaskIDs {
			return m.TaskIDs
		}
		c.queued = append(c.queued, m)
	}
}

func (c *testChild) emit(values []any, anchors []string, stream string, needIDs bool) {
	c.send(multilang.Message{Command: multilang.CmdEmit, Tuple: values, Anchors: anchors, Stream: stream, NeedTaskIDs: needIDs})
}

func (c *testChild) ack(id string)  { c.send(multilang.Message{Command: multilang.CmdAck, ID: id}) }
func (c *testChild) fail(id string) { c.send(multilang.Message{Command: multilang.CmdFail, ID: id}) }
func (c *testChild) sync()          { c.send(multilang.Message{Command: multilang.CmdSync}) }
func (c *testChild) log(level int, msg string) {
	c.send(multilang.Message{Command: multilang.CmdLog, Msg: msg, Level: level})
}

func runChild(mode string) int {
	c := &testChild{
		dec: multilang.NewDecoder(os.Stdin, multilang.DecoderOptions{}),
		enc: multilang.NewEncoder(os.Stdout),
	}
	switch mode {
	case "script":
		return runScript(os.Getenv(scriptEnv))
	case "failstart":
		fmt.Fprintln(os.Stderr, "Traceback (most recent call last):")
		fmt.Fprintln(os.Stderr, "ImportError: No module named 'storm'")
		return 2
	case "sleep":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return 0
	case "pidfile-sleep": // a grandchild that writes its own pid file
		signal.Ignore(syscall.SIGTERM)
		os.WriteFile(filepath.Join(os.Getenv("PIDDIR"), strconv.Itoa(os.Getpid())), nil, 0o644)
		fmt.Println("ready")
		time.Sleep(time.Hour)
		return 0
	}
	if mode == "raiseoneof" {
		signal.Ignore(syscall.SIGTERM)
	}
	var hm multilang.HostMessage
	if err := c.dec.DecodeHost(&hm); err != nil || hm.Kind != multilang.HostHandshake {
		fmt.Fprintln(os.Stderr, "bad handshake:", err)
		return 3
	}
	c.conf = hm.Handshake.Conf
	if path := os.Getenv(handshakeOutEnv); path != "" {
		b, _ := json.Marshal(hm.Handshake)
		os.WriteFile(path, b, 0o644)
	}
	if mode == "slowstart" {
		time.Sleep(time.Hour)
	}
	os.WriteFile(filepath.Join(hm.Handshake.PidDir, strconv.Itoa(os.Getpid())), nil, 0o644)
	c.send(multilang.Message{Pid: os.Getpid(), HasPid: true})

	switch mode {
	case "counterspout":
		return c.counterSpout(false)
	case "slownext":
		return c.counterSpout(true)
	case "raiseoneof":
		// Like Storm's storm.py and storm.rb: EOF on stdin raises, and the
		// exception is reported to the host before the child exits. It
		// ignores SIGTERM (from the start), so that it always gets to
		// report.
		for {
			if _, ok := c.next(); !ok { // holds every tuple, acks none
				c.send(multilang.Message{Command: multilang.CmdError, Msg: "Exception: Read EOF from stdin"})
				return 0
			}
		}
	case "flood": // 5000 lines of stderr, then a word on the protocol
		w := bufio.NewWriter(os.Stderr)
		for i := range 5000 {
			fmt.Fprintf(w, "noise %d\n", i)
		}
		w.Flush()
		c.log(multilang.LevelInfo, "flooded")
	case "setsid":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childModeEnv+"=pidfile-sleep", "PIDDIR="+hm.Handshake.PidDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			return 4
		}
		bufio.NewReader(out).ReadString('\n')
		c.log(multilang.LevelInfo, fmt.Sprintf("grandchild %d", cmd.Process.Pid))
	case "ignoreterm":
		signal.Ignore(syscall.SIGTERM)
	case "forker":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childModeEnv+"=sleep")
		if err := cmd.Start(); err != nil {
			return 4
		}
		c.log(multilang.LevelInfo, fmt.Sprintf("grandchild %d", cmd.Process.Pid))
	case "hang": // stuck: reads nothing, answers nothing
		time.Sleep(time.Hour)
	case "timedsplit":
		return c.timedSplit(os.Getenv(replyTimesEnv))
	}
	heartbeats, got := 0, 0
	var holding []string      // ids the child has not acked yet
	counts := map[any]int64{} // batchcount's tuples per request
	for {
		m, ok := c.next()
		if !ok {
			return 0 // stdin closed: exit cleanly
		}
		switch m.Kind {
		case multilang.HostHeartbeat:
			heartbeats++
			if mode == "heartbeats" {
				c.log(multilang.LevelInfo, fmt.Sprintf("heartbeat %d", heartbeats))
			}
			c.sync()
			continue
		case multilang.HostTuple:
		default:
			fmt.Fprintf(os.Stderr, "unexpected message %+v\n", m)
			return 5
		}
		t := m.Tuple
		if t.Stream == "__tick" {
			c.ack(t.ID)
			continue
		}
		switch mode {
		case "reference":
			c.reference(t)
		case "idsburst": // emits every word asking for task ids, then reads the replies
			words := strings.Fields(t.Tuple[0].(string))
			for _, w := range words {
				c.emit([]any{w}, []string{t.ID}, "", true)
			}
			for range words {
				c.taskIDs()
			}
			c.ack(t.ID)
		case "passthrough": // the adapters' passthrough bolt: one anchored emit, one ack
			c.emit(t.Tuple, []string{t.ID}, "", false)
			c.ack(t.ID)
		case "batchcount":
			c.batchCount(t, counts)
		case "crash":
			switch t.Tuple[0] {
			case "hold":
			case "crash":
				fmt.Fprintln(os.Stderr, "crashing now")
				return 1
			default:
				c.ack(t.ID)
			}
		case "stray":
			fmt.Fprintln(os.Stdout, "stray output from print()")
			c.split(t)
		case "malformed":
			fmt.Fprint(os.Stdout, "{\"command\": \"ack\", \nend\n")
		case "unknown":
			c.send(multilang.Message{Command: "dance"})
			c.send(multilang.Message{Command: "dance"})
			c.ack(t.ID)
		case "ackunknown":
			c.ack("12345")
		case "oversized":
			c.emit([]any{strings.Repeat("x", 2<<20)}, []string{t.ID}, "", false)
		case "badstream":
			c.emit([]any{"x"}, []string{t.ID}, "nope", false)
		case "neverack": // like storm-starter's splitsentence.rb fed by an unreliable spout
			if got++; got%1000 == 0 || t.Tuple[0] == "report" {
				c.log(multilang.LevelInfo, fmt.Sprintf("got %d", got))
			}
		case "batchack": // acks 150 tuples at a time
			if holding = append(holding, t.ID); len(holding) == 150 {
				for _, id := range holding {
					c.ack(id)
				}
				holding = holding[:0]
			}
		case "lateack": // holds every tuple until "ackall", then acks them all
			holding = append(holding, t.ID)
			if t.Tuple[0] == "ackall" {
				for _, id := range holding {
					c.ack(id)
				}
				holding = holding[:0]
			}
		case "blowup": // echoes its input; a small "blowup" becomes 2 MB
			v := t.Tuple[0]
			if v == "blowup" {
				v = strings.Repeat("b", 2<<20)
			}
			c.emit([]any{v}, []string{t.ID}, "", false)
			c.ack(t.ID)
		default: // split, heartbeats, forker, ignoreterm
			c.split(t)
		}
	}
}

// split is the splitsentence reference bolt: a BasicBolt.
func (c *testChild) split(t multilang.TupleMessage) {
	sentence, _ := t.Tuple[0].(string)
	if sentence == "" {
		c.fail(t.ID)
		c.send(multilang.Message{Command: multilang.CmdError, Msg: "ValueError: empty sentence"})
		return
	}
	for _, w := range strings.Fields(sentence) {
		c.emit([]any{w}, []string{t.ID}, "", false)
	}
	c.ack(t.ID)
}

// reference is the reference bolt of the transcripts.
func (c *testChild) reference(t multilang.TupleMessage) {
	anchor := []string{t.ID}
	switch t.Tuple[0] {
	case "emit":
		c.emit([]any{t.Tuple[1]}, anchor, "", false)
	case "ids":
		c.emit([]any{t.Tuple[1]}, anchor, "", true)
		ids := c.taskIDs()
		got := make([]any, len(ids))
		for i, id := range ids {
			got[i] = int64(id)
		}
		c.emit([]any{got}, anchor, "", false)
	case "direct":
		task, _ := t.Tuple[1].(int64)
		c.send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{t.Tuple[2]}, Anchors: anchor, Direct: true, Task: int(task), Stream: "direct"})
	case "stream":
		c.emit([]any{t.Tuple[2]}, anchor, t.Tuple[1].(string), false)
	case "fail":
		c.fail(t.ID)
		return
	case "log":
		level, _ := t.Tuple[1].(int64)
		c.log(int(level), t.Tuple[2].(string))
	case "error":
		c.send(multilang.Message{Command: multilang.CmdError, Msg: t.Tuple[1].(string)})
	case "metric":
		c.send(multilang.Message{Command: multilang.CmdMetrics, Name: t.Tuple[1].(string), Params: t.Tuple[2]})
	case "print":
		c.log(multilang.LevelInfo, t.Tuple[1].(string))
	}
	c.ack(t.ID)
}

// batchCount is the batchcount reference bolt: a plain Bolt with the
// finish hook of a DRPC chain, whose emits the adapters anchor to the
// finish tuple.
func (c *testChild) batchCount(t multilang.TupleMessage, counts map[any]int64) {
	request := t.Tuple[0]
	if t.Stream != topology.FinishBatchStream || t.Task != topology.SystemTaskID {
		counts[request]++
		c.ack(t.ID)
		return
	}
	if request == "boom" {
		c.fail(t.ID)
		c.send(multilang.Message{Command: multilang.CmdError, Msg: "boom: the finish hook raised"})
		return
	}
	c.emit([]any{request, counts[request]}, []string{t.ID}, "", false)
	delete(counts, request)
	c.ack(t.ID)
}

// counterSpout is the counterspout reference spout; with hang, it never
// answers next.
func (c *testChild) counterSpout(hang bool) int {
	limit := int64(3)
	if l, ok := c.conf[childCounterLimit].(int64); ok {
		limit = l
	}
	var n int64
	var replay []any
	for {
		m, ok := c.next()
		if !ok {
			return 0
		}
		if m.Kind != multilang.HostCommand {
			fmt.Fprintf(os.Stderr, "spout got %+v\n", m)
			return 5
		}
		switch m.Command {
		case "next":
			if hang {
				c.log(multilang.LevelInfo, "hanging in next")
				time.Sleep(time.Hour)
			}
			switch {
			case len(replay) > 0:
				id := replay[0]
				replay = replay[1:]
				c.send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{id}, ID: id})
			case n < limit:
				c.send(multilang.Message{Command: multilang.CmdEmit, Tuple: []any{n}, ID: n})
				n++
			}
		case "fail":
			replay = append(replay, m.ID)
		case "activate":
			c.log(multilang.LevelInfo, "activated")
		case "deactivate":
			c.log(multilang.LevelInfo, "deactivated")
		}
		c.sync()
	}
}
