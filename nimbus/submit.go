package nimbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc"
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
	// resources and binary are the package's parts, nil when empty.
	resources, binary *io.SectionReader
	// owner is the submitting principal's name, empty without
	// authentication.
	owner string
}

// SubmitUpload is api.UploadServer's: the REST gateway's submissions,
// their parts spooled to disk. The gateway took their slot.
func (n *Nimbus) SubmitUpload(ctx context.Context, u *api.Upload) (*api.SubmitTopologyResponse, error) {
	resp, err := n.submit(ctx, u)
	return resp, grpcError(err)
}

// UploadTopology receives a streamed submission into spool files of the
// scratch directory and submits it. api.SubmitTap gave it its slot.
func (n *Nimbus) UploadTopology(stream grpc.ClientStreamingServer[api.UploadTopologyRequest, api.SubmitTopologyResponse]) error {
	spool := api.NewSpool(n.store.scratch)
	defer spool.Close()
	u, err := api.ReceiveUpload(stream.Context(), stream, spool, api.UploadLimits{
		MaxBytes:    n.cfg.MaxSubmitBytes,
		IdleTimeout: n.cfg.SubmitIdleTimeout,
		Timeout:     n.cfg.SubmitTimeout,
	})
	if err != nil {
		return grpcError(err)
	}
	resp, err := n.submit(stream.Context(), u)
	if err != nil {
		return grpcError(err)
	}
	return stream.SendAndClose(resp)
}

// submit is SubmitTopology, SubmitUpload and UploadTopology. A dry run is
// validated by any nimbus; a real submission is forwarded to the leader,
// which validates it, stores the package, writes the topology record and
// schedules the topology before answering.
func (n *Nimbus) submit(ctx context.Context, u *api.Upload) (*api.SubmitTopologyResponse, error) {
	req := u.Request
	if u.Size() >= releaseAfterBytes {
		defer n.release.soon()
	}
	if size := u.Size(); size > n.cfg.MaxSubmitBytes {
		return nil, api.TooLargeError(api.KeySubmitMaxBytes, fmt.Sprintf(
			"the package and Go binary are larger than %s allows (%d bytes); got %d bytes", api.KeySubmitMaxBytes, n.cfg.MaxSubmitBytes, size))
	}
	if size := proto.Size(req); size > api.MaxDefinitionBytes {
		return nil, api.TooLargeError(api.KeySubmitMaxBytes, fmt.Sprintf(
			"the submission's definition, properties and options are larger than %d bytes; got %d", api.MaxDefinitionBytes, size))
	}
	l := n.currentLeader()
	if l == nil && !req.GetDryRun() {
		c, fctx, err := n.leaderClient(ctx)
		if err != nil {
			return nil, err
		}
		return api.SendUpload(fctx, c, u)
	}
	acc, err := n.validate(ctx, u)
	if err != nil {
		return nil, err
	}
	acc.setOwner(ctx)
	name := acc.outline.Name
	if _, found, err := n.freshView(ctx).findByName(name); err != nil {
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
		resp.SchedulerInfo = n.slotsNote(ctx, acc)
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
	resp.SchedulerInfo = n.scheduledNote(ctx, id)
	return resp, nil
}

// releaseAfterBytes is the package size from which a submission's end
// schedules a memoryRelease.
const releaseAfterBytes = 4 << 20

// memoryRelease gives the memory a burst of submissions used (buffers of
// the connections and the uploads, garbage by then) back to the system
// shortly after the last one ends. Without it, an idle nimbus keeps the
// burst's heap until its next garbage collection, forced every two
// minutes at the latest, and the scavenger returns it slowly after that.
// It is safe for concurrent use.
type memoryRelease struct {
	mu sync.Mutex
	// The rest is guarded by mu. next indexes releaseDelays: the release
	// t makes when it fires; soons counts the calls of soon, each of
	// which arms t for the first release again.
	t       *time.Timer
	next    int
	soons   int
	stopped bool
}

// releaseDelays are when, after the last submission's end, the memory is
// released: the first leaves the connections time to drop their buffers;
// the second, cheap on an idle nimbus, is for what a loaded machine's
// connections may still hold then (TestLoadMaximalSubmissions saw 7 MiB
// kept for a minute once, in a full test run beside two CPU hogs).
var releaseDelays = [...]time.Duration{2 * time.Second, 15 * time.Second}

func (r *memoryRelease) soon() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = 0
	r.soons++
	if r.t == nil {
		r.t = time.AfterFunc(releaseDelays[0], r.release)
		return
	}
	r.t.Reset(releaseDelays[0])
}

func (r *memoryRelease) release() {
	r.mu.Lock()
	soons := r.soons
	r.mu.Unlock()
	// Two collections: sync.Pools (gRPC's buffers) keep what they hold
	// across one.
	runtime.GC()
	debug.FreeOSMemory()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.soons != soons {
		return // a submission ended meanwhile and armed t again
	}
	if r.next++; r.next < len(releaseDelays) && !r.stopped {
		r.t.Reset(releaseDelays[r.next])
	}
}

// stop cancels a release not yet made.
func (r *memoryRelease) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.t != nil {
		r.t.Stop()
	}
}

// slotsNote says, for a dry run, whether the cluster has a free slot for
// each worker the topology asks for: empty if it has.
func (n *Nimbus) slotsNote(ctx context.Context, acc *accepted) string {
	workers := n.cfg.Cluster.Merge(acc.outline.Config).Int(topology.KeyWorkers, 1)
	sum, err := n.GetClusterSummary(ctx, &api.GetClusterSummaryRequest{})
	if err != nil || int(sum.GetSlotsFree()) >= workers {
		return ""
	}
	return fmt.Sprintf("asks for %d workers, but the cluster has %s now: it would run in fewer workers, or wait for slots",
		workers, plural(int(sum.GetSlotsFree()), "free slot"))
}

