// Package zkacl builds the ZooKeeper credentials and node ACLs of a
// secured squall cluster, from Storm's keys and with Storm's model:
//
//   - the daemons (nimbus, supervisors) authenticate with
//     storm.zookeeper.auth.scheme/.payload (digest "user:password") and
//     create their nodes readable and writable by that identity only;
//   - each topology gets a digest credential of its own
//     (storm.zookeeper.topology.auth.scheme/.payload), derived from its
//     worker secret (DerivedTopologyCredential), with which its workers
//     read their topology's state and write their heartbeats and errors,
//     and nothing else;
//   - nodes workers create also give the daemons' identity
//     (storm.zookeeper.superACL) all rights, so nimbus can clean up.
//
// Without storm.zookeeper.auth.scheme every node is world-writable, as in
// Storm and as squall was before. docs/security.md has the table of which
// node gets which ACL; package cluster applies it.
package zkacl

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/go-zookeeper/zk"
)

// Storm's configuration keys.
const (
	KeyAuthScheme          = "storm.zookeeper.auth.scheme"
	KeyAuthPayload         = "storm.zookeeper.auth.payload"
	KeyTopologyAuthScheme  = "storm.zookeeper.topology.auth.scheme"
	KeyTopologyAuthPayload = "storm.zookeeper.topology.auth.payload"
	KeySuperACL            = "storm.zookeeper.superACL"
)

// SchemeDigest is ZooKeeper's user:password scheme, the one squall
// supports (sasl needs Kerberos or a JAAS file).
const SchemeDigest = "digest"

// Errors.
var (
	// ErrConfig means a ZooKeeper auth key is missing, malformed or uses
	// an unsupported scheme; the error names the key.
	ErrConfig = errors.New("bad zookeeper auth configuration")
	// ErrNoTopologyCredential means a topology has no credential while
	// the daemons authenticate: nimbus must give it one at submission.
	ErrNoTopologyCredential = errors.New("topology has no zookeeper credential")
)

// Credential is a ZooKeeper authentication, as conn.AddAuth takes it. The
// zero Credential means none.
type Credential struct {
	Scheme  string
	Payload []byte
}

// IsZero reports whether c is no credential.
func (c Credential) IsZero() bool { return c.Scheme == "" }

// String hides the payload.
func (c Credential) String() string {
	if c.IsZero() {
		return "none"
	}
	user, _, _ := strings.Cut(string(c.Payload), ":")
	return c.Scheme + ":" + user + ":*****"
}

func credential(conf map[string]any, schemeKey, payloadKey string) (Credential, error) {
	scheme, err := str(conf, schemeKey)
	if err != nil || scheme == "" {
		return Credential{}, err
	}
	payload, err := str(conf, payloadKey)
	if err != nil {
		return Credential{}, err
	}
	if scheme != SchemeDigest {
		return Credential{}, fmt.Errorf("%w: %s %q: squall supports %q only", ErrConfig, schemeKey, scheme, SchemeDigest)
	}
	user, pass, ok := strings.Cut(payload, ":")
	if !ok || user == "" || pass == "" {
		return Credential{}, fmt.Errorf("%w: %s must be \"user:password\"", ErrConfig, payloadKey)
	}
	return Credential{Scheme: scheme, Payload: []byte(payload)}, nil
}

func str(conf map[string]any, key string) (string, error) {
	v, ok := conf[key]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: %s: %v (%T) is not a string", ErrConfig, key, v, v)
	}
	return s, nil
}

// DaemonCredential reads the daemons' credential
// (storm.zookeeper.auth.scheme and .payload); zero when unset.
func DaemonCredential(conf map[string]any) (Credential, error) {
	return credential(conf, KeyAuthScheme, KeyAuthPayload)
}

// TopologyCredential reads a topology's credential
// (storm.zookeeper.topology.auth.scheme and .payload) from its
// configuration; zero when unset. Unlike Storm it never falls back to the
// daemons' credential: a worker must not hold that.
func TopologyCredential(topoConf map[string]any) (Credential, error) {
	return credential(topoConf, KeyTopologyAuthScheme, KeyTopologyAuthPayload)
}

