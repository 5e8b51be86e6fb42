package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// Link is the in-process connection from the REST gateway to nimbus's
// gRPC server, so that REST requests pass the same interceptors as gRPC
// ones. Connections made through it are the only ones whose forwarded
// identity the Guard takes without question: the server recognises them
// by their type (see ServerCredentials), which no network peer can
// produce. Serve Listener with the gRPC server and dial LinkTarget with
// DialOptions. Its methods are safe for concurrent use.
type Link struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// LinkTarget is the gRPC target to dial the Link with.
const LinkTarget = "passthrough:///squall-in-process"

// NewLink returns a Link with no connections.
func NewLink() *Link {
	return &Link{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Listener returns the server's side of the Link: a net.Listener that
// accepts the connections Dial makes.
func (l *Link) Listener() net.Listener { return linkListener{l} }

// DialOptions returns the options that make a gRPC client connect through
// the Link (no TLS: the connection never leaves the process).
func (l *Link) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithContextDialer(l.Dial),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
}

// Dial makes a connection to the Link's listener.
func (l *Link) Dial(ctx context.Context, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- &linkConn{Conn: server}:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, net.ErrClosed
}

// Close closes the listener; connections already made stay up until their
// ends close them.
func (l *Link) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

type linkListener struct{ l *Link }

func (ll linkListener) Accept() (net.Conn, error) {
	select {
	case c := <-ll.l.conns:
		return c, nil
	case <-ll.l.done:
		return nil, net.ErrClosed
	}
}

func (ll linkListener) Close() error   { return ll.l.Close() }
func (ll linkListener) Addr() net.Addr { return linkAddr{} }

// linkConn is the server's end of a Link connection. Its type is the proof
// that a connection came through the Link.
type linkConn struct{ net.Conn }

func (linkConn) LocalAddr() net.Addr  { return linkAddr{} }
func (linkConn) RemoteAddr() net.Addr { return linkAddr{} }

type linkAddr struct{}

func (linkAddr) Network() string { return "squall-link" }
func (linkAddr) String() string  { return "in-process" }

// LinkInfo is the credentials.AuthInfo of a connection made through the
// Link.
type LinkInfo struct {
	credentials.CommonAuthInfo
}

// AuthType implements credentials.AuthInfo.
func (LinkInfo) AuthType() string { return "squall-link" }

// plainInfo is the AuthInfo of a plain TCP connection.
type plainInfo struct {
	credentials.CommonAuthInfo
}

func (plainInfo) AuthType() string { return "insecure" }

// ServerCredentials returns the transport credentials nimbus's gRPC server
// must use (grpc.Creds): TLS with tlsConfig (plain TCP when nil) for
// network connections, and no handshake for connections through a Link,
// which it marks with LinkInfo so that the Guard trusts their forwarded
// identity.
func ServerCredentials(tlsConfig *tls.Config) credentials.TransportCredentials {
	c := serverCreds{}
	if tlsConfig != nil {
		c.tls = credentials.NewTLS(tlsConfig)
	}
	return c
}

type serverCreds struct {
	tls credentials.TransportCredentials // nil: plain TCP
}

func (c serverCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if lc, ok := conn.(*linkConn); ok {
		return lc, LinkInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	if c.tls == nil {
		return conn, plainInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.NoSecurity}}, nil
	}
	return c.tls.ServerHandshake(conn)
}

func (c serverCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("auth: ServerCredentials are for servers")
}

func (c serverCreds) Info() credentials.ProtocolInfo {
	if c.tls != nil {
		return c.tls.Info()
	}
	return credentials.ProtocolInfo{SecurityProtocol: "insecure"}
}

func (c serverCreds) Clone() credentials.TransportCredentials {
	if c.tls != nil {
		return serverCreds{tls: c.tls.Clone()}
	}
	return c
}

// OverrideServerName is deprecated in gRPC and meaningless for a server.
func (c serverCreds) OverrideServerName(string) error { return nil }
