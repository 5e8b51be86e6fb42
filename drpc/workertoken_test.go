package drpc_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/drpc"
)

// TestWorkerTokens: a topology configured with TLS alone (no
// drpc.client.* token file or certificate) serves a function on a DRPC
// server with authentication on, its workers presenting the DRPC worker
// token their topology's secret gives, which the server checks against
// the cluster's state: the principal is the topology's owner, whom the
// ACL names as invocation.user. A forged token, another topology's, or one
// over plain TCP is refused.
func TestWorkerTokens(t *testing.T) {
	p := newDRPCPKI(t)
	ctx := t.Context()
	st := cluster.NewMemory().Session()
	secrets := map[string][]byte{}
	for id, owner := range map[string]string{"drpc-exclaim-1-1": "alice", "second-1-1": "alice", "other-1-1": "bob"} {
		if _, err := st.SetTopology(ctx, cluster.TopologyRecord{ID: id, Name: strings.TrimSuffix(id, "-1-1"), Owner: owner, Status: cluster.StatusActive, NumWorkers: 1, LaunchTime: time.Now()}); err != nil {
			t.Fatal(err)
		}
		secret, err := auth.NewTopologySecret()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetTopologySecret(ctx, id, secret); err != nil {
			t.Fatal(err)
		}
		secrets[id] = secret
	}
	cfg := testConfig()
	cfg.RequestTimeout = 5 * time.Second
	if _, err := drpc.Secure(&cfg, p.conf(t, `
drpc.authorizer.acl.strict: true
drpc.authorizer.acl:
  exclaim:
    client.users: [alice]
    invocation.user: alice
  manual:
    client.users: [alice]
    invocation.user: alice
`), drpc.ClusterKeys(st)); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, cfg)

	// The worker's directory holds its topology's secret, as a supervisor
	// writes it; the configuration names TLS and its CA only.
	secretFile := filepath.Join(t.TempDir(), "topology-secret")
	if err := auth.WriteSecretFile(secretFile, secrets["drpc-exclaim-1-1"], -1, -1); err != nil {
		t.Fatal(err)
	}
	topoConf := map[string]any{
		drpc.KeyClientUseTLS:          true,
		drpc.KeyClientTLSCA:           p.path("ca.pem"),
		auth.KeyTopologySubmitterUser: "alice",
	}
	runTopology(t, drpcTopologyAs(t, "exclaim", []string{s.InvocationsAddr()}, exclaim(nil), topoConf, drpc.WorkerTokenCredentials(secretFile)))
	tlsCreds := grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}))
	c, err := drpc.Dial(s.Addr(), tlsCreds, grpc.WithPerRPCCredentials(auth.TokenCredentials{Token: p.tokens["alice"]}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.Execute(ctx, "exclaim", "hi"); err != nil || got != "hi!" {
		t.Fatalf("Execute(exclaim, hi) served by worker tokens = %q, %v; want hi!", got, err)
	}

	tokenUntil := func(secret []byte, id, owner string, expires time.Time) string {
		tok, err := auth.NewWorkerToken(secret, auth.ServiceDRPC, id, owner, expires)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	token := func(secret []byte, id, owner string) string {
		return tokenUntil(secret, id, owner, time.Now().Add(time.Hour))
	}
	fetch := func(creds grpc.DialOption, tok string) error {
		conn, err := grpc.NewClient(s.InvocationsAddr(), creds, grpc.WithPerRPCCredentials(auth.TokenCredentials{Token: tok, AllowInsecure: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = drpcpb.NewDistributedRPCInvocationsClient(conn).FetchRequest(ctx, &drpcpb.FetchRequestRequest{Function: "exclaim", WaitMillis: 1})
		return err
	}
	workerToken := token(secrets["drpc-exclaim-1-1"], "drpc-exclaim-1-1", "alice")
	if err := fetch(tlsCreds, workerToken); err != nil {
		t.Errorf("FetchRequest with the topology's worker token = %v, want ok", err)
	}

	// The token serves functions only: executing one with it, over gRPC
	// or HTTP, is refused though alice may execute exclaim.
	wc, err := drpc.Dial(s.Addr(), tlsCreds, grpc.WithPerRPCCredentials(auth.TokenCredentials{Token: workerToken}))
	if err != nil {
		t.Fatal(err)
	}
	defer wc.Close()
	if _, err := wc.Execute(ctx, "exclaim", "hi"); !errors.Is(err, drpc.ErrDenied) || !strings.Contains(err.Error(), "worker token") {
		t.Errorf("Execute with a worker token = %v, want %v naming the worker token", err, drpc.ErrDenied)
	}
	req, err := http.NewRequest(http.MethodPost, "https://"+s.HTTPAddr()+"/drpc/exclaim", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+workerToken)
	https := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12}}}
	resp, err := https.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "worker token") {
		t.Errorf("POST /drpc/exclaim with a worker token = %d %s, want 403 naming the worker token", resp.StatusCode, body)
	}
	for _, tt := range []struct {
		name, token, says string
	}{
		{"forged", token(make([]byte, auth.TopologySecretBytes), "drpc-exclaim-1-1", "alice"), "worker token"},
		{"another topology's secret", token(secrets["other-1-1"], "drpc-exclaim-1-1", "alice"), "worker token"},
		{"another topology's token", token(secrets["other-1-1"], "other-1-1", "bob"), ""},
		{"an unknown topology's", token(secrets["other-1-1"], "gone-1-1", "bob"), "gone-1-1"},
		{"too long", "squall-wt2." + strings.Repeat("A", auth.MaxWorkerTokenBytes), "more than"},
		{"expired", tokenUntil(secrets["drpc-exclaim-1-1"], "drpc-exclaim-1-1", "alice", time.Now().Add(-time.Minute)), "expired"},
		{"good for longer than its life", tokenUntil(secrets["drpc-exclaim-1-1"], "drpc-exclaim-1-1", "alice", time.Now().Add(48*time.Hour)), "storm.worker.token.life.time.hours"},
	} {
		err := fetch(tlsCreds, tt.token)
		code := status.Code(err)
		if tt.says == "" {
			// Bob's topology authenticates as bob, whom the ACL does not
			// let serve exclaim.
			if code != codes.PermissionDenied {
				t.Errorf("FetchRequest with %s = %v, want PermissionDenied", tt.name, err)
			}
			continue
		}
		if code != codes.Unauthenticated || !strings.Contains(status.Convert(err).Message(), tt.says) {
			t.Errorf("FetchRequest with %s = %v, want Unauthenticated saying %q", tt.name, err, tt.says)
		}
	}

	// A request is settled by the topology that fetched it: another of
	// alice's topologies, though the ACL lets alice serve the function,
	// cannot answer it with its worker token.
	invocations := func(tok string) drpcpb.DistributedRPCInvocationsClient {
		conn, err := grpc.NewClient(s.InvocationsAddr(), tlsCreds, grpc.WithPerRPCCredentials(auth.TokenCredentials{Token: tok}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return drpcpb.NewDistributedRPCInvocationsClient(conn)
	}
	mine, second := invocations(workerToken), invocations(token(secrets["second-1-1"], "second-1-1", "alice"))
	result := make(chan error, 1)
	go func() {
		got, err := c.Execute(ctx, "manual", "x")
		if err == nil && got != "done" {
			err = fmt.Errorf("result %q, want done", got)
		}
		result <- err
	}()
	fetched, err := mine.FetchRequest(ctx, &drpcpb.FetchRequestRequest{Function: "manual", WaitMillis: 30000})
	if err != nil || fetched.GetRequestId() == "" {
		t.Fatalf("FetchRequest(manual) = %v, %v; want the request", fetched, err)
	}
	answer := &drpcpb.ReturnRequest{Outcomes: []*drpcpb.Outcome{{RequestId: fetched.GetRequestId(), Outcome: &drpcpb.Outcome_Result{Result: "done"}}}}
	if resp, err := second.Return(ctx, answer); err != nil || len(resp.GetRefused()) != 1 || !strings.Contains(resp.GetRefused()[0].GetReason(), "another topology fetched it") {
		t.Errorf("Return by another topology's worker token = %v, %v; want it refused as another topology's", resp, err)
	}
	if resp, err := mine.Return(ctx, answer); err != nil || len(resp.GetRefused()) != 0 {
		t.Errorf("Return by the fetching topology's worker token = %v, %v; want it taken", resp, err)
	}
	if err := <-result; err != nil {
		t.Errorf("Execute(manual, x): %v", err)
	}

	if _, err := drpc.Secure(&cfg, map[string]any{}, drpc.ClusterKeys(st)); err == nil || !strings.Contains(err.Error(), drpc.KeyTLSCert) {
		t.Errorf("Secure with worker tokens and without TLS = %v, want a refusal naming %s", err, drpc.KeyTLSCert)
	}
}

// storm.worker.token.life.time.hours is a whole number of hours, from 1
// to a year; anything else is refused naming the key, on the server and
// in a topology's credentials.
func TestWorkerTokenLifeConfig(t *testing.T) {
	p := newDRPCPKI(t)
	st := cluster.NewMemory().Session()
	secretFile := filepath.Join(t.TempDir(), "topology-secret")
	secret, err := auth.NewTopologySecret()
	if err != nil {
		t.Fatal(err)
	}
	if err := auth.WriteSecretFile(secretFile, secret, -1, -1); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		value any
		ok    bool
	}{
		{nil, true}, {1, true}, {48, true}, {float64(72), true}, {24 * 365, true},
		{0, false}, {-1, false}, {1.5, false}, {24*365 + 1, false}, {"24", false}, {true, false},
	} {
		conf := p.conf(t, "drpc.authorizer.acl: {}\n")
		conf[drpc.KeyWorkerTokenLifeHours] = tt.value
		cfg := testConfig()
		_, err := drpc.Secure(&cfg, conf, drpc.ClusterKeys(st))
		if tt.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), drpc.KeyWorkerTokenLifeHours) {
			t.Errorf("Secure with %s: %#v = %v, want ok %v (else an error naming the key)", drpc.KeyWorkerTokenLifeHours, tt.value, err, tt.ok)
		}
		_, err = drpc.WorkerTokenCredentials(secretFile)(map[string]any{
			drpc.KeyClientUseTLS: true, auth.KeyTopologySubmitterUser: "alice", "storm.id": "t-1-1", drpc.KeyWorkerTokenLifeHours: tt.value,
		})
		if tt.ok != (err == nil) || err != nil && !strings.Contains(err.Error(), drpc.KeyWorkerTokenLifeHours) {
			t.Errorf("WorkerTokenCredentials with %s: %#v = %v, want ok %v (else an error naming the key)", drpc.KeyWorkerTokenLifeHours, tt.value, err, tt.ok)
		}
	}
}
