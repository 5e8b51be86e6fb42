package nimbus

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

func TestDebugTopology(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock))
	addSupervisor(t, mem, clock, "a", 6700, 6701)
	id := submit(t, n, wordsRequest("debugged"))
	quiet := submit(t, n, &api.SubmitTopologyRequest{TopologyFile: "topology.yaml",
		Topology: strings.Replace(strings.Replace(wordsYAML, "name: %s", "name: quiet", 1), "config:\n", "config:\n  topology.eventlogger.executors: 0\n", 1)})

	debug := func(req *api.DebugTopologyRequest) error {
		resp, err := n.DebugTopology(t.Context(), req)
		if err == nil && (resp.GetTopologyOperation() != "debug" || resp.GetStatus() != api.StatusSuccess || resp.GetTopologyId() == "") {
			t.Errorf("DebugTopology(%v) answered %v, want Storm's operation answer", req, resp)
		}
		return err
	}
	for _, req := range []*api.DebugTopologyRequest{
		{Id: id, Action: "enable", Spct: 10},
		{Name: "debugged", Component: "count", Action: "enable", Spct: 100},
		{Id: id, Component: "words", Action: "disable"},
	} {
		if err := debug(req); err != nil {
			t.Fatalf("DebugTopology(%v): %v", req, err)
		}
	}
	st := mem.Session()
	defer st.Close()
	rec, err := st.GetTopology(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]cluster.DebugOption{"": {Enable: true, SamplingPct: 10}, "count": {Enable: true, SamplingPct: 100}, "words": {}}
	if len(rec.Debug) != len(want) {
		t.Errorf("stored debug options %v, want %v", rec.Debug, want)
	}
	for k, v := range want {
		if rec.Debug[k] != v {
			t.Errorf("stored debug option %q = %v, want %v", k, rec.Debug[k], v)
		}
	}
	// The pages show the option in force: a component's own, else the
	// topology's.
	page, err := n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id})
	if err != nil || !page.GetDebug() || page.GetSamplingPct() != 10 {
		t.Errorf("topology page debug %v at %v%% (%v), want on at 10%%", page.GetDebug(), page.GetSamplingPct(), err)
	}
	for comp, want := range map[string]cluster.DebugOption{"count": {Enable: true, SamplingPct: 100}, "words": {}} {
		c, err := n.GetComponent(t.Context(), &api.GetComponentRequest{Id: id, Component: comp})
		if err != nil || c.GetDebug() != want.Enable || c.GetSamplingPct() != want.SamplingPct {
			t.Errorf("%s page debug %v at %v%% (%v), want %v", comp, c.GetDebug(), c.GetSamplingPct(), err, want)
		}
	}

	for name, tc := range map[string]struct {
		req  *api.DebugTopologyRequest
		code codes.Code
	}{
		"unknown action":    {&api.DebugTopologyRequest{Id: id, Action: "toggle", Spct: 10}, codes.InvalidArgument},
		"zero percent":      {&api.DebugTopologyRequest{Id: id, Action: "enable", Spct: 0}, codes.InvalidArgument},
		"over 100 percent":  {&api.DebugTopologyRequest{Id: id, Action: "enable", Spct: 100.5}, codes.InvalidArgument},
		"unknown component": {&api.DebugTopologyRequest{Id: id, Component: "nope", Action: "enable", Spct: 10}, codes.NotFound},
		"unknown topology":  {&api.DebugTopologyRequest{Name: "nope", Action: "enable", Spct: 10}, codes.NotFound},
		"no event loggers":  {&api.DebugTopologyRequest{Id: quiet, Action: "enable", Spct: 10}, codes.FailedPrecondition},
	} {
		wantCode(t, name, debug(tc.req), tc.code)
	}
	if err := debug(&api.DebugTopologyRequest{Id: quiet, Action: "disable"}); err != nil {
		t.Errorf("disabling debug of a topology without event loggers: %v", err)
	}
}
