package nimbus

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/nimbus/lifecycle"
	"github.com/squallstream/squall/topology"
)

// accepted is a submission that passed validation.
type accepted struct {
	// sub is the submission as nimbus stores and serves it: without its
	// package and Go binary, with its name resolved and its number of
	// ackers pinned (topology.acker.executors), so that every worker
	// numbers the tasks as nimbus did, whatever its own configuration.
	sub     *api.SubmitTopologyRequest
	outline submission.Outline
	// resources and binary are the package's parts.
	resources, binary []byte
}

// submit is SubmitTopology. A dry run is validated by any nimbus; a real
// submission is forwarded to the leader, which validates it, stores the
// package, writes the topology record and schedules the topology before
// answering.
func (n *Nimbus) submit(ctx context.Context, req *api.SubmitTopologyRequest) (*api.SubmitTopologyResponse, error) {
	l := n.currentLeader()
	if l == nil && !req.GetDryRun() {
		c, fctx, err := n.leaderClient(ctx)
		if err != nil {
			return nil, err
		}
		return c.SubmitTopology(fctx, req)
	}
	acc, err := n.validate(ctx, req)
	if err != nil {
		return nil, err
	}
	name := acc.outline.Name
	if _, found, err := n.findByName(ctx, name); err != nil {
		return nil, err
	} else if found {
		return nil, withKind(ErrNameInUse, fmt.Errorf("a topology named %q is running already; kill it first or choose another name", name))
	}
	resp := &api.SubmitTopologyResponse{
		TopologyOperation: api.OperationSubmit,
		Status:            api.StatusSuccess,
		TopologyName:      name,
		DryRun:            req.GetDryRun(),
	}
	if req.GetDryRun() {
		return resp, nil
	}
	staged, err := n.stage(acc)
	if err != nil {
		return nil, err
	}
	// The staged package belongs to whoever claims it first: the leader
	// loop, which installs it or discards it, or this goroutine, which
	// discards it if it gives up before the loop runs the commit.
	var (
		claimed atomic.Bool
		id      string
	)
	err = l.do(ctx, func(ctx context.Context) error {
		if !claimed.CompareAndSwap(false, true) {
			return nil // abandoned
		}
		var err error
		id, err = l.commit(ctx, acc, staged)
		return err
	})
	if err != nil {
		if claimed.CompareAndSwap(false, true) {
			n.store.discard(staged)
		}
		return nil, err
	}
	resp.TopologyId = id
	return resp, nil
}

