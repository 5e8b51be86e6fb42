package logviewer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/internal/testenv"
)

const log6700 = "wc-1-1/6700/worker.log"

// follow asks /api/v1/follow once.
func (f *fixture) follow(t *testing.T, params ...string) Chunk {
	t.Helper()
	var c Chunk
	f.get(t, "/api/v1/follow", append([]string{"file", log6700}, params...)...).decode(t, &c)
	return c
}

func TestFollowFromStart(t *testing.T) {
	f := newFixture(t, nil)
	c := f.follow(t, "offset", "0")
	size := int64(len(workerLog))
	if c.Content != workerLog || c.Offset != 0 || c.NextOffset != size || c.FileLength != size || c.FileID == "" || c.Restarted || c.More {
		t.Errorf("chunk %+v", c)
	}
}

// TestFollowWaits appends while a follow waits at the end of the log: the
// follow answers with the new line, however the two interleave.
func TestFollowWaits(t *testing.T) {
	f := newFixture(t, nil)
	end := itoa(int64(len(workerLog)))
	got := make(chan Chunk, 1)
	go func() { got <- f.follow(t, "offset", end, "wait", "60") }()
	line := "time=2026-12-07T10:00:04.000000Z level=INFO msg=late component=split task=5\n"
	f.append(t, "logs/"+log6700, line)
	select {
	case c := <-got:
		if c.Content != line || c.Offset != int64(len(workerLog)) || c.NextOffset != int64(len(workerLog)+len(line)) {
			t.Errorf("chunk %+v, want the new line", c)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the follow did not answer the new line")
	}
}

func TestFollowCompleteLinesOnly(t *testing.T) {
	f := newFixture(t, nil)
	end := int64(len(workerLog))
	f.append(t, "logs/"+log6700, "half a li")
	c := f.follow(t, "offset", itoa(end), "wait", "0.05")
	if c.Content != "" || c.NextOffset != end {
		t.Errorf("with half a line: %+v, want nothing yet", c)
	}
	f.append(t, "logs/"+log6700, "ne\nand more")
	c = f.follow(t, "offset", itoa(c.NextOffset), "fileId", c.FileID, "wait", "10")
	if c.Content != "half a line\n" || c.NextOffset != end+12 {
		t.Errorf("after the line ended: %+v", c)
	}
}

func TestFollowFilters(t *testing.T) {
	f := newFixture(t, nil)
	end := itoa(int64(len(workerLog)))
	got := make(chan Chunk, 1)
	go func() { got <- f.follow(t, "offset", end, "wait", "60", "component", "count") }()
	f.append(t, "logs/"+log6700, "time=2026-12-07T10:00:05.000000Z level=INFO msg=a component=split task=5\n")
	f.append(t, "logs/"+log6700, "time=2026-12-07T10:00:06.000000Z level=INFO msg=b component=count task=2\n")
	c := <-got
	if strings.Contains(c.Content, "component=split") || !strings.Contains(c.Content, "msg=b") {
		t.Errorf("filtered chunk %q, want count's line only", c.Content)
	}
	size, _ := os.Stat(filepath.Join(f.logs, log6700))
	if c.NextOffset != size.Size() {
		t.Errorf("next offset %d, want %d: dropped lines are read once", c.NextOffset, size.Size())
	}
}

func TestFollowRotation(t *testing.T) {
	f := newFixture(t, nil)
	c := f.follow(t, "offset", "0")
	p := filepath.Join(f.logs, log6700)
	must(t, os.Rename(p, p+".1"))
	f.write(t, "logs/"+log6700, "a new file that is longer than nothing\n")
	c = f.follow(t, "offset", itoa(c.NextOffset), "fileId", c.FileID, "wait", "10")
	if !c.Restarted || c.Offset != 0 || c.Content != "a new file that is longer than nothing\n" {
		t.Errorf("after rotation: %+v", c)
	}
	// Truncated in place: the offset is past the end.
	must(t, os.WriteFile(p, []byte("short\n"), 0o644))
	c = f.follow(t, "offset", "1000", "fileId", c.FileID, "wait", "10")
	if !c.Restarted || c.Content != "short\n" {
		t.Errorf("after truncation: %+v", c)
	}
}

func TestFollowFromEnd(t *testing.T) {
	f := newFixture(t, nil)
	c := f.follow(t, "wait", "0.05")
	if c.Content != "" || c.Offset != int64(len(workerLog)) || c.NextOffset != int64(len(workerLog)) {
		t.Errorf("without an offset: %+v, want to start at the end", c)
	}
}

func TestFollowLongLine(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxPageBytes, c.DefaultPageBytes = 100, 100 })
	f.write(t, "logs/"+log6700, strings.Repeat("x", 250))
	c := f.follow(t, "offset", "0", "wait", "0")
	if len(c.Content) != 100 || c.NextOffset != 100 || !c.More {
		t.Errorf("a line longer than a chunk: %d bytes, next %d, more %v", len(c.Content), c.NextOffset, c.More)
	}
}

