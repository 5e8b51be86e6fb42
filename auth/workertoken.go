package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A worker token lets a topology's workers authenticate to a service as
// the topology's owner without holding any of the owner's credentials, as
// Storm's WorkerToken of service type DRPC does. The workers hold their
// topology's secret; the token is
//
//	"squall-wt2." base64url(storm id) "." expiry "." base64url(HMAC-SHA256(secret, label | service | storm id | owner | expiry))
//
// where expiry is a time in Unix seconds. The service (a daemon that
// reads secrets/<id> and the topology's record in ZooKeeper) recomputes
// the MAC with the secret and owner it finds there: the principal is
// that owner, never a name the token carries. A token is good for one
// service, one topology and one owner, until it expires; the workers make
// a new one when half its life is gone (WorkerTokenSource), as Storm's
// nimbus renews its workers' tokens. It is sent over TLS only, like every
// bearer token.
const (
	workerTokenPrefix = "squall-wt2."
	workerTokenLabel  = "squall worker token v2\x00"
	// MaxWorkerTokenBytes bounds a worker token: a storm id of
	// maxStormIDLen bytes, an expiry and a MAC, encoded, fit.
	MaxWorkerTokenBytes = 2048
	// DefaultWorkerTokenLife is how long a worker token is good for
	// unless configured (Storm's storm.worker.token.life.time.hours: 24).
	DefaultWorkerTokenLife = 24 * time.Hour
	// workerTokenSkew is how far a token's expiry may pass the
	// verifier's clock plus the life it allows: the clocks of the
	// workers and the service differ a little.
	workerTokenSkew = 5 * time.Minute
)

// ServiceDRPC is the service of the worker tokens DRPC servers accept.
const ServiceDRPC = "drpc"

// MethodWorkerToken is a topology's worker presenting a worker token: the
// principal is the topology's owner.
const MethodWorkerToken Method = "worker-token"

// ErrBadWorkerToken means a worker token is malformed, or its MAC is not
// the one its topology's secret gives: forged, of another topology or
// owner, or from before the topology was resubmitted.
var ErrBadWorkerToken = errors.New("bad worker token")

func workerTokenMAC(secret []byte, service, stormID, owner string, expires int64) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(workerTokenLabel))
	for _, s := range []string{service, stormID, owner, strconv.FormatInt(expires, 10)} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// NewWorkerToken returns the worker token of topology stormID, owned by
// owner, for service, from the topology's secret, good until expires
// (to the second).
func NewWorkerToken(secret []byte, service, stormID, owner string, expires time.Time) (string, error) {
	if len(stormID) == 0 || len(stormID) > maxStormIDLen {
		return "", fmt.Errorf("worker token: storm id of %d bytes (1 to %d allowed)", len(stormID), maxStormIDLen)
	}
	if len(secret) == 0 {
		return "", errors.New("worker token: no topology secret")
	}
	enc := base64.RawURLEncoding
	exp := expires.Unix()
	return workerTokenPrefix + enc.EncodeToString([]byte(stormID)) + "." + strconv.FormatInt(exp, 10) + "." +
		enc.EncodeToString(workerTokenMAC(secret, service, stormID, owner, exp)), nil
}

// IsWorkerToken reports whether a bearer token is a worker token (by its
// prefix, of any version), to be checked by VerifyWorkerToken rather than
// looked up in a token file.
func IsWorkerToken(token string) bool { return strings.HasPrefix(token, "squall-wt") }

