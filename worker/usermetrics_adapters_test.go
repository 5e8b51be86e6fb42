package worker

import (
	"os/exec"
	"testing"
	"time"

	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// TestAdapterMetricHelpers: a Python, a Ruby and a Node bolt record a
// counter, a histogram and a gauge through their adapter's metrics
// helpers; the worker's registry has them under each task, exactly.
func TestAdapterMetricHelpers(t *testing.T) {
	opts, resources := pythonOptions(t)
	const n = 50
	sentences := testSentences(n)
	var lengths float64
	for _, s := range sentences {
		lengths += float64(len(s))
	}
	for _, lang := range []struct{ name, interpreter, script string }{
		{"python", "python3", "metered.py"},
		{"ruby", "ruby", "metered.rb"},
		{"node", "node", "metered.js"},
	} {
		t.Run(lang.name, func(t *testing.T) {
			if _, err := exec.LookPath(lang.interpreter); err != nil {
				if isCI() {
					t.Fatalf("%s is required: %v", lang.interpreter, err)
				}
				t.Skipf("%s not found: %v", lang.interpreter, err)
			}
			rec := newAckRecord()
			b := topology.NewBuilder("metered-" + lang.name)
			b.SetSpout("spout", topology.SpoutFunc(func() (topology.Spout, error) {
				return &listSpout{field: "sentence", sentences: sentences, rec: rec}, nil
			}), 1)
			b.SetBolt("metered", topology.Shell(lang.interpreter, lang.script), 1).ShuffleGrouping("spout")
			topo, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			w := runWorker(t, Config{Topology: topo, ResourcesDir: resources, Shell: opts})
			waitUntil(t, 120*time.Second, "every sentence acked", func() bool { acked, _, _ := rec.snapshot(); return len(acked) == n })
			var seen, count int64
			var sum, last float64
			waitUntil(t, 60*time.Second, "the metrics of every tuple", func() bool {
				for _, s := range w.ExecutorSnapshots(time.Now()) {
					for _, x := range s.Series {
						if !x.User || s.Component != "metered" {
							continue
						}
						switch x.Name {
						case "seen":
							seen = x.Counts[metrics.WindowAllTime]
						case "length":
							count, sum = x.Counts[metrics.WindowAllTime], x.Sums[metrics.WindowAllTime]
						case "last":
							last = x.Value
						}
					}
				}
				return seen == 2*n && count == n
			})
			if sum != lengths || last <= 0 {
				t.Errorf("histogram length sums to %v, want %v; gauge last %v", sum, lengths, last)
			}
		})
	}
}
