package kafka

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/squallstream/squall/auth/devpki"
	"github.com/squallstream/squall/internal/fakekafka"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// pki makes a CA, a server certificate for 127.0.0.1 and a client
// certificate, and writes the CA and the client's cert+key as PEM files
// in dir.
func pki(t *testing.T, dir string) (server tls.Certificate, pool *x509.CertPool, ca, client *devpki.Issued) {
	t.Helper()
	now := time.Now()
	authority, err := devpki.NewCA("test-ca", now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := authority.Issue(devpki.Request{CommonName: "broker", Hosts: []string{"127.0.0.1"}, Server: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	cli, err := authority.Issue(devpki.Request{CommonName: "squall", Client: true, ValidFor: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if server, err = tls.X509KeyPair(srv.CertPEM, srv.KeyPEM); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(authority.Cert)
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), authority.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.pem"), append(cli.CertPEM, cli.KeyPEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	return server, pool, &devpki.Issued{Cert: authority.Cert, CertPEM: authority.CertPEM}, cli
}

// TestTLSAndSASL runs a bolt writing and a spout reading through a broker
// that requires TLS with client certificates and SCRAM-SHA-256, configured
// with Kafka's property names (files for one, inline PEM for the other),
// and checks that neither the password nor the private key reaches the
// logs. A wrong password is reported, not retried silently.
func TestTLSAndSASL(t *testing.T) {
	const password = "s3cret-Pa55word"
	res := t.TempDir()
	server, pool, ca, client := pki(t, res)
	b, err := fakekafka.Start(fakekafka.Config{Topics: []string{"secure"}, Partitions: 2, Opts: []kfake.Opt{
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{server}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "alice", password),
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)

	spoutProps := map[string]any{
		"security.protocol":       "SASL_SSL",
		"sasl.mechanism":          "SCRAM-SHA-256",
		"sasl.jaas.config":        `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="` + password + `";`,
		"ssl.truststore.type":     "PEM",
		"ssl.truststore.location": "ca.pem", // in the resources directory
		"ssl.keystore.type":       "PEM",
		"ssl.keystore.location":   filepath.Join(res, "client.pem"),
	}
	boltProps := map[string]any{
		"security.protocol":              "SASL_SSL",
		"sasl.mechanism":                 "SCRAM-SHA-256",
		"sasl.username":                  "alice",
		"sasl.password":                  password,
		"ssl.truststore.certificates":    string(ca.CertPEM),
		"ssl.keystore.certificate.chain": string(client.CertPEM),
		"ssl.keystore.key":               string(client.KeyPEM),
		"acks":                           "all",
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	const n = 100
	var rows [][]any
	for i := range n {
		rows = append(rows, []any{"k", "v" + string(rune('a'+i%26))})
	}
	spoutCfg := testSpoutConfig(b.Addr(), "g", "secure")
	spoutCfg.Props = spoutProps
	s := newSeen()
	tb := topology.NewBuilder("secure")
	tb.SetSpout("rows", topology.SpoutFunc(func() (topology.Spout, error) {
		return &rowSpout{fields: []string{"key", "message"}, rows: rows}, nil
	}), 1)
	tb.SetBolt("to-kafka", topology.BoltFunc(func() (topology.Bolt, error) {
		return NewBolt(BoltConfig{BootstrapServers: []string{b.Addr()}, Topic: "secure", Props: boltProps})
	}), 1).ShuffleGrouping("rows")
	var sp spouts
	tb.SetSpout("kafka", sp.factory(t, spoutCfg), 2)
	tb.SetBolt("rec", recorderBolt(s, nil), 1).ShuffleGrouping("kafka")
	topo, err := tb.Build()
	if err != nil {
		t.Fatal(err)
	}
	w := runWorker(t, worker.Config{Topology: topo, ResourcesDir: res, Logger: logger})
	testenv.WaitUntil(t, 60*time.Second, "every record written and read back", func() bool {
		return ackedOf(w.Worker, "rows") == n && s.distinct() == n
	})
	w.stop()
	out := logs.String()
	if !strings.Contains(out, "kafka spout opened") || !strings.Contains(out, "kafka bolt prepared") {
		t.Fatalf("the components did not log their configuration:\n%s", out)
	}
	keyLine := strings.Split(strings.TrimSpace(string(client.KeyPEM)), "\n")[1]
	for _, secret := range []string{password, keyLine} {
		if strings.Contains(out, secret) {
			t.Errorf("a secret reached the logs: %q", secret)
		}
	}

	// The wrong password: the spout reports the failure and reads nothing.
	bad := spoutCfg
	bad.GroupID = "g-bad"
	bad.Props = map[string]any{}
	for k, v := range spoutProps {
		bad.Props[k] = v
	}
	bad.Props["sasl.jaas.config"] = `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="n0t-the-pw";`
	bad.Props["request.timeout.ms"] = 1000
	s2 := newSeen()
	var sp2 spouts
	var reported atomic.Value
	runWorker(t, worker.Config{Topology: buildTopology(t, "wrong", sp2.factory(t, bad), 1, s2, nil, nil), ResourcesDir: res,
		OnError: func(r worker.ErrorReport) {
			if r.Component == "kafka" {
				reported.CompareAndSwap(nil, r.Err.Error())
			}
		}})
	testenv.WaitUntil(t, 60*time.Second, "the authentication failure reported", func() bool { return reported.Load() != nil })
	if msg := reported.Load().(string); !strings.Contains(msg, "SASL authentication") || strings.Contains(msg, "n0t-the-pw") {
		t.Errorf("reported %q, want the SASL failure named, without the password", msg)
	}
	if d := s2.distinct(); d != 0 {
		t.Errorf("read %d records with a wrong password", d)
	}
}

func TestParseJAAS(t *testing.T) {
	tests := []struct {
		in     string
		module string
		opts   map[string]string
	}{
		{`org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pw";`,
			"org.apache.kafka.common.security.plain.PlainLoginModule", map[string]string{"username": "alice", "password": "pw"}},
		{"  M   required\n  username = \"a b\"\tpassword=\"q\\\"uo\\\\te\" ;  ", "M", map[string]string{"username": "a b", "password": `q"uo\te`}},
		{`M optional user=bare;`, "M", map[string]string{"user": "bare"}},
		{`M required;`, "M", map[string]string{}},
		{`M required password="a;b=c";`, "M", map[string]string{"password": "a;b=c"}},
	}
	for _, tt := range tests {
		module, opts, err := parseJAAS(tt.in)
		if err != nil || module != tt.module || !equalMaps(opts, tt.opts) {
			t.Errorf("parseJAAS(%q) = %q, %v, %v; want %q, %v", tt.in, module, opts, err, tt.module, tt.opts)
		}
	}
	for _, in := range []string{
		``, `M`, `M required username="a" password="b"`, `M sometimes user="a";`,
		`M required user;`, `M required user="open;`, `M required a="b"; N required c="d";`,
		strings.Repeat("x", maxJAAS+1),
	} {
		if _, _, err := parseJAAS(in); !errors.Is(err, ErrConfig) {
			t.Errorf("parseJAAS(%.40q) = %v, want ErrConfig", in, err)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func FuzzParseJAAS(f *testing.F) {
	f.Add(`org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pw";`)
	f.Add(`M required a="\"";`)
	f.Add(`M required a=b c="d\\";`)
	f.Fuzz(func(t *testing.T, in string) {
		module, opts, err := parseJAAS(in)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("parseJAAS(%q) error %v is not ErrConfig", in, err)
			}
			return
		}
		if module == "" || opts == nil {
			t.Fatalf("parseJAAS(%q) = %q, %v without an error", in, module, opts)
		}
	})
}
