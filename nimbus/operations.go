package nimbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/nimbus/lifecycle"
	"github.com/squallstream/squall/topology"
)

// This file holds the writes of the API: submission and the topology
// state machine, which the leader carries out and followers forward, and
// DownloadPackage. Each exported method converts its errors to gRPC
// statuses once, with grpcError.

// SubmitTopology validates a submission and, unless it is a dry run,
// stores its package, records the topology and schedules it.
func (n *Nimbus) SubmitTopology(ctx context.Context, req *api.SubmitTopologyRequest) (*api.SubmitTopologyResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	resp, err := n.submit(ctx, api.UploadOf(req))
	return resp, grpcError(err)
}

// ActivateTopology lets a deactivated topology's spouts emit again.
func (n *Nimbus) ActivateTopology(ctx context.Context, req *api.ActivateTopologyRequest) (*api.TopologyOperationResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	if n.currentLeader() == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.TopologyOperationResponse, error) {
			return c.ActivateTopology(ctx, req)
		})
	}
	id, err := n.operate(ctx, req.GetId(), req.GetName(), lifecycle.Event{Kind: lifecycle.EventActivate}, nil)
	if err != nil {
		return nil, grpcError(err)
	}
	return api.OperationResponse(api.OperationActivate, id), nil
}

// DeactivateTopology stops a topology's spouts.
func (n *Nimbus) DeactivateTopology(ctx context.Context, req *api.DeactivateTopologyRequest) (*api.TopologyOperationResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	if n.currentLeader() == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.TopologyOperationResponse, error) {
			return c.DeactivateTopology(ctx, req)
		})
	}
	id, err := n.operate(ctx, req.GetId(), req.GetName(), lifecycle.Event{Kind: lifecycle.EventDeactivate}, nil)
	if err != nil {
		return nil, grpcError(err)
	}
	return api.OperationResponse(api.OperationDeactivate, id), nil
}

// KillTopology kills a topology: it is deactivated at once and removed
// after the wait (topology.message.timeout.secs when unset).
func (n *Nimbus) KillTopology(ctx context.Context, req *api.KillTopologyRequest) (*api.TopologyOperationResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	if n.currentLeader() == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.TopologyOperationResponse, error) {
			return c.KillTopology(ctx, req)
		})
	}
	wait, err := waitSecs(req.WaitSecs)
	if err != nil {
		return nil, grpcError(err)
	}
	id, err := n.operate(ctx, req.GetId(), req.GetName(), lifecycle.Event{Kind: lifecycle.EventKill, WaitSecs: wait}, nil)
	if err != nil {
		return nil, grpcError(err)
	}
	return api.OperationResponse(api.OperationKill, id), nil
}

// RebalanceTopology redistributes a topology's executors after the wait,
// possibly over another number of workers and with other executor counts.
func (n *Nimbus) RebalanceTopology(ctx context.Context, req *api.RebalanceTopologyRequest) (*api.TopologyOperationResponse, error) {
	if err := n.writable(); err != nil {
		return nil, grpcError(err)
	}
	if n.currentLeader() == nil {
		return forward(ctx, n, func(c api.NimbusClient, ctx context.Context) (*api.TopologyOperationResponse, error) {
			return c.RebalanceTopology(ctx, req)
		})
	}
	wait, err := waitSecs(req.WaitSecs)
	if err != nil {
		return nil, grpcError(err)
	}
	opts, err := rebalanceOptions(req.GetRebalanceOptions())
	if err != nil {
		return nil, grpcError(err)
	}
	ev := lifecycle.Event{Kind: lifecycle.EventRebalance, WaitSecs: wait, Rebalance: opts}
	id, err := n.operate(ctx, req.GetId(), req.GetName(), ev, func(m *model, rec cluster.TopologyRecord) error {
		return checkRebalance(m, rec, opts)
	})
	if err != nil {
		return nil, grpcError(err)
	}
	return api.OperationResponse(api.OperationRebalance, id), nil
}

// rebalanceOptions checks a rebalance's options on their own: a number of
// workers, when given, of at least 1 (0 is not "unchanged": leave it out
// for that), executor counts of at least 1.
func rebalanceOptions(o *api.RebalanceOptions) (lifecycle.RebalanceOptions, error) {
	var opts lifecycle.RebalanceOptions
	if o != nil && o.NumWorkers != nil {
		if n := o.GetNumWorkers(); n < 1 {
			return opts, invalidf("rebalanceOptions.numWorkers %d: want at least 1 (leave it out to keep the current number)", n)
		}
		opts.NumWorkers = int(o.GetNumWorkers())
	}
	if ex := o.GetExecutors(); len(ex) > 0 {
		opts.ComponentExecutors = make(map[string]int, len(ex))
		for _, comp := range slices.Sorted(maps.Keys(ex)) {
			if k := ex[comp]; k < 1 {
				return opts, invalidf("rebalanceOptions.executors[%q] %d: want at least 1", comp, k)
			}
			opts.ComponentExecutors[comp] = int(ex[comp])
		}
	}
	return opts, nil
}

