package auth

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/grpc/metadata"
)

func TestIdentityRoundTrip(t *testing.T) {
	for _, p := range []Principal{
		{Name: "alice", Groups: []string{"devs"}, Method: MethodToken, Via: ViaREST, Remote: "10.0.0.1:5555"},
		{Name: "CN with spaces", Method: MethodMTLS},
		{Name: "spiffe://cluster/u/bob", Method: MethodMTLS, Via: ViaDirect},
		{Method: MethodNone, Via: ViaREST, Remote: "[::1]:1"},
	} {
		got, err := DecodeIdentity(EncodeIdentity(p))
		if err != nil {
			t.Errorf("DecodeIdentity(EncodeIdentity(%+v)) = %v", p, err)
			continue
		}
		if got.Name != p.Name || got.Method != p.Method || got.Via != p.Via || got.Remote != p.Remote || strings.Join(got.Groups, ",") != strings.Join(p.Groups, ",") {
			t.Errorf("round trip of %+v = %+v", p, got)
		}
	}
}

func TestDecodeIdentityRefuses(t *testing.T) {
	enc := func(p Principal) string { return EncodeIdentity(p) }
	many := make([]string, MaxGroups+1)
	for i := range many {
		many[i] = "g"
	}
	tests := map[string]string{
		"not base64":           "!!",
		"not JSON":             "bm90IGpzb24",
		"too long":             strings.Repeat("A", maxIdentityBytes+1),
		"worker secret":        enc(Principal{Name: "worker:x", Method: MethodWorkerSecret}),
		"unknown method":       enc(Principal{Name: "x", Method: "kerberos"}),
		"no method":            enc(Principal{Name: "x"}),
		"token without a name": enc(Principal{Method: MethodToken}),
		"anonymous with name":  enc(Principal{Name: "admin", Method: MethodNone}),
		"control character":    enc(Principal{Name: "a\nb", Method: MethodToken}),
		"bad group":            enc(Principal{Name: "a", Groups: []string{""}, Method: MethodToken}),
		"too many groups":      enc(Principal{Name: "a", Groups: many, Method: MethodToken}),
		"unknown via":          enc(Principal{Name: "a", Method: MethodToken, Via: "carrier-pigeon"}),
	}
	for name, in := range tests {
		if _, err := DecodeIdentity(in); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("DecodeIdentity(%s) = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestForwardContext(t *testing.T) {
	ctx := t.Context()
	if ForwardContext(ctx) != ctx {
		t.Errorf("ForwardContext without a principal changed the context")
	}
	alice := Principal{Name: "alice", Method: MethodToken, Via: ViaREST}
	stale := metadata.AppendToOutgoingContext(ctx, IdentityMetadataKey, "old", "squall-forwarded-by", "nimbus-a")
	md, _ := metadata.FromOutgoingContext(ForwardContext(NewContext(stale, alice)))
	ids := md.Get(IdentityMetadataKey)
	if len(ids) != 1 {
		t.Fatalf("forwarded identities %v, want exactly one", ids)
	}
	if p, err := DecodeIdentity(ids[0]); err != nil || p.Name != "alice" || p.Via != ViaREST {
		t.Errorf("forwarded identity = %+v, %v", p, err)
	}
	if got := md.Get("squall-forwarded-by"); len(got) != 1 {
		t.Errorf("other outgoing metadata lost: %v", md)
	}
}

func FuzzDecodeIdentity(f *testing.F) {
	f.Add(EncodeIdentity(Principal{Name: "alice", Groups: []string{"g"}, Method: MethodToken, Via: ViaREST}))
	f.Add("e30")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		p, err := DecodeIdentity(in)
		if err != nil {
			if !errors.Is(err, ErrUnauthenticated) {
				t.Errorf("DecodeIdentity() = %v, not ErrUnauthenticated", err)
			}
			return
		}
		if p.Method == MethodWorkerSecret || (p.Method != MethodNone && p.Name == "") {
			t.Errorf("DecodeIdentity(%q) accepted %+v", in, p)
		}
		again, err := DecodeIdentity(EncodeIdentity(p))
		if err != nil || again.Name != p.Name {
			t.Errorf("re-encoding %+v: %+v, %v", p, again, err)
		}
	})
}
