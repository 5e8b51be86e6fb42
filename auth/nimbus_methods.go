package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/auth/redact"
)

// NimbusMethods returns the authorization table of the squall.v1.Nimbus
// service: every RPC, its operation, how to find the topology it acts on,
// and how to filter its response. A test fails when the service gains a
// method this table lacks; the Guard refuses such a method meanwhile.
func NimbusMethods() map[string]MethodRule {
	byIDOrName := func(req any) (id, name string) {
		if r, ok := req.(interface{ GetId() string }); ok {
			id = r.GetId()
		}
		if r, ok := req.(interface{ GetName() string }); ok {
			name = r.GetName()
		}
		return id, name
	}
	plain := func(op Operation) MethodRule { return MethodRule{Op: op} }
	topo := func(op Operation) MethodRule { return MethodRule{Op: op, Topology: byIDOrName} }
	return map[string]MethodRule{
		api.Nimbus_GetClusterSummary_FullMethodName:       plain(OpGetClusterSummary),
		api.Nimbus_GetClusterConfiguration_FullMethodName: {Op: OpGetClusterConfiguration, Filter: redactClusterConfiguration},
		api.Nimbus_GetNimbusSummary_FullMethodName:        plain(OpGetNimbusSummary),
		api.Nimbus_GetSupervisorSummary_FullMethodName:    plain(OpGetSupervisorSummary),
		api.Nimbus_ListTopologies_FullMethodName:          {Op: OpListTopologies, Filter: filterTopologies},
		api.Nimbus_SubmitTopology_FullMethodName:          plain(OpSubmitTopology),
		// SubmitTopology streamed: the same operation.
		api.Nimbus_UploadTopology_FullMethodName:     plain(OpSubmitTopology),
		api.Nimbus_GetTopology_FullMethodName:        {Op: OpGetTopology, Topology: byIDOrName, Filter: redactTopology},
		api.Nimbus_GetComponent_FullMethodName:       topo(OpGetComponent),
		api.Nimbus_GetErrors_FullMethodName:          topo(OpGetErrors),
		api.Nimbus_ActivateTopology_FullMethodName:   topo(OpActivateTopology),
		api.Nimbus_DeactivateTopology_FullMethodName: topo(OpDeactivateTopology),
		api.Nimbus_RebalanceTopology_FullMethodName:  topo(OpRebalanceTopology),
		api.Nimbus_KillTopology_FullMethodName:       topo(OpKillTopology),
		// Supervisors need any topology's package, unredacted.
		api.Nimbus_DownloadPackage_FullMethodName: plain(OpDownloadPackage),
		// Storm's other UI routes: a topology's are reads of it; the
		// supervisor route lists only the workers of topologies the caller
		// may view; history is the caller's own; owner resources are counts.
		api.Nimbus_GetTopologyWorkers_FullMethodName:   topo(OpGetTopology),
		api.Nimbus_GetVisualization_FullMethodName:     topo(OpGetTopology),
		api.Nimbus_GetVisualizationInit_FullMethodName: topo(OpGetTopology),
		api.Nimbus_GetTopologyMetrics_FullMethodName:   topo(OpGetTopology),
		api.Nimbus_GetSupervisor_FullMethodName:        {Op: OpGetSupervisorSummary, Filter: filterSupervisorWorkers},
		api.Nimbus_GetTopologyHistory_FullMethodName:   plain(OpListTopologies),
		api.Nimbus_GetOwnerResources_FullMethodName:    plain(OpGetClusterSummary),
		// Storm authorizes a topology's lag as viewing it.
		api.Nimbus_GetTopologyLag_FullMethodName: topo(OpGetTopology),
		// Storm's setLogConfig and getLogConfig operations.
		api.Nimbus_SetLogConfig_FullMethodName: topo(OpSetLogConfig),
		api.Nimbus_GetLogConfig_FullMethodName: topo(OpGetTopology),
		// Storm's debug operation.
		api.Nimbus_DebugTopology_FullMethodName: topo(OpDebug),
	}
}

// filterSupervisorWorkers keeps the workers of topologies p may view.
func filterSupervisorWorkers(ctx context.Context, g *Guard, p Principal, resp any) error {
	r, ok := resp.(*api.GetSupervisorResponse)
	if !ok || !g.policy.Enforce {
		return nil
	}
	kept := r.Workers[:0]
	for _, w := range r.Workers {
		acl, err := g.acls(ctx, w.GetTopologyId(), "")
		if errors.Is(err, ErrUnknownTopology) {
			continue
		}
		if err != nil {
			return fmt.Errorf("supervisor: ACL of %s: %w", w.GetTopologyId(), err)
		}
		if CanView(p, acl, g.policy) {
			kept = append(kept, w)
		}
	}
	clear(r.Workers[len(kept):])
	r.Workers = kept
	return nil
}

func redactClusterConfiguration(_ context.Context, _ *Guard, _ Principal, resp any) error {
	if r, ok := resp.(*api.GetClusterConfigurationResponse); ok {
		redact.Struct(r.GetConfiguration())
	}
	return nil
}

func redactTopology(_ context.Context, _ *Guard, _ Principal, resp any) error {
	if r, ok := resp.(*api.GetTopologyResponse); ok {
		redact.Struct(r.GetConfiguration())
	}
	return nil
}

// filterTopologies keeps the topologies p may view: the others are not
// even listed. A topology gone since the list was made is dropped.
func filterTopologies(ctx context.Context, g *Guard, p Principal, resp any) error {
	r, ok := resp.(*api.ListTopologiesResponse)
	if !ok || !g.policy.Enforce {
		return nil
	}
	kept := r.Topologies[:0]
	for _, t := range r.Topologies {
		acl, err := g.acls(ctx, t.GetId(), "")
		if errors.Is(err, ErrUnknownTopology) {
			continue
		}
		if err != nil {
			return fmt.Errorf("list topologies: ACL of %s: %w", t.GetId(), err)
		}
		if CanView(p, acl, g.policy) {
			kept = append(kept, t)
		}
	}
	clear(r.Topologies[len(kept):])
	r.Topologies = kept
	return nil
}