func TestFollowRefuses(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxFollowers = 1 })
	for _, params := range [][]string{
		{"wait", "61"},
		{"wait", "soon"},
		{"offset", "-5"},
	} {
		f.get(t, "/api/v1/follow", append([]string{"file", log6700}, params...)...).stormError(t, http.StatusBadRequest)
	}
	release, err := acquire(f.h.followers)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	f.get(t, "/api/v1/follow", "file", log6700, "wait", "0").stormError(t, http.StatusServiceUnavailable)
}

// TestServer runs the daemon on loopback and stops it while a follow
// waits: the follow lets go at once, and Run returns.
func TestServer(t *testing.T) {
	f := newFixture(t, nil)
	cfg := DefaultConfig()
	cfg.Addr, cfg.LogRoot = "127.0.0.1:0", f.logs
	// Were the follow not let go, stopping would take this long.
	cfg.ShutdownTimeout = 40 * time.Second
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run = %v", err)
	}
	host, _, err := net.SplitHostPort(s.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want loopback", s.Addr())
	}
	base := "http://" + s.Addr()
	resp, err := http.Get(base + "/api/v1/listLogs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("listLogs: %s", resp.Status)
	}
	following := make(chan error, 1)
	go func() {
		resp, err := http.Get(base + "/api/v1/follow?" + query("file", log6700, "wait", "60"))
		if err == nil {
			resp.Body.Close()
		}
		following <- err
	}()
	testenv.WaitUntil(t, 30*time.Second, "the follower to register", func() bool { return len(s.h.followers) == 1 })
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run did not return")
	}
	<-following
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("stopping took %v with a follow waiting: it was not let go", d)
	}
	if err := s.Run(t.Context()); err == nil {
		t.Errorf("a second Run succeeded")
	}
	if _, err := New(Config{LogRoot: f.logs}); !errors.Is(err, ErrConfig) {
		t.Errorf("New without an address = %v, want ErrConfig", err)
	}
}

// TestServerTLS serves HTTPS when Config.TLS is set.
func TestServerTLS(t *testing.T) {
	f := newFixture(t, nil)
	now := time.Now()
	ca, err := devpki.NewCA("test CA", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Issue(devpki.Request{CommonName: "logviewer", Hosts: []string{"127.0.0.1"}, Server: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(srv.CertPEM, srv.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Addr, cfg.LogRoot = "127.0.0.1:0", f.logs
	cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	<-s.Ready()
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + s.Addr() + "/api/v1/log?" + query("file", log6700))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Errorf("HTTPS: %s, TLS %v", resp.Status, resp.TLS != nil)
	}
	resp, err = http.Get("http://" + s.Addr() + "/api/v1/listLogs")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plain HTTP answered 200 on the HTTPS port")
		}
	}
}
