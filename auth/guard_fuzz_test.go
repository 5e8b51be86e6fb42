package auth

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzGuardHTTP sends the REST middleware arbitrary Authorization and
// metadata headers: it never panics, answers 401 (never 500) unless the
// request carries alice's token exactly as a bearer credential, and the
// handler behind it sees alice's identity only, never a header the client
// chose to forward or its token.
func FuzzGuardHTTP(f *testing.F) {
	token, err := NewToken()
	if err != nil {
		f.Fatal(err)
	}
	line, err := TokenLine(token, "alice", []string{"devs"})
	if err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(f.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		f.Fatal(err)
	}
	tokens, err := LoadTokens(file)
	if err != nil {
		f.Fatal(err)
	}
	pol := Policy{Enforce: true, UIActionsEnabled: true}
	guard, err := NewGuard(GuardConfig{
		Authenticator: NewAuthenticator(tokens, false, pol),
		Policy:        pol,
		Methods:       NimbusMethods(),
		ACLs:          newTestNimbus().acls,
	})
	if err != nil {
		f.Fatal(err)
	}
	var seen *http.Request
	h := guard.HTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r
		w.WriteHeader(http.StatusOK)
	}))
	forged := EncodeIdentity(Principal{Name: "admin", Method: MethodToken})
	for _, seed := range [][2]string{
		{"Bearer " + token, ""},
		{"bearer  " + token + " ", forged},
		{"Bearer " + token + "x", ""},
		{"Basic YWxpY2U6cGFzcw==", forged},
		{"", forged},
		{"Bearer", ""},
		{"Bearer \x00", "%%%"},
	} {
		f.Add(seed[0], seed[1], false)
		f.Add(seed[0], seed[1], true)
	}
	f.Fuzz(func(t *testing.T, authorization, identity string, twice bool) {
		seen = nil
		r := httptest.NewRequest(http.MethodGet, "/api/v1/cluster/summary", nil)
		if authorization != "" {
			r.Header["Authorization"] = []string{authorization}
			if twice {
				r.Header["Authorization"] = append(r.Header["Authorization"], authorization)
			}
		}
		if identity != "" {
			r.Header[identityHeader] = []string{identity}
			r.Header["grpc-metadata-squall-identity"] = []string{identity}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		tok, isBearer := bearerToken(authorization)
		valid := isBearer && tok == token && !twice
		switch {
		case w.Code == http.StatusOK && !valid:
			t.Fatalf("Authorization %q (twice %v) let the request through", authorization, twice)
		case w.Code != http.StatusOK && w.Code != http.StatusUnauthorized:
			t.Fatalf("status %d, want 200 or 401", w.Code)
		case valid && w.Code != http.StatusOK:
			t.Fatalf("alice's token refused: %d %s", w.Code, w.Body)
		}
		if seen == nil {
			return
		}
		if got := seen.Header.Values(identityHeader); len(got) != 1 {
			t.Fatalf("the handler saw %d identities, want 1", len(got))
		}
		p, err := DecodeIdentity(seen.Header.Get(identityHeader))
		if err != nil || p.Name != "alice" {
			t.Fatalf("the handler saw identity %+v (%v), want alice", p, err)
		}
		if seen.Header.Get("Authorization") != "" {
			t.Fatalf("the token went on to the handler")
		}
		for k := range seen.Header {
			if strings.EqualFold(k, "grpc-metadata-squall-identity") && k != identityHeader {
				t.Fatalf("the client's own %s header went on", k)
			}
		}
	})
}

// TestHTTPWithStatic: the UI's files load without credentials, nothing
// under /api/ does, however it is spelled.
func TestHTTPWithStatic(t *testing.T) {
	token, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	line, err := TokenLine(token, "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(file, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tokens, err := LoadTokens(file)
	if err != nil {
		t.Fatal(err)
	}
	pol := Policy{Enforce: true, UIActionsEnabled: true}
	guard, err := NewGuard(GuardConfig{Authenticator: NewAuthenticator(tokens, false, pol), Policy: pol,
		Methods: NimbusMethods(), ACLs: newTestNimbus().acls})
	if err != nil {
		t.Fatal(err)
	}
	h := guard.HTTPWithStatic(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusOK},
		{"HEAD", "/assets/js/app.js", http.StatusOK},
		{"GET", "/api/v1/cluster/summary", http.StatusUnauthorized},
		{"GET", "/API/v1/cluster/summary", http.StatusUnauthorized},
		{"GET", "/x/../api/v1/topology/summary", http.StatusUnauthorized},
		{"GET", "//api/v1/topology/summary", http.StatusUnauthorized},
		{"GET", "/api", http.StatusUnauthorized},
		{"POST", "/", http.StatusUnauthorized},
		{"POST", "/assets/x", http.StatusUnauthorized},
	} {
		r := httptest.NewRequest(c.method, "http://nimbus"+c.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("%s %s = %d, want %d", c.method, c.path, w.Code, c.want)
		}
	}
}
