package nimbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

// model is what nimbus knows of a submitted topology: its outline and
// what follows from it. It is immutable.
type model struct {
	outline submission.Outline
	// conf is the cluster configuration with the topology's laid over it,
	// plus topology.name and storm.id: the topology's effective
	// configuration.
	conf topology.Config
	// tasks numbers the tasks as the workers do (topology.TopologyTasks).
	tasks  *topology.TaskMap
	ackers int
	byID   map[string]submission.OutlineComponent
}

// ackersOf returns the number of acker tasks as workers compute it:
// topology.acker.executors, or one per worker when it is unset.
func ackersOf(conf topology.Config) int {
	n, ok := conf.IntOK(topology.KeyAckerExecutors)
	if !ok {
		n = conf.Int(topology.KeyWorkers, 1)
	}
	return max(n, 0)
}

func newModel(o submission.Outline, clusterConf topology.Config, id string) *model {
	conf := clusterConf.Merge(o.Config).Merge(topology.Config{topology.KeyTopologyName: o.Name})
	if id != "" {
		conf[topology.KeyStormID] = id
	}
	m := &model{outline: o, conf: conf, ackers: ackersOf(conf), byID: make(map[string]submission.OutlineComponent)}
	numTasks := make(map[string]int, len(o.Components)+1)
	for _, c := range o.Components {
		numTasks[c.ID] = c.NumTasks
		m.byID[c.ID] = c
	}
	if m.ackers > 0 {
		numTasks[topology.AckerComponent] = m.ackers
	}
	m.tasks = topology.NewTaskMap(numTasks)
	return m
}

// parallelism returns each user component's number of executors: the
// record's, else the definition's.
func (m *model) parallelism(rec cluster.TopologyRecord) map[string]int {
	p := make(map[string]int, len(m.outline.Components))
	for _, c := range m.outline.Components {
		p[c.ID] = c.Parallelism
		if n, ok := rec.ComponentExecutors[c.ID]; ok && n > 0 {
			p[c.ID] = n
		}
	}
	return p
}

// executors returns the topology's executors for a record: its
// components' tasks split over the record's executor counts, one acker
// executor per acker task.
func (m *model) executors(rec cluster.TopologyRecord) []topology.Executor {
	return m.tasks.Executors(m.parallelism(rec))
}

// kind returns "spout" or "bolt" for a component, system ones included.
func (m *model) kind(component string) (string, bool) {
	if c, ok := m.byID[component]; ok {
		return c.Kind, true
	}
	if component == topology.AckerComponent && m.ackers > 0 {
		return topology.KindBolt.String(), true
	}
	return "", false
}

// modelCache keeps the models of topologies by id and package digest. It
// is safe for concurrent use.
type modelCache struct {
	mu sync.Mutex
	// byID is guarded by mu.
	byID map[string]cachedModel
}

type cachedModel struct {
	digest string
	m      *model
}

func newModelCache() *modelCache { return &modelCache{byID: make(map[string]cachedModel)} }

func (c *modelCache) get(id, digest string) (*model, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok || e.digest != digest {
		return nil, false
	}
	return e.m, true
}

func (c *modelCache) put(id, digest string, m *model) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID[id] = cachedModel{digest: digest, m: m}
}

func (c *modelCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.byID, id)
}

// model returns the model of topology rec, loading it from the stored
// package the first time: by loading the submission with the registry,
// or, for a topology with its own Go binary, from the outline its
// submitter sent (nimbus never runs the binary). It fails with ErrUnavailable if this nimbus does not hold the
// package (yet).
func (n *Nimbus) model(ctx context.Context, rec cluster.TopologyRecord) (*model, error) {
	if m, ok := n.models.get(rec.ID, rec.PackageDigest); ok {
		return m, nil
	}
	p, err := n.store.open(rec.ID)
	if errors.Is(err, os.ErrNotExist) {
		return nil, unavailablef("topology %s: this nimbus does not hold its package yet", rec.ID)
	}
	if err != nil {
		return nil, err
	}
	defer p.close()
	if p.digest != rec.PackageDigest {
		return nil, unavailablef("topology %s: this nimbus holds package %s, not %s", rec.ID, p.digest, rec.PackageDigest)
	}
	work, err := os.MkdirTemp("", "squall-nimbus-model-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	resDir := filepath.Join(work, "resources")
	if err := os.Mkdir(resDir, 0o755); err != nil {
		return nil, err
	}
	if p.resources != nil {
		if err := tarball.Extract(p.resources, resDir, n.cfg.PackageLimits); err != nil {
			return nil, fmt.Errorf("topology %s: unpack package: %w", rec.ID, err)
		}
	}
	o, err := n.outlineOf(p.submission, resDir, nil, 0, p.binary != nil)
	if err != nil {
		return nil, fmt.Errorf("topology %s: load stored submission: %w", rec.ID, err)
	}
	m := newModel(o, n.cfg.Cluster, rec.ID)
	n.models.put(rec.ID, rec.PackageDigest, m)
	return m, nil
}

// outlineOf loads sub, whose resources are unpacked in resDir: a
// topology with a Go binary (bin, of size bytes; nil for a stored one,
// checked at submission) by the outline its submitter sent, else with the
// registry. Definition errors wrap ErrInvalid.
func (n *Nimbus) outlineOf(sub *api.SubmitTopologyRequest, resDir string, bin io.ReaderAt, size int64, hasBinary bool) (submission.Outline, error) {
	if hasBinary {
		return binaryOutline(sub, bin, size)
	}
	t, err := submission.Load(sub, n.cfg.Registry, resDir)
	if err != nil {
		return submission.Outline{}, withKind(ErrInvalid, relativeTo(err, resDir))
	}
	return submission.NewOutline(t), nil
}

// relativeTo rewrites the file names of a definition error relative to
// dir, where nimbus unpacked the package, so that messages name
// "topology.yaml:3", not a temporary directory of nimbus's.
func relativeTo(err error, dir string) error {
	var ve *topology.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, e := range ve.Errors {
		if rel, rerr := filepath.Rel(dir, e.File); rerr == nil && e.File != "" && filepath.IsLocal(rel) {
			e.File = rel
		}
	}
	return err
}
