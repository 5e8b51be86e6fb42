package cluster

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/go-zookeeper/zk"

	"github.com/squallstream/squall/auth/zkacl"
)

// SetTopology implements State.
func (z *ZooKeeper) SetTopology(ctx context.Context, rec TopologyRecord) (TopologyRecord, error) {
	if err := checkID("topology", rec.ID); err != nil {
		return TopologyRecord{}, fmt.Errorf("set topology: %w", err)
	}
	expect := rec.Version
	rec.Version++
	data, err := json.Marshal(rec)
	if err != nil {
		return TopologyRecord{}, fmt.Errorf("set topology %s: %w", rec.ID, err)
	}
	acl := func() ([]zk.ACL, error) { return z.topologyACL(ctx, rec.ID, zkacl.KindTopologyState) }
	if err := z.casWrite(ctx, z.node(dirStorms, rec.ID), expect, data, acl); err != nil {
		return TopologyRecord{}, fmt.Errorf("set topology %s: %w", rec.ID, err)
	}
	return rec, nil
}

// GetTopology implements State.
func (z *ZooKeeper) GetTopology(ctx context.Context, id string) (TopologyRecord, error) {
	var rec TopologyRecord
	if err := checkID("topology", id); err != nil {
		return rec, fmt.Errorf("get topology: %w", err)
	}
	if err := z.getJSON(ctx, z.node(dirStorms, id), &rec); err != nil {
		return TopologyRecord{}, fmt.Errorf("get topology %s: %w", id, notFound(err))
	}
	return rec, nil
}

// DeleteTopology implements State.
func (z *ZooKeeper) DeleteTopology(ctx context.Context, id string) error {
	if err := checkID("topology", id); err != nil {
		return fmt.Errorf("delete topology: %w", err)
	}
	if err := z.deleteNode(ctx, z.node(dirStorms, id)); err != nil {
		return fmt.Errorf("delete topology %s: %w", id, notFound(err))
	}
	return z.deleteSecret(ctx, id)
}

// ListTopologies implements State.
func (z *ZooKeeper) ListTopologies(ctx context.Context) ([]string, error) {
	ids, err := z.listNames(ctx, z.dir(dirStorms))
	if err != nil {
		return nil, fmt.Errorf("list topologies: %w", err)
	}
	return ids, nil
}

// WatchTopologies implements State.
func (z *ZooKeeper) WatchTopologies(ctx context.Context) <-chan struct{} {
	return z.watchDir(ctx, z.dir(dirStorms))
}

// WatchTopology implements State.
func (z *ZooKeeper) WatchTopology(ctx context.Context, id string) <-chan struct{} {
	return z.watchNode(ctx, z.node(dirStorms, id))
}

// SetAssignment implements State.
func (z *ZooKeeper) SetAssignment(ctx context.Context, a Assignment) (Assignment, error) {
	if err := checkID("topology", a.TopologyID); err != nil {
		return Assignment{}, fmt.Errorf("set assignment: %w", err)
	}
	expect := a.Version
	a.Version++
	data, err := json.Marshal(a)
	if err != nil {
		return Assignment{}, fmt.Errorf("set assignment %s: %w", a.TopologyID, err)
	}
	acl := func() ([]zk.ACL, error) { return z.topologyACL(ctx, a.TopologyID, zkacl.KindTopologyState) }
	if err := z.casWrite(ctx, z.node(dirAssignments, a.TopologyID), expect, data, acl); err != nil {
		return Assignment{}, fmt.Errorf("set assignment %s: %w", a.TopologyID, err)
	}
	if expect == 0 {
		// The topology's secret may have come (and granted its nodes)
		// between reading it for the ACL and creating the node.
		if err := z.grantTopology(ctx, a.TopologyID); err != nil {
			z.log.Warn("grant a topology its zookeeper nodes", "topology", a.TopologyID, "err", err)
		}
	}
	return a, nil
}

