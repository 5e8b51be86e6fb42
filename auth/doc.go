// Package auth holds squall's security building blocks: who is calling
// (Principal, from a bearer token or a verified client certificate), what
// they may do (Authorize, Storm's ACL model and keys), and the one place
// where every RPC is checked (Guard: gRPC interceptors and the REST
// middleware that forwards the caller's identity to them). It also builds
// TLS configurations from Storm-style keys, authenticates workers to each
// other with a per-topology secret (an HMAC challenge-response), and writes
// the audit log of state-changing operations.
//
// Everything is off by default and the daemons bind loopback only
// (CheckExposure refuses to expose an unauthenticated port). The layers,
// their configuration keys and how nimbus, supervisors and workers use them
// are described in docs/security.md.
//
// Subpackages: redact (hiding secret configuration values), zkacl
// (ZooKeeper ACLs), runas (running workers as the topology's owner), devpki
// (a development certificate authority for `squall certs` and tests).
package auth
