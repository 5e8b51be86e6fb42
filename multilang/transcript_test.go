package multilang

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
)

// TestTranscriptsDecode decodes every message of every transcript, both
// directions, and checks that what the host sends re-encodes to a message
// that decodes the same.
func TestTranscriptsDecode(t *testing.T) {
	ts := allTranscripts(t)
	for _, tr := range ts {
		t.Run(tr.Name, func(t *testing.T) {
			for _, step := range tr.Steps {
				switch step.Kind {
				case transcript.Send:
					var m HostMessage
					if err := NewDecoder(strings.NewReader(string(step.JSON)+"\nend\n"), DecoderOptions{}).DecodeHost(&m); err != nil {
						t.Fatalf("line %d: DecodeHost: %v", step.Line, err)
					}
					again := reencodeHost(t, &m)
					if !reflect.DeepEqual(again, m) {
						t.Errorf("line %d: host message %+v re-encodes to %+v", step.Line, m, again)
					}
				case transcript.Expect:
					if bytes.Contains(step.JSON, []byte(`"*"`)) {
						continue // a pattern, not a message
					}
					var m Message
					if err := NewDecoder(strings.NewReader(string(step.JSON)+"\nend\n"), DecoderOptions{}).Decode(&m); err != nil {
						t.Errorf("line %d: Decode: %v", step.Line, err)
					}
				}
			}
		})
	}
}

func reencodeHost(t *testing.T, m *HostMessage) HostMessage {
	t.Helper()
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	var err error
	switch m.Kind {
	case HostHandshake:
		err = e.WriteHandshake(m.Handshake)
	case HostTuple:
		err = e.WriteTuple(&m.Tuple)
	case HostHeartbeat:
		err = e.WriteHeartbeat(m.Tuple.ID)
	case HostCommand:
		err = writeHostCommand(e, m)
	case HostTaskIDs:
		err = e.WriteTaskIDs(m.TaskIDs)
	}
	if err != nil {
		t.Fatal(err)
	}
	e.Flush()
	var again HostMessage
	if err := NewDecoder(&buf, DecoderOptions{}).DecodeHost(&again); err != nil {
		t.Fatalf("decoding %q: %v", buf.String(), err)
	}
	return again
}

// allTranscripts parses the transcripts every adapter replays: the protocol's
// and the state extension's (testdata/transcripts/state).
func allTranscripts(t *testing.T) []*transcript.Transcript {
	t.Helper()
	var all []*transcript.Transcript
	for _, dir := range []string{"testdata/transcripts", "testdata/transcripts/state"} {
		ts, err := transcript.ParseDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 0 {
			t.Fatalf("no transcripts in %s", dir)
		}
		all = append(all, ts...)
	}
	return all
}

// writeHostCommand writes a host's command message: a spout command or a
// message of the state extension.
func writeHostCommand(w Writer, m *HostMessage) error {
	switch m.Command {
	case CmdStateValues, CmdStateItems:
		return w.WriteStateReply(m.Command, m.Items, m.More)
	case CmdStateReset:
		return w.WriteStateReset(m.TxID)
	}
	return w.WriteCommand(m.Command, m.ID)
}
