package shell

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
	"github.com/squallstream/squall/topology"
)

// The host side of the transcripts of the state extension: the test
// binary, as a child, plays the child's side of a transcript (its "<"
// lines, with the host's tuple ids put in), and checks each ">" line
// against what the real host sends; the test drives the host's input
// and resets when the child has reached them.

// scriptEnv names the transcript the "script" test child plays.
const scriptEnv = "SHELL_TEST_SCRIPT"

// stateTranscripts is where the transcripts of the state extension are.
var stateTranscripts = filepath.Join("..", "multilang", "testdata", "transcripts", "state")

func TestStateTranscriptsHost(t *testing.T) {
	ts, err := transcript.ParseDir(stateTranscripts)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) == 0 {
		t.Fatalf("no transcripts in %s", stateTranscripts)
	}
	// One item per state_items reply, so that a state of two keys streams
	// in two replies as the transcripts show.
	defer func(n int) { stateItemsPerReply = n }(stateItemsPerReply)
	stateItemsPerReply = 1
	for _, tr := range ts {
		t.Run(tr.Name, func(t *testing.T) {
			checkLeaks(t)
			path, err := filepath.Abs(tr.Path)
			if err != nil {
				t.Fatal(err)
			}
			f := startCounter(t, childSpec("script", scriptEnv+"="+path), stateTopology(true, "word", "count"), nil)
			f.bolt.OpenState(newLockedState(t))
			tuples := 0
			for _, st := range tr.Steps {
				if st.Kind != transcript.Send {
					continue
				}
				var m map[string]any
				if err := json.Unmarshal(st.JSON, &m); err != nil {
					t.Fatalf("line %d: %v", st.Line, err)
				}
				switch {
				case m["tuple"] != nil && m["stream"] != "__heartbeat":
					waitStep(t, f, fmt.Sprintf("transcript step %d ", st.Line))
					f.bolt.Execute(transcriptTuple(m))
					tuples++
				case m["command"] == "state_reset":
					waitStep(t, f, fmt.Sprintf("transcript step %d ", st.Line))
					if err := f.bolt.ResetState(int64(m["txid"].(float64))); err != nil {
						t.Fatalf("line %d: %v", st.Line, err)
					}
				}
			}
			waitStep(t, f, "transcript done")
			_, acked, failed, errs := f.rec.snapshot()
			if len(acked) != tuples || len(failed) != 0 || len(errs) != 0 {
				t.Errorf("acked %d of %d tuples, failed %v, errors %v", len(acked), tuples, values(failed), errs)
			}
		})
	}
}

// waitStep waits until the script child logs what, and fails the test
// at once if the child failed: the host did not follow the transcript.
func waitStep(t *testing.T, f *boltFixture, what string) {
	t.Helper()
	waitUntil(t, patience, "the child to log "+what, func() bool {
		if h := f.bolt.Health(); h.Failures != 0 {
			t.Fatalf("the host did not follow the transcript: %v", h.LastError)
		}
		return len(f.logs.matching(what)) > 0
	})
}

// transcriptTuple is the input tuple a transcript's line shows.
func transcriptTuple(m map[string]any) topology.Tuple {
	vals := m["tuple"].([]any)
	fields := make([]string, len(vals))
	for i := range vals {
		fields[i] = "f" + strconv.Itoa(i)
	}
	src := &topology.Source{Component: m["comp"].(string), Task: int(m["task"].(float64)), Stream: m["stream"].(string), Fields: topology.NewFields(fields...)}
	return topology.NewTuple(src, vals, nil)
}

