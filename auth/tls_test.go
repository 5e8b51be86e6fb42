package auth

import (
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/auth/devpki"
)

// handshake runs a TLS handshake between configs over a pipe and returns
// the server's view of the connection, or the first error.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	deadline := time.Now().Add(30 * time.Second)
	a.SetDeadline(deadline)
	b.SetDeadline(deadline)
	srv := tls.Server(a, server)
	cli := tls.Client(b, client)
	errc := make(chan error, 1)
	go func() {
		err := cli.Handshake()
		if err == nil {
			// TLS 1.3 reports a refused client certificate on the
			// first read.
			_, err = cli.Read(make([]byte, 1))
		}
		errc <- err
		cli.Close()
	}()
	serr := srv.Handshake()
	if serr == nil {
		srv.Write([]byte{1})
	} else {
		a.Close() // the client must not wait for what will not come
	}
	cerr := <-errc
	if serr != nil {
		return tls.ConnectionState{}, serr
	}
	if cerr != nil {
		return tls.ConnectionState{}, cerr
	}
	return srv.ConnectionState(), nil
}

func TestMutualTLSPrincipal(t *testing.T) {
	pki := newTestPKI(t)
	st := pki.server(t)
	st.RequireClientCert = true
	scfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := pki.client(t, "alice", "devs", "ops").Config()
	if err != nil {
		t.Fatal(err)
	}
	cs, err := handshake(t, scfg, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	p, ok, err := PrincipalFromTLS(&cs)
	if err != nil || !ok {
		t.Fatalf("PrincipalFromTLS() = %v, %v, %v", p, ok, err)
	}
	if p.Name != "alice" || p.Method != MethodMTLS || len(p.Groups) != 2 {
		t.Errorf("PrincipalFromTLS() = %+v, want alice in 2 groups by mtls", p)
	}
	if cs.NegotiatedProtocol != "" && cs.NegotiatedProtocol != "h2" {
		t.Errorf("negotiated %q", cs.NegotiatedProtocol)
	}

	// No certificate, a certificate of another CA: refused.
	noCert, _ := ClientTLS{CAFile: pki.caFile, ServerName: "localhost"}.Config()
	if _, err := handshake(t, scfg, noCert); err == nil {
		t.Errorf("handshake without a client certificate succeeded; it is required")
	}
	other := newTestPKI(t)
	strangerTLS := other.client(t, "mallory")
	strangerTLS.CAFile = pki.caFile
	stranger, err := strangerTLS.Config()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, scfg, stranger); err == nil {
		t.Errorf("handshake with another CA's certificate succeeded")
	}
}

func TestOptionalClientCert(t *testing.T) {
	pki := newTestPKI(t)
	scfg, err := pki.server(t).Config() // CA set, not required
	if err != nil {
		t.Fatal(err)
	}
	noCert, _ := ClientTLS{CAFile: pki.caFile, ServerName: "localhost"}.Config()
	cs, err := handshake(t, scfg, noCert)
	if err != nil {
		t.Fatalf("handshake without a client certificate: %v", err)
	}
	if p, ok, err := PrincipalFromTLS(&cs); ok || err != nil {
		t.Errorf("PrincipalFromTLS(no certificate) = %v, %v, %v; want none", p, ok, err)
	}
	// A certificate that is presented must verify.
	other := newTestPKI(t)
	st := other.client(t, "mallory")
	st.CAFile = pki.caFile
	stranger, _ := st.Config()
	if _, err := handshake(t, scfg, stranger); err == nil {
		t.Errorf("handshake with another CA's certificate succeeded")
	}
}

func TestServerVerifiedByClient(t *testing.T) {
	pki := newTestPKI(t)
	scfg, err := pki.server(t).Config()
	if err != nil {
		t.Fatal(err)
	}
	// The wrong name, another CA: the client refuses.
	wrongName, _ := ClientTLS{CAFile: pki.caFile, ServerName: "elsewhere"}.Config()
	if _, err := handshake(t, scfg, wrongName); err == nil {
		t.Errorf("client accepted a certificate for another name")
	}
	other := newTestPKI(t)
	wrongCA, _ := ClientTLS{CAFile: other.caFile, ServerName: "localhost"}.Config()
	if _, err := handshake(t, scfg, wrongCA); err == nil {
		t.Errorf("client accepted a certificate of another CA")
	}
}

func TestTLSMinVersion(t *testing.T) {
	pki := newTestPKI(t)
	st := pki.server(t)
	st.MinVersion = tls.VersionTLS13
	scfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, _ := ClientTLS{CAFile: pki.caFile, ServerName: "localhost"}.Config()
	ccfg.MaxVersion = tls.VersionTLS12
	if _, err := handshake(t, scfg, ccfg); err == nil {
		t.Errorf("a TLS 1.2 client reached a 1.3-only server")
	}
	// The default floor is 1.2: 1.1 is refused.
	def, _ := pki.server(t).Config()
	old, _ := ClientTLS{CAFile: pki.caFile, ServerName: "localhost"}.Config()
	old.MinVersion, old.MaxVersion = tls.VersionTLS11, tls.VersionTLS11
	if _, err := handshake(t, def, old); err == nil {
		t.Errorf("a TLS 1.1 client was accepted")
	}
	for in, want := range map[string]uint16{"": tls.VersionTLS12, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13} {
		if got, err := ParseTLSVersion(in); got != want || err != nil {
			t.Errorf("ParseTLSVersion(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"1.1", "1.0", "tls1.3", "3"} {
		if _, err := ParseTLSVersion(bad); !errors.Is(err, ErrTLSConfig) {
			t.Errorf("ParseTLSVersion(%q) = %v, want ErrTLSConfig", bad, err)
		}
	}
}

func TestServerCertificateReload(t *testing.T) {
	pki := newTestPKI(t)
	st := pki.server(t)
	scfg, err := st.Config()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, _ := ClientTLS{CAFile: pki.caFile, ServerName: "localhost"}.Config()
	var seen []string
	ccfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen = append(seen, cs.PeerCertificates[0].SerialNumber.String())
		return nil
	}
	if _, err := handshake(t, scfg, ccfg); err != nil {
		t.Fatal(err)
	}
	// Rotate: a new certificate in the same files.
	is, err := pki.ca.Issue(devpki.Request{CommonName: "nimbus", Hosts: []string{"localhost"}, Server: true, ValidFor: time.Hour}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.KeyFile, is.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.CertFile, is.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, scfg, ccfg); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] == seen[1] || seen[1] != is.Cert.SerialNumber.String() {
		t.Errorf("served serials %v, want the rotated %v second", seen, is.Cert.SerialNumber)
	}
}

