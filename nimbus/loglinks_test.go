package nimbus

import (
	"net/url"
	"strconv"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

func TestAdvertisedLogViewer(t *testing.T) {
	tests := []struct {
		address, want string
		port          int32
	}{
		{"", "", 8000}, // not advertised: host and logviewer.port
		{"127.0.0.1:8005", "127.0.0.1:8005", 8005},
		{"0.0.0.0:8001", "node1:8001", 8001},
		{"[::]:8002", "node1:8002", 8002},
		{"10.0.0.5:0", "", 8000},
		{"no port", "", 8000},
	}
	n := &Nimbus{}
	for _, tt := range tests {
		s := cluster.SupervisorInfo{ID: "n1", Host: "node1", Address: tt.address}
		if got := advertised(s); got != tt.want {
			t.Errorf("advertised(%q) = %q, want %q", tt.address, got, tt.want)
		}
		if got := n.logLinksOf([]cluster.SupervisorInfo{s}).logviewerPort(s.ID, s.Host); got != tt.port {
			t.Errorf("logviewerPort(%q) = %d, want %d", tt.address, got, tt.port)
		}
	}
}

// TestWorkerLogLinks: pages link the logs of workers at the logviewer
// their node advertises, else at its host and logviewer.port, and the
// supervisor summary gives the port.
func TestWorkerLogLinks(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	id, a := statsTopology(t, n, mem)
	sess := mem.Session()
	t.Cleanup(func() { sess.Close() })
	info := cluster.SupervisorInfo{ID: "a", Host: "host-a", Ports: []int{6700, 6701, 6702, 6703}, Address: "0.0.0.0:8000", Version: "test"}
	if err := sess.RegisterSupervisor(t.Context(), info); err != nil {
		t.Fatal(err)
	}
	p, err := n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	links := 0
	for _, w := range p.GetWorkers() {
		want := "http://" + w.GetHost() + ":8000/api/v1/log?file=" + url.QueryEscape(id+"/"+strconv.Itoa(int(w.GetPort()))+"/worker.log")
		if w.GetSupervisorId() == "a" {
			want = "http://host-a:8000/api/v1/log?file=" + url.QueryEscape(id+"/"+strconv.Itoa(int(w.GetPort()))+"/worker.log")
			links++
		}
		if w.GetWorkerLogLink() != want {
			t.Errorf("worker %s:%d links %q, want %q", w.GetSupervisorId(), w.GetPort(), w.GetWorkerLogLink(), want)
		}
	}
	onA := 0
	for _, slot := range a.Slots() {
		if slot.NodeID == "a" {
			onA++
		}
	}
	if links != onA {
		t.Errorf("%d workers link node a's logviewer, want %d", links, onA)
	}
	if bolt := p.GetBolts()[0]; bolt.GetErrorWorkerLogLink() != "http://host-a:8000/api/v1/log?file="+url.QueryEscape(id+"/6700/worker.log") {
		t.Errorf("bolt's last error links %q", bolt.GetErrorWorkerLogLink())
	}
	sum, err := n.GetSupervisorSummary(t.Context(), &api.GetSupervisorSummaryRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sum.GetSupervisors() {
		port, link := int32(8000), "http://"+s.GetHost()+":8000/api/v1/daemonlog?file=supervisor.log"
		if s.GetId() == "a" {
			port, link = 8000, "http://host-a:8000/api/v1/daemonlog?file=supervisor.log"
		}
		if s.GetLogviewerPort() != port || s.GetLogLink() != link {
			t.Errorf("supervisor %s: logviewerPort %d, logLink %q; want %d, %q", s.GetId(), s.GetLogviewerPort(), s.GetLogLink(), port, link)
		}
	}
}
