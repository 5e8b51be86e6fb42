package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/auth/devpki"
)

// testPKI is a CA with certificates written to a temporary directory.
type testPKI struct {
	dir string
	ca  *devpki.CA
	// caFile is the CA's certificate.
	caFile string
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	ca, err := devpki.NewCA("squall test CA", time.Now(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return &testPKI{dir: dir, ca: ca, caFile: caFile}
}

// issue writes a certificate named file and returns its and its key's
// paths.
func (p *testPKI) issue(t *testing.T, file string, req devpki.Request) (string, string) {
	t.Helper()
	if req.ValidFor == 0 {
		req.ValidFor = time.Hour
	}
	is, err := p.ca.Issue(req, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := devpki.WritePair(p.dir, file, is, true)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func (p *testPKI) server(t *testing.T) ServerTLS {
	t.Helper()
	cert, key := p.issue(t, "server", devpki.Request{CommonName: "nimbus", Hosts: []string{"localhost", "127.0.0.1"}, Server: true})
	return ServerTLS{CertFile: cert, KeyFile: key, ClientCAFile: p.caFile}
}

func (p *testPKI) client(t *testing.T, name string, groups ...string) ClientTLS {
	t.Helper()
	cert, key := p.issue(t, "client-"+name, devpki.Request{CommonName: name, Groups: groups, Client: true})
	return ClientTLS{CertFile: cert, KeyFile: key, CAFile: p.caFile, ServerName: "localhost"}
}

// testTokens writes a token file giving each "name[:group,group]" a new
// token, and returns the file and the tokens by name.
func testTokens(t *testing.T, specs ...string) (string, map[string]string) {
	t.Helper()
	tokens := map[string]string{}
	var lines []string
	for _, spec := range specs {
		name, groups, _ := strings.Cut(spec, ":")
		tok, err := NewToken()
		if err != nil {
			t.Fatal(err)
		}
		var gs []string
		if groups != "" {
			gs = strings.Split(groups, ",")
		}
		line, err := TokenLine(tok, name, gs)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = tok
		lines = append(lines, line)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, tokens
}