func TestServerTLSValidate(t *testing.T) {
	pki := newTestPKI(t)
	good := pki.server(t)
	tests := []struct {
		name string
		s    ServerTLS
	}{
		{"cert without key", ServerTLS{CertFile: good.CertFile}},
		{"key without cert", ServerTLS{KeyFile: good.KeyFile}},
		{"CA without cert", ServerTLS{ClientCAFile: pki.caFile}},
		{"required without CA", ServerTLS{CertFile: good.CertFile, KeyFile: good.KeyFile, RequireClientCert: true}},
		{"nothing", ServerTLS{}},
		{"missing file", ServerTLS{CertFile: good.CertFile + ".missing", KeyFile: good.KeyFile}},
		{"key of another cert", ServerTLS{CertFile: good.CertFile, KeyFile: pki.client(t, "x").KeyFile}},
		{"CA bundle without certificates", ServerTLS{CertFile: good.CertFile, KeyFile: good.KeyFile, ClientCAFile: good.KeyFile}},
	}
	for _, tt := range tests {
		if _, err := tt.s.Config(); !errors.Is(err, ErrTLSConfig) {
			t.Errorf("%s: Config() = %v, want ErrTLSConfig", tt.name, err)
		}
	}
	if _, err := (ClientTLS{CertFile: good.CertFile}).Config(); !errors.Is(err, ErrTLSConfig) {
		t.Errorf("ClientTLS without a key: %v, want ErrTLSConfig", err)
	}
}

func TestPeerTLS(t *testing.T) {
	pki := newTestPKI(t)
	// Node certificates name hosts the workers never dial by: chains are
	// checked, names are not.
	certA, keyA := pki.issue(t, "node-a", devpki.Request{CommonName: "node-a", Hosts: []string{"node-a.example"}, Server: true, Client: true})
	certB, keyB := pki.issue(t, "node-b", devpki.Request{CommonName: "node-b", Hosts: []string{"node-b.example"}, Server: true, Client: true})
	a := PeerTLS{CertFile: certA, KeyFile: keyA, CAFile: pki.caFile}
	b := PeerTLS{CertFile: certB, KeyFile: keyB, CAFile: pki.caFile}
	scfg, err := a.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := b.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := handshake(t, scfg, ccfg); err != nil {
		t.Fatalf("worker TLS: %v", err)
	}
	// A node of another cluster is refused both ways.
	other := newTestPKI(t)
	certX, keyX := other.issue(t, "node-x", devpki.Request{CommonName: "node-x", Server: true, Client: true})
	x := PeerTLS{CertFile: certX, KeyFile: keyX, CAFile: pki.caFile}
	xc, _ := x.ClientConfig()
	if _, err := handshake(t, scfg, xc); err == nil {
		t.Errorf("a foreign worker reached a worker")
	}
	xs, _ := x.ServerConfig()
	if _, err := handshake(t, xs, ccfg); err == nil {
		t.Errorf("a worker accepted a foreign worker's certificate")
	}
	if _, err := (PeerTLS{CertFile: certA}).ClientConfig(); !errors.Is(err, ErrTLSConfig) {
		t.Errorf("PeerTLS without key and CA: %v, want ErrTLSConfig", err)
	}
}

func TestPrincipalFromCert(t *testing.T) {
	pki := newTestPKI(t)
	issue := func(req devpki.Request) *devpki.Issued {
		req.Client, req.ValidFor = true, time.Hour
		is, err := pki.ca.Issue(req, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return is
	}
	p, err := PrincipalFromCert(issue(devpki.Request{CommonName: "alice", URIs: []string{"spiffe://c/u/bob"}}).Cert)
	if err != nil || p.Name != "alice" {
		t.Errorf("CN and URI: %+v, %v; want the CN", p, err)
	}
	p, err = PrincipalFromCert(issue(devpki.Request{URIs: []string{"spiffe://c/u/bob"}}).Cert)
	if err != nil || p.Name != "spiffe://c/u/bob" {
		t.Errorf("URI only: %+v, %v", p, err)
	}
	cert := issue(devpki.Request{CommonName: "x"}).Cert
	cert.Subject.CommonName, cert.URIs = "", nil
	if _, err := PrincipalFromCert(cert); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("no name: %v, want ErrUnauthenticated", err)
	}
	cert.Subject.CommonName = "bad\x00name"
	if _, err := PrincipalFromCert(cert); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("control character: %v, want ErrUnauthenticated", err)
	}
	cert.Subject.CommonName, cert.URIs = strings.Repeat("a", MaxNameBytes+1), []*url.URL{}
	if _, err := PrincipalFromCert(cert); err == nil {
		t.Errorf("long name: nil error")
	}
}
