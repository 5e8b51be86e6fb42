package auth

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api"
)

// fakeStream delivers one request and records what is sent.
type fakeStream struct {
	grpc.ServerStream
	ctx  context.Context
	req  *api.GetTopologyRequest
	sent int
}

func (s *fakeStream) Context() context.Context { return s.ctx }
func (s *fakeStream) RecvMsg(m any) error {
	*m.(*api.GetTopologyRequest) = api.GetTopologyRequest{Id: s.req.GetId()}
	return nil
}
func (s *fakeStream) SendMsg(any) error { s.sent++; return nil }

// A streaming RPC on a topology is authorized when its request arrives,
// before anything is sent.
func TestGuardStreamOnTopology(t *testing.T) {
	path, tokens := testTokens(t, "alice", "bob")
	store, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	svc := newTestNimbus()
	pol := Policy{Enforce: true, UIActionsEnabled: true}
	const method = "/squall.v1.Nimbus/WatchTopology"
	g, err := NewGuard(GuardConfig{
		Authenticator: NewAuthenticator(store, false, pol),
		Policy:        pol,
		Methods: map[string]MethodRule{method: {Op: OpGetTopology, Topology: func(req any) (string, string) {
			return req.(*api.GetTopologyRequest).GetId(), ""
		}}},
		ACLs: svc.acls,
	})
	if err != nil {
		t.Fatal(err)
	}
	as := func(who string) context.Context {
		return metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer "+tokens[who]))
	}
	handler := func(_ any, ss grpc.ServerStream) error {
		if p, ok := FromContext(ss.Context()); !ok || p.IsAnonymous() {
			t.Errorf("handler context without the principal")
		}
		var req api.GetTopologyRequest
		if err := ss.RecvMsg(&req); err != nil {
			return err
		}
		return ss.SendMsg(&api.GetTopologyResponse{})
	}
	info := &grpc.StreamServerInfo{FullMethod: method, IsServerStream: true}

	ok := &fakeStream{ctx: as("alice"), req: &api.GetTopologyRequest{Id: "wc-1-1"}}
	if err := g.StreamInterceptor(nil, ok, info, handler); err != nil || ok.sent != 1 {
		t.Errorf("owner's stream: %v, %d sent", err, ok.sent)
	}
	denied := &fakeStream{ctx: as("bob"), req: &api.GetTopologyRequest{Id: "wc-1-1"}}
	if err := g.StreamInterceptor(nil, denied, info, handler); status.Code(err) != codes.PermissionDenied || denied.sent != 0 {
		t.Errorf("stranger's stream: %v, %d sent; want PermissionDenied, nothing sent", err, denied.sent)
	}
	missing := &fakeStream{ctx: as("alice"), req: &api.GetTopologyRequest{Id: "nope-1-1"}}
	if err := g.StreamInterceptor(nil, missing, info, handler); status.Code(err) != codes.NotFound {
		t.Errorf("unknown topology's stream: %v, want NotFound", err)
	}
	// A handler that sends before receiving, or never receives.
	early := &fakeStream{ctx: as("alice"), req: &api.GetTopologyRequest{Id: "wc-1-1"}}
	err = g.StreamInterceptor(nil, early, info, func(_ any, ss grpc.ServerStream) error { return ss.SendMsg(&api.GetTopologyResponse{}) })
	if status.Code(err) != codes.PermissionDenied || early.sent != 0 {
		t.Errorf("send before the request: %v, %d sent", err, early.sent)
	}
	lazy := &fakeStream{ctx: as("alice"), req: &api.GetTopologyRequest{Id: "wc-1-1"}}
	if err := g.StreamInterceptor(nil, lazy, info, func(any, grpc.ServerStream) error { return nil }); status.Code(err) != codes.PermissionDenied {
		t.Errorf("stream that never read its request: %v, want PermissionDenied", err)
	}
	if err := g.StreamInterceptor(nil, &fakeStream{ctx: t.Context(), req: &api.GetTopologyRequest{}}, info, handler); status.Code(err) != codes.Unauthenticated {
		t.Errorf("stream without credentials: %v, want Unauthenticated", err)
	}
}