// plural returns "1 thing" or "n things".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// scheduledNote is the scheduler's remark on topology id just scheduled
// (TopologySummary.scheduler_info): empty when it got its workers.
func (n *Nimbus) scheduledNote(ctx context.Context, id string) string {
	rec, err := n.state.GetTopology(ctx, id)
	if err != nil {
		return ""
	}
	a, err := n.state.GetAssignment(ctx, id)
	if err != nil && !errors.Is(err, cluster.ErrNotFound) {
		return ""
	}
	return schedulerInfo(rec, a)
}

// validate checks a submission as workers will load it: the package's
// safety and limits, the Go binary's platform and digest, the definition
// (as the outline sent with the Go binary when there is one, else loaded
// with Config.Registry).
// Every problem wraps ErrInvalid, but limits, which are 413s.
func (n *Nimbus) validate(ctx context.Context, u *api.Upload) (*accepted, error) {
	req := u.Request
	if strings.TrimSpace(req.GetTopology()) == "" {
		return nil, invalidf("topology: no topology definition")
	}
	if err := checkSubmissionFields(req); err != nil {
		return nil, err
	}
	if u.Package != nil {
		if err := tarball.Check(io.NewSectionReader(u.Package, 0, u.Package.Size()), n.cfg.PackageLimits); err != nil {
			return nil, packageError(err)
		}
	}
	if u.GoBinary != nil {
		if err := checkExecutable(u.GoBinary); err != nil {
			return nil, invalidf("goBinary: %v", err)
		}
	}
	work, err := os.MkdirTemp(n.store.scratch, "submit-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	resDir := filepath.Join(work, "resources")
	if u.Package != nil {
		err = tarball.Extract(io.NewSectionReader(u.Package, 0, u.Package.Size()), resDir, n.cfg.PackageLimits)
		if errors.Is(err, tarball.ErrUnsafe) || errors.Is(err, tarball.ErrLimit) {
			return nil, packageError(err)
		}
	} else {
		err = os.Mkdir(resDir, 0o700)
	}
	if err != nil {
		return nil, fmt.Errorf("unpack package: %w", err)
	}
	sub := proto.CloneOf(req)
	sub.Package, sub.GoBinary = nil, nil
	var binSize int64
	if u.GoBinary != nil {
		binSize = u.GoBinary.Size()
	}
	o, err := n.outlineOf(sub, resDir, u.GoBinary, binSize, u.GoBinary != nil)
	if err != nil {
		return nil, err
	}
	if err := checkNimbusOnlyKeys(o.Config); err != nil {
		return nil, err
	}
	conf := n.cfg.Cluster.Merge(o.Config)
	if w := conf.Int(topology.KeyWorkers, 1); w < 1 {
		return nil, invalidf("config: %s is %d; a topology needs at least one worker", topology.KeyWorkers, w)
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
	return &accepted{sub: sub, outline: o, resources: u.Package, binary: u.GoBinary}, nil
}

// checkSubmissionFields vets the fields of a submission beside its
// definition, naming the field at fault: a name override is a topology
// name, topologyFile a plain file name, environment variables what exec
// can pass.
func checkSubmissionFields(req *api.SubmitTopologyRequest) error {
	if name := req.GetName(); name != "" {
		if err := topology.CheckName(name); err != nil {
			return invalidf("name: %v", err)
		}
	}
	if f := req.GetTopologyFile(); len(f) > 4096 || !utf8.ValidString(f) ||
		strings.ContainsFunc(f, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		return invalidf("topologyFile %.60q: want a file name of printable characters", f)
	}
	for k, v := range req.GetEnvironment() {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return invalidf("environment: %.60q=%.60q is not a variable (no '=' or NUL in its name, no NUL in its value)", k, v)
		}
	}
	return nil
}

// packageError makes a package's refusal an API error: a limit is 413
// naming its key, anything else 400.
func packageError(err error) error {
	if le, ok := errors.AsType[*tarball.LimitError](err); ok {
		key := limitKey(le.Limit)
		return api.TooLargeError(key, fmt.Sprintf("package: %v (%s is %d)", le, key, le.Value))
	}
	return invalidf("package: %v", err)
}

// stage writes an accepted submission's package to the store's staging
// area.
func (n *Nimbus) stage(acc *accepted) (stagedPackage, error) {
	w, err := n.store.create()
	if err != nil {
		return stagedPackage{}, err
	}
	for _, p := range []struct {
		dst io.Writer
		src *io.SectionReader
	}{{w.resources(), acc.resources}, {w.binary(), acc.binary}} {
		if p.src == nil {
			continue
		}
		if _, err := io.Copy(p.dst, io.NewSectionReader(p.src, 0, p.src.Size())); err != nil {
			w.abort()
			return stagedPackage{}, fmt.Errorf("stage package: %w", err)
		}
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
	if _, found, err := n.freshView(ctx).findByName(name); err != nil {
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
		Owner:              acc.owner,
		Viewers:            viewersOf(acc.outline.Config),
		Stateful:           outlineStateful(acc.outline),
	}

	if err := n.record(ctx, &rec, staged, taken, counter); err != nil {
		return "", err
	}
	if err := n.newTopologySecret(ctx, rec.ID); err != nil {
		n.state.DeleteTopology(ctx, rec.ID)
		n.store.remove(rec.ID)
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