// GetAssignment implements State.
func (z *ZooKeeper) GetAssignment(ctx context.Context, topologyID string) (Assignment, error) {
	var a Assignment
	if err := checkID("topology", topologyID); err != nil {
		return a, fmt.Errorf("get assignment: %w", err)
	}
	if err := z.getJSON(ctx, z.node(dirAssignments, topologyID), &a); err != nil {
		return Assignment{}, fmt.Errorf("get assignment %s: %w", topologyID, notFound(err))
	}
	return a, nil
}

// DeleteAssignment implements State.
func (z *ZooKeeper) DeleteAssignment(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete assignment: %w", err)
	}
	if err := z.deleteNode(ctx, z.node(dirAssignments, topologyID)); err != nil {
		return fmt.Errorf("delete assignment %s: %w", topologyID, notFound(err))
	}
	return nil
}

// ListAssignments implements State.
func (z *ZooKeeper) ListAssignments(ctx context.Context) ([]string, error) {
	ids, err := z.listNames(ctx, z.dir(dirAssignments))
	if err != nil {
		return nil, fmt.Errorf("list assignments: %w", err)
	}
	return ids, nil
}

// WatchAssignments implements State.
func (z *ZooKeeper) WatchAssignments(ctx context.Context) <-chan struct{} {
	return z.watchDir(ctx, z.dir(dirAssignments))
}

// WatchAssignment implements State.
func (z *ZooKeeper) WatchAssignment(ctx context.Context, topologyID string) <-chan struct{} {
	return z.watchNode(ctx, z.node(dirAssignments, topologyID))
}

// beatPath returns workerbeats/<topology>/<node>-<port>.
func (z *ZooKeeper) beatPath(topologyID, nodeID string, port int) string {
	return z.node(dirWorkerBeats, topologyID) + "/" + nodeName(nodeID) + "-" + strconv.Itoa(port)
}

// PutWorkerHeartbeat implements State.
func (z *ZooKeeper) PutWorkerHeartbeat(ctx context.Context, hb WorkerHeartbeat) error {
	if err := checkBeat(hb.TopologyID, hb.NodeID, hb.Port); err != nil {
		return fmt.Errorf("put worker heartbeat: %w", err)
	}
	data, err := json.Marshal(hb)
	if err != nil {
		return fmt.Errorf("put worker heartbeat %s %s:%d: %w", hb.TopologyID, hb.NodeID, hb.Port, err)
	}
	if err := z.put(ctx, z.beatPath(hb.TopologyID, hb.NodeID, hb.Port), data); err != nil {
		return fmt.Errorf("put worker heartbeat %s %s:%d: %w", hb.TopologyID, hb.NodeID, hb.Port, err)
	}
	return nil
}

// ListWorkerHeartbeats implements State.
func (z *ZooKeeper) ListWorkerHeartbeats(ctx context.Context, topologyID string) ([]WorkerHeartbeat, error) {
	if err := checkID("topology", topologyID); err != nil {
		return nil, fmt.Errorf("list worker heartbeats: %w", err)
	}
	dir := z.node(dirWorkerBeats, topologyID)
	names, err := z.children(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("list worker heartbeats %s: %w", topologyID, err)
	}
	var out []WorkerHeartbeat
	for _, n := range names {
		var hb WorkerHeartbeat
		err := z.getJSON(ctx, dir+"/"+n, &hb)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			continue // deleted meanwhile
		case err != nil:
			return nil, fmt.Errorf("list worker heartbeats %s: %w", topologyID, err)
		}
		out = append(out, hb)
	}
	sortBeats(out)
	return out, nil
}

// DeleteWorkerHeartbeat implements State.
func (z *ZooKeeper) DeleteWorkerHeartbeat(ctx context.Context, topologyID, nodeID string, port int) error {
	if err := checkBeat(topologyID, nodeID, port); err != nil {
		return fmt.Errorf("delete worker heartbeat: %w", err)
	}
	if err := z.deleteNode(ctx, z.beatPath(topologyID, nodeID, port)); err != nil {
		return fmt.Errorf("delete worker heartbeat %s %s:%d: %w", topologyID, nodeID, port, notFound(err))
	}
	return nil
}

