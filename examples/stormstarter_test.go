package examples_test

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stormStarter is a topology of storm-starter-like Node and Ruby scripts
// that load Storm's adapter from beside them, with no adapter there.
const stormStarter = "testdata/storm-starter"

// stormStarterWords counts the words of the sentences its spout emits once
// each, as the two split bolts emit them: the Node bolt's through jsCase.
func stormStarterWords(jsCase func(string) string) map[string]int64 {
	sentences := []string{
		"the cow jumped over the moon",
		"an apple a day keeps the doctor away",
		"four score and seven years ago",
		"snow white and the seven dwarfs",
		"i am at two with nature",
	}
	want := map[string]int64{}
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			want[w]++
			want[jsCase(w)]++
		}
	}
	return want
}

// runStormStarter runs the topology in dir through squall local until its
// five sentences are acked and returns the words counted.
func runStormStarter(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	needInterpreter(t, "node")
	needInterpreter(t, "ruby")
	stdout, stderr := run(t, "5 sentences acked", func(stderr string) bool {
		return progressCount(stderr, "sentences", "acked") == 5
	}, "local", dir)
	for _, c := range []string{"sentences", "split-js", "split-rb"} {
		if row := summaryRow(t, stdout, c); row["failed"] != 0 || row["errors"] != 0 {
			t.Errorf("%s: %v\nstderr:\n%s", c, row, stderr)
		}
	}
	return ranking(stdout)
}

// TestStormStarterScriptsUnchanged: scripts that load Storm's adapter as
// require('./storm') and require "./storm" run with squall's, from a
// resources directory without it, which squall local leaves as it was.
func TestStormStarterScriptsUnchanged(t *testing.T) {
	before, err := os.ReadDir(filepath.Join(stormStarter, "resources"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := runStormStarter(t, stormStarter), stormStarterWords(strings.Clone); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
	after, err := os.ReadDir(filepath.Join(stormStarter, "resources"))
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("resources/ held %d files before the run, %d after", len(before), len(after))
	}
}

// TestStormStarterShippedAdapterWins: a storm.js shipped beside the Node
// scripts is the one they load; this one upper-cases what bolts emit.
func TestStormStarterShippedAdapterWins(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(stormStarter)); err != nil {
		t.Fatal(err)
	}
	shipped := `var storm = require('storm');
var emit = storm.BasicBolt.prototype.emit;
storm.BasicBolt.prototype.emit = function(details, onTaskIds) {
    details.tuple = details.tuple.map(function(v) { return v.toUpperCase(); });
    return emit.call(this, details, onTaskIds);
};
module.exports = storm;
`
	if err := os.WriteFile(filepath.Join(dir, "resources", "storm.js"), []byte(shipped), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, want := runStormStarter(t, dir), stormStarterWords(strings.ToUpper); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
}

// TestStormStarterInheritedNodeOptions: NODE_OPTIONS that squall is run
// with reach the children beside squall's hook; this one preloads a
// script that upper-cases what bolts emit.
func TestStormStarterInheritedNodeOptions(t *testing.T) {
	upper := filepath.Join(t.TempDir(), "upper case.js")
	preload := `var storm = require('storm');
var emit = storm.BasicBolt.prototype.emit;
storm.BasicBolt.prototype.emit = function(details, onTaskIds) {
    details.tuple = details.tuple.map(function(v) { return v.toUpperCase(); });
    return emit.call(this, details, onTaskIds);
};
`
	if err := os.WriteFile(upper, []byte(preload), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NODE_OPTIONS", `--require "`+upper+`"`)
	if got, want := runStormStarter(t, stormStarter), stormStarterWords(strings.ToUpper); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
}
