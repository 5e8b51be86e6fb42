package auth

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/squallstream/squall/auth/devpki"
)

const stormID = "wordcount-1-1700000000"

func mustSecret(t *testing.T) []byte {
	t.Helper()
	s, err := NewTopologySecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// pair runs a handshake between a dialer and an acceptor over a pipe and
// returns both sides' results.
func pair(t *testing.T, dialSecret, acceptSecret []byte, dialID, acceptID string) (dialErr error, p Principal, acceptErr error) {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	wg.Go(func() {
		dialErr = DialHandshake(a, dialSecret, dialID, deadline)
		if dialErr != nil {
			a.Close()
		}
	})
	p, acceptErr = AcceptHandshake(b, acceptSecret, acceptID, deadline)
	if acceptErr != nil {
		b.Close()
	}
	wg.Wait()
	return dialErr, p, acceptErr
}

func TestWorkerHandshake(t *testing.T) {
	secret := mustSecret(t)
	dialErr, p, acceptErr := pair(t, secret, secret, stormID, stormID)
	if dialErr != nil || acceptErr != nil {
		t.Fatalf("handshake with the right secret: dial %v, accept %v", dialErr, acceptErr)
	}
	if p.Name != WorkerPrincipalName(stormID) || p.Method != MethodWorkerSecret {
		t.Errorf("accepted principal = %+v", p)
	}
	// The principal is what the authorizer lets connect, and only there.
	if err := Authorize(p, OpWorkerConnect, &TopologyACL{ID: stormID}, Policy{}); err != nil {
		t.Errorf("Authorize(worker) = %v", err)
	}
	if err := Authorize(p, OpWorkerConnect, &TopologyACL{ID: "other-1-1"}, Policy{}); !errors.Is(err, ErrPermissionDenied) {
		t.Errorf("Authorize(worker, another topology) = %v, want ErrPermissionDenied", err)
	}
}

func TestWorkerHandshakeWrongSecret(t *testing.T) {
	secret, wrong := mustSecret(t), mustSecret(t)
	// A dialer without the secret: the acceptor's challenge does not
	// verify for it, it never proves anything, the acceptor sees a cut.
	dialErr, _, acceptErr := pair(t, wrong, secret, stormID, stormID)
	if !errors.Is(dialErr, ErrHandshake) || !errors.Is(acceptErr, ErrHandshake) {
		t.Errorf("wrong dialer secret: dial %v, accept %v; want ErrHandshake for both", dialErr, acceptErr)
	}
	// An acceptor without the secret (a fake worker collecting tuples):
	// the dialer refuses it before sending anything.
	dialErr, _, acceptErr = pair(t, secret, wrong, stormID, stormID)
	if !errors.Is(dialErr, ErrHandshake) || !errors.Is(acceptErr, ErrHandshake) {
		t.Errorf("wrong acceptor secret: dial %v, accept %v; want ErrHandshake for both", dialErr, acceptErr)
	}
	// The public topology id alone (the old handshake) is worth nothing;
	// neither is another topology's id with its key.
	dialErr, _, acceptErr = pair(t, secret, secret, "other-2-1700000000", stormID)
	if !errors.Is(acceptErr, ErrHandshake) || dialErr == nil {
		t.Errorf("another topology: dial %v, accept %v; want both refused", dialErr, acceptErr)
	}
}

// recorder keeps what passes through a connection in one direction.
type recorder struct {
	net.Conn
	mu      sync.Mutex
	written bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.written.Write(p)
	r.mu.Unlock()
	return r.Conn.Write(p)
}

func TestWorkerHandshakeReplay(t *testing.T) {
	secret := mustSecret(t)
	a, b := net.Pipe()
	rec := &recorder{Conn: a}
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	var dialErr error
	wg.Go(func() { dialErr = DialHandshake(rec, secret, stormID, deadline) })
	if _, err := AcceptHandshake(b, secret, stormID, deadline); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if dialErr != nil {
		t.Fatal(dialErr)
	}
	a.Close()
	b.Close()
	recorded := rec.written.Bytes()

	// An eavesdropper replays everything the real worker sent.
	c, d := net.Pipe()
	defer c.Close()
	defer d.Close()
	go func() {
		c.Write(recorded[:len(recorded)-macBytes])
		io.ReadFull(c, make([]byte, nonceBytes+macBytes)) // the new challenge
		c.Write(recorded[len(recorded)-macBytes:])
		io.Copy(io.Discard, c)
	}()
	if _, err := AcceptHandshake(d, secret, stormID, deadline); !errors.Is(err, ErrHandshake) {
		t.Errorf("replayed handshake: %v, want ErrHandshake", err)
	}
}

// An attacker without the secret sends the acceptor's own answer back as
// its proof: the two directions use different labels, so it fails.
func TestWorkerHandshakeReflection(t *testing.T) {
	secret := mustSecret(t)
	c, d := net.Pipe()
	defer c.Close()
	defer d.Close()
	go func() {
		c.Write(appendHello(nil, stormID, make([]byte, nonceBytes)))
		challenge := make([]byte, nonceBytes+macBytes)
		if _, err := io.ReadFull(c, challenge); err != nil {
			return
		}
		c.Write(challenge[nonceBytes:])
		io.Copy(io.Discard, c)
	}()
	if _, err := AcceptHandshake(d, secret, stormID, time.Now().Add(30*time.Second)); !errors.Is(err, ErrHandshake) {
		t.Errorf("reflected proof: %v, want ErrHandshake", err)
	}
}

func TestWorkerHandshakeTruncated(t *testing.T) {
	secret := mustSecret(t)
	hello := appendHello(nil, stormID, make([]byte, nonceBytes))
	tests := []struct {
		name string
		send []byte
		// proof: after the challenge, send this many bytes of a proof.
		proof int
	}{
		{"nothing", nil, -1},
		{"part of the magic", hello[:5], -1},
		{"magic and half the length", hello[:len(helloMagic)+1], -1},
		{"no nonce", hello[:len(hello)-nonceBytes], -1},
		{"half the nonce", hello[:len(hello)-nonceBytes/2], -1},
		{"hello, no proof", hello, 0},
		{"half a proof", hello, macBytes / 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, d := net.Pipe()
			defer d.Close()
			go func() {
				defer c.Close()
				c.Write(tt.send)
				if tt.proof >= 0 {
					io.ReadFull(c, make([]byte, nonceBytes+macBytes))
					c.Write(make([]byte, tt.proof))
				}
			}()
			_, err := AcceptHandshake(d, secret, stormID, time.Now().Add(30*time.Second))
			if !errors.Is(err, ErrHandshake) || !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				t.Errorf("AcceptHandshake(%s) = %v, want ErrHandshake for a truncated handshake", tt.name, err)
			}
		})
	}
	// The dialer's side, cut after its hello.
	c, d := net.Pipe()
	go func() {
		io.ReadFull(d, make([]byte, len(hello)))
		d.Write(make([]byte, nonceBytes)) // half a challenge
		d.Close()
	}()
	if err := DialHandshake(c, secret, stormID, time.Now().Add(30*time.Second)); !errors.Is(err, ErrHandshake) {
		t.Errorf("DialHandshake(cut challenge) = %v, want ErrHandshake", err)
	}
}