// validate checks a submission as workers will load it: sizes, the
// package's safety, the Go binary's platform, the definition (with the
// Go binary's registry when there is one, else with Config.Registry).
// Every problem wraps ErrInvalid.
func (n *Nimbus) validate(ctx context.Context, req *api.SubmitTopologyRequest) (*accepted, error) {
	size := int64(len(req.GetTopology()) + len(req.GetProperties()) + len(req.GetPackage()) + len(req.GetGoBinary()))
	if size > n.cfg.MaxSubmitBytes {
		return nil, invalidf("submission of %d bytes is larger than the limit of %d bytes", size, n.cfg.MaxSubmitBytes)
	}
	if strings.TrimSpace(req.GetTopology()) == "" {
		return nil, invalidf("no topology definition")
	}
	if len(req.GetPackage()) > 0 {
		if err := tarball.Check(bytes.NewReader(req.GetPackage()), n.cfg.PackageLimits); err != nil {
			return nil, invalidf("package: %v", err)
		}
	}
	if len(req.GetGoBinary()) > 0 {
		if err := checkExecutable(req.GetGoBinary()); err != nil {
			return nil, invalidf("go binary: %v", err)
		}
	}
	work, err := os.MkdirTemp("", "squall-nimbus-submit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	resDir := filepath.Join(work, "resources")
	if len(req.GetPackage()) > 0 {
		err = tarball.Extract(bytes.NewReader(req.GetPackage()), resDir, n.cfg.PackageLimits)
	} else {
		err = os.Mkdir(resDir, 0o755)
	}
	if err != nil {
		return nil, fmt.Errorf("unpack package: %w", err)
	}
	sub := proto.CloneOf(req)
	sub.Package, sub.GoBinary = nil, nil
	bin := ""
	if len(req.GetGoBinary()) > 0 {
		bin = filepath.Join(work, "topology")
		if err := os.WriteFile(bin, req.GetGoBinary(), 0o755); err != nil {
			return nil, err
		}
	}
	o, err := n.outlineOf(ctx, sub, resDir, bin)
	if err != nil {
		return nil, err
	}
	conf := n.cfg.Cluster.Merge(o.Config)
	if w := conf.Int(topology.KeyWorkers, 1); w < 1 {
		return nil, invalidf("%s is %d; a topology needs at least one worker", topology.KeyWorkers, w)
	}
	ackers := ackersOf(conf)
	o.Config = o.Config.Merge(topology.Config{topology.KeyAckerExecutors: ackers})
	sub.Name = o.Name
	if sub.Config == nil {
		sub.Config = &structpb.Struct{}
	}
	if sub.Config.Fields == nil {
		sub.Config.Fields = make(map[string]*structpb.Value)
	}
	sub.Config.Fields[topology.KeyAckerExecutors] = structpb.NewNumberValue(float64(ackers))
	return &accepted{sub: sub, outline: o, resources: req.GetPackage(), binary: req.GetGoBinary()}, nil
}

// stage writes an accepted submission's package to the store's staging
// area.
func (n *Nimbus) stage(acc *accepted) (stagedPackage, error) {
	w, err := n.store.create()
	if err != nil {
		return stagedPackage{}, err
	}
	if _, err := w.resources().Write(acc.resources); err != nil {
		w.abort()
		return stagedPackage{}, fmt.Errorf("stage package: %w", err)
	}
	if _, err := w.binary().Write(acc.binary); err != nil {
		w.abort()
		return stagedPackage{}, fmt.Errorf("stage package: %w", err)
	}
	return w.finish(acc.sub)
}

// commit makes an accepted, staged submission a topology: it gives it an
// id, installs its package, writes its record and schedules it. It runs in
// the leader loop, which makes the name check and the id safe from
// concurrent submissions. It changes nothing if it fails (the staged
// package is discarded), but for a record write whose outcome the
// cluster state could not tell.
//
// The id is Storm's name-counter-timestamp. The counter is one more than
// the highest counter among the topologies in the cluster state, so it
// needs no counter of its own and survives leader changes; the record is
// created with compare-and-set, and an id taken meanwhile is retried with
// the next counter.
func (l *leader) commit(ctx context.Context, acc *accepted, staged stagedPackage) (_ string, err error) {
	n := l.n
	defer func() {
		if err != nil {
			n.store.discard(staged)
		}
	}()
	name := acc.outline.Name
	if _, found, err := n.findByName(ctx, name); err != nil {
		return "", err
	} else if found {
		return "", withKind(ErrNameInUse, fmt.Errorf("a topology named %q is running already; kill it first or choose another name", name))
	}
	ids, err := n.state.ListTopologies(ctx)
	if err != nil {
		return "", unavailablef("list topologies: %v", err)
	}
	taken := make(map[string]bool, len(ids))
	counter := 0
	for _, id := range ids {
		taken[id] = true
		counter = max(counter, idCounter(id))
	}
	now := n.clock.Now()
	st, _ := lifecycle.Submit(!acc.sub.GetInactive())
	m := newModel(acc.outline, n.cfg.Cluster, "")
	rec := cluster.TopologyRecord{
		Name:               name,
		Status:             cluster.TopologyStatus(st.Status),
		NumWorkers:         m.conf.Int(topology.KeyWorkers, 1),
		LaunchTime:         now,
		ComponentExecutors: m.parallelism(cluster.TopologyRecord{}),
		PackageDigest:      staged.digest,
		PackageSize:        staged.size,
	}

	if err := n.record(ctx, &rec, staged, taken, counter); err != nil {
		return "", err
	}
	n.models.put(rec.ID, rec.PackageDigest, newModel(acc.outline, n.cfg.Cluster, rec.ID))
	n.log.Info("topology submitted", "topology", rec.ID, "status", rec.Status, "workers", rec.NumWorkers,
		"digest", rec.PackageDigest, "bytes", rec.PackageSize)
	// lifecycle.Submit's action: schedule at once, not at the next tick.
	if err := l.pass(ctx); err != nil {
		n.log.Warn("schedule", "err", err)
	}
	return rec.ID, nil
}

// record gives rec the first free id after counter, installs the staged
// package under it and creates the record.
func (n *Nimbus) record(ctx context.Context, rec *cluster.TopologyRecord, staged stagedPackage, taken map[string]bool, counter int) error {
	n.store.installing.RLock()
	defer n.store.installing.RUnlock()
	name, now := rec.Name, rec.LaunchTime
	for attempt := 0; ; attempt++ {
		counter++
		rec.ID = fmt.Sprintf("%s-%d-%d", name, counter, now.Unix())
		if taken[rec.ID] {
			continue
		}
		if attempt >= 100 {
			return unavailablef("no free topology id for %q after %d attempts", name, attempt)
		}
		if err := n.store.install(staged, rec.ID); err != nil {
			return err
		}
		_, err := n.state.SetTopology(ctx, *rec)
		if err != nil && n.isOurs(ctx, *rec) {
			err = nil // the write was applied, its answer lost
		}
		if errors.Is(err, cluster.ErrExists) {
			if rerr := os.Rename(n.store.dir(rec.ID), staged.dir); rerr != nil {
				return fmt.Errorf("unstage package: %w", rerr)
			}
			continue
		}
		if err != nil {
			n.store.remove(rec.ID)
			return unavailablef("write topology %s: %v", rec.ID, err)
		}
		return nil
	}
}

// isOurs reports whether the stored record of rec.ID is rec, written by a
// write whose answer was lost.
func (n *Nimbus) isOurs(ctx context.Context, rec cluster.TopologyRecord) bool {
	got, err := n.state.GetTopology(ctx, rec.ID)
	return err == nil && got.Name == rec.Name && got.PackageDigest == rec.PackageDigest &&
		got.LaunchTime.Equal(rec.LaunchTime)
}

// idCounter returns the counter of a topology id, name-counter-timestamp,
// or 0.
func idCounter(id string) int {
	parts := strings.Split(id, "-")
	if len(parts) < 3 {
		return 0
	}
	n, err := strconv.Atoi(parts[len(parts)-2])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// findByName returns the id of the topology named name.
func (n *Nimbus) findByName(ctx context.Context, name string) (string, bool, error) {
	ids, err := n.state.ListTopologies(ctx)
	if err != nil {
		return "", false, unavailablef("list topologies: %v", err)
	}
	for _, id := range ids {
		// Ids are name-counter-timestamp: only these can be name's.
		if !strings.HasPrefix(id, name+"-") {
			continue
		}
		rec, err := n.state.GetTopology(ctx, id)
		if errors.Is(err, cluster.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", false, unavailablef("read topology %s: %v", id, err)
		}
		if rec.Name == name {
			return id, true, nil
		}
	}
	return "", false, nil
}

// resolve returns the topology id a request names: id, or the id of the
// topology named name.
func (n *Nimbus) resolve(ctx context.Context, id, name string) (string, error) {
	if id != "" {
		return id, nil
	}
	if name == "" {
		return "", invalidf("no topology id or name given")
	}
	id, found, err := n.findByName(ctx, name)
	if err != nil {
		return "", err
	}
	if !found {
		return "", notFoundf("no topology named %q", name)
	}
	return id, nil
}
