package auth

import (
	"errors"
	"net/http/httptest"
	"testing"
)

func TestFromHTTPForwarding(t *testing.T) {
	file, tokens := testTokens(t, "nimbus", "alice")
	store, err := LoadTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAuthenticator(store, false, Policy{Enforce: true, DaemonUsers: []string{"nimbus"}})
	carol := Principal{Name: "carol", Groups: []string{"ops"}, Method: MethodToken}
	for _, tt := range []struct {
		name, as string
		fwd      []string
		want     string
		err      error
	}{
		{"own identity", "alice", nil, "alice", nil},
		{"a daemon forwards", "nimbus", []string{EncodeIdentity(carol)}, "carol", nil},
		{"a user forwards", "alice", []string{EncodeIdentity(carol)}, "", ErrPermissionDenied},
		{"anonymous forwards", "", []string{EncodeIdentity(carol)}, "", ErrUnauthenticated},
		{"two identities", "nimbus", []string{EncodeIdentity(carol), EncodeIdentity(carol)}, "", ErrUnauthenticated},
		{"garbage", "nimbus", []string{"%%%"}, "", ErrUnauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/log", nil)
			if tt.as != "" {
				r.Header.Set("Authorization", "Bearer "+tokens[tt.as])
			}
			for _, f := range tt.fwd {
				r.Header.Add(IdentityHeader, f)
			}
			p, err := a.FromHTTPForwarding(r)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("FromHTTPForwarding = %v, %v; want %v", p, err, tt.err)
				}
				return
			}
			if err != nil || p.Name != tt.want {
				t.Errorf("FromHTTPForwarding = %v, %v; want %s", p, err, tt.want)
			}
			if tt.fwd != nil && (p.Forwarder != "nimbus" || !p.InGroup([]string{"ops"})) {
				t.Errorf("forwarded principal = %+v, want carol of ops forwarded by nimbus", p)
			}
		})
	}
}