// TopologyConfig returns the entries a supervisor adds to the
// configuration of a worker of topology topo: its credential and the
// daemons' identity for the nodes its workers create. nil without a
// credential.
func TopologyConfig(topo Credential, super zk.ACL) map[string]any {
	if topo.IsZero() {
		return nil
	}
	return map[string]any{
		KeyTopologyAuthScheme:  topo.Scheme,
		KeyTopologyAuthPayload: string(topo.Payload),
		KeySuperACL:            super.Scheme + ":" + super.ID,
	}
}

// DigestID returns the ZooKeeper id of a digest credential:
// "user:base64(sha1(user:password))".
func DigestID(c Credential) (string, error) {
	if c.Scheme != SchemeDigest {
		return "", fmt.Errorf("%w: scheme %q is not %q", ErrConfig, c.Scheme, SchemeDigest)
	}
	user, pass, ok := strings.Cut(string(c.Payload), ":")
	if !ok {
		return "", fmt.Errorf("%w: digest payload is not user:password", ErrConfig)
	}
	acl := zk.DigestACL(zk.PermAll, user, pass)
	return acl[0].ID, nil
}

// SuperACL returns the ACL entry that gives the daemons all rights on the
// nodes workers create: storm.zookeeper.superACL ("scheme:id", e.g.
// "digest:squall:base64hash") if set, else the digest id of the daemons'
// credential. ok is false when neither is there.
func SuperACL(conf map[string]any, daemon Credential) (acl zk.ACL, ok bool, err error) {
	s, err := str(conf, KeySuperACL)
	if err != nil {
		return zk.ACL{}, false, err
	}
	if s != "" {
		scheme, id, found := strings.Cut(s, ":")
		if !found || scheme == "" || id == "" {
			return zk.ACL{}, false, fmt.Errorf("%w: %s %q is not \"scheme:id\" (e.g. digest:user:hash)", ErrConfig, KeySuperACL, s)
		}
		return zk.ACL{Perms: zk.PermAll, Scheme: scheme, ID: id}, true, nil
	}
	if daemon.IsZero() {
		return zk.ACL{}, false, nil
	}
	id, err := DigestID(daemon)
	if err != nil {
		return zk.ACL{}, false, err
	}
	return zk.ACL{Perms: zk.PermAll, Scheme: SchemeDigest, ID: id}, true, nil
}

// Kind is a kind of node, by who writes and who reads it.
type Kind int

const (
	// KindDaemon: the root and its directories, supervisors/*,
	// nimbuses/*, leader-lock/*. The daemons only.
	KindDaemon Kind = iota + 1
	// KindTopologyState: storms/<id>, assignments/<id>. nimbus writes,
	// the topology's workers read.
	KindTopologyState
	// KindTopologyShared: workerbeats/<id>, errors/<id>, made by nimbus
	// at submission. The topology's workers create their nodes under
	// them.
	KindTopologyShared
	// KindWorker: what a worker creates, its heartbeat and its errors.
	// The topology's workers, and the daemons (superACL).
	KindWorker
	// KindSecret: a topology's worker secret. The daemons only, never the
	// workers (they get it in a file from their supervisor).
	KindSecret
)

// Policy is the ACL policy of one process: the credential its session
// authenticates with and the daemons' identity.
type Policy struct {
	// Self is the session's credential: the daemons' for nimbus and
	// supervisors, the topology's for a worker. Zero: no ACLs.
	Self Credential
	// Super is the daemons' identity, for KindWorker nodes.
	Super zk.ACL
	// Worker is set for a worker's session, whose Self is its topology's
	// credential.
	Worker bool
}

// DaemonPolicy returns the policy of nimbus and supervisors from the
// cluster's configuration.
func DaemonPolicy(conf map[string]any) (Policy, error) {
	self, err := DaemonCredential(conf)
	if err != nil || self.IsZero() {
		return Policy{}, err
	}
	super, ok, err := SuperACL(conf, self)
	if err != nil {
		return Policy{}, err
	}
	if !ok {
		return Policy{}, fmt.Errorf("%w: no %s", ErrConfig, KeySuperACL)
	}
	return Policy{Self: self, Super: super}, nil
}

