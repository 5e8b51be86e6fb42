package nimbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/buildinfo"
	"github.com/squallstream/squall/topology"
)

// This file holds the cluster-wide reads of the API. Every nimbus answers
// them from the cluster state, leader or not, through a view (lastknown.go):
// from its last known state, marked stale, when ZooKeeper does not answer.

// GetClusterSummary returns Storm's cluster summary.
func (n *Nimbus) GetClusterSummary(ctx context.Context, _ *api.GetClusterSummaryRequest) (*api.GetClusterSummaryResponse, error) {
	v := n.newView(ctx)
	sups, err := v.supervisors()
	if err != nil {
		return nil, grpcError(err)
	}
	ids, asg, err := v.assignments()
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &api.GetClusterSummaryResponse{
		User:                   caller(ctx).Name,
		StormVersion:           n.version,
		StormVersionInfo:       versionInfo(buildinfo.String()),
		Supervisors:            int32(len(sups)),
		Topologies:             int32(len(ids)),
		MemAssignedPercentUtil: "0.0",
		CpuAssignedPercentUtil: "0.0",
	}
	used := usedSlots(asg)
	for _, s := range sups {
		resp.SlotsTotal += int32(len(s.Ports))
		for _, p := range s.Ports {
			if used[cluster.Slot{NodeID: s.ID, Port: p}] {
				resp.SlotsUsed++
			}
		}
	}
	resp.SlotsFree = resp.SlotsTotal - resp.SlotsUsed
	for _, a := range asg {
		resp.ExecutorsTotal += int32(len(a.Executors))
		resp.TasksTotal += int32(tasksOf(a))
	}
	v.finish()
	return resp, nil
}

// GetClusterConfiguration returns nimbus's cluster configuration.
func (n *Nimbus) GetClusterConfiguration(context.Context, *api.GetClusterConfigurationRequest) (*api.GetClusterConfigurationResponse, error) {
	s, err := toStruct(n.cfg.Cluster)
	if err != nil {
		return nil, grpcError(err)
	}
	return &api.GetClusterConfigurationResponse{Configuration: s}, nil
}

// GetNimbusSummary lists the registered nimbuses, and the nimbus.seeds
// hosts where none runs as offline.
func (n *Nimbus) GetNimbusSummary(ctx context.Context, _ *api.GetNimbusSummaryRequest) (*api.GetNimbusSummaryResponse, error) {
	v := n.newView(ctx)
	nimbuses, err := v.nimbuses(false)
	if err != nil {
		return nil, grpcError(err)
	}
	now := n.clock.Now()
	resp := &api.GetNimbusSummaryResponse{}
	hosts := make(map[string]bool)
	for _, nb := range nimbuses {
		hosts[nb.Host] = true
		st := api.NimbusNotLeader
		if nb.IsLeader {
			st = api.NimbusLeader
		}
		up := now.Sub(nb.StartTime)
		resp.Nimbuses = append(resp.Nimbuses, &api.NimbusSummary{
			Host:                nb.Host,
			Port:                int32(nb.Port),
			Status:              st,
			Version:             nb.Version,
			NimbusUpTimeSeconds: int64(up / time.Second),
			NimbusUpTime:        api.FormatUptime(up),
		})
	}
	seeds, _ := n.cfg.Cluster[topology.KeyNimbusSeeds].([]any)
	port := n.cfg.Cluster.Int(topology.KeyNimbusGRPCPort, 6627)
	for _, s := range seeds {
		host, p := fmt.Sprint(s), port
		if h, ps, err := net.SplitHostPort(host); err == nil {
			if pn, err := strconv.Atoi(ps); err == nil {
				host, p = h, pn
			}
		}
		if hosts[host] {
			continue
		}
		hosts[host] = true
		resp.Nimbuses = append(resp.Nimbuses, &api.NimbusSummary{Host: host, Port: int32(p), Status: api.NimbusOffline, NimbusUpTime: api.FormatUptime(0)})
	}
	v.finish()
	return resp, nil
}

// GetSupervisorSummary lists the live supervisors.
func (n *Nimbus) GetSupervisorSummary(ctx context.Context, _ *api.GetSupervisorSummaryRequest) (*api.GetSupervisorSummaryResponse, error) {
	v := n.newView(ctx)
	sups, err := v.supervisors()
	if err != nil {
		return nil, grpcError(err)
	}
	_, asg, err := v.assignments()
	if err != nil {
		return nil, grpcError(err)
	}
	used := usedSlots(asg)
	now := n.clock.Now()
	links := n.logLinksOf(sups)
	resp := &api.GetSupervisorSummaryResponse{}
	for _, s := range sups {
		up := s.Uptime(now)
		sum := &api.SupervisorSummary{
			Id:            s.ID,
			Host:          s.Host,
			Uptime:        api.FormatUptime(up),
			UptimeSeconds: int64(up / time.Second),
			SlotsTotal:    int32(len(s.Ports)),
			Version:       s.Version,
			LogLink:       links.daemon(s.ID, s.Host),
			LogviewerPort: links.logviewerPort(s.ID, s.Host),
		}
		for _, p := range s.Ports {
			if used[cluster.Slot{NodeID: s.ID, Port: p}] {
				sum.SlotsUsed++
			}
		}
		sum.SlotsFree = sum.SlotsTotal - sum.SlotsUsed
		resp.Supervisors = append(resp.Supervisors, sum)
	}
	v.finish()
	return resp, nil
}

