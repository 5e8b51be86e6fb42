package adapters

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/squallstream/squall/internal/transcript"
)

// The adapters are packages of their own, installable without squall, so
// that components can be unit-tested with the harnesses they ship. These
// tests build and install each one offline, as a user would, into a fresh
// place, and run a unit test that uses the installed harness from outside
// the repository.

// userBolt is a component as a user writes it, with a unit test beside it:
// the source of each for every language.
var userBolt = map[string]struct{ component, test string }{
	"python": {
		component: `import storm

class Upper(storm.BasicBolt):
    def process(self, tup):
        storm.emit([tup.values[0].upper()])

if __name__ == "__main__":
    Upper().run()
`,
		test: `import os, sys, unittest
import storm, storm_testing
from upper import Upper

class UpperTest(unittest.TestCase):
    def test_upper(self):
        with storm_testing.BoltHarness(Upper()) as bolt:
            out = bolt.process(["snow"])
            self.assertEqual(out.values(), [["SNOW"]])
            self.assertEqual(out.acked, [out.id])

    def test_installed(self):
        self.assertTrue(storm.__file__.startswith(os.environ["WANT_PREFIX"]), storm.__file__)

if __name__ == "__main__":
    unittest.main()
`,
	},
	"node": {
		component: `'use strict';
const { BasicBolt } = require('storm');

class Upper extends BasicBolt {
  process(tup, done) {
    this.emit({ tuple: [tup.values[0].toUpperCase()] });
    done();
  }
}

if (require.main === module) new Upper().run();
module.exports = Upper;
`,
		test: `'use strict';
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { BoltHarness } = require('storm/testing');
const Upper = require('./upper.js');

test('upper', async () => {
  const bolt = new BoltHarness(new Upper());
  try {
    const out = await bolt.process(['snow']);
    assert.deepEqual(out.values(), [['SNOW']]);
    assert.deepEqual(out.acked, [out.id]);
  } finally {
    await bolt.close();
  }
});

test('installed', () => {
  assert.ok(require.resolve('storm').startsWith(process.env.WANT_PREFIX), require.resolve('storm'));
});
`,
	},
	"ruby": {
		component: `require 'storm'

class Upper < Storm::BasicBolt
  def process(tup)
    emit([tup.values[0].upcase])
  end
end

Upper.new.run if $PROGRAM_NAME == __FILE__
`,
		test: `require 'minitest/autorun'
require 'storm/testing'
require_relative 'upper'

class UpperTest < Minitest::Test
  def test_upper
    Storm::Testing::BoltHarness.open(Upper.new) do |bolt|
      out = bolt.process(['snow'])
      assert_equal [['SNOW']], out.values
      assert_equal [out.id], out.acked
    end
  end

  def test_installed
    path = $LOADED_FEATURES.find { |f| f.end_with?('/storm.rb') }
    assert path.start_with?(ENV.fetch('WANT_PREFIX')), path
  end
end
`,
	},
}

