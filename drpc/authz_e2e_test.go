package drpc_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/topology"
)

// The test's stand-in for the security layer: callers name their
// principal in a header, interceptors and middleware put it in the
// context, and Config.Principal reads it there.
type principalKey struct{}

const principalHeader = "x-test-principal"

func principalFrom(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

func withPrincipal(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(principalHeader); len(v) == 1 {
		return context.WithValue(ctx, principalKey{}, v[0])
	}
	return ctx
}

type principalStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s principalStream) Context() context.Context { return s.ctx }

// asPrincipal is per-call credentials naming a principal.
type asPrincipal string

func (p asPrincipal) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{principalHeader: string(p)}, nil
}
func (asPrincipal) RequireTransportSecurity() bool { return false }

func authServer(t *testing.T) *runningServer {
	cfg := testConfig()
	cfg.RequestTimeout = 2 * time.Second
	cfg.Principal = principalFrom
	cfg.Authorize = func(p string, op drpc.Operation, fn string) bool {
		switch op {
		case drpc.OpExecute:
			return p == "alice"
		case drpc.OpFetch, drpc.OpFail:
			return p == "topo" || p == "half"
		case drpc.OpResult:
			return p == "topo"
		}
		return false
	}
	cfg.GRPCOptions = []grpc.ServerOption{
		grpc.UnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			return h(withPrincipal(ctx), req)
		}),
		grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			return h(srv, principalStream{ss, withPrincipal(ss.Context())})
		}),
	}
	cfg.WrapHTTP = func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := r.Header.Get(principalHeader); p != "" {
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			}
			next.ServeHTTP(w, r)
		})
	}
	return startServer(t, cfg)
}

func callAs(t *testing.T, addr, principal, function, args string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/drpc/"+function, strings.NewReader(args))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(principalHeader, principal)
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// TestAuthorization: the authorizer decides who may call a function and
// who may serve it, over HTTP and gRPC, through the hooks the security
// layer uses.
func TestAuthorization(t *testing.T) {
	creds := func(p string) drpc.Credentials {
		return func(topology.Config) ([]grpc.DialOption, error) {
			return []grpc.DialOption{grpc.WithPerRPCCredentials(asPrincipal(p))}, nil
		}
	}
	tests := []struct {
		topology string // the topology's principal
		caller   string
		code     int
		body     string
	}{
		{"topo", "alice", 200, "hi!"},
		{"topo", "bob", 403, `"error":"403 Forbidden"`},
		{"topo", "", 403, "anonymous"},
		// May fetch and fail, not return: the result is refused, the
		// tuple fails, and so does the request.
		{"half", "alice", 400, "FAILED_REQUEST"},
		// May not even fetch: the request waits for a topology that
		// never comes.
		{"nobody", "alice", 504, "SERVER_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.topology+" "+tt.caller, func(t *testing.T) {
			s := authServer(t)
			runTopology(t, drpcTopologyAs(t, "exclaim", []string{s.InvocationsAddr()}, exclaim(nil), nil, creds(tt.topology)))
			code, body := callAs(t, s.HTTPAddr(), tt.caller, "exclaim", "hi")
			if code != tt.code || !strings.Contains(body, tt.body) {
				t.Errorf("POST as %q = %d %s, want %d with %s", tt.caller, code, body, tt.code, tt.body)
			}
		})
	}

	s := authServer(t)
	for _, tt := range []struct {
		principal string
		want      error
	}{{"bob", drpc.ErrDenied}, {"alice", drpc.ErrTimeout}} {
		c, err := drpc.Dial(s.Addr(), grpc.WithPerRPCCredentials(asPrincipal(tt.principal)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Execute(t.Context(), "exclaim", "x"); !errors.Is(err, tt.want) {
			t.Errorf("Execute as %s = %v, want %v", tt.principal, err, tt.want)
		}
		c.Close()
	}
}
