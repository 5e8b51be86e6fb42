package cli

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVisualize draws the word count: DOT with every component and
// stream and its grouping on stdout, and an SVG that is well-formed XML
// naming every component.
func TestVisualize(t *testing.T) {
	svg := filepath.Join(t.TempDir(), "wc.svg")
	var stdout, stderr bytes.Buffer
	o := visualizeOptions{output: svg}
	if err := runVisualize(o, stockRegistry(io.Discard), "../../../examples/wordcount", &stdout, &stderr); err != nil {
		t.Fatalf("runVisualize: %v\n%s", err, &stderr)
	}
	dot := stdout.String()
	for _, want := range []string{
		"digraph \"wordcount\" {",
		"rankdir=LR;",
		`"sentences" [label="sentences\nspout · 1 ex\nsquall.RandomSentences", style="rounded,bold"`,
		`"split" [label="split\nbolt · 2 ex\npython3 splitsentence.py"];`,
		`"sentences" -> "split" [label="default (shuffle)"];`,
		`"split" -> "count" [label="default (fields)"];`,
		`"count" -> "top" [label="default (global)"];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("the DOT lacks %q:\n%s", want, dot)
		}
	}
	data, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed XML: %v\n%s", err, data)
		}
		if c, ok := tok.(xml.CharData); ok {
			texts = append(texts, string(c))
		}
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"sentences", "split", "count", "top", "default (fields)"} {
		if !strings.Contains(all, want) {
			t.Errorf("the SVG shows no %q", want)
		}
	}
	if got := strings.Count(string(data), `class="edge"`); got != 3 {
		t.Errorf("the SVG has %d edges, want 3", got)
	}
	if !strings.Contains(stderr.String(), "wrote "+svg) {
		t.Errorf("stderr = %q, want where the SVG went", &stderr)
	}

	// -o - writes no file; by default the file is NAME.svg here.
	wc, err := filepath.Abs("../../../examples/wordcount")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := runVisualize(visualizeOptions{output: "-"}, stockRegistry(io.Discard), wc, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("wordcount.svg"); !os.IsNotExist(err) {
		t.Errorf("with -o - a file was written: %v", err)
	}
	if err := runVisualize(visualizeOptions{}, stockRegistry(io.Discard), wc, io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("wordcount.svg"); err != nil {
		t.Errorf("no wordcount.svg by default: %v", err)
	}
}

func TestDotEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{`a "quoted" id`, `a \"quoted\" id`},
		{`back\slash`, `back\\slash`},
		{"two\nlines", "two lines"},
	}
	for _, tt := range tests {
		if got := dotEscape(tt.in); got != tt.want {
			t.Errorf("dotEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
