package nimbus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/metrics"
	"github.com/squallstream/squall/topology"
)

// This file holds the topology and component pages of the API, filled
// from the topology's record, assignment, worker heartbeats and errors.

// page is what the topology and component pages are made from.
type page struct {
	v      *view
	rec    cluster.TopologyRecord
	m      *model
	a      cluster.Assignment
	beats  map[cluster.Slot]cluster.WorkerHeartbeat
	errors []cluster.ErrorInfo
	now    time.Time
	// window is the requested window.
	window metrics.Window
	// links make the links to logs.
	links logLinks
}

func (n *Nimbus) page(ctx context.Context, id, name, window string) (*page, error) {
	win, err := windowOf(window)
	if err != nil {
		return nil, err
	}
	v := n.newView(ctx)
	id, err = v.resolve(id, name)
	if err != nil {
		return nil, err
	}
	p := &page{v: v, now: n.clock.Now(), beats: make(map[cluster.Slot]cluster.WorkerHeartbeat), window: win}
	if p.rec, err = v.topology(id); err != nil {
		return nil, err
	}
	if p.m, err = n.model(ctx, p.rec); err != nil {
		return nil, err
	}
	if p.a, err = v.assignment(id); err != nil {
		return nil, err
	}
	beats, err := v.heartbeats(id)
	if err != nil {
		return nil, err
	}
	for _, hb := range beats {
		// Only the heartbeats of workers in the current assignment count.
		slot := cluster.Slot{NodeID: hb.NodeID, Port: hb.Port}
		if slices.Contains(p.a.Slots(), slot) {
			p.beats[slot] = hb
		}
	}
	if p.errors, err = v.errors(id); err != nil {
		return nil, err
	}
	p.links = n.logLinks(v)
	return p, nil
}

// components returns the components a page shows: the user's, and with
// sys the acker.
func (p *page) components(sys bool) []string {
	var ids []string
	for _, c := range p.m.outline.Components {
		ids = append(ids, c.ID)
	}
	if sys && p.m.ackers > 0 {
		ids = append(ids, topology.AckerComponent)
	}
	slices.Sort(ids)
	return ids
}

// executors returns a component's executors in the assignment, sorted.
func (p *page) executors(component string) []cluster.ExecutorID {
	var out []cluster.ExecutorID
	for e := range p.a.Executors {
		if p.m.tasks.Component(e.Start) == component {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b cluster.ExecutorID) int { return a.Start - b.Start })
	return out
}

// numExecutors returns a component's executor count: the assignment's, or
// the record's when it is not assigned.
func (p *page) numExecutors(component string) int {
	if n := len(p.executors(component)); n > 0 {
		return n
	}
	if component == topology.AckerComponent {
		return p.m.ackers
	}
	return p.m.parallelism(p.rec)[component]
}

func (p *page) numTasks(component string) int { return len(p.m.tasks.Tasks(component)) }

// lastError returns a component's most recent error.
func (p *page) lastError(component string) (cluster.ErrorInfo, bool) {
	var last cluster.ErrorInfo
	found := false
	for _, e := range p.errors {
		if e.Component == component && (!found || !e.Time.Before(last.Time)) {
			last, found = e, true
		}
	}
	return last, found
}

func (p *page) uptime() time.Duration { return p.now.Sub(p.rec.LaunchTime) }

