package nimbus

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strings"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
)

const (
	// operationDebug is Storm's topologyOperation for the debug action.
	operationDebug = "debug"
	// keyEventLoggers is Storm's topology.eventlogger.executors: 0 leaves
	// the workers without an event log.
	keyEventLoggers = "topology.eventlogger.executors"
)

// DebugTopology is Storm's debug action: it records, in the topology's
// record, which the workers follow, whether the tuples of the topology (or
// one of its components) are sampled into the workers' event logs, and
// what percent of them.
func (n *Nimbus) DebugTopology(ctx context.Context, req *api.DebugTopologyRequest) (*api.TopologyOperationResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	l := n.currentLeader()
	if l == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.TopologyOperationResponse, error) {
			return c.DebugTopology(ctx, req)
		})
	}
	var opt cluster.DebugOption
	switch strings.ToLower(req.GetAction()) {
	case "enable":
		pct := req.GetSpct()
		if math.IsNaN(pct) || pct <= 0 || pct > 100 {
			return nil, grpcError(invalidf("spct %v: want a sampling percent above 0 and at most 100", pct))
		}
		opt = cluster.DebugOption{Enable: true, SamplingPct: pct}
	case "disable":
	default:
		return nil, grpcError(invalidf("debug action %.40q: want enable or disable", req.GetAction()))
	}
	comp := req.GetComponent()
	id, err := n.freshView(ctx).resolve(req.GetId(), req.GetName())
	if err != nil {
		return nil, grpcError(err)
	}
	err = l.do(ctx, func(ctx context.Context) error {
		for attempt := 0; ; attempt++ {
			rec, err := n.state.GetTopology(ctx, id)
			if errors.Is(err, cluster.ErrNotFound) {
				return notFoundf("topology %q not found", id)
			}
			if err != nil {
				return unavailablef("read topology %s: %v", id, err)
			}
			m, err := n.model(ctx, rec)
			if err != nil {
				return err
			}
			if _, ok := m.kind(comp); comp != "" && !ok {
				return notFoundf("topology %s has no component %.80q", id, comp)
			}
			if opt.Enable && m.conf.Int(keyEventLoggers, 1) == 0 {
				return withKind(ErrRefused, fmt.Errorf("topology %s has %s 0: it logs no events", id, keyEventLoggers))
			}
			debug := maps.Clone(rec.Debug)
			if debug == nil {
				debug = map[string]cluster.DebugOption{}
			}
			debug[comp] = opt
			rec.Debug = debug
			_, err = n.state.SetTopology(ctx, rec)
			if errors.Is(err, cluster.ErrVersionConflict) && attempt < 10 {
				continue
			}
			if err != nil {
				return unavailablef("write topology %s: %v", id, err)
			}
			n.log.Info("debug set", "topology", id, "component", comp, "enable", opt.Enable, "samplingPct", opt.SamplingPct)
			return nil
		}
	})
	if err != nil {
		return nil, grpcError(err)
	}
	return api.OperationResponse(operationDebug, id), nil
}

// debug returns the debug option in force for comp ("" for the topology):
// the component's own, else the topology's, as Storm's executors choose.
// topology.debug, which logs every emit into the worker's log, is not one.
func (p *page) debug(comp string) cluster.DebugOption {
	if o, ok := p.rec.Debug[comp]; ok && comp != "" {
		return o
	}
	if o, ok := p.rec.Debug[""]; ok {
		return o
	}
	return cluster.DebugOption{}
}
