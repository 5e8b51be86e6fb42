package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/squallstream/squall/internal/transcript"
)

// terminalUser plays the user of a squall command on a real terminal.
type terminalUser struct {
	t    *testing.T
	tty  *os.File // the master side
	out  *syncBuffer
	seen int // how much of out the user has read
	done chan error
}

// startOnTerminal runs squall (this test binary) with args under a new
// pseudo-terminal, in dir.
func startOnTerminal(t *testing.T, dir string, args ...string) *terminalUser {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envAsSquall+"=1")
	tty, err := pty.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	u := &terminalUser{t: t, tty: tty, out: &syncBuffer{}, done: make(chan error, 1)}
	copied := make(chan struct{})
	go func() {
		io.Copy(u.out, tty) // ends with EIO once the command is gone
		close(copied)
	}()
	go func() { u.done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		tty.Close()
		<-copied
	})
	return u
}

// expect waits until the output since the last expect matches pattern,
// and returns the match.
func (u *terminalUser) expect(pattern string) string {
	u.t.Helper()
	re := regexp.MustCompile(pattern)
	deadline := time.Now().Add(60 * time.Second)
	for {
		all := u.out.String()
		if loc := re.FindStringIndex(all[u.seen:]); loc != nil {
			match := all[u.seen+loc[0] : u.seen+loc[1]]
			u.seen += loc[1]
			return match
		}
		if time.Now().After(deadline) {
			u.t.Fatalf("no %s within 60s; the terminal shows:\n%s", pattern, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectPrompts waits for squall run's prompt and, unless attached is
// empty, the prompt of a debugger attaching to a (re)started child: the
// two come from different processes, in either order.
func (u *terminalUser) expectPrompts(prompt, attached string) {
	u.t.Helper()
	if attached == "" {
		u.expect(prompt)
		return
	}
	u.expect(`(?s)(?:` + prompt + `.*?` + attached + `|` + attached + `.*?` + prompt + `)`)
}

func (u *terminalUser) typeLine(line string) {
	u.t.Helper()
	if _, err := u.tty.Write([]byte(line + "\n")); err != nil {
		u.t.Fatal(err)
	}
}

func (u *terminalUser) exitCode() int {
	u.t.Helper()
	select {
	case err := <-u.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			u.t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		u.t.Fatalf("still running 60s after it was told to quit; the terminal shows:\n%s", u.out)
		return -1
	}
}

const debugYAML = `name: debugme
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: split
    shell: {command: [%s, %s], fields: [word]}
streams:
  - {from: words, to: split, grouping: {type: SHUFFLE}}
`

// debuggers are bolts that stop in a debugger before they emit, and
// "crash" kills, with what the user types to the debugger.
var debuggers = []struct {
	lang, interpreter, script, code string
	stopped, prompt                 string // patterns
	inspect, shows, cont            string
	// attached, if set, shows that a debugger client attached to a new
	// child (Node's node inspect): only then does it stop.
	attached string
}{
	{
		lang: "python", interpreter: "python3", script: "split.py",
		code: `import os
import storm

class Split(storm.BasicBolt):
    def process(self, tup):
        words = str(tup.values[0]).split()
        if words == ["crash"]:
            os._exit(3)
        breakpoint()
        for w in words:
            storm.emit([w])

Split().run()
`,
		stopped: `-> for w in words:`, prompt: `\(Pdb\) `,
		inspect: "p words", shows: `\['snow', 'white'\]`, cont: "c",
	},
	{
		lang: "ruby", interpreter: "ruby", script: "split.rb",
		code: `require 'storm'

class Split < Storm::BasicBolt
  def process(tup)
    words = tup.values[0].to_s.split
    exit!(3) if words == ['crash']
    binding.irb
    words.each { |w| emit([w]) }
  end
end

Split.new.run
`,
		stopped: `=> +\d+: +binding\.irb`, prompt: `irb\(#<Split:[^>]*>\):\d+:0> `,
		inspect: "words.size", shows: `=> 2`, cont: "exit",
	},
	{
		// The debug gem (Ruby's own since 3.1): its console is put on the
		// terminal, not on the protocol's stdin.
		lang: "ruby-debug", interpreter: "ruby", script: "split.rb",
		code: `require 'storm'
require 'debug'

class Split < Storm::BasicBolt
  def process(tup)
    words = tup.values[0].to_s.split
    exit!(3) if words == ['crash']
    debugger
    words.each { |w| emit([w]) }
  end
end

Split.new.run
`,
		// (\S* skips the colours' escape sequences.)
		stopped: `=>\S* +8\|\S* +debugger`, prompt: `\(rdbg\) `,
		inspect: "p words.size", shows: `=> \S*2`, cont: "c",
	},
	{
		lang: "node", interpreter: "node", script: "split.js",
		code: `const { BasicBolt } = require('storm');

class Split extends BasicBolt {
  process(tup, done) {
    const words = String(tup.values[0]).split(' ');
    if (words[0] === 'crash') process.exit(3);
    debugger;
    for (const w of words) this.emit({ tuple: [w] });
    done();
  }
}

new Split().run();
`,
		attached: `debug> `,
		stopped:  `break in .*split\.js:7`, prompt: `debug> `,
		inspect: "exec JSON.stringify(words)", shows: `\["snow","white"\]`, cont: "cont",
	},
}

// TestRunDebugsOnTerminal types a tuple to squall run on a terminal: the
// bolt stops in its debugger there; continuing it lets it emit and ack.
// A child restarted after a crash is still attached.
func TestRunDebugsOnTerminal(t *testing.T) {
	for _, d := range debuggers {
		t.Run(d.lang, func(t *testing.T) {
			transcript.Interpreter(t, d.interpreter)
			if d.lang == "ruby-debug" {
				// Ruby's bundled gem since 3.1 (Debian's libruby3.1 has it).
				if out, err := exec.Command("ruby", "-e", `Gem::Specification.find_by_name("debug")`).CombinedOutput(); err != nil {
					transcript.Missing(t, "ruby's debug gem: %v\n%s", err, out)
				}
			}
			dir := t.TempDir()
			for name, text := range map[string]string{
				"topology.yaml":         fmt.Sprintf(debugYAML, d.interpreter, d.script),
				"resources/" + d.script: d.code,
			} {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			u := startOnTerminal(t, dir, "run", "split", "--settle", "5s") // a debugger may take seconds to start under load
			u.expect(`split \(bolt, task \d+\) is ready`)
			u.expectPrompts(`split\[\d+\]> `, d.attached)
			u.typeLine(`["snow white"]`)
			u.expect(`\[\d+\] in #1 \["snow white"\]`)
			u.expect(d.stopped)
			u.expect(d.prompt)
			u.typeLine(d.inspect)
			u.expect(d.shows)
			u.expect(d.prompt)
			u.typeLine(d.cont)
			u.expect(`\[\d+\] emit default \["snow"\] anchors=#1`)
			u.expect(`\[\d+\] emit default \["white"\] anchors=#1`)
			u.expect(`\[\d+\] ack #1`)
			u.expect(`split\[\d+\]> `)

			u.typeLine("crash")
			u.expect(`\[\d+\] crashed: `)
			u.expectPrompts(`split\[\d+\]> `, d.attached)
			u.typeLine(`["after the crash"]`)
			u.expect(d.prompt)
			u.typeLine(d.cont)
			u.expect(`\[\d+\] emit default \["after"\] anchors=#3`)
			u.expect(`\[\d+\] ack #3`)
			u.expect(`split\[\d+\]> `)
			u.typeLine(":quit")
			if code := u.exitCode(); code != 0 {
				t.Errorf("squall run exited with %d; the terminal shows:\n%s", code, u.out)
			}
			// A Python traceback, a Ruby exception ("... (NameError)").
			if rubyError := regexp.MustCompile(`\(\w*(Error|Exception)\)`); strings.Contains(u.out.String(), "Traceback") || rubyError.MatchString(u.out.String()) {
				t.Errorf("an error on the terminal:\n%s", u.out)
			}
		})
	}
}

// TestLocalAttach runs a topology with squall local --attach on a
// terminal: the attached bolt stops in pdb; it is not killed for its
// silence while the debugger holds it (a 2 s liveness timeout here), and
// goes on when continued. Ctrl-C then stops the topology.
func TestLocalAttach(t *testing.T) {
	transcript.Interpreter(t, "python3")
	dir := t.TempDir()
	bolt := `import storm

stopped = False

class Split(storm.BasicBolt):
    def process(self, tup):
        global stopped
        if not stopped:
            stopped = True
            word = tup.values[0]
            breakpoint()
            storm.logWarn("continued after " + word)
        storm.emit([tup.values[0]])

Split().run()
`
	for name, text := range map[string]string{
		"topology.yaml":      fmt.Sprintf(debugYAML, "python3", "split.py"),
		"resources/split.py": bolt,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	u := startOnTerminal(t, dir, "local", "--attach", "split", "-c", "topology.subprocess.timeout.secs=2", ".")
	u.expect(`split task \d+ is attached`)
	u.expect(`\(Pdb\) `)
	// Longer than the liveness timeout: the debugger holds the child.
	time.Sleep(5 * time.Second)
	u.typeLine("p word")
	u.expect(`'\w+'`)
	u.expect(`\(Pdb\) `)
	u.typeLine("c")
	u.expect(`continued after \w+`)
	if _, err := u.tty.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	u.expect(`debugme-1-\d+ ran for `)
	if code := u.exitCode(); code != 0 {
		t.Errorf("squall local exited with %d; the terminal shows:\n%s", code, u.out)
	}
	if strings.Contains(u.out.String(), "shell child failed") {
		t.Errorf("the child was killed while the debugger held it:\n%s", u.out)
	}
}