// GetTopology returns Storm's topology page.
func (n *Nimbus) GetTopology(ctx context.Context, req *api.GetTopologyRequest) (*api.GetTopologyResponse, error) {
	p, err := n.page(ctx, req.GetId(), req.GetName(), req.GetWindow())
	if errors.Is(err, ErrUnavailable) && n.currentLeader() == nil && n.stateReachable() {
		// A follower that has not copied the package yet: the leader has.
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.GetTopologyResponse, error) {
			return c.GetTopology(ctx, req)
		})
	}
	if err != nil {
		return nil, grpcError(err)
	}
	nimbuses, err := p.v.nimbuses(true)
	if err != nil {
		return nil, grpcError(err)
	}
	conf, err := toStruct(p.m.conf)
	if err != nil {
		return nil, grpcError(err)
	}
	id, up := p.rec.ID, p.uptime()
	resp := &api.GetTopologyResponse{
		Id:               id,
		EncodedId:        api.EncodeID(id),
		Owner:            p.rec.Owner,
		Name:             p.rec.Name,
		Status:           string(p.rec.Status),
		Uptime:           api.FormatUptime(up),
		UptimeSeconds:    int64(up / time.Second),
		TasksTotal:       int32(tasksOf(p.a)),
		WorkersTotal:     int32(len(p.a.Slots())),
		ExecutorsTotal:   int32(len(p.a.Executors)),
		SchedulerInfo:    schedulerInfo(p.rec, p.a),
		Configuration:    conf,
		Debug:            p.debug("").Enable,
		SamplingPct:      p.debug("").SamplingPct,
		ReplicationCount: n.replicationCount(p.rec, nimbuses),
		TopologyVersion:  p.m.conf.String("topology.version", ""),
		StormVersion:     n.version,
		Window:           p.window.String(),
		WindowHint:       p.window.Pretty(),
		MsgTimeout:       int32(p.m.conf.Int(topology.KeyMessageTimeoutSecs, 30)),
		User:             caller(ctx).Name,
		// The caller's real permission: the UI hides what it may not do.
		TopologyActionsAllowed: n.mayOperate(ctx, p.rec),
	}
	for _, comp := range p.components(req.GetSys()) {
		s := p.stats(comp, req.GetSys(), p.window)
		kind, _ := p.m.kind(comp)
		last, hasErr := p.lastError(comp)
		if kind == topology.KindSpout.String() {
			sp := &api.SpoutSummary{
				SpoutId:         comp,
				EncodedSpoutId:  api.EncodeID(comp),
				Executors:       int32(p.numExecutors(comp)),
				Tasks:           int32(p.numTasks(comp)),
				Emitted:         s.total.emitted,
				Transferred:     s.total.transferred,
				Acked:           s.total.acked,
				Failed:          s.total.failed,
				CompleteLatency: s.total.completeLatency(),

				CompleteLatencyP50: percentile(s.total.compHist, 0.5, p.window),
				CompleteLatencyP99: percentile(s.total.compHist, 0.99, p.window),
			}
			if hasErr {
				sp.LastError, sp.ErrorHost = api.TruncateError(last.Message), last.Host
				sp.ErrorPort = proto.Int32(int32(last.Port))
				sp.ErrorTime = proto.Int64(last.Time.Unix())
				sp.ErrorLapsedSecs = proto.Int64(int64(p.now.Sub(last.Time) / time.Second))
				sp.ErrorWorkerLogLink = p.errorLogLink(last)
			}
			resp.Spouts = append(resp.Spouts, sp)
			continue
		}
		b := &api.BoltSummary{
			BoltId:         comp,
			EncodedBoltId:  api.EncodeID(comp),
			Executors:      int32(p.numExecutors(comp)),
			Tasks:          int32(p.numTasks(comp)),
			Emitted:        s.total.emitted,
			Transferred:    s.total.transferred,
			Acked:          s.total.acked,
			Failed:         s.total.failed,
			Capacity:       api.FormatStat(s.total.capacity),
			ExecuteLatency: s.total.executeLatency(),
			Executed:       s.total.executed,
			ProcessLatency: s.total.processLatency(),

			ExecuteLatencyP50: percentile(s.total.execHist, 0.5, p.window),
			ExecuteLatencyP99: percentile(s.total.execHist, 0.99, p.window),
		}
		if hasErr {
			b.LastError, b.ErrorHost = api.TruncateError(last.Message), last.Host
			b.ErrorPort = proto.Int32(int32(last.Port))
			b.ErrorTime = proto.Int64(last.Time.Unix())
			b.ErrorLapsedSecs = proto.Int64(int64(p.now.Sub(last.Time) / time.Second))
			b.ErrorWorkerLogLink = p.errorLogLink(last)
		}
		resp.Bolts = append(resp.Bolts, b)
	}
	for _, w := range metrics.Windows {
		total := p.topologyTotals(req.GetSys(), w)
		resp.TopologyStats = append(resp.TopologyStats, &api.TopologyWindowStats{
			WindowPretty:       w.Pretty(),
			Window:             w.String(),
			Emitted:            total.emitted,
			Transferred:        total.transferred,
			CompleteLatency:    total.completeLatency(),
			Acked:              total.acked,
			Failed:             total.failed,
			CompleteLatencyP50: percentile(total.compHist, 0.5, w),
			CompleteLatencyP99: percentile(total.compHist, 0.99, w),
		})
	}
	resp.Workers = p.workerSummaries(p.links, nil)
	if cp, ok := checkpointOf(slices.Collect(maps.Values(p.beats)), p.a.Slots(), p.now); ok {
		resp.CheckpointTxid = proto.Int64(cp.txid)
		resp.CheckpointAgeSecs = proto.Int64(int64(cp.age / time.Second))
		resp.CheckpointStalled = cp.stalled
		resp.CheckpointIntervalMs = cp.interval.Milliseconds()
	}
	p.v.finish()
	return resp, nil
}

