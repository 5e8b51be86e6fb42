package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// A worker token lets a topology's workers authenticate to a service as
// the topology's owner without holding any of the owner's credentials, as
// Storm's WorkerToken of service type DRPC does. The workers hold their
// topology's secret; the token is
//
//	"squall-wt1." base64url(storm id) "." base64url(HMAC-SHA256(secret, label | service | storm id | owner))
//
// The service (a daemon that reads secrets/<id> and the topology's record
// in ZooKeeper) recomputes the MAC with the secret and owner it finds
// there: the principal is that owner, never a name the token carries. A
// token is good for one service, one topology and one owner; it has no
// expiry (the secret lives as long as the topology) and is sent over TLS
// only, like every bearer token.
const (
	workerTokenPrefix = "squall-wt1."
	workerTokenLabel  = "squall worker token v1\x00"
	// MaxWorkerTokenBytes bounds a worker token: a storm id of
	// maxStormIDLen bytes and a MAC, encoded, fit.
	MaxWorkerTokenBytes = 2048
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

func workerTokenMAC(secret []byte, service, stormID, owner string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(workerTokenLabel))
	for _, s := range []string{service, stormID, owner} {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// NewWorkerToken returns the worker token of topology stormID, owned by
// owner, for service, from the topology's secret.
func NewWorkerToken(secret []byte, service, stormID, owner string) (string, error) {
	if len(stormID) == 0 || len(stormID) > maxStormIDLen {
		return "", fmt.Errorf("worker token: storm id of %d bytes (1 to %d allowed)", len(stormID), maxStormIDLen)
	}
	if len(secret) == 0 {
		return "", errors.New("worker token: no topology secret")
	}
	enc := base64.RawURLEncoding
	return workerTokenPrefix + enc.EncodeToString([]byte(stormID)) + "." + enc.EncodeToString(workerTokenMAC(secret, service, stormID, owner)), nil
}

// IsWorkerToken reports whether a bearer token is a worker token (by its
// prefix), to be checked by VerifyWorkerToken rather than looked up in a
// token file.
func IsWorkerToken(token string) bool { return strings.HasPrefix(token, workerTokenPrefix) }

// ParseWorkerToken splits a worker token into the storm id it names and
// its MAC. It checks the form only (size, prefix, encoding, lengths); the
// error wraps ErrBadWorkerToken.
func ParseWorkerToken(token string) (stormID string, mac []byte, err error) {
	if len(token) > MaxWorkerTokenBytes {
		return "", nil, fmt.Errorf("%w: %d bytes, more than %d", ErrBadWorkerToken, len(token), MaxWorkerTokenBytes)
	}
	rest, ok := strings.CutPrefix(token, workerTokenPrefix)
	if !ok {
		return "", nil, fmt.Errorf("%w: it does not start with %q", ErrBadWorkerToken, workerTokenPrefix)
	}
	idPart, macPart, ok := strings.Cut(rest, ".")
	if !ok {
		return "", nil, fmt.Errorf("%w: no \".\" between storm id and MAC", ErrBadWorkerToken)
	}
	enc := base64.RawURLEncoding
	id, err := enc.DecodeString(idPart)
	if err != nil {
		return "", nil, fmt.Errorf("%w: storm id: %v", ErrBadWorkerToken, err)
	}
	if len(id) == 0 || len(id) > maxStormIDLen {
		return "", nil, fmt.Errorf("%w: storm id of %d bytes (1 to %d allowed)", ErrBadWorkerToken, len(id), maxStormIDLen)
	}
	if mac, err = enc.DecodeString(macPart); err != nil {
		return "", nil, fmt.Errorf("%w: MAC: %v", ErrBadWorkerToken, err)
	}
	if len(mac) != sha256.Size {
		return "", nil, fmt.Errorf("%w: MAC of %d bytes, want %d", ErrBadWorkerToken, len(mac), sha256.Size)
	}
	return string(id), mac, nil
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
}

// Verify checks token and returns the principal it authenticates: the
// owner of the topology it names, by MethodWorkerToken, with that
// topology's id. A malformed or
// wrong token, or one of a topology without an owner (submitted without
// authentication), is refused with an error wrapping ErrUnauthenticated
// and ErrBadWorkerToken; the MACs are compared in constant time.
func (v WorkerTokenVerifier) Verify(ctx context.Context, token string) (Principal, error) {
	stormID, mac, err := ParseWorkerToken(token)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	secret, owner, err := v.Keys(ctx, stormID)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: worker token of %s: %w", ErrUnauthenticated, stormID, err)
	}
	if !hmac.Equal(mac, workerTokenMAC(secret, v.Service, stormID, owner)) {
		return Principal{}, fmt.Errorf("%w: %w: it is not a %s token of %s's workers", ErrUnauthenticated, ErrBadWorkerToken, v.Service, stormID)
	}
	if owner == "" {
		return Principal{}, fmt.Errorf("%w: %w: topology %s has no owner (it was submitted without authentication)", ErrUnauthenticated, ErrBadWorkerToken, stormID)
	}
	return Principal{Name: owner, Method: MethodWorkerToken, Topology: stormID}, nil
}