// DeleteWorkerHeartbeats implements State.
func (z *ZooKeeper) DeleteWorkerHeartbeats(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete worker heartbeats: %w", err)
	}
	if err := z.deleteTree(ctx, z.node(dirWorkerBeats, topologyID)); err != nil {
		return fmt.Errorf("delete worker heartbeats %s: %w", topologyID, err)
	}
	return nil
}

// ReportError implements State: a sequential node per error, then the
// oldest beyond MaxErrorsPerComponent are deleted, as Storm does.
func (z *ZooKeeper) ReportError(ctx context.Context, topologyID string, e ErrorInfo) error {
	if topologyID == "" || e.Component == "" {
		return fmt.Errorf("report error: empty topology or component id: %w", ErrInvalid)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("report error %s %s: %w", topologyID, e.Component, err)
	}
	dir := z.node(dirErrors, topologyID, e.Component)
	// Retrying may store an error twice, which is better than losing it.
	if _, err := z.create(ctx, dir+"/e", data, zk.FlagSequence, true); err != nil {
		return fmt.Errorf("report error %s %s: %w", topologyID, e.Component, err)
	}
	names, err := z.children(ctx, dir)
	if err != nil {
		return fmt.Errorf("report error %s %s: trim: %w", topologyID, e.Component, err)
	}
	slices.SortFunc(names, compareSeqNames)
	for len(names) > MaxErrorsPerComponent {
		if err := z.deleteIfExists(ctx, dir+"/"+names[0]); err != nil {
			return fmt.Errorf("report error %s %s: trim: %w", topologyID, e.Component, err)
		}
		names = names[1:]
	}
	return nil
}

// ListErrors implements State.
func (z *ZooKeeper) ListErrors(ctx context.Context, topologyID string) ([]ErrorInfo, error) {
	if err := checkID("topology", topologyID); err != nil {
		return nil, fmt.Errorf("list errors: %w", err)
	}
	top := z.node(dirErrors, topologyID)
	comps, err := z.children(ctx, top)
	if err != nil {
		return nil, fmt.Errorf("list errors %s: %w", topologyID, err)
	}
	slices.SortFunc(comps, func(a, b string) int { return cmp.Compare(fromNodeName(a), fromNodeName(b)) })
	var out []ErrorInfo
	for _, c := range comps {
		names, err := z.children(ctx, top+"/"+c)
		if err != nil {
			return nil, fmt.Errorf("list errors %s: %w", topologyID, err)
		}
		slices.SortFunc(names, compareSeqNames)
		for _, n := range names {
			var e ErrorInfo
			err := z.getJSON(ctx, top+"/"+c+"/"+n, &e)
			switch {
			case errors.Is(err, zk.ErrNoNode):
				continue // trimmed meanwhile
			case err != nil:
				return nil, fmt.Errorf("list errors %s: %w", topologyID, err)
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// DeleteErrors implements State.
func (z *ZooKeeper) DeleteErrors(ctx context.Context, topologyID string) error {
	if err := checkID("topology", topologyID); err != nil {
		return fmt.Errorf("delete errors: %w", err)
	}
	if err := z.deleteTree(ctx, z.node(dirErrors, topologyID)); err != nil {
		return fmt.Errorf("delete errors %s: %w", topologyID, err)
	}
	return nil
}

func sortBeats(hbs []WorkerHeartbeat) {
	slices.SortFunc(hbs, func(a, b WorkerHeartbeat) int {
		return compareSlots(Slot{a.NodeID, a.Port}, Slot{b.NodeID, b.Port})
	})
}

// compareSeqNames orders sequential node names by their sequence number,
// the last 10 digits ZooKeeper appends.
func compareSeqNames(a, b string) int { return cmp.Compare(seqOf(a), seqOf(b)) }

// seqOf returns the sequence number of a sequential node name, -1 if none.
func seqOf(name string) int64 {
	if len(name) < 10 {
		return -1
	}
	n, err := strconv.ParseInt(name[len(name)-10:], 10, 64)
	if err != nil {
		return -1
	}
	return n
}
