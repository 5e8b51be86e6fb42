package nimbus

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/topology"
)

// This file holds the routes of Storm's UI REST API that squall's own
// pages do not use but scripts written for Storm's UI do: topology-workers,
// visualization, metrics, supervisor, history and owner-resources.

// topologyPage is page with a follower's fallback: a follower that has not
// copied the topology's package yet answers from the leader.
func topologyPage[T any](ctx context.Context, n *Nimbus, id, window string, fromLeader func(api.NimbusClient, context.Context) (T, error)) (*page, T, error) {
	var zero T
	p, err := n.page(ctx, id, "", window)
	if errors.Is(err, ErrUnavailable) && n.currentLeader() == nil && n.stateReachable() {
		resp, err := forward(ctx, n, fromLeader)
		return nil, resp, err
	}
	if err != nil {
		return nil, zero, grpcError(err)
	}
	return p, zero, nil
}

// GetTopologyWorkers returns Storm's topology-workers: the hosts and ports
// of the topology's workers, and where the logviewers listen.
func (n *Nimbus) GetTopologyWorkers(ctx context.Context, req *api.GetTopologyWorkersRequest) (*api.GetTopologyWorkersResponse, error) {
	v := n.newView(ctx)
	id, err := v.resolve(req.GetId(), "")
	if err != nil {
		return nil, grpcError(err)
	}
	if _, err := v.topology(id); err != nil {
		return nil, grpcError(err)
	}
	a, err := v.assignment(id)
	if err != nil {
		return nil, grpcError(err)
	}
	links := n.logLinks(v)
	resp := &api.GetTopologyWorkersResponse{LogviewerPort: int32(links.port), LogviewerScheme: links.scheme}
	for _, slot := range a.Slots() {
		resp.HostPortList = append(resp.HostPortList, &api.HostPort{Host: a.NodeHost[slot.NodeID], Port: int32(slot.Port)})
	}
	slices.SortFunc(resp.HostPortList, func(x, y *api.HostPort) int {
		return cmp.Or(strings.Compare(x.Host, y.Host), cmp.Compare(x.Port, y.Port))
	})
	v.finish()
	return resp, nil
}

// GetVisualization returns the topology's graph in the format of Storm's
// visualization route.
func (n *Nimbus) GetVisualization(ctx context.Context, req *api.GetVisualizationRequest) (*api.GetVisualizationResponse, error) {
	p, fwd, err := topologyPage(ctx, n, req.GetId(), req.GetWindow(), func(c api.NimbusClient, ctx context.Context) (*api.GetVisualizationResponse, error) {
		return c.GetVisualization(ctx, req)
	})
	if p == nil {
		return fwd, err
	}
	vis, err := structpb.NewStruct(p.visualization(req.GetSys()))
	if err != nil {
		return nil, grpcError(err)
	}
	p.v.finish()
	return &api.GetVisualizationResponse{Visualization: vis}, nil
}

// visualization is Storm's visualization object: per component its type,
// capacity, latency, executors and inputs, under Storm's ":" keys.
func (p *page) visualization(sys bool) map[string]any {
	out := map[string]any{}
	for _, comp := range p.components(sys) {
		kind, _ := p.m.kind(comp)
		spout := kind == topology.KindSpout.String()
		s := p.stats(comp, sys, p.window)
		latency := s.total.processLatency()
		if spout {
			latency = s.total.completeLatency()
		}
		var stats []any
		for _, e := range p.executorStats(comp, spout, sys) {
			stats = append(stats, map[string]any{
				":host": e.Host, ":port": float64(e.Port), ":uptime_secs": float64(e.UptimeSeconds),
				":transferred": float64(e.Transferred),
			})
		}
		inputs := []any{}
		for _, in := range p.inputs(comp, sys) {
			inputs = append(inputs, map[string]any{
				":component": in.from, ":stream": in.stream, ":sani-stream": saniStream(in.stream), ":grouping": in.grouping,
			})
		}
		capacity := 0.0
		if !spout {
			capacity = s.total.capacity
		}
		out[comp] = map[string]any{
			":type":        kind,
			":capacity":    capacity,
			":latency":     latency,
			":transferred": float64(s.total.transferred),
			":stats":       orEmpty(stats),
			":link":        "/component.html?id=" + url.QueryEscape(comp) + "&topology_id=" + url.QueryEscape(p.rec.ID),
			":inputs":      inputs,
		}
	}
	return out
}

