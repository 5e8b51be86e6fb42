package auth

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Limits of token files and tokens.
const (
	// MaxTokenFileBytes bounds a token file.
	MaxTokenFileBytes = 1 << 20
	// MaxTokenFileEntries bounds the tokens of one file.
	MaxTokenFileEntries = 10000
	// MaxTokenBytes bounds a presented bearer token; longer ones are
	// refused without hashing.
	MaxTokenBytes = 512
	// MaxNameBytes bounds a principal or group name.
	MaxNameBytes = 256
	// MaxGroups bounds the groups of one principal.
	MaxGroups = 64
	// tokenPrefix marks tokens squall generated, so that a leaked one is
	// easy to recognise (and to scan for).
	tokenPrefix = "sqt_"
	hashPrefix  = "sha256:"
)

// NewToken returns a new bearer token: "sqt_" and 32 random bytes,
// base64url-encoded (256 bits of entropy, so a plain SHA-256 of it is a
// safe thing to store).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("new token: %w", err)
	}
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the form a token is stored in: "sha256:" and the hex
// SHA-256 of the token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hashPrefix + hex.EncodeToString(sum[:])
}

// TokenLine returns the token file line that maps token to a principal
// named name, in groups.
func TokenLine(token, name string, groups []string) (string, error) {
	if err := checkName("principal", name); err != nil {
		return "", err
	}
	if len(groups) > MaxGroups {
		return "", fmt.Errorf("%d groups, above the limit of %d", len(groups), MaxGroups)
	}
	for _, g := range groups {
		if err := checkName("group", g); err != nil {
			return "", err
		}
	}
	line := HashToken(token) + " " + name
	if len(groups) > 0 {
		line += " " + strings.Join(groups, ",")
	}
	return line, nil
}

// checkName accepts names of printable ASCII letters, digits and
// ._@+/:=- (user names, Kerberos-style names, distinguished-name parts),
// up to MaxNameBytes.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s name", what)
	}
	if len(s) > MaxNameBytes {
		return fmt.Errorf("%s name of %d bytes, above the limit of %d", what, len(s), MaxNameBytes)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("._@+/:=-", c) >= 0
		if !ok {
			return fmt.Errorf("%s name %q: character %q is not allowed (letters, digits and ._@+/:=- are)", what, s, c)
		}
	}
	return nil
}

// TokenEntry is one line of a token file.
type TokenEntry struct {
	// Hash is the SHA-256 of the token.
	Hash [sha256.Size]byte
	// Name and Groups are the principal the token authenticates.
	Name   string
	Groups []string
}

// ParseTokenFile reads a token file. Its format, one token a line:
//
//	# comments and blank lines are ignored
//	sha256:<64 hex digits>  <principal>  [<group>,<group>...]
//
// The hash is HashToken of the token; fields are separated by spaces or
// tabs; names use letters, digits and ._@+/:=-. A principal may have
// several lines (several tokens, for rotation); a hash may not repeat.
// name is used in errors. The file is bounded by MaxTokenFileBytes and
// MaxTokenFileEntries.
func ParseTokenFile(name string, r io.Reader) ([]TokenEntry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxTokenFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read token file %s: %w", name, err)
	}
	if len(data) > MaxTokenFileBytes {
		return nil, fmt.Errorf("token file %s: %w: larger than %d bytes", name, ErrBadTokenFile, MaxTokenFileBytes)
	}
	var entries []TokenEntry
	seen := map[[sha256.Size]byte]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxTokenFileBytes)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		e, err := parseTokenLine(line)
		if err != nil {
			return nil, fmt.Errorf("token file %s line %d: %w: %w", name, n, ErrBadTokenFile, err)
		}
		if prev, dup := seen[e.Hash]; dup {
			return nil, fmt.Errorf("token file %s line %d: %w: the same token as line %d", name, n, ErrBadTokenFile, prev)
		}
		seen[e.Hash] = n
		if len(entries) == MaxTokenFileEntries {
			return nil, fmt.Errorf("token file %s: %w: more than %d tokens", name, ErrBadTokenFile, MaxTokenFileEntries)
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("token file %s: %w: %w", name, ErrBadTokenFile, err)
	}
	return entries, nil
}

func parseTokenLine(line string) (TokenEntry, error) {
	var e TokenEntry
	fields := strings.Fields(line)
	if len(fields) < 2 || len(fields) > 3 {
		return e, fmt.Errorf("want \"sha256:<hex> <principal> [<group>,...]\", got %d fields", len(fields))
	}
	h, ok := strings.CutPrefix(fields[0], hashPrefix)
	if !ok {
		return e, fmt.Errorf("hash %.20q does not start with %q (the file holds hashes, never tokens)", fields[0], hashPrefix)
	}
	if len(h) != 2*sha256.Size {
		return e, fmt.Errorf("hash has %d hex digits, want %d", len(h), 2*sha256.Size)
	}
	if _, err := hex.Decode(e.Hash[:], []byte(h)); err != nil {
		return e, fmt.Errorf("hash: %w", err)
	}
	if err := checkName("principal", fields[1]); err != nil {
		return e, err
	}
	e.Name = fields[1]
	if len(fields) == 3 {
		e.Groups = strings.Split(fields[2], ",")
		if len(e.Groups) > MaxGroups {
			return e, fmt.Errorf("%d groups, above the limit of %d", len(e.Groups), MaxGroups)
		}
		for _, g := range e.Groups {
			if err := checkName("group", g); err != nil {
				return e, err
			}
		}
	}
	return e, nil
}