// workerSummaries lists the topology's workers (those on the supervisor
// node only, when node is not nil), with their log links.
func (p *page) workerSummaries(links logLinks, node func(id string) bool) []*api.WorkerSummary {
	var out []*api.WorkerSummary
	for _, slot := range p.a.Slots() {
		if node != nil && !node(slot.NodeID) {
			continue
		}
		host := p.a.NodeHost[slot.NodeID]
		w := &api.WorkerSummary{
			SupervisorId:      slot.NodeID,
			Host:              host,
			Port:              int32(slot.Port),
			TopologyId:        p.rec.ID,
			TopologyName:      p.rec.Name,
			ComponentNumTasks: map[string]int32{},
			WorkerLogLink:     links.worker(slot.NodeID, host, p.rec.ID, slot.Port),
			Owner:             p.rec.Owner,
		}
		for _, e := range p.a.ExecutorsOn(slot) {
			w.ExecutorsTotal++
			w.ComponentNumTasks[p.m.tasks.Component(e.Start)] += int32(e.End - e.Start + 1)
		}
		if hb, ok := p.beats[slot]; ok {
			w.UptimeSeconds = hb.UptimeSecs
		}
		w.Uptime = api.FormatUptimeSecs(w.UptimeSeconds)
		out = append(out, w)
	}
	return out
}

