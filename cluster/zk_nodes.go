package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Directories under the root, as in Storm.
const (
	dirStorms      = "storms"
	dirAssignments = "assignments"
	dirSupervisors = "supervisors"
	dirWorkerBeats = "workerbeats"
	dirErrors      = "errors"
	dirNimbuses    = "nimbuses"
	dirLeaderLock  = "leader-lock"
)

// nodeName makes s safe as a ZooKeeper node name: percent-encoded like a URL
// path segment, and never "." or "..".
func nodeName(s string) string {
	n := url.PathEscape(s)
	if n == "." || n == ".." {
		n = strings.ReplaceAll(n, ".", "%2E")
	}
	return n
}

// fromNodeName reverses nodeName; names it did not make are returned as is.
func fromNodeName(n string) string {
	if s, err := url.PathUnescape(n); err == nil {
		return s
	}
	return n
}

// dir returns the path of one of the directories under the root.
func (z *ZooKeeper) dir(name string) string { return z.root + "/" + name }

// node returns dir/<names...>, each name made safe with nodeName.
func (z *ZooKeeper) node(dir string, names ...string) string {
	p := z.dir(dir)
	for _, n := range names {
		p += "/" + nodeName(n)
	}
	return p
}

// get returns the data of p.
func (z *ZooKeeper) get(ctx context.Context, p string) ([]byte, *zk.Stat, error) {
	type got struct {
		data []byte
		stat *zk.Stat
	}
	g, err := retry(ctx, z, true, func() (got, error) {
		data, stat, err := z.conn.Get(p)
		return got{data, stat}, err
	})
	return g.data, g.stat, err
}

// children returns the children of p, sorted; none if p does not exist.
func (z *ZooKeeper) children(ctx context.Context, p string) ([]string, error) {
	names, err := retry(ctx, z, true, func() ([]string, error) {
		names, _, err := z.conn.Children(p)
		return names, err
	})
	if errors.Is(err, zk.ErrNoNode) {
		return nil, nil
	}
	slices.Sort(names)
	return names, err
}

// listNames returns the children of p decoded with fromNodeName, sorted.
func (z *ZooKeeper) listNames(ctx context.Context, p string) ([]string, error) {
	names, err := z.children(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fromNodeName(n)
	}
	slices.Sort(out)
	return out, nil
}

// ensurePath creates p and its missing ancestors as empty persistent nodes.
func (z *ZooKeeper) ensurePath(ctx context.Context, p string) error {
	for {
		_, err := retry(ctx, z, true, func() (string, error) {
			return z.conn.Create(p, nil, zk.FlagPersistent, z.acl)
		})
		switch {
		case err == nil, errors.Is(err, zk.ErrNodeExists):
			return nil
		case errors.Is(err, zk.ErrNoNode):
			if err := z.ensurePath(ctx, path.Dir(p)); err != nil {
				return err
			}
		default:
			return err
		}
	}
}

// create creates p with data and flags, creating missing parents, and
// returns the created path (which differs from p for sequential nodes).
// Retried after a lost connection only if idempotent.
func (z *ZooKeeper) create(ctx context.Context, p string, data []byte, flags int32, idempotent bool) (string, error) {
	return z.createACL(ctx, p, data, flags, idempotent, z.acl)
}

// createACL is create with the node's ACL.
func (z *ZooKeeper) createACL(ctx context.Context, p string, data []byte, flags int32, idempotent bool, acl []zk.ACL) (string, error) {
	for {
		created, err := retry(ctx, z, idempotent, func() (string, error) {
			return z.conn.Create(p, data, flags, acl)
		})
		if !errors.Is(err, zk.ErrNoNode) {
			return created, err
		}
		if err := z.ensurePath(ctx, path.Dir(p)); err != nil {
			return "", err
		}
	}
}

