package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

const hashA = "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" // "foo"

func TestParseTokenFile(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []TokenEntry // names and groups only
		wantErr bool
	}{
		{name: "empty", in: ""},
		{name: "comments and blanks", in: "# tokens\n\n   \n# more\n"},
		{name: "one", in: hashA + " alice\n", want: []TokenEntry{{Name: "alice"}}},
		{name: "groups and tabs", in: hashA + "\talice@EXAMPLE.COM\tdevs,ops\n", want: []TokenEntry{{Name: "alice@EXAMPLE.COM", Groups: []string{"devs", "ops"}}}},
		{name: "upper-case hex", in: strings.ToUpper(hashA[7:]) + " x", wantErr: true},
		{name: "upper-case hex with prefix", in: "sha256:" + strings.ToUpper(hashA[7:]) + " alice", want: []TokenEntry{{Name: "alice"}}},
		{name: "two tokens for one principal", in: hashA + " alice\nsha256:" + strings.Repeat("0", 64) + " alice\n", want: []TokenEntry{{Name: "alice"}, {Name: "alice"}}},
		{name: "a raw token", in: "sqt_abcdef alice", wantErr: true},
		{name: "short hash", in: "sha256:abcd alice", wantErr: true},
		{name: "bad hex", in: "sha256:" + strings.Repeat("z", 64) + " alice", wantErr: true},
		{name: "no name", in: hashA, wantErr: true},
		{name: "four fields", in: hashA + " alice devs extra", wantErr: true},
		{name: "bad name", in: hashA + " al;ice", wantErr: true},
		{name: "empty group", in: hashA + " alice devs,,ops", wantErr: true},
		{name: "bad group", in: hashA + " alice de$vs", wantErr: true},
		{name: "long name", in: hashA + " " + strings.Repeat("a", MaxNameBytes+1), wantErr: true},
		{name: "too many groups", in: hashA + " alice " + strings.Repeat("g,", MaxGroups) + "g", wantErr: true},
		{name: "duplicate token", in: hashA + " alice\n" + hashA + " bob\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTokenFile("tokens", strings.NewReader(tt.in))
			if tt.wantErr {
				if !errors.Is(err, ErrBadTokenFile) {
					t.Fatalf("ParseTokenFile(%q) = %v, want ErrBadTokenFile", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTokenFile(%q) = %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseTokenFile(%q) = %d entries, want %d", tt.in, len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || strings.Join(got[i].Groups, ",") != strings.Join(tt.want[i].Groups, ",") {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestParseTokenFileNamesTheLine(t *testing.T) {
	_, err := ParseTokenFile("/etc/squall/tokens", strings.NewReader("# c\n"+hashA+" alice\nsha256:xyz bob\n"))
	if err == nil || !strings.Contains(err.Error(), "/etc/squall/tokens line 3") {
		t.Errorf("ParseTokenFile() = %v, want an error naming line 3", err)
	}
}

func TestParseTokenFileLimits(t *testing.T) {
	big := strings.Repeat("#"+strings.Repeat("x", 1000)+"\n", MaxTokenFileBytes/1000+1)
	if _, err := ParseTokenFile("big", strings.NewReader(big)); !errors.Is(err, ErrBadTokenFile) {
		t.Errorf("ParseTokenFile(> %d bytes) = %v, want ErrBadTokenFile", MaxTokenFileBytes, err)
	}
}

func TestTokenRoundTrip(t *testing.T) {
	tok, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, "sqt_") || len(tok) != 4+43 {
		t.Errorf("NewToken() = %q, want sqt_ and 43 base64url characters", tok)
	}
	if other, _ := NewToken(); other == tok {
		t.Errorf("NewToken() returned the same token twice")
	}
	line, err := TokenLine(tok, "alice", []string{"devs"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(line, tok) {
		t.Errorf("TokenLine() = %q holds the token itself", line)
	}
	entries, err := ParseTokenFile("t", strings.NewReader(line))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := matchToken(entries, tok)
	if !ok || e.Name != "alice" || e.Groups[0] != "devs" {
		t.Errorf("matchToken() = %+v, %v", e, ok)
	}
	if _, ok := matchToken(entries, tok+"x"); ok {
		t.Errorf("matchToken(another token) matched")
	}
	if _, err := TokenLine(tok, "bad name", nil); err == nil {
		t.Errorf("TokenLine(bad name) = nil error")
	}
	if _, err := TokenLine(tok, "alice", []string{""}); err == nil {
		t.Errorf("TokenLine(empty group) = nil error")
	}
}

func TestTokenStoreAuthenticate(t *testing.T) {
	path, tokens := testTokens(t, "alice:devs,ops", "bob")
	s, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(tokens["alice"])
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice" || p.Method != MethodToken || strings.Join(p.Groups, ",") != "devs,ops" {
		t.Errorf("Authenticate(alice's token) = %+v", p)
	}
	for name, tok := range map[string]string{
		"unknown":   "sqt_nope",
		"empty":     "",
		"too long":  strings.Repeat("a", MaxTokenBytes+1),
		"a hash":    HashToken(tokens["bob"]),
		"truncated": tokens["bob"][:len(tokens["bob"])-1],
	} {
		if _, err := s.Authenticate(tok); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("Authenticate(%s) = %v, want ErrUnauthenticated", name, err)
		}
	}
}

func TestTokenStoreReload(t *testing.T) {
	path, tokens := testTokens(t, "alice")
	s, err := LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := s.ReloadIfChanged(); changed || err != nil {
		t.Errorf("ReloadIfChanged() on an unchanged file = %v, %v", changed, err)
	}

	// Rotation: bob replaces alice, through a rename as editors do.
	bob, _ := NewToken()
	line, _ := TokenLine(bob, "bob", nil)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.ReloadIfChanged(); !changed || err != nil {
		t.Fatalf("ReloadIfChanged() after a rotation = %v, %v", changed, err)
	}
	if _, err := s.Authenticate(tokens["alice"]); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("alice's revoked token: %v, want ErrUnauthenticated", err)
	}
	if p, err := s.Authenticate(bob); err != nil || p.Name != "bob" {
		t.Errorf("bob's new token: %+v, %v", p, err)
	}

	// A broken file keeps the tokens that work.
	if err := os.WriteFile(path, []byte("garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(); !errors.Is(err, ErrBadTokenFile) {
		t.Errorf("Reload(broken) = %v, want ErrBadTokenFile", err)
	}
	if _, err := s.Authenticate(bob); err != nil {
		t.Errorf("after a failed reload, bob's token: %v", err)
	}
}

func TestTokenStoreRefusesWritableFile(t *testing.T) {
	path, _ := testTokens(t, "alice")
	for _, mode := range []os.FileMode{0o666, 0o620} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadTokens(path); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("LoadTokens(mode %04o) = %v, want ErrInsecureFile", mode, err)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil { // readable is fine: hashes only
		t.Fatal(err)
	}
	if _, err := LoadTokens(path); err != nil {
		t.Errorf("LoadTokens(0644) = %v", err)
	}
	if _, err := LoadTokens(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadTokens(missing) = %v, want os.ErrNotExist", err)
	}
	if _, err := LoadTokens(t.TempDir()); !errors.Is(err, ErrBadTokenFile) {
		t.Errorf("LoadTokens(a directory) = %v, want ErrBadTokenFile", err)
	}
}

func TestTokenStoreWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path, tokens := testTokens(t, "alice")
		s, err := LoadTokens(path)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		hup := make(chan os.Signal, 1)
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.Watch(ctx, 5*time.Second, hup, nil)
		}()

		// A change is picked up at the next poll.
		bob, _ := NewToken()
		line, _ := TokenLine(bob, "bob", nil)
		if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Second)
		synctest.Wait()
		if _, err := s.Authenticate(bob); err != nil {
			t.Errorf("after a poll, bob's token: %v", err)
		}

		// SIGHUP reloads even when the stamp looks the same: restore the
		// old content with the same size and modification time.
		fi, _ := os.Stat(path)
		carol, _ := NewToken()
		line2, _ := TokenLine(carol, "bob", nil) // same length as bob's line
		if err := os.WriteFile(path, []byte(line2+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		hup <- syscall.SIGHUP
		synctest.Wait()
		if _, err := s.Authenticate(carol); err != nil {
			t.Errorf("after SIGHUP, the new token: %v", err)
		}
		if _, err := s.Authenticate(tokens["alice"]); err == nil {
			t.Errorf("alice's token still works")
		}
		cancel()
		<-done
	})
}

func TestReadSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("  sqt_abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSecretFile(path, 64)
	if err != nil || string(got) != "sqt_abc" {
		t.Errorf("ReadSecretFile() = %q, %v", got, err)
	}
	if _, err := ReadSecretFile(path, 4); err == nil {
		t.Errorf("ReadSecretFile(over the limit) = nil error")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadSecretFile(path, 64); !errors.Is(err, ErrInsecureFile) {
			t.Errorf("ReadSecretFile(mode %04o) = %v, want ErrInsecureFile", mode, err)
		}
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		in    string
		token string
		ok    bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"BEARER abc", "abc", true},
		{"Basic abc", "", false},
		{"Bearer", "", false},
		{"abc", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		tok, ok := bearerToken(tt.in)
		if tok != tt.token || ok != tt.ok {
			t.Errorf("bearerToken(%q) = %q, %v, want %q, %v", tt.in, tok, ok, tt.token, tt.ok)
		}
	}
}

func FuzzParseTokenFile(f *testing.F) {
	f.Add(hashA + " alice devs,ops\n# c\n")
	f.Add("sha256:zz alice")
	f.Add("\x00\xff\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := ParseTokenFile("fuzz", strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrBadTokenFile) {
				t.Fatalf("ParseTokenFile() = %v, not ErrBadTokenFile", err)
			}
			return
		}
		for _, e := range entries {
			if checkName("principal", e.Name) != nil {
				t.Errorf("entry with a bad name %q", e.Name)
			}
		}
	})
}