func TestWorkerHandshakeMalformed(t *testing.T) {
	secret := mustSecret(t)
	long := appendHello(nil, strings.Repeat("x", maxStormIDLen+1), make([]byte, nonceBytes))
	zero := append([]byte(helloMagic), 0, 0)
	for name, send := range map[string][]byte{
		"an HTTP request":   []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"the old handshake": append([]byte("\x00\x00\x00\x2csquall-transfer-1\x00"), stormID...),
		"an oversized id":   long,
		"an empty id":       zero,
	} {
		c, d := net.Pipe()
		go func() {
			c.Write(send)
			io.Copy(io.Discard, c)
		}()
		if _, err := AcceptHandshake(d, secret, stormID, time.Now().Add(30*time.Second)); !errors.Is(err, ErrHandshake) {
			t.Errorf("AcceptHandshake(%s) = %v, want ErrHandshake", name, err)
		}
		c.Close()
		d.Close()
	}
	if err := DialHandshake(nil, secret, "", time.Now()); !errors.Is(err, ErrHandshake) {
		t.Errorf("DialHandshake(empty id) = %v, want ErrHandshake", err)
	}
}

func TestWorkerHandshakeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		secret := mustSecret(t)
		c, d := net.Pipe()
		defer c.Close()
		defer d.Close()
		// A peer that connects and says nothing is dropped at the
		// deadline, on both sides.
		_, err := AcceptHandshake(d, secret, stormID, time.Now().Add(10*time.Second))
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("AcceptHandshake(silent peer) = %v, want ErrHandshake and a deadline", err)
		}
		e, f := net.Pipe()
		defer e.Close()
		defer f.Close()
		go io.Copy(io.Discard, f) // reads the hello, never answers
		err = DialHandshake(e, secret, stormID, time.Now().Add(10*time.Second))
		if !errors.Is(err, ErrHandshake) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("DialHandshake(silent peer) = %v, want ErrHandshake and a deadline", err)
		}
	})
}

// tlsPipe returns the two ends of a TLS connection between worker
// certificates of pki.
func tlsPipe(t *testing.T, pki *testPKI) (dialer, acceptor net.Conn) {
	t.Helper()
	cert, key := pki.issue(t, "node", devpki.Request{CommonName: "node", Server: true, Client: true})
	p := PeerTLS{CertFile: cert, KeyFile: key, CAFile: pki.caFile}
	scfg, err := p.ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	ccfg, err := p.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	return tls.Client(a, ccfg), tls.Server(b, scfg)
}

