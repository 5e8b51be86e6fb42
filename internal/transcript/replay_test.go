package transcript

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The test binary is also the child Replay runs: with childEnv set to a
// serializer (and ",broken"), TestMain runs a component that acks every
// tuple, answers heartbeats with sync and exits at the end of its input; a
// broken one acks with the wrong id.
const (
	childEnv      = "TRANSCRIPT_TEST_CHILD"
	expectFailEnv = "TRANSCRIPT_TEST_EXPECT_FAIL"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	os.Exit(m.Run())
}

func runChild(mode string) int {
	ser, broken := strings.CutSuffix(mode, ",broken")
	r := bufio.NewReader(os.Stdin)
	read := func() (any, error) {
		if ser == Msgpack {
			return ReadMsgpack(r)
		}
		text, err := ReadJSONMessage(r)
		if err != nil {
			return nil, err
		}
		return Decode(text)
	}
	write := func(m map[string]any) {
		if ser == Msgpack {
			b, _ := AppendMsgpack(nil, m)
			os.Stdout.Write(b)
			return
		}
		b, _ := json.Marshal(m)
		WriteJSONMessage(os.Stdout, b)
	}
	hs, err := read()
	if err != nil {
		return 2
	}
	pidDir, _ := hs.(map[string]any)["pidDir"].(string)
	os.WriteFile(filepath.Join(pidDir, strconv.Itoa(os.Getpid())), nil, 0o644)
	write(map[string]any{"pid": os.Getpid()})
	for {
		v, err := read()
		if err != nil {
			return 0
		}
		m, _ := v.(map[string]any)
		switch {
		case m["stream"] == "__heartbeat":
			write(map[string]any{"command": "sync"})
		case broken:
			write(map[string]any{"command": "ack", "id": "wrong"})
		default:
			write(map[string]any{"command": "ack", "id": m["id"]})
		}
	}
}

const ackerTranscript = `component: acker
> {"pidDir": "$PIDDIR", "conf": {}, "context": {"taskid": 1}}
< {"pid": "*"}
pidfile
> {"id": "7", "comp": "s", "stream": "default", "task": 2, "tuple": ["snö", 1.5, [1, {"k": null}]]}
< {"command": "ack", "id": "7"}
> {"id": "8", "comp": null, "stream": "__heartbeat", "task": -1, "tuple": []}
< {"command": "sync"}
> EOF
exit: 0
`

func replayChild(t *testing.T, mode string) {
	tr, err := Parse(strings.NewReader(ackerTranscript), "acker.txt")
	if err != nil {
		t.Fatal(err)
	}
	ser, _ := strings.CutSuffix(mode, ",broken")
	Replay(t, tr, Child{
		Argv:       []string{os.Args[0]},
		Env:        append(os.Environ(), childEnv+"="+mode),
		Serializer: ser,
	})
}

func TestReplay(t *testing.T) {
	for _, ser := range Serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			replayChild(t, ser)
		})
	}
}

// TestReplayFailing is run by TestReplayReportsDifferences, in a test
// process of its own, against a broken child: it must fail.
func TestReplayFailing(t *testing.T) {
	mode := os.Getenv(expectFailEnv)
	if mode == "" {
		t.Skip("run by TestReplayReportsDifferences")
	}
	replayChild(t, mode)
}

func TestReplayReportsDifferences(t *testing.T) {
	for _, ser := range Serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestReplayFailing$", "-test.v")
			cmd.Env = append(os.Environ(), expectFailEnv+"="+ser+",broken")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("replaying against a broken child passed:\n%s", out)
			}
			for _, want := range []string{
				"acker.txt:6: < {\"command\": \"ack\", \"id\": \"7\"}",
				`message does not match: $.id: got "wrong", want "7"`,
				`< {"command":"ack","id":"wrong"}`,
				"child: still running",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("the report lacks %q:\n%s", want, out)
				}
			}
		})
	}
}

func TestCPUTime(t *testing.T) {
	if _, ok := CPUTime(os.Getpid()); !ok {
		t.Skip("no /proc here")
	}
	if _, ok := CPUTime(-1); ok {
		t.Error("CPUTime(-1) succeeded")
	}
	if SelfCPUTime() <= 0 {
		t.Error("SelfCPUTime() <= 0")
	}
}
