package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/cmd/squall/cli"
	"github.com/squallstream/squall/internal/transcript"
)

const splitTopology = `name: fixtures
spouts:
  - id: sentences
    go: squall.RandomSentences
    args: {field: sentence}
bolts:
  - id: split
    shell: {command: [python3, split.py], fields: [word]}
streams:
  - {from: sentences, to: split, grouping: {type: SHUFFLE}}
`

const splitScript = `import storm

class Split(storm.BasicBolt):
    def process(self, t):
        for w in t.values[0].split():
            storm.emit([w])

Split().run()
`

// TestTestCommand records a bolt's behaviour with --update, checks it,
// then changes the bolt and sees the difference reported.
func TestTestCommand(t *testing.T) {
	transcript.Interpreter(t, "python3")
	dir := writeTopology(t, splitTopology)
	script := filepath.Join(dir, "resources", "split.py")
	if err := os.WriteFile(script, []byte(splitScript), 0o644); err != nil {
		t.Fatal(err)
	}
	fixtures := filepath.Join(dir, "split.jsonl")
	if err := os.WriteFile(fixtures, []byte("[\"a b\"]\n# a comment\n[\"c\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	squall := func(args ...string) (string, string, int) {
		var stdout, stderr bytes.Buffer
		code := cli.Main(t.Context(), append([]string{"test", "-t", dir}, args...), &stdout, &stderr)
		return stdout.String(), stderr.String(), code
	}

	if _, stderr, code := squall("split", "--fixtures", fixtures); code == 0 || !strings.Contains(stderr, "record them with --update") {
		t.Errorf("squall test without expected results = exit %d, %q", code, stderr)
	}
	if out, stderr, code := squall("split", "--fixtures", fixtures, "--update"); code != 0 || !strings.Contains(out, "with 2 inputs") {
		t.Fatalf("squall test --update = exit %d\n%s%s", code, out, stderr)
	}
	expected, err := os.ReadFile(filepath.Join(dir, "split.expected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"in":["a b"],"emit":[{"tuple":["a"],"anchors":[1]},{"tuple":["b"],"anchors":[1]}],"ack":[1]}
{"in":["c"],"emit":[{"tuple":["c"],"anchors":[2]}],"ack":[2]}
`
	if string(expected) != want {
		t.Errorf("split.expected.jsonl =\n%s\nwant\n%s", expected, want)
	}
	if out, stderr, code := squall("split", "--fixtures", fixtures); code != 0 || !strings.Contains(out, "2 inputs, all as expected") {
		t.Fatalf("squall test = exit %d\n%s%s", code, out, stderr)
	}

	// The bolt changes: it upper-cases its words.
	if err := os.WriteFile(script, []byte(strings.Replace(splitScript, "storm.emit([w])", "storm.emit([w.upper()])", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := squall("split", "--fixtures", fixtures)
	if code != 1 {
		t.Errorf("squall test of a changed bolt = exit %d, want 1", code)
	}
	for _, w := range []string{
		`step 2, in ["c"]:`,
		`  - {"in":["c"],"emit":[{"tuple":["c"],"anchors":[2]}],"ack":[2]}`,
		`  + {"in":["c"],"emit":[{"tuple":["C"],"anchors":[2]}],"ack":[2]}`,
		`emit[0]: want {"tuple":["c"],"anchors":[2]}, got {"tuple":["C"],"anchors":[2]}`,
	} {
		if !strings.Contains(out, w) {
			t.Errorf("squall test of a changed bolt printed:\n%s\nwant a line with %q", out, w)
		}
	}

	// Fixture mistakes name the line.
	if err := os.WriteFile(fixtures, []byte("[\"a b\"]\n\"next\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := squall("split", "--fixtures", fixtures); code == 0 || !strings.Contains(stderr, `line 2: next is for a spout, and "split" is a bolt`) {
		t.Errorf("squall test with a spout command for a bolt = exit %d, %q", code, stderr)
	}
}