// ParseWorkerToken splits a worker token into the storm id it names, its
// expiry and its MAC. It checks the form only (size, prefix, encoding,
// lengths); the error wraps ErrBadWorkerToken.
func ParseWorkerToken(token string) (stormID string, expires time.Time, mac []byte, err error) {
	bad := func(format string, a ...any) (string, time.Time, []byte, error) {
		return "", time.Time{}, nil, fmt.Errorf("%w: "+format, append([]any{ErrBadWorkerToken}, a...)...)
	}
	if len(token) > MaxWorkerTokenBytes {
		return bad("%d bytes, more than %d", len(token), MaxWorkerTokenBytes)
	}
	rest, ok := strings.CutPrefix(token, workerTokenPrefix)
	if !ok {
		return bad("it does not start with %q (a token from before worker tokens expired: restart the topology's workers with this squall)", workerTokenPrefix)
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 3 {
		return bad("%d parts, want storm id, expiry and MAC between \".\"", len(parts))
	}
	enc := base64.RawURLEncoding
	id, err := enc.DecodeString(parts[0])
	if err != nil {
		return bad("storm id: %v", err)
	}
	if len(id) == 0 || len(id) > maxStormIDLen {
		return bad("storm id of %d bytes (1 to %d allowed)", len(id), maxStormIDLen)
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || exp <= 0 || strconv.FormatInt(exp, 10) != parts[1] {
		return bad("expiry %.20q is not a time in Unix seconds", parts[1])
	}
	if mac, err = enc.DecodeString(parts[2]); err != nil {
		return bad("MAC: %v", err)
	}
	if len(mac) != sha256.Size {
		return bad("MAC of %d bytes, want %d", len(mac), sha256.Size)
	}
	return string(id), time.Unix(exp, 0), mac, nil
}

// TopologyKeys looks up what verifying a worker token needs: topology
// stormID's secret and owner (in a cluster, secrets/<id> and the owner of
// storms/<id>).
type TopologyKeys func(ctx context.Context, stormID string) (secret []byte, owner string, err error)

// WorkerTokenVerifier checks the worker tokens of one service.
type WorkerTokenVerifier struct {
	// Service is the service the tokens must be for (ServiceDRPC).
	Service string
	// Keys finds a topology's secret and owner.
	Keys TopologyKeys
	// Life is the longest a token may be good for from now
	// (DefaultWorkerTokenLife when 0); a token that expires later was not
	// made by a worker of this cluster.
	Life time.Duration
	// Now returns the time (time.Now when nil).
	Now func() time.Time
}

// Verify checks token and returns the principal it authenticates: the
// owner of the topology it names, by MethodWorkerToken, with that
// topology's id. A malformed, wrong or expired token, one that expires
// further ahead than Life allows, or one of a topology without an owner
// (submitted without authentication), is refused with an error wrapping
// ErrUnauthenticated and ErrBadWorkerToken; the MACs are compared in
// constant time.
func (v WorkerTokenVerifier) Verify(ctx context.Context, token string) (Principal, error) {
	stormID, expires, mac, err := ParseWorkerToken(token)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	life := v.Life
	if life <= 0 {
		life = DefaultWorkerTokenLife
	}
	// The expiry is checked before the keys are looked up: it holds
	// nothing secret, and a stale or far-fetched token then costs the
	// server no ZooKeeper read.
	switch {
	case !now.Before(expires):
		return Principal{}, fmt.Errorf("%w: %w: %s's token expired at %s", ErrUnauthenticated, ErrBadWorkerToken, stormID, expires.UTC().Format(time.RFC3339))
	case expires.After(now.Add(life + workerTokenSkew)):
		return Principal{}, fmt.Errorf("%w: %w: %s's token expires at %s, more than its life of %v ahead (storm.worker.token.life.time.hours)",
			ErrUnauthenticated, ErrBadWorkerToken, stormID, expires.UTC().Format(time.RFC3339), life)
	}
	secret, owner, err := v.Keys(ctx, stormID)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: worker token of %s: %w", ErrUnauthenticated, stormID, err)
	}
	switch {
	case !hmac.Equal(mac, workerTokenMAC(secret, v.Service, stormID, owner, expires.Unix())):
		return Principal{}, fmt.Errorf("%w: %w: it is not a %s token of %s's workers", ErrUnauthenticated, ErrBadWorkerToken, v.Service, stormID)
	case owner == "":
		return Principal{}, fmt.Errorf("%w: %w: topology %s has no owner (it was submitted without authentication)", ErrUnauthenticated, ErrBadWorkerToken, stormID)
	}
	return Principal{Name: owner, Method: MethodWorkerToken, Topology: stormID}, nil
}

// WorkerTokenSource is the gRPC per-call credentials of a topology's
// workers: a worker token of their topology made from its secret, and a
// new one once half the last one's life is gone, so that a token that
// leaks is good for Life at most. Its methods are safe for concurrent
// use.
type WorkerTokenSource struct {
	// Secret is the topology's secret; Service, StormID and Owner what
	// the token is for (see NewWorkerToken).
	Secret                  []byte
	Service, StormID, Owner string
	// Life is how long each token is good for (DefaultWorkerTokenLife
	// when 0).
	Life time.Duration
	// Now returns the time (time.Now when nil).
	Now func() time.Time

	mu sync.Mutex
	// token and renew, guarded by mu, are the token in use and when to
	// make the next.
	token string
	renew time.Time
}

// Token returns the token to send now.
func (s *WorkerTokenSource) Token() (string, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	life := s.Life
	if life <= 0 {
		life = DefaultWorkerTokenLife
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || !now.Before(s.renew) {
		token, err := NewWorkerToken(s.Secret, s.Service, s.StormID, s.Owner, now.Add(life))
		if err != nil {
			return "", err
		}
		s.token, s.renew = token, now.Add(life/2)
	}
	return s.token, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (s *WorkerTokenSource) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	token, err := s.Token()
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: a
// worker token goes over TLS only.
func (*WorkerTokenSource) RequireTransportSecurity() bool { return true }