// put writes data to the persistent node p, creating it (and its parents)
// if missing.
func (z *ZooKeeper) put(ctx context.Context, p string, data []byte) error {
	for {
		_, err := retry(ctx, z, true, func() (*zk.Stat, error) { return z.conn.Set(p, data, -1) })
		if !errors.Is(err, zk.ErrNoNode) {
			return err
		}
		_, err = z.create(ctx, p, data, zk.FlagPersistent, true)
		if !errors.Is(err, zk.ErrNodeExists) {
			return err
		}
	}
}

// deleteNode deletes p, returning zk.ErrNoNode if it does not exist. A
// delete retried after a lost connection that then finds no node counts as
// done.
func (z *ZooKeeper) deleteNode(ctx context.Context, p string) error {
	attempts := 0
	_, err := retry(ctx, z, true, func() (struct{}, error) {
		attempts++
		return struct{}{}, z.conn.Delete(p, -1)
	})
	if errors.Is(err, zk.ErrNoNode) && attempts > 1 {
		return nil
	}
	return err
}

// deleteIfExists deletes p if it exists.
func (z *ZooKeeper) deleteIfExists(ctx context.Context, p string) error {
	if err := z.deleteNode(ctx, p); err != nil && !errors.Is(err, zk.ErrNoNode) {
		return err
	}
	return nil
}

// deleteTree deletes p and everything under it, if it exists.
func (z *ZooKeeper) deleteTree(ctx context.Context, p string) error {
	for attempt := 0; ; attempt++ {
		kids, err := z.children(ctx, p)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := z.deleteTree(ctx, p+"/"+k); err != nil {
				return err
			}
		}
		err = z.deleteIfExists(ctx, p)
		if !errors.Is(err, zk.ErrNotEmpty) || attempt == 10 {
			return err
		}
		// A child appeared meanwhile; go again.
	}
}

// casWrite writes data to p if the record stored there has version expect
// (the "version" JSON field), or creates p with acl if expect is 0. It
// returns ErrExists, ErrNotFound or ErrVersionConflict as State documents.
// A write whose outcome a lost connection hides is checked by reading it
// back.
func (z *ZooKeeper) casWrite(ctx context.Context, p string, expect int64, data []byte, acl func() ([]zk.ACL, error)) error {
	if expect == 0 {
		nodeACL, err := acl()
		if err != nil {
			return err
		}
		_, err = z.createACL(ctx, p, data, zk.FlagPersistent, false, nodeACL)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrNodeExists):
			return ErrExists
		case !ambiguous(err):
			return err
		}
		// Unknown outcome: see whether our record is there.
		cur, _, gerr := z.get(ctx, p)
		switch {
		case errors.Is(gerr, zk.ErrNoNode):
			return z.casWrite(ctx, p, expect, data, acl)
		case gerr != nil:
			return gerr
		case bytes.Equal(cur, data):
			return nil
		default:
			return ErrExists
		}
	}
	for tried := false; ; tried = true {
		cur, stat, err := z.get(ctx, p)
		switch {
		case errors.Is(err, zk.ErrNoNode):
			return ErrNotFound
		case err != nil:
			return err
		case tried && bytes.Equal(cur, data):
			return nil // our earlier attempt was applied
		}
		v, err := recordVersion(cur)
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		if v != expect {
			return ErrVersionConflict
		}
		_, err = call(ctx, z, func() (*zk.Stat, error) { return z.conn.Set(p, data, stat.Version) })
		switch {
		case err == nil:
			return nil
		case errors.Is(err, zk.ErrBadVersion):
			return ErrVersionConflict
		case errors.Is(err, zk.ErrNoNode):
			return ErrNotFound
		case !ambiguous(err):
			return err
		}
		// Unknown outcome: read again; the loop tells.
	}
}

// recordVersion returns the "version" field of a JSON record.
func recordVersion(data []byte) (int64, error) {
	var r struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, err
	}
	return r.Version, nil
}

// getJSON reads p into v, returning zk.ErrNoNode if it does not exist.
func (z *ZooKeeper) getJSON(ctx context.Context, p string, v any) error {
	data, _, err := z.get(ctx, p)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", p, err)
	}
	return nil
}

// notFound turns zk.ErrNoNode into ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, zk.ErrNoNode) {
		return ErrNotFound
	}
	return err
}
