package auth

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/api"
)

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:6627":   true,
		"127.1.2.3:6627":   true,
		"[::1]:6627":       true,
		"localhost:6627":   true,
		"LOCALHOST:1":      true,
		"127.0.0.1":        true,
		":6627":            false,
		"0.0.0.0:6627":     false,
		"[::]:6627":        false,
		"10.0.0.5:6627":    false,
		"nimbus.corp:6627": false,
		"":                 false,
	}
	for addr, want := range tests {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestCheckExposure(t *testing.T) {
	tests := []struct {
		addr                       string
		authenticated, tlsOn, flag bool
		want                       error
	}{
		{"127.0.0.1:6627", false, false, false, nil},
		{"[::1]:8080", false, false, false, nil},
		{"0.0.0.0:6627", false, false, false, ErrExposed},
		{":6627", false, true, false, ErrExposed},
		{"10.0.0.5:6627", true, false, false, ErrExposed}, // tokens in clear text
		{"10.0.0.5:6627", true, true, false, nil},
		{"0.0.0.0:6627", false, false, true, nil}, // --insecure
	}
	for _, tt := range tests {
		err := CheckExposure("nimbus gRPC", tt.addr, tt.authenticated, tt.tlsOn, tt.flag)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckExposure(%q, auth %v, tls %v, insecure %v) = %v, want %v", tt.addr, tt.authenticated, tt.tlsOn, tt.flag, err, tt.want)
		}
		if err != nil && (!strings.Contains(err.Error(), "--insecure") || !strings.Contains(err.Error(), "docs/security.md")) {
			t.Errorf("CheckExposure(%q) = %v: the message should say how to fix it", tt.addr, err)
		}
	}
}

func TestServerSettingsFromConfig(t *testing.T) {
	s, err := ServerSettingsFromConfig(map[string]any{})
	if err != nil || s.AuthenticationEnabled() || s.Policy.Enforce || s.GRPC.Enabled() || !s.Policy.UIActionsEnabled {
		t.Errorf("defaults = %+v, %v; want everything off, UI actions on", s, err)
	}
	s, err = ServerSettingsFromConfig(map[string]any{
		KeyTokensFile:                  "/etc/squall/tokens",
		KeyNimbusTLSCert:               "n.pem",
		KeyNimbusTLSKey:                "n-key.pem",
		KeyNimbusTLSCA:                 "ca.pem",
		KeyNimbusTLSClientAuthRequired: true,
		KeyUIHTTPSCert:                 "u.pem",
		KeyUIHTTPSKey:                  "u-key.pem",
		KeyTLSMinVersion:               "1.3",
		KeyNimbusAdmins:                []any{"admin"},
		KeyAuditLog:                    "/var/log/squall/audit.log",
	})
	if err != nil {
		t.Fatal(err)
	}
	if !s.AuthenticationEnabled() || !s.Policy.Enforce || !s.GRPC.MutualTLS() || !s.GRPC.RequireClientCert ||
		s.REST.MutualTLS() || s.GRPC.MinVersion != tls.VersionTLS13 || s.AuditLog == "" || s.Policy.Admins[0] != "admin" {
		t.Errorf("ServerSettingsFromConfig() = %+v", s)
	}
	// Client certificates alone turn authentication on.
	s, err = ServerSettingsFromConfig(map[string]any{KeyUIHTTPSCert: "u.pem", KeyUIHTTPSKey: "k.pem", KeyUIHTTPSCA: "ca.pem", KeyUIHTTPSNeedClientAuth: "true"})
	if err != nil || !s.AuthenticationEnabled() || !s.REST.RequireClientCert {
		t.Errorf("REST mutual TLS: %+v, %v", s, err)
	}
	for name, bad := range map[string]map[string]any{
		"cert without key":        {KeyNimbusTLSCert: "n.pem"},
		"CA without cert":         {KeyNimbusTLSCA: "ca.pem"},
		"need client auth, no CA": {KeyUIHTTPSCert: "u.pem", KeyUIHTTPSKey: "k.pem", KeyUIHTTPSNeedClientAuth: true},
		"bad version":             {KeyTLSMinVersion: "1.0"},
		"token file not a string": {KeyTokensFile: 3},
		"bad boolean":             {KeyNimbusTLSClientAuthRequired: "yes please"},
		"bad admins":              {KeyNimbusAdmins: map[string]any{}},
	} {
		if _, err := ServerSettingsFromConfig(bad); err == nil {
			t.Errorf("ServerSettingsFromConfig(%s) = nil error", name)
		}
	}
}

func TestClientSettings(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("sqt_abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ClientSettingsFromConfig(map[string]any{KeyClientTokenFile: tokenFile})
	if err != nil || c.TokenFile != tokenFile || c.UseTLS {
		t.Fatalf("ClientSettingsFromConfig() = %+v, %v", c, err)
	}
	if _, err := c.DialOptions("127.0.0.1:6627"); err != nil {
		t.Errorf("DialOptions(loopback) = %v", err)
	}
	if _, err := ClientSettingsFromConfig(map[string]any{KeyClientTLSCA: "ca.pem"}); !errors.Is(err, ErrTLSConfig) {
		t.Errorf("a CA without %s: %v, want ErrTLSConfig", KeyClientUseTLS, err)
	}
	if err := os.Chmod(tokenFile, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DialOptions("127.0.0.1:6627"); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("DialOptions(world-readable token) = %v, want ErrInsecureFile", err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o600)
	if _, err := (ClientSettings{TokenFile: empty}).DialOptions("127.0.0.1:1"); err == nil {
		t.Errorf("DialOptions(empty token file) = nil error")
	}
}

// A token never crosses the network in clear text: gRPC refuses to send
// it to a non-loopback address without TLS.
func TestTokenNeedsTLSOffLoopback(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	gs := grpc.NewServer()
	api.RegisterNimbusServer(gs, &api.UnimplementedNimbusServer{})
	go gs.Serve(l)
	defer gs.Stop()

	tok := TokenCredentials{Token: "sqt_x"}
	conn, err := grpc.NewClient(l.Addr().String(), append(mustPlain(t), grpc.WithPerRPCCredentials(tok))...)
	if err == nil {
		defer conn.Close()
		_, err = api.NewNimbusClient(conn).GetClusterSummary(context.Background(), &api.GetClusterSummaryRequest{})
	}
	if err == nil || !strings.Contains(err.Error(), "transport") {
		t.Errorf("a token over plain TCP = %v, want refused for lack of transport security", err)
	}
}

func mustPlain(t *testing.T) []grpc.DialOption {
	t.Helper()
	opts, err := ClientSettings{}.DialOptions("10.0.0.1:6627")
	if err != nil {
		t.Fatal(err)
	}
	return opts
}
