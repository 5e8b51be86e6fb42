package auth

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// ServerSettings is the security configuration of nimbus's API, read from
// Storm-style keys (ServerSettingsFromConfig).
type ServerSettings struct {
	// TokensFile is nimbus.auth.tokens.file, "" for no bearer tokens.
	TokensFile string
	// GRPC is the TLS of the gRPC API (nimbus.tls.*).
	GRPC ServerTLS
	// REST is the TLS of the REST API (ui.https.*).
	REST ServerTLS
	// Policy is the authorization configuration.
	Policy Policy
	// AuditLog is nimbus.audit.log, "" for the daemon log.
	AuditLog string
}

// ServerSettingsFromConfig reads nimbus's security keys from conf.
func ServerSettingsFromConfig(conf map[string]any) (ServerSettings, error) {
	var s ServerSettings
	var err error
	minVer, err := confString(conf, KeyTLSMinVersion)
	if err != nil {
		return s, err
	}
	ver, err := ParseTLSVersion(minVer)
	if err != nil {
		return s, err
	}
	strs := []struct {
		key string
		dst *string
	}{
		{KeyTokensFile, &s.TokensFile},
		{KeyNimbusTLSCert, &s.GRPC.CertFile},
		{KeyNimbusTLSKey, &s.GRPC.KeyFile},
		{KeyNimbusTLSCA, &s.GRPC.ClientCAFile},
		{KeyUIHTTPSCert, &s.REST.CertFile},
		{KeyUIHTTPSKey, &s.REST.KeyFile},
		{KeyUIHTTPSCA, &s.REST.ClientCAFile},
		{KeyAuditLog, &s.AuditLog},
	}
	for _, f := range strs {
		if *f.dst, err = confString(conf, f.key); err != nil {
			return s, err
		}
	}
	if s.GRPC.RequireClientCert, err = confBool(conf, KeyNimbusTLSClientAuthRequired, false); err != nil {
		return s, err
	}
	need, err := confBool(conf, KeyUIHTTPSNeedClientAuth, false)
	if err != nil {
		return s, err
	}
	if _, err := confBool(conf, KeyUIHTTPSWantClientAuth, false); err != nil {
		return s, err
	}
	s.REST.RequireClientCert = need
	s.GRPC.MinVersion, s.REST.MinVersion = ver, ver
	if err := s.GRPC.validate(); err != nil {
		return s, fmt.Errorf("nimbus.tls.*: %w", err)
	}
	if err := s.REST.validate(); err != nil {
		return s, fmt.Errorf("ui.https.*: %w", err)
	}
	if s.Policy, err = PolicyFromConfig(conf, s.AuthenticationEnabled()); err != nil {
		return s, err
	}
	return s, nil
}

// MutualTLS reports whether client certificates authenticate callers, on
// either API.
func (s ServerSettings) MutualTLS() bool { return s.GRPC.MutualTLS() || s.REST.MutualTLS() }

// AuthenticationEnabled reports whether callers must authenticate: bearer
// tokens or client certificates are configured.
func (s ServerSettings) AuthenticationEnabled() bool { return s.TokensFile != "" || s.MutualTLS() }

// IsLoopback reports whether a listen address binds loopback only:
// "localhost", 127.0.0.0/8 or ::1. An empty host (all interfaces) is not,
// and neither is any other name, which may resolve anywhere.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckExposure refuses (ErrExposed) to listen on a non-loopback address
// unless callers must authenticate and their credentials cannot be read on
// the way: what names the listener ("nimbus gRPC"), authenticated says
// whether authentication is on, tlsOn whether the listener uses TLS. With
// insecure (the daemon's --insecure flag) it returns nil: the daemon then
// logs what it exposes.
func CheckExposure(what, addr string, authenticated, tlsOn, insecure bool) error {
	if IsLoopback(addr) || insecure {
		return nil
	}
	if !authenticated {
		return fmt.Errorf("%w: %s would listen on %s, which is not loopback, without authentication: anyone who reaches it could submit, kill and read topologies. "+
			"Configure %s or mutual TLS (see docs/security.md; `squall auth token` and `squall certs` make what they need), bind 127.0.0.1, or pass --insecure to accept this",
			ErrExposed, what, addr, KeyTokensFile)
	}
	if !tlsOn {
		return fmt.Errorf("%w: %s would take bearer tokens on %s in clear text: anyone on the network path could read and reuse them. "+
			"Configure TLS for it (see docs/security.md), bind 127.0.0.1, or pass --insecure to accept this",
			ErrExposed, what, addr)
	}
	return nil
}

// ClientSettings is how a client (the CLI, a supervisor, a follower
// nimbus) authenticates to nimbus, read from Storm-style keys
// (ClientSettingsFromConfig).
type ClientSettings struct {
	// UseTLS is nimbus.client.use.tls.
	UseTLS bool
	// TLS is the client's TLS (nimbus.client.tls.*).
	TLS ClientTLS
	// TokenFile is nimbus.client.token.file, "" for no token.
	TokenFile string
}

// ClientSettingsFromConfig reads a client's security keys from conf.
func ClientSettingsFromConfig(conf map[string]any) (ClientSettings, error) {
	var c ClientSettings
	var err error
	if c.UseTLS, err = confBool(conf, KeyClientUseTLS, false); err != nil {
		return c, err
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{KeyClientTLSCert, &c.TLS.CertFile},
		{KeyClientTLSKey, &c.TLS.KeyFile},
		{KeyClientTLSCA, &c.TLS.CAFile},
		{KeyClientTLSServerName, &c.TLS.ServerName},
		{KeyClientTokenFile, &c.TokenFile},
	} {
		if *f.dst, err = confString(conf, f.key); err != nil {
			return c, err
		}
	}
	minVer, err := confString(conf, KeyTLSMinVersion)
	if err != nil {
		return c, err
	}
	if c.TLS.MinVersion, err = ParseTLSVersion(minVer); err != nil {
		return c, err
	}
	if !c.UseTLS && (c.TLS.CertFile != "" || c.TLS.CAFile != "") {
		return c, fmt.Errorf("%w: %s or %s is set but %s is not true", ErrTLSConfig, KeyClientTLSCert, KeyClientTLSCA, KeyClientUseTLS)
	}
	return c, nil
}

// DialOptions returns the gRPC dial options that authenticate the client
// to nimbus at target (host:port): TLS when configured, and its bearer
// token on every call. gRPC refuses to send the token without TLS unless
// target is a loopback address.
func (c ClientSettings) DialOptions(target string) ([]grpc.DialOption, error) {
	var opts []grpc.DialOption
	if c.UseTLS {
		cfg, err := c.TLS.Config()
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
	} else {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	if c.TokenFile != "" {
		tok, err := ReadSecretFile(c.TokenFile, MaxTokenBytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", KeyClientTokenFile, err)
		}
		if len(tok) == 0 {
			return nil, fmt.Errorf("%s: %s is empty", KeyClientTokenFile, c.TokenFile)
		}
		opts = append(opts, grpc.WithPerRPCCredentials(TokenCredentials{Token: string(tok), AllowInsecure: IsLoopback(target)}))
	}
	return opts, nil
}

// TokenCredentials sends a bearer token with every RPC.
type TokenCredentials struct {
	Token string
	// AllowInsecure lets the token go over a connection without TLS (to
	// a loopback address only, in practice).
	AllowInsecure bool
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (t TokenCredentials) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + t.Token}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (t TokenCredentials) RequireTransportSecurity() bool { return !t.AllowInsecure }