// writeUserProject writes a language's user component and its test into a
// fresh directory, outside the repository.
func writeUserProject(t *testing.T, lang, componentFile, testFile string) string {
	t.Helper()
	dir := t.TempDir()
	src := userBolt[lang]
	for name, text := range map[string]string{componentFile: src.component, testFile: src.test} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPythonPackage installs adapters/python with pip into a fresh venv,
// offline (a venv has pip and setuptools but no wheel, and PyPI is out of
// reach), as a wheel and then editable, and runs a unit test against each.
func TestPythonPackage(t *testing.T) {
	py := transcript.Interpreter(t, "python3")
	pkg, err := filepath.Abs("python")
	if err != nil {
		t.Fatal(err)
	}
	venv := filepath.Join(t.TempDir(), "venv")
	env := childEnv("PIP_NO_INPUT=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INDEX=1", "PIP_FIND_LINKS=")
	// A venv's own pip comes from ensurepip, which takes a minute on a
	// busy machine; the interpreter's pip (the same pip 23) installs into
	// a venv without one as well (pip --python), with even less around:
	// no setuptools either.
	pip := []string{filepath.Join(venv, "bin", "pip")}
	if exec.Command(py, "-m", "pip", "--version").Run() == nil {
		runSuite(t, ".", env, py, "-m", "venv", "--without-pip", venv)
		pip = []string{py, "-m", "pip", "--python", filepath.Join(venv, "bin", "python")}
	} else {
		runSuite(t, ".", env, py, "-m", "venv", venv)
	}
	project := writeUserProject(t, "python", "upper.py", "test_upper.py")
	for _, mode := range []struct {
		name string
		args []string
		// where storm.py must be imported from
		prefix string
	}{
		{"wheel", []string{pkg}, venv},
		{"editable", []string{"-e", pkg}, pkg},
	} {
		t.Run(mode.name, func(t *testing.T) {
			out := runSuite(t, ".", env, slices.Concat(pip, []string{"install"}, mode.args)...)
			if !strings.Contains(string(out), "Successfully installed squall-storm-0.1.0") {
				t.Fatalf("pip install %v:\n%s", mode.args, out)
			}
			out = runSuite(t, project, append(env, "WANT_PREFIX="+mode.prefix),
				filepath.Join(venv, "bin", "python"), "-m", "unittest", "-v")
			if !regexp.MustCompile(`(?m)^Ran 2 tests in .*\n\nOK`).Match(out) {
				t.Fatalf("unittest against the installed package:\n%s", out)
			}
			runSuite(t, ".", env, slices.Concat(pip, []string{"uninstall", "-y", "squall-storm"})...)
		})
	}
}

// TestNodePackage packs adapters/node with npm and installs the tarball
// offline under the name components require, storm, then runs node --test.
func TestNodePackage(t *testing.T) {
	node := transcript.Interpreter(t, "node")
	npm := transcript.Interpreter(t, "npm")
	packs := t.TempDir()
	env := childEnv("npm_config_cache="+filepath.Join(t.TempDir(), "npm-cache"), "npm_config_update_notifier=false")
	out := runSuite(t, "node", env, npm, "pack", "--silent", "--pack-destination", packs)
	tarball := filepath.Join(packs, strings.TrimSpace(string(out)))
	if _, err := os.Stat(tarball); err != nil {
		t.Fatalf("npm pack printed %q: %v", out, err)
	}
	project := writeUserProject(t, "node", "upper.js", "upper.test.js")
	if err := os.WriteFile(filepath.Join(project, "package.json"), []byte(`{"name": "user-project", "version": "1.0.0", "private": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	runSuite(t, project, env, npm, "install", "--offline", "--no-audit", "--no-fund", "--save-dev", "storm@file:"+tarball)
	out = runSuite(t, project, append(env, "WANT_PREFIX="+filepath.Join(project, "node_modules", "storm")+"/"),
		node, "--test", "--test-reporter=tap", "upper.test.js")
	if !regexp.MustCompile(`(?m)^# pass 2$`).Match(out) {
		t.Fatalf("node --test against the installed package:\n%s", out)
	}
}

// TestRubyGem builds the gem from adapters/ruby's gemspec, installs it
// with gem install --local into a fresh gem home and runs a minitest file.
func TestRubyGem(t *testing.T) {
	ruby := transcript.Interpreter(t, "ruby")
	gem := transcript.Interpreter(t, "gem")
	built := filepath.Join(t.TempDir(), "squall-storm.gem")
	env := childEnv()
	runSuite(t, "ruby", env, gem, "build", "squall-storm.gemspec", "--output", built)
	home := filepath.Join(t.TempDir(), "gems")
	runSuite(t, ".", env, gem, "install", "--local", "--no-document", "--install-dir", home, built)
	project := writeUserProject(t, "ruby", "upper.rb", "test_upper.rb")
	out := runSuite(t, project, append(env, "GEM_HOME="+home, "WANT_PREFIX="+home+"/"),
		ruby, "test_upper.rb")
	if !regexp.MustCompile(`(?m)^2 runs, \d+ assertions, 0 failures, 0 errors, 0 skips`).Match(out) {
		t.Fatalf("minitest against the installed gem:\n%s", out)
	}
}