// ListTopologies lists the topologies, with Storm's topology summary.
func (n *Nimbus) ListTopologies(ctx context.Context, _ *api.ListTopologiesRequest) (*api.ListTopologiesResponse, error) {
	v := n.newView(ctx)
	ids, err := v.topologyIDs()
	if err != nil {
		return nil, grpcError(err)
	}
	nimbuses, err := v.nimbuses(true)
	if err != nil {
		return nil, grpcError(err)
	}
	now := n.clock.Now()
	resp := &api.ListTopologiesResponse{}
	for _, id := range ids {
		rec, err := v.topology(id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, grpcError(err)
		}
		a, err := v.assignment(id)
		if err != nil {
			return nil, grpcError(err)
		}
		up := now.Sub(rec.LaunchTime)
		sum := &api.TopologySummary{
			Id:               id,
			EncodedId:        api.EncodeID(id),
			Owner:            rec.Owner,
			Name:             rec.Name,
			Status:           string(rec.Status),
			Uptime:           api.FormatUptime(up),
			UptimeSeconds:    int64(up / time.Second),
			TasksTotal:       int32(tasksOf(a)),
			WorkersTotal:     int32(len(a.Slots())),
			ExecutorsTotal:   int32(len(a.Executors)),
			ReplicationCount: n.replicationCount(rec, nimbuses),
			SchedulerInfo:    schedulerInfo(rec, a),
			StormVersion:     n.version,
		}
		// The configuration is known only once the package is loaded;
		// listing loads none.
		if m, ok := n.models.get(id, rec.PackageDigest); ok {
			sum.TopologyVersion = m.conf.String("topology.version", "")
		}
		// A stateful topology's checkpoint, from its heartbeats: listing
		// flags one that stalled. Other topologies' are not read.
		if rec.Stateful {
			if beats, err := v.heartbeats(id); err == nil {
				if cp, ok := checkpointOf(beats, a.Slots(), now); ok {
					sum.CheckpointTxid = proto.Int64(cp.txid)
					sum.CheckpointAgeSecs = proto.Int64(int64(cp.age / time.Second))
					sum.CheckpointStalled = cp.stalled
				}
			}
		}
		resp.Topologies = append(resp.Topologies, sum)
	}
	v.finish()
	return resp, nil
}

// GetErrors returns the errors a topology's components reported, the last
// 10 per component, oldest first.
func (n *Nimbus) GetErrors(ctx context.Context, req *api.GetErrorsRequest) (*api.GetErrorsResponse, error) {
	v := n.newView(ctx)
	id, err := v.resolve(req.GetId(), req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	rec, err := v.topology(id)
	if err != nil {
		return nil, grpcError(err)
	}
	errs, err := read(v, knownKey{knownErrors, id}, "the errors of "+id, func(ctx context.Context) ([]cluster.ErrorInfo, error) {
		return n.state.ListErrors(ctx, id)
	})
	if err != nil {
		return nil, grpcError(err)
	}
	resp := &api.GetErrorsResponse{TopologyId: id, TopologyName: rec.Name}
	now := n.clock.Now()
	for _, e := range errs {
		if c := req.GetComponent(); c != "" && e.Component != c {
			continue
		}
		resp.TopologyErrors = append(resp.TopologyErrors, componentError(e, now))
	}
	v.finish()
	return resp, nil
}

func componentError(e cluster.ErrorInfo, now time.Time) *api.ComponentError {
	return &api.ComponentError{
		ErrorTime:       e.Time.Unix(),
		ErrorHost:       e.Host,
		ErrorPort:       int32(e.Port),
		ErrorLapsedSecs: int64(now.Sub(e.Time) / time.Second),
		Error:           e.Message,
		Component:       e.Component,
		Task:            int32(e.Task),
	}
}

// usedSlots returns the slots some assignment uses.
func usedSlots(asg []cluster.Assignment) map[cluster.Slot]bool {
	used := make(map[cluster.Slot]bool)
	for _, a := range asg {
		for _, s := range a.Executors {
			used[s] = true
		}
	}
	return used
}

// tasksOf counts the tasks of an assignment's executors.
func tasksOf(a cluster.Assignment) int {
	n := 0
	for e := range a.Executors {
		n += e.End - e.Start + 1
	}
	return n
}

// schedulerInfo is Storm's scheduler remark: empty when the topology has
// the workers it asked for.
func schedulerInfo(rec cluster.TopologyRecord, a cluster.Assignment) string {
	if rec.Status == cluster.StatusKilled {
		return ""
	}
	workers := len(a.Slots())
	switch {
	case len(a.Executors) == 0:
		return "Not scheduled: waiting for free slots"
	case workers < rec.NumWorkers && workers < len(a.Executors):
		return fmt.Sprintf("Running %d of %d workers: not enough free slots", workers, rec.NumWorkers)
	}
	return ""
}

// toStruct converts a configuration to a protobuf Struct, through JSON so
// that any YAML- or JSON-decoded value converts.
func toStruct(c topology.Config) (*structpb.Struct, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	s, err := structpb.NewStruct(m)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	return s, nil
}

// sortedKeys returns m's keys, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