func orEmpty(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

// input is a bolt's subscription.
type input struct{ from, stream, grouping string }

// inputs returns a bolt's subscriptions: those its definition declares,
// and with sys those its heartbeats show beyond them (the acker's, the
// system streams), whose grouping the outline does not know.
func (p *page) inputs(comp string, sys bool) []input {
	var out []input
	seen := map[string]bool{}
	for _, in := range p.m.byID[comp].Inputs {
		if !sys && (systemStream(in.From) || systemStream(in.Stream)) {
			continue
		}
		out = append(out, input{in.From, in.Stream, in.Grouping})
		seen[in.From+":"+in.Stream] = true
	}
	if !sys {
		return out
	}
	known := func(c string) bool {
		_, ok := p.m.kind(c)
		return ok || c == topology.SystemComponent
	}
	for _, key := range sortedKeys(p.stats(comp, true, p.window).inputs) {
		if from, stream, ok := inputKey(key, known); ok && !seen[key] {
			out = append(out, input{from: from, stream: stream})
		}
	}
	return out
}

// saniStream is Storm's sanitised stream name, usable as an HTML id:
// letters and digits kept, the rest replaced, and a hash of the name
// appended so that two names do not collide.
func saniStream(stream string) string {
	var b strings.Builder
	for _, r := range stream {
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var h uint32 = 2166136261 // FNV-1a
	for i := 0; i < len(stream); i++ {
		h = (h ^ uint32(stream[i])) * 16777619
	}
	return b.String() + strconv.FormatUint(uint64(h), 10)
}

// GetVisualizationInit returns the streams of Storm's visualization page's
// stream selector, in rows of four.
func (n *Nimbus) GetVisualizationInit(ctx context.Context, req *api.GetVisualizationRequest) (*api.GetVisualizationInitResponse, error) {
	p, fwd, err := topologyPage(ctx, n, req.GetId(), req.GetWindow(), func(c api.NimbusClient, ctx context.Context) (*api.GetVisualizationInitResponse, error) {
		return c.GetVisualizationInit(ctx, req)
	})
	if p == nil {
		return fwd, err
	}
	var streams []string
	for _, comp := range p.components(req.GetSys()) {
		for _, in := range p.inputs(comp, req.GetSys()) {
			streams = append(streams, in.stream)
		}
	}
	slices.Sort(streams)
	streams = slices.Compact(streams)
	var rows []any
	for chunk := range slices.Chunk(streams, 4) {
		var row []any
		for _, s := range chunk {
			row = append(row, map[string]any{"stream": s, "sani-stream": saniStream(s), "checked": !systemStream(s)})
		}
		rows = append(rows, row)
	}
	table, err := structpb.NewList(orEmpty(rows))
	if err != nil {
		return nil, grpcError(err)
	}
	p.v.finish()
	return &api.GetVisualizationInitResponse{VisualizationTable: table}, nil
}

// GetTopologyMetrics returns Storm's topology metrics: each component's
// figures per stream, in the requested window.
func (n *Nimbus) GetTopologyMetrics(ctx context.Context, req *api.GetTopologyMetricsRequest) (*api.GetTopologyMetricsResponse, error) {
	p, fwd, err := topologyPage(ctx, n, req.GetId(), req.GetWindow(), func(c api.NimbusClient, ctx context.Context) (*api.GetTopologyMetricsResponse, error) {
		return c.GetTopologyMetrics(ctx, req)
	})
	if p == nil {
		return fwd, err
	}
	resp := &api.GetTopologyMetricsResponse{Window: p.window.String(), WindowHint: p.window.Pretty()}
	known := func(c string) bool {
		_, ok := p.m.kind(c)
		return ok || c == topology.SystemComponent
	}
	for _, comp := range p.components(req.GetSys()) {
		kind, _ := p.m.kind(comp)
		s := p.stats(comp, req.GetSys(), p.window)
		if kind == topology.KindSpout.String() {
			m := &api.SpoutMetrics{Id: comp}
			for _, stream := range sortedKeys(s.outputs) {
				f := s.outputs[stream]
				m.Emitted = append(m.Emitted, &api.StreamCount{StreamId: stream, Value: f.emitted})
				m.Transferred = append(m.Transferred, &api.StreamCount{StreamId: stream, Value: f.transferred})
				if f.acked+f.failed == 0 {
					continue // a stream that carries no anchored tuples
				}
				m.Acked = append(m.Acked, &api.StreamCount{StreamId: stream, Value: f.acked})
				m.Failed = append(m.Failed, &api.StreamCount{StreamId: stream, Value: f.failed})
				m.CompleteMsAvg = append(m.CompleteMsAvg, &api.StreamAverage{StreamId: stream, Value: f.completeLatency()})
			}
			resp.Spouts = append(resp.Spouts, m)
			continue
		}
		m := &api.BoltMetrics{Id: comp}
		for _, stream := range sortedKeys(s.outputs) {
			f := s.outputs[stream]
			m.Emitted = append(m.Emitted, &api.StreamCount{StreamId: stream, Value: f.emitted})
			m.Transferred = append(m.Transferred, &api.StreamCount{StreamId: stream, Value: f.transferred})
		}
		for _, key := range sortedKeys(s.inputs) {
			from, stream, ok := inputKey(key, known)
			if !ok {
				continue
			}
			f := s.inputs[key]
			m.Acked = append(m.Acked, &api.InputCount{ComponentId: from, StreamId: stream, Value: f.acked})
			m.Failed = append(m.Failed, &api.InputCount{ComponentId: from, StreamId: stream, Value: f.failed})
			m.Executed = append(m.Executed, &api.InputCount{ComponentId: from, StreamId: stream, Value: f.executed})
			m.ProcessMsAvg = append(m.ProcessMsAvg, &api.InputAverage{ComponentId: from, StreamId: stream, Value: f.processLatency()})
			m.ExecutedMsAvg = append(m.ExecutedMsAvg, &api.InputAverage{ComponentId: from, StreamId: stream, Value: f.executeLatency()})
		}
		resp.Bolts = append(resp.Bolts, m)
	}
	p.v.finish()
	return resp, nil
}

// GetSupervisor returns Storm's supervisor route: the supervisor with an
// id, or those on a host, with the workers they run.
func (n *Nimbus) GetSupervisor(ctx context.Context, req *api.GetSupervisorRequest) (*api.GetSupervisorResponse, error) {
	if req.GetId() == "" && req.GetHost() == "" {
		return nil, grpcError(invalidf("supervisor: give id=SUPERVISOR-ID or host=HOST"))
	}
	all, err := n.GetSupervisorSummary(ctx, &api.GetSupervisorSummaryRequest{})
	if err != nil {
		return nil, err
	}
	resp := &api.GetSupervisorResponse{}
	ids := map[string]bool{}
	for _, s := range all.GetSupervisors() {
		if req.GetId() != "" && s.GetId() == req.GetId() || req.GetId() == "" && s.GetHost() == req.GetHost() {
			resp.Supervisors = append(resp.Supervisors, s)
			ids[s.GetId()] = true
		}
	}
	if len(resp.Supervisors) == 0 {
		if req.GetId() != "" {
			return nil, grpcError(notFoundf("no live supervisor with id %q", req.GetId()))
		}
		return nil, grpcError(notFoundf("no live supervisor on host %q", req.GetHost()))
	}
	v := n.newView(ctx)
	topologies, err := v.topologyIDs()
	if err != nil {
		return nil, grpcError(err)
	}
	links := n.logLinks(v)
	for _, id := range topologies {
		p, err := n.page(ctx, id, "", "")
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnavailable) {
			// Removed meanwhile, or its package not here yet: its workers
			// are left out rather than failing the whole answer.
			continue
		}
		if err != nil {
			return nil, grpcError(err)
		}
		resp.Workers = append(resp.Workers, p.workerSummaries(links, func(node string) bool { return ids[node] })...)
		p.v.finish()
	}
	v.finish()
	return resp, nil
}

// GetTopologyHistory returns Storm's history summary: the ids of the
// topologies the caller owns, or every one without authentication.
func (n *Nimbus) GetTopologyHistory(ctx context.Context, _ *api.GetTopologyHistoryRequest) (*api.GetTopologyHistoryResponse, error) {
	v := n.newView(ctx)
	ids, err := v.topologyIDs()
	if err != nil {
		return nil, grpcError(err)
	}
	caller, named := auth.FromContext(ctx)
	named = named && !caller.IsAnonymous()
	resp := &api.GetTopologyHistoryResponse{TopoHistory: []string{}}
	for _, id := range ids {
		rec, err := v.topology(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, grpcError(err)
		}
		if !named || rec.Owner == caller.Name {
			resp.TopoHistory = append(resp.TopoHistory, id)
		}
	}
	v.finish()
	return resp, nil
}

// GetOwnerResources returns Storm's owner resources: per owner, the
// topologies and what they use. Without a resource-aware scheduler the
// memory and CPU figures are 0 and the guarantees "N/A".
func (n *Nimbus) GetOwnerResources(ctx context.Context, req *api.GetOwnerResourcesRequest) (*api.GetOwnerResourcesResponse, error) {
	v := n.newView(ctx)
	ids, err := v.topologyIDs()
	if err != nil {
		return nil, grpcError(err)
	}
	byOwner := map[string]*api.OwnerResources{}
	for _, id := range ids {
		rec, err := v.topology(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, grpcError(err)
		}
		if req.GetId() != "" && rec.Owner != req.GetId() {
			continue
		}
		a, err := v.assignment(id)
		if err != nil {
			return nil, grpcError(err)
		}
		o, ok := byOwner[rec.Owner]
		if !ok {
			o = &api.OwnerResources{Owner: rec.Owner, MemoryGuarantee: "N/A", CpuGuarantee: "N/A",
				MemoryGuaranteeRemaining: "N/A", CpuGuaranteeRemaining: "N/A"}
			byOwner[rec.Owner] = o
		}
		o.TotalTopologies++
		o.TotalWorkers += int32(len(a.Slots()))
		o.TotalExecutors += int32(len(a.Executors))
		o.TotalTasks += int32(tasksOf(a))
	}
	resp := &api.GetOwnerResourcesResponse{Owners: []*api.OwnerResources{}}
	for _, owner := range sortedKeys(byOwner) {
		resp.Owners = append(resp.Owners, byOwner[owner])
	}
	if req.GetId() != "" && len(resp.Owners) == 0 {
		return nil, grpcError(notFoundf("owner %q has no topology", req.GetId()))
	}
	v.finish()
	return resp, nil
}

// versionInfo is Storm's stormVersionInfo: this binary's build.
func versionInfo(full string) *api.VersionInfo {
	parts := strings.Fields(full) // "v1.2.3 abcdef012345 go1.26.8", revision optional
	vi := &api.VersionInfo{}
	for i, f := range parts {
		switch {
		case i == 0:
			vi.Version = f
		case strings.HasPrefix(f, "go"):
			vi.GoVersion = f
		default:
			vi.Revision = f
		}
	}
	return vi
}
