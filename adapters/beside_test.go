package adapters

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
)

// besideCase is a script run with the preload hooks, the files beside it,
// and what it must print (each line of want, in order, in its output).
type besideCase struct {
	name   string
	script string            // file name of the script run
	files  map[string]string // relative to the working directory
	want   []string
	fails  bool // the script exits non-zero
}

// TestNodeStormBeside runs Node scripts that load Storm's adapter from
// beside them, with and without the file there, and checks that the hook
// changes nothing else.
func TestNodeStormBeside(t *testing.T) {
	mine := "module.exports = { OWNER: 'shipped' };\n"
	whose := "console.log(require('./storm').OWNER || 'squall', require.resolve('./storm'));\n"
	runBeside(t, "node", []besideCase{
		{name: "served when missing", script: "s.js", files: map[string]string{"s.js": whose},
			want: []string{"squall $INSTALLED/node/storm.js"}},
		{name: "with extension, one module with require('storm')", script: "s.js", files: map[string]string{
			"s.js": "console.log(require('./storm.js') === require('storm'), typeof require('./storm').BasicBolt);\n"},
			want: []string{"true function"}},
		{name: "shipped storm.js wins", script: "s.js", files: map[string]string{"s.js": whose, "storm.js": mine},
			want: []string{"shipped $WORK/storm.js"}},
		{name: "beside a script in a subdirectory", script: "lib/s.js", files: map[string]string{
			"lib/s.js": whose, "storm.js": mine}, want: []string{"squall $INSTALLED/node/storm.js"}},
		{name: "node_modules/storm unchanged", script: "s.js", files: map[string]string{
			"s.js":                  "console.log(require('storm').OWNER);\n",
			"node_modules/storm.js": mine}, want: []string{"shipped"}},
		{name: "shipped storm.js failing inside is not masked", script: "s.js", files: map[string]string{
			"s.js": whose, "storm.js": "require('./missing-dep');\n"},
			want: []string{"Cannot find module './missing-dep'"}, fails: true},
		{name: "other relative loads unchanged", script: "s.js", files: map[string]string{"s.js": "require('./other');\n"},
			want: []string{"Cannot find module './other'"}, fails: true},
		{name: "storm in another directory unchanged", script: "s.js", files: map[string]string{"s.js": "require('./lib/storm');\n"},
			want: []string{"Cannot find module './lib/storm'"}, fails: true},
		{name: "ESM imports unchanged", script: "s.mjs", files: map[string]string{"s.mjs": "import './storm.js';\n"},
			want: []string{"ERR_MODULE_NOT_FOUND"}, fails: true},
	})
}

// TestRubyStormBeside is TestNodeStormBeside for Ruby: require "./storm" is
// relative to the working directory, require_relative to the script.
func TestRubyStormBeside(t *testing.T) {
	mine := "STORM_OWNER = 'shipped'\n"
	whose := "puts \"#{defined?(STORM_OWNER) ? STORM_OWNER : 'squall'} #{$LOADED_FEATURES.grep(/storm\\.rb$/).join(' ')}\"\n"
	runBeside(t, "ruby", []besideCase{
		{name: "served when missing", script: "s.rb", files: map[string]string{"s.rb": "require \"./storm\"\n" + whose},
			want: []string{"squall $INSTALLED/ruby/storm.rb"}},
		{name: "require_relative served", script: "lib/s.rb", files: map[string]string{
			"lib/s.rb": "require_relative 'storm'\np Storm::BasicBolt\n" + whose},
			want: []string{"Storm::BasicBolt", "squall $INSTALLED/ruby/storm.rb"}},
		{name: "one adapter whichever way it is loaded", script: "s.rb", files: map[string]string{
			"s.rb": "require './storm.rb'\nrequire_relative './storm'\nrequire 'storm'\n" + whose},
			want: []string{"squall $INSTALLED/ruby/storm.rb"}},
		{name: "shipped storm.rb wins", script: "s.rb", files: map[string]string{
			"s.rb": "require \"./storm\"\n" + whose, "storm.rb": mine},
			want: []string{"shipped $WORK/storm.rb"}},
		{name: "require_relative of a shipped storm.rb wins", script: "lib/s.rb", files: map[string]string{
			"lib/s.rb": "require_relative 'storm'\n" + whose, "lib/storm.rb": mine},
			want: []string{"shipped $WORK/lib/storm.rb"}},
		{name: "shipped storm.rb failing inside is not masked", script: "s.rb", files: map[string]string{
			"s.rb": "require './storm'\n", "storm.rb": "require './missing_dep'\n"},
			want: []string{"cannot load such file -- ./missing_dep (LoadError)"}, fails: true},
		{name: "other relative loads unchanged", script: "s.rb", files: map[string]string{"s.rb": "require './other'\n"},
			want: []string{"cannot load such file -- ./other (LoadError)"}, fails: true},
		{name: "other require_relative unchanged", script: "s.rb", files: map[string]string{
			"s.rb": "require_relative 'lib/other'\n", "lib/other.rb": "require_relative 'sibling'\nputs SIBLING\n",
			"lib/sibling.rb": "SIBLING = 'sibling'\n"}, want: []string{"sibling"}},
		{name: "other require_relative errors unchanged", script: "s.rb", files: map[string]string{"s.rb": "require_relative 'other'\n"},
			want: []string{"cannot load such file -- $WORK/other (LoadError)"}, fails: true},
	})
}

func runBeside(t *testing.T, interpreter string, cases []besideCase) {
	bin := transcript.Interpreter(t, interpreter)
	// A space in the path tests the quoting of NODE_OPTIONS.
	installed := filepath.Join(t.TempDir(), "squall adapters")
	if interpreter == "ruby" {
		installed = filepath.Join(t.TempDir(), "adapters")
	}
	env, err := Install(installed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			work, err := filepath.EvalSymlinks(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			for name, text := range tc.files {
				p := filepath.Join(work, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.CommandContext(t.Context(), bin, tc.script)
			cmd.Dir = work
			cmd.Env = env.Apply(childEnv())
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.fails {
				t.Fatalf("%s %s: err = %v, want failure %v; output:\n%s", interpreter, tc.script, err, tc.fails, out)
			}
			rest := string(out)
			for _, w := range tc.want {
				w = strings.NewReplacer("$INSTALLED", installed, "$WORK", work).Replace(w)
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("%s %s printed:\n%s\nwant %q", interpreter, tc.script, out, w)
				}
				rest = rest[i+len(w):]
			}
			// Ruby's backtraces do not show the hook; Node's stacks show
			// its one frame, but not as where an error was thrown (the
			// first line of Node's report).
			shown := string(out)
			if interpreter == "node" {
				shown, _, _ = strings.Cut(shown, "\n")
			}
			if strings.Contains(shown, "beside/") {
				t.Errorf("%s %s output names the hook:\n%s", interpreter, tc.script, out)
			}
		})
	}
}