// WorkerPolicy returns a worker's policy from its topology's
// configuration (which nimbus filled with TopologyConfig).
func WorkerPolicy(topoConf map[string]any) (Policy, error) {
	self, err := TopologyCredential(topoConf)
	if err != nil || self.IsZero() {
		return Policy{}, err
	}
	super, ok, err := SuperACL(topoConf, Credential{})
	if err != nil {
		return Policy{}, err
	}
	if !ok {
		return Policy{}, fmt.Errorf("%w: a topology with a credential needs %s", ErrConfig, KeySuperACL)
	}
	return Policy{Self: self, Super: super, Worker: true}, nil
}

// Enabled reports whether the policy sets ACLs.
func (p Policy) Enabled() bool { return !p.Self.IsZero() }

// ACL returns the ACL for a node of kind, which topo's credential may
// concern (for KindTopologyState and KindTopologyShared; zero otherwise).
// Without a credential every node is world-writable, as in Storm.
func (p Policy) ACL(kind Kind, topo Credential) ([]zk.ACL, error) {
	if !p.Enabled() {
		return zk.WorldACL(zk.PermAll), nil
	}
	creator := zk.AuthACL(zk.PermAll) // the session's own identity
	switch kind {
	case KindDaemon, KindSecret:
		return creator, nil
	case KindTopologyState, KindTopologyShared:
		if topo.IsZero() {
			return nil, ErrNoTopologyCredential
		}
		id, err := DigestID(topo)
		if err != nil {
			return nil, err
		}
		perms := int32(zk.PermRead)
		if kind == KindTopologyShared {
			perms = zk.PermAll
		}
		return append(creator, zk.ACL{Perms: perms, Scheme: SchemeDigest, ID: id}), nil
	case KindWorker:
		if p.Super.Scheme == "" {
			return nil, fmt.Errorf("%w: no %s for the nodes workers create", ErrConfig, KeySuperACL)
		}
		return append(creator, p.Super), nil
	}
	return nil, fmt.Errorf("zkacl: unknown node kind %d", kind)
}

// DerivedTopologyCredential returns topology id's ZooKeeper credential,
// derived from its worker secret (HMAC-SHA256), which nimbus makes at
// submission and keeps where only the daemons read it (secrets/<id>).
// Nimbus and every supervisor compute it without storing or sending
// another secret, topologies submitted before ZooKeeper authentication
// was turned on have one too, and a submission cannot choose it (one
// naming another topology's credential would read that topology's state).
func DerivedTopologyCredential(id string, secret []byte) Credential {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("squall zookeeper digest v1\x00" + id))
	sum := mac.Sum(nil)
	user := "squall-topology-" + hex.EncodeToString(sum[:6])
	pass := base64.RawURLEncoding.EncodeToString(sum[6:])
	return Credential{Scheme: SchemeDigest, Payload: []byte(user + ":" + pass)}
}

// WorkerNodeACL returns the ACL of a node a worker of topo creates
// (KindWorker), spelled out for a daemon's session: the SetACL pass sets
// it on such nodes made before ACLs were on.
func (p Policy) WorkerNodeACL(topo Credential) ([]zk.ACL, error) {
	if !p.Enabled() {
		return zk.WorldACL(zk.PermAll), nil
	}
	if topo.IsZero() {
		return nil, ErrNoTopologyCredential
	}
	if p.Super.Scheme == "" {
		return nil, fmt.Errorf("%w: no %s for the nodes workers create", ErrConfig, KeySuperACL)
	}
	id, err := DigestID(topo)
	if err != nil {
		return nil, err
	}
	return []zk.ACL{{Perms: zk.PermAll, Scheme: SchemeDigest, ID: id}, p.Super}, nil
}

// IsOpen reports whether acl lets anyone in (world:anyone with any
// right): a node made without ACLs.
func IsOpen(acl []zk.ACL) bool {
	for _, a := range acl {
		if a.Scheme == "world" && a.ID == "anyone" && a.Perms != 0 {
			return true
		}
	}
	return false
}