// checkRebalance vets a rebalance against the topology: executor counts
// of its components, between 1 and their number of tasks; no more workers
// than the topology will have executors, since a worker runs at least one.
func checkRebalance(m *model, rec cluster.TopologyRecord, opts lifecycle.RebalanceOptions) error {
	p := m.parallelism(rec)
	for _, comp := range slices.Sorted(maps.Keys(opts.ComponentExecutors)) {
		k := opts.ComponentExecutors[comp]
		c, ok := m.byID[comp]
		if !ok {
			return invalidf("rebalanceOptions.executors: topology %s has no component %q (it has %s)",
				m.outline.Name, comp, strings.Join(slices.Sorted(maps.Keys(m.byID)), ", "))
		}
		if k > c.NumTasks {
			return invalidf("rebalanceOptions.executors[%q] %d: %q has %d task(s), and a component has at most one executor per task "+
				"(Storm quietly runs no more executors than tasks); give it more with numTasks in its definition to scale it up this far",
				comp, k, comp, c.NumTasks)
		}
		p[comp] = k
	}
	if executors := len(m.tasks.Executors(p)); opts.NumWorkers > executors {
		return invalidf("rebalanceOptions.numWorkers %d: topology %s will have %d executors, so at most %d workers",
			opts.NumWorkers, m.outline.Name, executors, executors)
	}
	return nil
}

// waitSecs returns a kill's or rebalance's wait: -1 (the topology's
// message timeout) when unset.
func waitSecs(w *int32) (int, error) {
	if w == nil {
		return -1, nil
	}
	if *w < 0 {
		return 0, invalidf("waitSecs %d: the wait time cannot be negative", *w)
	}
	return int(*w), nil
}

// operate runs a user event on the topology a request names, in the
// leader loop, and returns its id.
func (n *Nimbus) operate(ctx context.Context, id, name string, ev lifecycle.Event, check func(*model, cluster.TopologyRecord) error) (string, error) {
	l := n.currentLeader()
	if l == nil {
		return "", unavailablef("this nimbus lost the leadership; retry")
	}
	id, err := n.freshView(ctx).resolve(id, name)
	if err != nil {
		return "", err
	}
	err = l.do(ctx, func(ctx context.Context) error {
		return l.apply(ctx, id, ev, check)
	})
	return id, err
}

// forward sends a write to the leader, for a follower.
func forward[T any](ctx context.Context, n *Nimbus, call func(api.NimbusClient, context.Context) (T, error)) (T, error) {
	c, fctx, err := n.leaderClient(ctx)
	if err != nil {
		var zero T
		return zero, grpcError(err)
	}
	resp, err := call(c, fctx)
	return resp, grpcError(err)
}

// DownloadPackage streams a topology's package, from any nimbus that
// holds it: the manifest, then the resources archive and the Go binary.
func (n *Nimbus) DownloadPackage(req *api.DownloadPackageRequest, stream grpc.ServerStreamingServer[api.DownloadPackageResponse]) error {
	return grpcError(n.download(stream.Context(), req, stream))
}

func (n *Nimbus) download(ctx context.Context, req *api.DownloadPackageRequest, stream api.PackageSender) error {
	id := req.GetTopologyId()
	if id == "" {
		return invalidf("topologyId: no topology id given")
	}
	if err := topology.CheckID(id); err != nil {
		return notFoundf("topology %.80q not found: it cannot be a topology id", id)
	}
	rec, err := n.state.GetTopology(ctx, id)
	if errors.Is(err, cluster.ErrNotFound) {
		return notFoundf("topology %q not found", id)
	}
	if err != nil {
		return unavailablef("read topology %s: %v", id, err)
	}
	p, err := n.store.open(id)
	if errors.Is(err, os.ErrNotExist) {
		return unavailablef("this nimbus does not hold the package of %s yet; ask the leader", id)
	}
	if err != nil {
		return err
	}
	defer p.close()
	if p.digest != rec.PackageDigest {
		return unavailablef("this nimbus holds package %s of %s, but the topology's is %s", p.digest, id, rec.PackageDigest)
	}
	if d := req.GetDigest(); d != "" && d != p.digest {
		return withKind(ErrRefused, fmt.Errorf("topology %s has package %s, not %s", id, p.digest, d))
	}
	m := &api.PackageManifest{
		TopologyId:   id,
		Digest:       p.digest,
		Submission:   p.submission,
		PackageSize:  p.resSize,
		GoBinarySize: p.binSize,
	}
	if err := api.SendPackage(stream, m, readerOrNil(p.resources), readerOrNil(p.binary)); err != nil {
		return err
	}
	n.noteReplica(ctx, p.digest)
	return nil
}

// readerOrNil keeps a nil *os.File a nil io.Reader.
func readerOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}
