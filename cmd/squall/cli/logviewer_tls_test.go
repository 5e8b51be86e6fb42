package cli

import (
	"crypto/tls"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/logviewer"
	"github.com/squallstream/squall/topology"
)

// TestLogViewerNeedClientAuth: logviewer.https.need.client.auth makes the
// logviewer's HTTPS refuse clients without a certificate, and is refused
// when malformed or without the CA that verifies them.
func TestLogViewerNeedClientAuth(t *testing.T) {
	now := time.Now()
	ca, err := devpki.NewCA("cli test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := devpki.WriteFile(caFile, ca.CertPEM, 0o644, false); err != nil {
		t.Fatal(err)
	}
	is, err := ca.Issue(devpki.Request{CommonName: "logviewer", Hosts: []string{"127.0.0.1"}, Server: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := devpki.WritePair(dir, "logviewer", is, false)
	if err != nil {
		t.Fatal(err)
	}
	base := topology.Config{keyLogViewerHTTPSCert: cert, keyLogViewerHTTPSKey: key, keyLogViewerHTTPSPort: 8443}
	for _, c := range []struct {
		name    string
		extra   topology.Config
		want    tls.ClientAuthType
		wantErr string
	}{
		{"optional", topology.Config{keyLogViewerHTTPSCA: caFile}, tls.VerifyClientCertIfGiven, ""},
		{"required", topology.Config{keyLogViewerHTTPSCA: caFile, keyLogViewerHTTPSNeedClientAuth: true}, tls.RequireAndVerifyClientCert, ""},
		{"required without a CA", topology.Config{keyLogViewerHTTPSNeedClientAuth: true}, 0, keyLogViewerHTTPSCA},
		{"not a bool", topology.Config{keyLogViewerHTTPSCA: caFile, keyLogViewerHTTPSNeedClientAuth: "yes"}, 0, "want true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := topology.Config{}
			for k, v := range base {
				conf[k] = v
			}
			for k, v := range c.extra {
				conf[k] = v
			}
			lv := logviewer.DefaultConfig()
			lv.Addr = "127.0.0.1:8000"
			_, tlsConf, err := logViewerSecurity(conf, &lv)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("logViewerSecurity = %v, want an error naming %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tlsConf == nil {
				t.Fatal("no TLS configuration")
			}
			perConn, err := tlsConf.GetConfigForClient(&tls.ClientHelloInfo{})
			if err != nil || perConn.ClientAuth != c.want {
				t.Errorf("client auth = %v, %v; want %v", perConn.ClientAuth, err, c.want)
			}
		})
	}
}
