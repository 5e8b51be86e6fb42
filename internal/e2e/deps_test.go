package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/depenv/depenvtest"
)

const depsTopology = `name: e2e-deps
config:
  topology.workers: 4 # every slot of both supervisors
spouts:
  - id: words
    go: squall.TestWordSpout
bolts:
  - id: tag
    shell: {command: [python3, tag.py], fields: [word]}
    parallelism: 4
streams:
  - {from: words, to: tag, grouping: {type: SHUFFLE}}
`

// The bolt needs a package of its requirements.txt.
const depsBolt = `import storm, tinydep

class Tag(storm.BasicBolt):
    def process(self, tup):
        storm.emit([tinydep.VALUE + tup.values[0]])

Tag().run()
`

// writeDepsTopology writes a topology whose Python bolt imports tinydep,
// a wheel in resources/wheels named by requirements.
func writeDepsTopology(t *testing.T, requirements string) string {
	t.Helper()
	dir := t.TempDir()
	res := filepath.Join(dir, "resources")
	if err := depenvtest.WriteWheel(filepath.Join(res, "wheels"), "tinydep", "1.0", "dep:"); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"topology.yaml":              depsTopology,
		"resources/tag.py":           depsBolt,
		"resources/requirements.txt": requirements,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestClusterBuildsDependencies: a topology with a requirements.txt and
// its wheel runs on two supervisors, each of which builds the venv
// offline; a second submit of the same package reuses them (timed); a
// build that fails shows in get-errors.
func TestClusterBuildsDependencies(t *testing.T) {
	needPython(t)
	// Workers build before they are heard from: nimbus and the
	// supervisors give them as long as their defaults do, not the
	// harness's 20 s, which a build on a loaded machine can take.
	c := newCluster(t, 2, withConf(map[string]any{"nimbus.task.launch.secs": 120, "supervisor.worker.start.timeout.secs": 120}))
	dir := writeDepsTopology(t, "tinydep==1.0\n")

	runOnce := func() time.Duration {
		start := time.Now()
		if out := c.squall("submit", dir); !strings.Contains(out, "Submitted topology e2e-deps") {
			t.Fatalf("submit said %q", out)
		}
		id := c.topologyID("e2e-deps")
		waitUntil(t, 180*time.Second, "the bolt to execute tuples in four workers", func() bool {
			p := c.topology(id)
			pids, ready := c.workers(id)
			return len(p.Bolts) == 1 && p.Bolts[0].Executed > 0 && len(pids) == 4 && ready
		})
		took := time.Since(start)
		c.squall("kill", "-w", "0", "e2e-deps")
		waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
		waitUntil(t, 30*time.Second, "the topology to go", func() bool {
			return strings.Contains(c.squall("list"), "No topologies running")
		})
		return took
	}
	built := runOnce()
	envs := map[string]time.Time{}
	for _, s := range c.sups {
		ready, _ := filepath.Glob(filepath.Join(s.localDir, "envs", "python-*", ".squall-ready"))
		if len(ready) != 1 {
			t.Fatalf("supervisor %s: environments %v, want one venv", s.localDir, ready)
		}
		fi, err := os.Stat(filepath.Dir(ready[0]))
		if err != nil {
			t.Fatal(err)
		}
		envs[ready[0]] = fi.ModTime()
	}
	reused := runOnce()
	for ready, made := range envs {
		fi, err := os.Stat(filepath.Dir(ready))
		if err != nil || !fi.ModTime().Equal(made) {
			t.Errorf("%s was built again: %v", ready, err)
		}
	}
	t.Logf("submit to tuples executed, four workers on two supervisors: %v building the venvs, %v reusing them", built.Round(time.Millisecond), reused.Round(time.Millisecond))

	bad := writeDepsTopology(t, "tinydep==2.0\n")
	if out := c.squall("submit", bad); !strings.Contains(out, "Submitted topology e2e-deps") {
		t.Fatalf("submit said %q", out)
	}
	want := regexp.MustCompile(`No matching distribution found for tinydep==2\.0`)
	defer func() {
		if t.Failed() {
			t.Logf("get-errors: %s\nworker logs:\n%s", c.squall("get-errors", "e2e-deps"), c.workerLogs(c.topologyID("e2e-deps")))
		}
	}()
	waitUntil(t, 120*time.Second, "the build error in get-errors", func() bool {
		return want.MatchString(c.squall("get-errors", "e2e-deps"))
	})
	// The workers started again (and each supervisor's second worker,
	// which waited for the first's build) meet the failure remembered,
	// with its tail, instead of building again.
	remembered := regexp.MustCompile(`not built again yet: python's build failed \d+ time\(s\).*No matching distribution found for tinydep==2\.0`)
	waitUntil(t, 120*time.Second, "the remembered failure in get-errors", func() bool {
		return remembered.MatchString(c.squall("get-errors", "e2e-deps"))
	})
	for _, s := range c.sups {
		failed, _ := filepath.Glob(filepath.Join(s.localDir, "envs", "python-*.failed"))
		logs, _ := filepath.Glob(filepath.Join(s.localDir, "envs", "python-*.log"))
		if len(failed) > 1 || len(logs) != len(failed) {
			t.Errorf("supervisor %s: failures %v, build logs %v; want one of each per failed environment", s.localDir, failed, logs)
		}
	}
}
