package auth

import "errors"

// Errors of authentication and authorization. They are wrapped with
// details; test with errors.Is.
var (
	// ErrUnauthenticated means the caller gave no credentials, or ones that
	// are not valid (an unknown token, a certificate that does not verify).
	// gRPC: Unauthenticated; REST: 401.
	ErrUnauthenticated = errors.New("unauthenticated")

	// ErrPermissionDenied means the caller is known but may not do what it
	// asked. gRPC: PermissionDenied; REST: 403.
	ErrPermissionDenied = errors.New("permission denied")

	// ErrUnknownTopology is what an ACLSource returns for a topology that
	// does not exist. gRPC: NotFound; REST: 404.
	ErrUnknownTopology = errors.New("unknown topology")

	// ErrBadTokenFile means a token file could not be parsed; the error
	// names the file and line.
	ErrBadTokenFile = errors.New("bad token file")

	// ErrInsecureFile means a file holding a secret (a client's token, a
	// worker's topology secret) can be read or written by other users, or
	// a token hash file can be written by them.
	ErrInsecureFile = errors.New("file permissions too open")

	// ErrExposed means a daemon would listen on a non-loopback address
	// without authentication, or would take bearer tokens there in clear
	// text. See CheckExposure.
	ErrExposed = errors.New("refusing to expose an unprotected port")

	// ErrHandshake means a worker connection's handshake failed: the peer
	// does not hold the topology's secret, replayed an old handshake, sent
	// a malformed or truncated one, or belongs to another topology.
	ErrHandshake = errors.New("worker handshake refused")

	// ErrTLSConfig means a TLS setting is missing or wrong: a certificate
	// without its key, an unreadable CA bundle, an unknown version.
	ErrTLSConfig = errors.New("bad TLS configuration")
)