// matchToken returns the entry whose hash is token's. It compares every
// entry in constant time and never stops early, so the time it takes says
// nothing about which entry matched, or how much of a hash.
func matchToken(entries []TokenEntry, token string) (TokenEntry, bool) {
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range entries {
		if subtle.ConstantTimeCompare(entries[i].Hash[:], sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return TokenEntry{}, false
	}
	return entries[found], true
}

// TokenStore is a token file kept in memory, reloaded when the file
// changes (Watch, ReloadIfChanged) or on demand (Reload, e.g. on SIGHUP).
// A file that fails to load leaves the previous tokens in place. Its
// methods are safe for concurrent use.
type TokenStore struct {
	path string

	mu sync.RWMutex
	// Guarded by mu:
	entries []TokenEntry
	stamp   fileStamp
}

// fileStamp tells a changed file from an unchanged one.
type fileStamp struct {
	size     int64
	modTime  time.Time
	dev, ino uint64
}

func stampOf(fi os.FileInfo) fileStamp {
	s := fileStamp{size: fi.Size(), modTime: fi.ModTime()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.dev, s.ino = uint64(st.Dev), st.Ino
	}
	return s
}

// LoadTokens reads the token file at path. The file must not be writable
// by group or others (whoever can write it can add tokens).
func LoadTokens(path string) (*TokenStore, error) {
	s := &TokenStore{path: path}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Path returns the token file's path.
func (s *TokenStore) Path() string { return s.path }

// Len returns the number of tokens loaded.
func (s *TokenStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.entries)
}

// Reload reads the file again, whether or not it changed, and reports
// whether the tokens changed.
func (s *TokenStore) Reload() (bool, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return false, fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("token file %s: %w: not a regular file", s.path, ErrBadTokenFile)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return false, fmt.Errorf("token file %s: %w: mode %04o lets others write it; chmod go-w", s.path, ErrInsecureFile, perm)
	}
	entries, err := ParseTokenFile(s.path, f)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := !sameEntries(s.entries, entries)
	s.entries, s.stamp = entries, stampOf(fi)
	return changed, nil
}

// ReloadIfChanged reloads the file if its size, modification time or
// inode changed since the last load (an editor's rename counts), and
// reports whether it did.
func (s *TokenStore) ReloadIfChanged() (bool, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return false, fmt.Errorf("token file: %w", err)
	}
	s.mu.RLock()
	same := stampOf(fi) == s.stamp
	s.mu.RUnlock()
	if same {
		return false, nil
	}
	return s.Reload()
}

func sameEntries(a, b []TokenEntry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Hash != b[i].Hash || a[i].Name != b[i].Name || strings.Join(a[i].Groups, ",") != strings.Join(b[i].Groups, ",") {
			return false
		}
	}
	return true
}

// Watch reloads the file when it changes (checked every interval) and
// when hup delivers (nil: never), until ctx ends. Failures are logged and
// leave the previous tokens in place.
func (s *TokenStore) Watch(ctx context.Context, every time.Duration, hup <-chan os.Signal, log *slog.Logger) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("file", s.path)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var (
			changed bool
			err     error
		)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			changed, err = s.ReloadIfChanged()
		case <-hup:
			changed, err = s.Reload()
		}
		switch {
		case err != nil:
			log.Warn("token file not reloaded, keeping the previous tokens", "err", err)
		case changed:
			log.Info("token file reloaded", "tokens", s.Len())
		}
	}
}

// Authenticate returns the principal token belongs to, or an error
// wrapping ErrUnauthenticated.
func (s *TokenStore) Authenticate(token string) (Principal, error) {
	if token == "" || len(token) > MaxTokenBytes {
		return Principal{}, fmt.Errorf("%w: malformed bearer token", ErrUnauthenticated)
	}
	s.mu.RLock()
	e, ok := matchToken(s.entries, token)
	s.mu.RUnlock()
	if !ok {
		return Principal{}, fmt.Errorf("%w: unknown bearer token", ErrUnauthenticated)
	}
	return Principal{Name: e.Name, Groups: append([]string(nil), e.Groups...), Method: MethodToken}, nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// value, and whether the value is a bearer credential at all.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	return strings.TrimSpace(token), true
}

// ReadSecretFile reads a small secret (a client's token, a worker's
// topology secret) from path, refusing a file that group or others may
// read or write, as ssh refuses such a private key. Surrounding
// whitespace is trimmed. max bounds the file.
func ReadSecretFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%s: %w: mode %04o; chmod 600 it", path, ErrInsecureFile, perm)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, max)
	}
	return bytes.TrimSpace(data), nil
}
