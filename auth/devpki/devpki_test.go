package devpki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestIssueVerifies(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	srv, err := ca.Issue(Request{CommonName: "nimbus", Hosts: []string{"localhost", "127.0.0.1", "::1"}, Server: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: pool, DNSName: host}); err != nil {
			t.Errorf("server certificate for %s: %v", host, err)
		}
	}
	if _, err := srv.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Errorf("a server-only certificate verifies for client auth")
	}

	cli, err := ca.Issue(Request{CommonName: "alice", Groups: []string{"devs", "ops"}, URIs: []string{"spiffe://squall/user/alice"}, Client: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("client certificate: %v", err)
	}
	// DER sorts a SET OF: compare the groups as a set.
	if got := slices.Sorted(slices.Values(cli.Cert.Subject.OrganizationalUnit)); !slices.Equal(got, []string{"devs", "ops"}) {
		t.Errorf("client OU = %v, want [devs ops]", got)
	}
	if _, err := tls.X509KeyPair(cli.CertPEM, cli.KeyPEM); err != nil {
		t.Errorf("client pair: %v", err)
	}

	// A certificate never outlives its CA.
	long, err := ca.Issue(Request{CommonName: "x", Client: true, ValidFor: 1000 * time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if long.Cert.NotAfter.After(ca.Cert.NotAfter) {
		t.Errorf("certificate expires %v, after its CA %v", long.Cert.NotAfter, ca.Cert.NotAfter)
	}

	// Another CA's certificates do not verify.
	other, _ := NewCA("other", now, time.Hour)
	stranger, _ := other.Issue(Request{CommonName: "mallory", Client: true, ValidFor: time.Hour}, now)
	if _, err := stranger.Cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Errorf("another CA's certificate verifies")
	}
}

func TestIssueRefuses(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range []Request{
		{Client: true, ValidFor: time.Hour},
		{CommonName: "x", ValidFor: time.Hour},
		{CommonName: "x", Client: true},
		{CommonName: "x", Client: true, ValidFor: time.Hour, URIs: []string{"not a uri"}},
	} {
		if _, err := ca.Issue(req, now); err == nil {
			t.Errorf("Issue(%+v) = nil error", req)
		}
	}
}

func TestLoadCA(t *testing.T) {
	now := time.Now()
	ca, err := NewCA("test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	is, err := loaded.Issue(Request{CommonName: "bob", Client: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := is.Cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("issued by the loaded CA: %v", err)
	}
	other, _ := NewCA("other", now, time.Hour)
	leaf, _ := ca.Issue(Request{CommonName: "leaf", Client: true, ValidFor: time.Hour}, now)
	for name, pair := range map[string][2][]byte{
		"mismatched key": {ca.CertPEM, other.KeyPEM},
		"not a CA":       {leaf.CertPEM, leaf.KeyPEM},
		"garbage":        {[]byte("x"), []byte("y")},
	} {
		if _, err := LoadCA(pair[0], pair[1]); err == nil {
			t.Errorf("LoadCA(%s) = nil error", name)
		}
	}
}

func TestWritePair(t *testing.T) {
	dir := t.TempDir()
	ca, err := NewCA("test CA", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	is, _ := ca.Issue(Request{CommonName: "alice", Client: true, ValidFor: time.Hour}, time.Now())
	certPath, keyPath, err := WritePair(dir, "alice", is, false)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{certPath: 0o644, keyPath: 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	if _, _, err := WritePair(dir, "alice", is, false); !errors.Is(err, os.ErrExist) {
		t.Errorf("WritePair over existing files = %v, want os.ErrExist", err)
	}
	if err := os.Chmod(keyPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WritePair(dir, "alice", is, true); err != nil {
		t.Errorf("WritePair with overwrite: %v", err)
	}
	if fi, _ := os.Stat(keyPath); fi.Mode().Perm() != 0o600 {
		t.Errorf("overwritten key has mode %v, want 0600", fi.Mode().Perm())
	}
}