// GetComponent returns Storm's component page.
func (n *Nimbus) GetComponent(ctx context.Context, req *api.GetComponentRequest) (*api.GetComponentResponse, error) {
	p, err := n.page(ctx, req.GetId(), req.GetName(), req.GetWindow())
	if errors.Is(err, ErrUnavailable) && n.currentLeader() == nil && n.stateReachable() {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.GetComponentResponse, error) {
			return c.GetComponent(ctx, req)
		})
	}
	if err != nil {
		return nil, grpcError(err)
	}
	comp := req.GetComponent()
	kind, ok := p.m.kind(comp)
	if !ok {
		return nil, grpcError(notFoundf("topology %s has no component %q", p.rec.ID, comp))
	}
	sys := req.GetSys()
	s := p.stats(comp, sys, p.window)
	resp := &api.GetComponentResponse{
		Id:                comp,
		EncodedId:         api.EncodeID(comp),
		Name:              p.rec.Name,
		Executors:         int32(p.numExecutors(comp)),
		Tasks:             int32(p.numTasks(comp)),
		TopologyId:        p.rec.ID,
		TopologyStatus:    string(p.rec.Status),
		EncodedTopologyId: api.EncodeID(p.rec.ID),
		Window:            p.window.String(),
		ComponentType:     kind,
		WindowHint:        p.window.Pretty(),
		Debug:             p.debug(comp).Enable,
		SamplingPct:       p.debug(comp).SamplingPct,
		// The component page offers the debug action: hide it from who
		// may only view.
		TopologyActionsAllowed: n.mayOperate(ctx, p.rec),
	}
	last, hasErr := p.lastError(comp)
	spout := kind == topology.KindSpout.String()
	if spout {
		for _, w := range metrics.Windows {
			ws := p.stats(comp, sys, w).total
			sw := &api.SpoutWindowStats{
				Window:             w.String(),
				WindowPretty:       w.Pretty(),
				Emitted:            ws.emitted,
				Transferred:        ws.transferred,
				Acked:              ws.acked,
				Failed:             ws.failed,
				CompleteLatency:    ws.completeLatency(),
				CompleteLatencyP50: percentile(ws.compHist, 0.5, w),
				CompleteLatencyP99: percentile(ws.compHist, 0.99, w),
			}
			if hasErr {
				sw.LastError = api.TruncateError(last.Message)
			}
			resp.SpoutSummary = append(resp.SpoutSummary, sw)
		}
	} else {
		for _, w := range metrics.Windows {
			ws := p.stats(comp, sys, w).total
			resp.BoltStats = append(resp.BoltStats, &api.BoltWindowStats{
				Window:            w.String(),
				WindowPretty:      w.Pretty(),
				Emitted:           ws.emitted,
				Transferred:       ws.transferred,
				Acked:             ws.acked,
				Failed:            ws.failed,
				ExecuteLatency:    ws.executeLatency(),
				Executed:          ws.executed,
				ProcessLatency:    ws.processLatency(),
				Capacity:          api.FormatStat(ws.capacity),
				ExecuteLatencyP50: percentile(ws.execHist, 0.5, w),
				ExecuteLatencyP99: percentile(ws.execHist, 0.99, w),
			})
		}
		for _, key := range sortedKeys(s.inputs) {
			f := s.inputs[key]
			from, stream, _ := inputKey(key, func(c string) bool {
				_, ok := p.m.kind(c)
				return ok || c == topology.SystemComponent
			})
			resp.InputStats = append(resp.InputStats, &api.InputStats{
				Component:          from,
				EncodedComponentId: api.EncodeID(from),
				Stream:             stream,
				ExecuteLatency:     f.executeLatency(),
				ProcessLatency:     f.processLatency(),
				Executed:           f.executed,
				Acked:              f.acked,
				Failed:             f.failed,
				ExecuteLatencyP50:  percentile(f.execHist, 0.5, p.window),
				ExecuteLatencyP99:  percentile(f.execHist, 0.99, p.window),
			})
		}
	}
	for _, stream := range sortedKeys(s.outputs) {
		f := s.outputs[stream]
		o := &api.OutputStats{Stream: stream, Emitted: f.emitted, Transferred: f.transferred}
		if spout {
			o.CompleteLatency, o.Acked, o.Failed = f.completeLatency(), f.acked, f.failed
			o.CompleteLatencyP50 = percentile(f.compHist, 0.5, p.window)
			o.CompleteLatencyP99 = percentile(f.compHist, 0.99, p.window)
		} else {
			o.CompleteLatency = api.FormatStat(0)
		}
		resp.OutputStats = append(resp.OutputStats, o)
	}
	resp.ExecutorStats = p.executorStats(comp, spout, sys)
	if len(resp.ExecutorStats) > 0 {
		resp.EventLogLink = resp.ExecutorStats[0].EventLogLink
	}
	if spout {
		resp.SpoutLag = p.spoutLag(comp)
	}
	resp.UserMetrics = p.userMetrics(comp)
	for _, e := range p.errors {
		if e.Component == comp {
			ce := componentError(e, p.now)
			ce.ErrorWorkerLogLink = p.errorLogLink(e)
			resp.ComponentErrors = append(resp.ComponentErrors, ce)
		}
	}
	p.v.finish()
	return resp, nil
}