// runScript plays the child's side of the transcript at path. A host
// message that does not match ends it with status 9 and the difference
// on stderr, which the host reports.
func runScript(path string) int {
	tr, err := transcript.ParseFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 8
	}
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	write := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			panic(err)
		}
		out.Write(b)
		out.WriteString("\nend\n")
		out.Flush()
	}
	logf := func(format string, args ...any) {
		write(map[string]any{"command": "log", "msg": fmt.Sprintf(format, args...), "level": 2})
	}
	// read returns the host's next message but heartbeats, which it
	// answers; ok is false at the end of the input.
	read := func() (map[string]any, bool) {
		for {
			var text []byte
			for {
				line, err := in.ReadBytes('\n')
				if err != nil {
					return nil, false
				}
				if string(line) == "end\n" {
					break
				}
				text = append(text, line...)
			}
			v, err := transcript.Decode(text)
			if err != nil {
				fmt.Fprintf(os.Stderr, "undecodable host message %s: %v\n", text, err)
				os.Exit(9)
			}
			m, _ := v.(map[string]any)
			if m != nil && m["stream"] == "__heartbeat" {
				write(map[string]any{"command": "sync"})
				continue
			}
			return m, true
		}
	}
	mismatch := func(line int, format string, args ...any) int {
		fmt.Fprintf(os.Stderr, "%s line %d: %s\n", tr.Name, line, fmt.Sprintf(format, args...))
		return 9
	}
	ids := map[string]any{} // transcript tuple id -> the host's
	pidDir := ""
	started := false
	for i := 0; i < len(tr.Steps); i++ {
		st := tr.Steps[i]
		switch st.Kind {
		case transcript.Send:
			v, _ := transcript.Decode(st.JSON)
			want, _ := v.(map[string]any)
			if started {
				logf("transcript step %d ", st.Line)
			}
			if want["command"] == "state_items" {
				// The host streams the state in its own order: compare the
				// replies' items as a set, and their number.
				var wantItems, gotItems []string
				parts := 0
				for ; ; i++ {
					w, _ := transcript.Decode(tr.Steps[i].JSON)
					wm := w.(map[string]any)
					wantItems = append(wantItems, texts(wm["items"])...)
					parts++
					if wm["more"] != true {
						break
					}
				}
				for n := 0; ; n++ {
					got, ok := read()
					if !ok {
						return mismatch(st.Line, "the host closed stdin")
					}
					if got["command"] != "state_items" {
						return mismatch(st.Line, "got %v, want state_items reply %d of %d", got, n+1, parts)
					}
					gotItems = append(gotItems, texts(got["items"])...)
					if got["more"] != true {
						if n+1 != parts {
							return mismatch(st.Line, "state_items in %d replies, want %d", n+1, parts)
						}
						break
					}
				}
				slices.Sort(wantItems)
				slices.Sort(gotItems)
				if !slices.Equal(wantItems, gotItems) {
					return mismatch(st.Line, "state_items streamed %v, want %v", gotItems, wantItems)
				}
				continue
			}
			got, ok := read()
			if !ok {
				return mismatch(st.Line, "the host closed stdin")
			}
			switch {
			case want["pidDir"] != nil:
				pidDir, _ = got["pidDir"].(string)
				wc, gc := want["context"].(map[string]any), got["context"].(map[string]any)
				for _, k := range []string{"componentid", "squall"} {
					if err := transcript.Match(wc[k], gc[k]); err != nil {
						return mismatch(st.Line, "handshake context %s: %v", k, err)
					}
				}
			case want["tuple"] != nil:
				for _, k := range []string{"comp", "stream", "task", "tuple"} {
					if err := transcript.Match(want[k], got[k]); err != nil {
						return mismatch(st.Line, "tuple %s: %v", k, err)
					}
				}
				ids[want["id"].(string)] = got["id"]
			default:
				if err := transcript.Match(want, got); err != nil {
					return mismatch(st.Line, "%v (got %v)", err, got)
				}
			}
		case transcript.Expect:
			v, _ := transcript.Decode(st.JSON)
			m := v.(map[string]any)
			if m["pid"] == "*" {
				m["pid"] = os.Getpid()
				os.WriteFile(filepath.Join(pidDir, strconv.Itoa(os.Getpid())), nil, 0o644)
				started = true
			}
			if id, ok := m["id"].(string); ok && ids[id] != nil {
				m["id"] = ids[id]
			}
			if anchors, ok := m["anchors"].([]any); ok {
				for j, a := range anchors {
					if s, ok := a.(string); ok && ids[s] != nil {
						anchors[j] = ids[s]
					}
				}
			}
			write(m)
		}
	}
	logf("transcript done")
	for {
		if _, ok := read(); !ok {
			return 0
		}
	}
}

// texts renders a reply's items as JSON text, one per item.
func texts(items any) []string {
	var out []string
	list, _ := items.([]any)
	for _, it := range list {
		b, _ := json.Marshal(it)
		out = append(out, string(b))
	}
	return out
}
