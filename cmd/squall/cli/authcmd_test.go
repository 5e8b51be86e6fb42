package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/squallstream/squall/auth"
)

func TestAuthToken(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")

	out, errOut, code := runCLI(t, "auth", "token", "alice", "--groups", "devs,ops", "--tokens-file", tokens)
	if code != 0 {
		t.Fatalf("squall auth token: %d %s", code, errOut)
	}
	m := regexp.MustCompile(`(sqt_[A-Za-z0-9_-]{43})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in %q", out)
	}
	token := m[1]
	fi, err := os.Stat(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new token file mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(tokens)
	if strings.Contains(string(data), token) {
		t.Errorf("the token file holds the token itself: %s", data)
	}

	// A second principal, its token saved for its client, not printed.
	saved := filepath.Join(dir, "bob.token")
	out, errOut, code = runCLI(t, "auth", "token", "bob", "--tokens-file", tokens, "--save-token", saved)
	if code != 0 {
		t.Fatalf("squall auth token --save-token: %d %s", code, errOut)
	}
	if strings.Contains(out, "sqt_") {
		t.Errorf("a saved token was printed too: %s", out)
	}
	bobToken, err := auth.ReadSecretFile(saved, auth.MaxTokenBytes)
	if err != nil {
		t.Fatalf("the saved token file: %v", err)
	}

	store, err := auth.LoadTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := store.Authenticate(token); err != nil || p.Name != "alice" || strings.Join(p.Groups, ",") != "devs,ops" {
		t.Errorf("alice's token: %+v, %v", p, err)
	}
	if p, err := store.Authenticate(string(bobToken)); err != nil || p.Name != "bob" {
		t.Errorf("bob's token: %+v, %v", p, err)
	}

	// Without --tokens-file the line is printed.
	out, _, code = runCLI(t, "auth", "token", "carol")
	if code != 0 || !strings.Contains(out, auth.KeyTokensFile+": sha256:") {
		t.Errorf("printed line: %d %s", code, out)
	}

	for name, args := range map[string][]string{
		"bad name":           {"auth", "token", "a b"},
		"bad group":          {"auth", "token", "dave", "--groups", "x y"},
		"existing save file": {"auth", "token", "erin", "--save-token", saved},
		"no name":            {"auth", "token"},
	} {
		if _, _, code := runCLI(t, args...); code == 0 {
			t.Errorf("%s: squall %v succeeded", name, args)
		}
	}

	// A file others can write, or a broken one, is left alone.
	if err := os.Chmod(tokens, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "auth", "token", "frank", "--tokens-file", tokens); code == 0 || !strings.Contains(errOut, "chmod") {
		t.Errorf("appending to a world-writable file: %d %s", code, errOut)
	}
	broken := filepath.Join(dir, "broken")
	os.WriteFile(broken, []byte("not a token line"), 0o600)
	if _, _, code := runCLI(t, "auth", "token", "gina", "--tokens-file", broken); code == 0 {
		t.Errorf("appending to a broken token file succeeded")
	}
	if data, _ := os.ReadFile(broken); string(data) != "not a token line" {
		t.Errorf("the broken file was changed: %q", data)
	}
	// A file without a final newline gets one before the new line.
	partial := filepath.Join(dir, "partial")
	first, _, _ := strings.Cut(string(mustRead(t, tokens)), "\n")
	if err := os.WriteFile(partial, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "auth", "token", "hal", "--tokens-file", partial); code != 0 {
		t.Fatalf("appending to a file without a final newline: %s", errOut)
	}
	if s, err := auth.LoadTokens(partial); err != nil || s.Len() != 2 {
		t.Errorf("after appending: %v tokens, %v", s, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
