package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/squallstream/squall/api"
)

// TestPrintTopologiesLikeStorm: list prints Storm's header, its line of
// dashes and one row per topology, so that scripts which skip Storm's two
// header lines (tail -n +3, awk 'NR > 2') read every topology.
func TestPrintTopologiesLikeStorm(t *testing.T) {
	for _, tt := range []struct {
		name string
		ts   []*api.TopologySummary
		want []string
	}{
		{"none", nil, []string{"No topologies running."}},
		{"two", []*api.TopologySummary{
			{Name: "wordcount", Status: "ACTIVE", TasksTotal: 12, WorkersTotal: 2, UptimeSeconds: 42, Id: "wordcount-1-1700000000", Owner: "alice"},
			{Name: "reach", Status: "INACTIVE", TasksTotal: 5, WorkersTotal: 1, Id: "reach-2-1700000001"},
		}, []string{
			"Topology_name Status Num_tasks Num_workers Uptime_secs Topology_Id Owner",
			"-",
			"wordcount ACTIVE 12 2 42 wordcount-1-1700000000 alice",
			"reach INACTIVE 5 1 0 reach-2-1700000001",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := printTopologies(&b, tt.ts); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("printTopologies() printed %d lines, want %d:\n%s", len(lines), len(tt.want), b.String())
			}
			for i, line := range lines {
				got := strings.Join(strings.Fields(line), " ")
				if tt.want[i] == "-" {
					if strings.Trim(line, "-") != "" || len(line) < len("Topology_name") {
						t.Errorf("printTopologies() line %d = %q, want Storm's line of dashes", i+1, line)
					}
					continue
				}
				if got != tt.want[i] {
					t.Errorf("printTopologies() line %d = %q, want %q", i+1, got, tt.want[i])
				}
			}
		})
	}
}

// TestStormVerbsPointAtSquallOnes: Storm's commands that squall spells
// differently are answered with the squall command to use.
func TestStormVerbsPointAtSquallOnes(t *testing.T) {
	isolate(t)
	for _, tt := range []struct{ storm, squall string }{
		{"jar", "submit"},
		{"dev-zookeeper", "dev-cluster"},
		{"ui", "nimbus"},
		{"logviewer", "supervisor"},
	} {
		code, _, errOut := squall(t, t.Context(), tt.storm)
		_, suggestions, _ := strings.Cut(errOut, "Did you mean this?")
		if code == 0 || !strings.Contains(suggestions, "\t"+tt.squall+"\n") {
			t.Errorf("squall %s: exit %d, %q; want a pointer to %q", tt.storm, code, errOut, tt.squall)
		}
	}
}