// executorStats lists a component's executors with their figures in the
// requested window, from each executor's own snapshot.
func (p *page) executorStats(comp string, spout, sys bool) []*api.ExecutorStats {
	type key struct {
		slot  cluster.Slot
		start int
	}
	snaps := map[key]executorSnapshot{}
	for _, e := range p.snapshots(comp) {
		snaps[key{e.slot, e.snap.FirstTask}] = e
	}
	var out []*api.ExecutorStats
	for _, e := range p.executors(comp) {
		slot := p.a.Executors[e]
		cs := newComponentStats()
		var uptime int64
		if hb, ok := p.beats[slot]; ok {
			uptime = hb.UptimeSecs
		}
		if es, ok := snaps[key{slot, e.Start}]; ok {
			p.m.addSnapshot(&cs, es.snap, p.window, sys)
		}
		f := cs.total
		id := fmt.Sprintf("[%d-%d]", e.Start, e.End)
		es := &api.ExecutorStats{
			Id:            id,
			EncodedId:     api.EncodeID(id),
			Uptime:        api.FormatUptimeSecs(uptime),
			UptimeSeconds: uptime,
			Host:          p.a.NodeHost[slot.NodeID],
			Port:          int32(slot.Port),
			Emitted:       f.emitted,
			Transferred:   f.transferred,
			Acked:         f.acked,
			Failed:        f.failed,

			ReceiveQueuePopulation: f.queuePop,
			ReceiveQueueCapacity:   f.queueCap,
			WorkerLogLink:          p.links.worker(slot.NodeID, p.a.NodeHost[slot.NodeID], p.rec.ID, slot.Port),
			ChildRestarts:          f.childRestarts,
			CrashLooping:           f.crashLooping > 0,
			EventLogLink:           p.links.events(slot.NodeID, p.a.NodeHost[slot.NodeID], p.rec.ID, slot.Port),
			BackpressureMs:         f.backpressure / 1e6,
			MaxSpoutPendingMs:      f.pendingWait / 1e6,
			ReceiveQueueOverflow:   f.overflow,
		}
		if spout {
			es.CompleteLatency = f.completeLatency()
			es.CompleteLatencyP50 = percentile(f.compHist, 0.5, p.window)
			es.CompleteLatencyP99 = percentile(f.compHist, 0.99, p.window)
		} else {
			es.Capacity = api.FormatStat(f.capacity)
			es.ExecuteLatency = f.executeLatency()
			es.Executed = f.executed
			es.ProcessLatency = f.processLatency()
			es.ExecuteLatencyP50 = percentile(f.execHist, 0.5, p.window)
			es.ExecuteLatencyP99 = percentile(f.execHist, 0.99, p.window)
		}
		out = append(out, es)
	}
	return out
}

// topologyTotals are a topology's totals in window w, as Storm's
// topologyStats: the spouts' figures, plus what the bolts emitted and
// transferred.
func (p *page) topologyTotals(sys bool, w metrics.Window) figures {
	var total figures
	for _, comp := range p.components(sys) {
		s := p.stats(comp, sys, w)
		if kind, _ := p.m.kind(comp); kind == topology.KindSpout.String() {
			total.add(s.total)
			continue
		}
		total.emitted += s.total.emitted
		total.transferred += s.total.transferred
	}
	return total
}

// errorLogLink links the log of the worker that reported e: the worker on
// e's host and port.
func (p *page) errorLogLink(e cluster.ErrorInfo) string {
	return p.links.workerOnHost(e.Host, p.rec.ID, e.Port)
}
