package cli

import (
	"bytes"
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/auth"
)

// runCLI runs the squall command line in process.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(t.Context(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

// configValue returns the value the printed configuration gives key,
// in the section after heading.
func configValue(t *testing.T, out, heading, key string) string {
	t.Helper()
	i := strings.Index(out, heading)
	if i < 0 {
		t.Fatalf("no %q in:\n%s", heading, out)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `: (.*)$`).FindStringSubmatch(out[i:])
	if m == nil {
		t.Fatalf("no %s after %q in:\n%s", key, heading, out)
	}
	return m[1]
}

func TestCertsMakeAWorkingPKI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, errOut, code := runCLI(t, "certs", "--dir", dir, "--host", "localhost", "--host", "127.0.0.1", "--client", "alice:devs,ops", "--client", "supervisor")
	if code != 0 {
		t.Fatalf("squall certs: %d %s", code, errOut)
	}
	for name, mode := range map[string]os.FileMode{
		"ca.pem": 0o644, "ca-key.pem": 0o600, "server.pem": 0o644, "server-key.pem": 0o600, "worker.pem": 0o644, "worker-key.pem": 0o600,
		"client-alice.pem": 0o644, "client-alice-key.pem": 0o600, "client-supervisor-key.pem": 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode().Perm(), mode)
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("certificate directory mode %v, want 0700", fi.Mode().Perm())
	}

	// The printed configuration makes a mutual TLS connection on which
	// the server sees alice.
	server := auth.ServerTLS{
		CertFile:          configValue(t, out, "# nimbus", auth.KeyNimbusTLSCert),
		KeyFile:           configValue(t, out, "# nimbus", auth.KeyNimbusTLSKey),
		ClientCAFile:      configValue(t, out, "# nimbus", auth.KeyNimbusTLSCA),
		RequireClientCert: true,
	}
	client := auth.ClientTLS{
		CAFile:     configValue(t, out, "# client alice", auth.KeyClientTLSCA),
		CertFile:   configValue(t, out, "# client alice", auth.KeyClientTLSCert),
		KeyFile:    configValue(t, out, "# client alice", auth.KeyClientTLSKey),
		ServerName: "127.0.0.1",
	}
	p := mutualTLS(t, server, client)
	if p.Name != "alice" || len(p.Groups) != 2 || p.Method != auth.MethodMTLS {
		t.Errorf("principal over the new certificates = %+v, want alice in two groups", p)
	}

	// The workers' certificate is not nimbus's.
	if w := configValue(t, out, "# nimbus", auth.KeyWorkerTLSKey); w == server.KeyFile {
		t.Errorf("workers get nimbus's key %s", w)
	}
	wp := mutualTLS(t, server, auth.ClientTLS{CAFile: client.CAFile, ServerName: "localhost",
		CertFile: configValue(t, out, "# nimbus", auth.KeyWorkerTLSCert), KeyFile: configValue(t, out, "# nimbus", auth.KeyWorkerTLSKey)})
	if wp.Name != "squall-worker" {
		t.Errorf("the workers' certificate names %q, want squall-worker", wp.Name)
	}

	// A second run reuses the CA, adds a client, and will not replace
	// existing certificates without --force.
	caBefore, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if _, errOut, code := runCLI(t, "certs", "--dir", dir, "--client", "bob"); code == 0 || !strings.Contains(errOut, "--force") {
		t.Errorf("second run without --force: %d %s, want a refusal naming --force", code, errOut)
	}
	if out, errOut, code := runCLI(t, "certs", "--dir", dir, "--client", "bob", "--force"); code != 0 || !strings.Contains(out, "using the CA") {
		t.Fatalf("second run with --force: %d %s %s", code, out, errOut)
	}
	caAfter, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if !bytes.Equal(caBefore, caAfter) {
		t.Errorf("the second run replaced the CA")
	}
	bob := auth.ClientTLS{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client-bob.pem"), KeyFile: filepath.Join(dir, "client-bob-key.pem"), ServerName: "localhost"}
	server.CertFile, server.KeyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	if p := mutualTLS(t, server, bob); p.Name != "bob" {
		t.Errorf("principal of the second run's client = %+v, want bob", p)
	}

	for _, args := range [][]string{
		{"certs", "--dir", dir, "--client", "bad name"},
		{"certs", "--dir", dir, "--days", "0"},
	} {
		if _, _, code := runCLI(t, args...); code == 0 {
			t.Errorf("squall %v succeeded", args)
		}
	}
	os.Remove(filepath.Join(dir, "ca-key.pem"))
	if _, errOut, code := runCLI(t, "certs", "--dir", dir, "--force"); code == 0 || !strings.Contains(errOut, "ca-key.pem") {
		t.Errorf("a CA without its key: %d %s", code, errOut)
	}
}

// mutualTLS connects client to server over loopback and returns the
// principal the server sees.
func mutualTLS(t *testing.T, server auth.ServerTLS, client auth.ClientTLS) auth.Principal {
	t.Helper()
	scfg, err := server.Config()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := client.Config()
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}, "tcp", l.Addr().String(), ccfg)
		if err != nil {
			t.Errorf("dial: %v", err)
			return
		}
		c.Read(make([]byte, 1))
		c.Close()
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tc := c.(*tls.Conn)
	tc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tc.Write([]byte{1})
	<-done
	cs := tc.ConnectionState()
	p, ok, err := auth.PrincipalFromTLS(&cs)
	if err != nil || !ok {
		t.Fatalf("PrincipalFromTLS() = %v, %v", ok, err)
	}
	return p
}
