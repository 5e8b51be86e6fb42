package cli_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/cmd/squall/cli"
)

// syncBuffer collects output written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

// startDRPC runs `squall drpc` on free ports and returns the addresses it
// printed (client, invocations, http).
func startDRPC(t *testing.T) map[string]string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"drpc", "--log-level", "warn",
			"-c", "drpc.port=0", "-c", "drpc.invocations.port=0", "-c", "drpc.http.port=0"}, &syncBuffer{}, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("squall drpc exited with %d: %s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("squall drpc did not stop")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, line := range strings.Split(stderr.String(), "\n") {
			if rest, ok := strings.CutPrefix(line, "drpc "); ok {
				addrs := map[string]string{}
				for _, f := range strings.Fields(rest) {
					k, v, _ := strings.Cut(f, "=")
					addrs[k] = v
				}
				return addrs
			}
		}
		select {
		case code := <-done:
			t.Fatalf("squall drpc exited with %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("squall drpc printed no addresses: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// serveExclamation answers "exclamation" requests through the long-poll
// API, as a topology in any language could, until the test ends.
func serveExclamation(t *testing.T, invocations string) {
	t.Helper()
	conn, err := grpc.NewClient(invocations, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	api := drpcpb.NewDistributedRPCInvocationsClient(conn)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			req, err := api.FetchRequest(ctx, &drpcpb.FetchRequestRequest{Function: "exclamation", WaitMillis: 1000})
			if err != nil || req.GetRequestId() == "" {
				continue
			}
			_, _ = api.Return(ctx, &drpcpb.ReturnRequest{Outcomes: []*drpcpb.Outcome{{
				RequestId: req.GetRequestId(),
				Outcome:   &drpcpb.Outcome_Result{Result: req.GetArgs() + "!"},
			}}})
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		conn.Close()
	})
}

func TestDRPCClient(t *testing.T) {
	addrs := startDRPC(t)
	serveExclamation(t, addrs["invocations"])
	_, clientPort, _ := strings.Cut(addrs["client"], ":")
	conf := []string{"-c", "drpc.servers=[127.0.0.1]", "-c", "drpc.port=" + clientPort}

	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"pairs", []string{"exclamation", "hello", "exclamation", "two words"}, 0,
			"exclamation \"hello\" => \"hello!\"\nexclamation \"two words\" => \"two words!\"\n", ""},
		{"-f", []string{"-f", "exclamation", "aaa", "bbb", ""}, 0,
			"exclamation \"aaa\" => \"aaa!\"\nexclamation \"bbb\" => \"bbb!\"\nexclamation \"\" => \"!\"\n", ""},
		{"odd pairs", []string{"exclamation", "a", "b"}, 1, "", "not pairs"},
		{"bad function", []string{"-f", "a\x01b", "x"}, 1, "", "control character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			code := cli.Main(t.Context(), append(append([]string{"drpc-client"}, conf...), tt.args...), &stdout, &stderr)
			if code != tt.code || stdout.String() != tt.stdout || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("drpc-client %q = %d\nstdout %q, want %q\nstderr %q, want it to hold %q",
					tt.args, code, stdout.String(), tt.stdout, stderr.String(), tt.stderr)
			}
		})
	}

	var stdout, stderr syncBuffer
	code := cli.Main(t.Context(), []string{"drpc-bench", "--url", "http://" + addrs["http"], "-f", "exclamation",
		"--args", "x", "--want", "x!", "--clients", "4", "--requests", "40"}, &stdout, &stderr)
	if code != 0 || !strings.HasPrefix(stdout.String(), "40 requests in ") || !strings.Contains(stdout.String(), " 0 errors") {
		t.Errorf("drpc-bench = %d %q %q", code, stdout.String(), stderr.String())
	}
}

func TestDRPCClientNoServer(t *testing.T) {
	var stdout, stderr syncBuffer
	code := cli.Main(t.Context(), []string{"drpc-client", "--connect-timeout", "2s",
		"-c", "drpc.servers=[127.0.0.1]", "-c", "drpc.port=1", "exclamation", "x"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "unavailable") {
		t.Errorf("drpc-client to nothing = %d %q", code, stderr.String())
	}
	code = cli.Main(t.Context(), []string{"drpc-client", "exclamation", "x", "-c", "drpc.servers=[]"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "drpc.servers is not set") {
		t.Errorf("drpc-client without servers = %d %q", code, stderr.String())
	}
}

// TestDRPCRefusesOpenBind: without authentication, squall drpc binds only
// loopback unless told --insecure.
func TestDRPCRefusesOpenBind(t *testing.T) {
	for _, args := range [][]string{
		{"drpc", "-c", "drpc.host=0.0.0.0", "-c", "drpc.port=0", "-c", "drpc.invocations.port=0", "-c", "drpc.http.port=0"},
		{"drpc", "-c", "drpc.authorizer=org.apache.storm.security.auth.authorizer.DRPCSimpleACLAuthorizer"},
		{"drpc", "-c", "drpc.request.timeout.secs=zero"},
	} {
		var stdout, stderr syncBuffer
		if code := cli.Main(t.Context(), args, &stdout, &stderr); code == 0 || stderr.String() == "" {
			t.Errorf("squall %s = %d %q, want a refusal", strings.Join(args, " "), code, stderr.String())
		}
	}
}