func TestWorkerHandshakeOverTLS(t *testing.T) {
	pki := newTestPKI(t)
	secret := mustSecret(t)
	dc, ac := tlsPipe(t, pki)
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	var dialErr error
	wg.Go(func() { dialErr = DialHandshake(dc, secret, stormID, deadline) })
	_, err := AcceptHandshake(ac, secret, stormID, deadline)
	wg.Wait()
	if err != nil || dialErr != nil {
		t.Fatalf("handshake over TLS: dial %v, accept %v", dialErr, err)
	}
	// Data flows after it.
	go dc.Write([]byte("tuple"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(ac, buf); err != nil || string(buf) != "tuple" {
		t.Errorf("read after the handshake = %q, %v", buf, err)
	}
}

// A relay between two TLS sessions (an insider with a certificate of the
// cluster's CA but not the topology's secret) cannot pass the handshake
// on: the proofs are bound to the TLS session they were made in.
func TestWorkerHandshakeRelayRefused(t *testing.T) {
	pki := newTestPKI(t)
	secret := mustSecret(t)
	dialer, relayIn := tlsPipe(t, pki)
	relayOut, acceptor := tlsPipe(t, pki)
	relay := func(dst, src net.Conn) {
		io.Copy(dst, src)
		dst.Close()
	}
	go relay(relayOut, relayIn)
	go relay(relayIn, relayOut)
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	var dialErr error
	wg.Go(func() {
		dialErr = DialHandshake(dialer, secret, stormID, deadline)
		dialer.Close()
	})
	_, acceptErr := AcceptHandshake(acceptor, secret, stormID, deadline)
	acceptor.Close()
	wg.Wait()
	if !errors.Is(dialErr, ErrHandshake) || !errors.Is(acceptErr, ErrHandshake) {
		t.Errorf("relayed handshake: dial %v, accept %v; want both refused", dialErr, acceptErr)
	}
}

func TestTopologySecretFiles(t *testing.T) {
	secret := mustSecret(t)
	if other := mustSecret(t); bytes.Equal(secret, other) {
		t.Errorf("NewTopologySecret() repeated itself")
	}
	path := filepath.Join(t.TempDir(), "topology.secret")
	if err := WriteSecretFile(path, secret, -1, -1); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := ReadTopologySecret(path)
	if err != nil || !bytes.Equal(got, secret) {
		t.Errorf("ReadTopologySecret() = %x, %v; want %x", got, err, secret)
	}
	// Rewriting replaces; no temporary file is left behind.
	if err := WriteSecretFile(path, mustSecret(t), os.Getuid(), os.Getgid()); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a rewrite, want 1", len(entries))
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadTopologySecret(path); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("ReadTopologySecret(0640) = %v, want ErrInsecureFile", err)
	}
	for _, bad := range []string{"", "zz", EncodeSecret(secret[:16]), EncodeSecret(append(secret, 1))} {
		if _, err := ParseSecret(bad); err == nil {
			t.Errorf("ParseSecret(%q) = nil error", bad)
		}
	}
}

func TestWorkerTLSFromConfig(t *testing.T) {
	if _, on, err := WorkerTLSFromConfig(map[string]any{}); on || err != nil {
		t.Errorf("WorkerTLSFromConfig({}) = %v, %v; want off", on, err)
	}
	conf := map[string]any{KeyWorkerTLSEnable: true, KeyWorkerTLSCert: "c.pem", KeyWorkerTLSKey: "k.pem", KeyWorkerTLSCA: "ca.pem", KeyTLSMinVersion: "1.3"}
	p, on, err := WorkerTLSFromConfig(conf)
	if !on || err != nil || p.CertFile != "c.pem" || p.MinVersion != tls.VersionTLS13 {
		t.Errorf("WorkerTLSFromConfig() = %+v, %v, %v", p, on, err)
	}
	delete(conf, KeyWorkerTLSCA)
	if _, _, err := WorkerTLSFromConfig(conf); !errors.Is(err, ErrTLSConfig) {
		t.Errorf("WorkerTLSFromConfig(no CA) = %v, want ErrTLSConfig", err)
	}
}

func FuzzReadHello(f *testing.F) {
	f.Add(appendHello(nil, stormID, make([]byte, nonceBytes)))
	f.Add([]byte(helloMagic + "\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		hello, id, err := readHello(bytes.NewReader(in))
		if err != nil {
			return
		}
		if len(id) == 0 || len(id) > maxStormIDLen || !bytes.HasPrefix(in, hello) || len(hello) != len(helloMagic)+2+len(id)+nonceBytes {
			t.Errorf("readHello(%q) = %q, %q", in, hello, id)
		}
	})
}
