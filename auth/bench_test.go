package auth

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkTokenAuthenticate measures the per-request cost of a bearer
// token: a SHA-256 and a constant-time scan of every entry.
func BenchmarkTokenAuthenticate(b *testing.B) {
	for _, n := range []int{10, 1000, MaxTokenFileEntries} {
		b.Run(fmt.Sprintf("tokens=%d", n), func(b *testing.B) {
			var lines []string
			var last string
			for i := range n {
				tok, _ := NewToken()
				line, _ := TokenLine(tok, fmt.Sprintf("user%d", i), nil)
				lines = append(lines, line)
				last = tok
			}
			path := filepath.Join(b.TempDir(), "tokens")
			os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600)
			s, err := LoadTokens(path)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := s.Authenticate(last); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWorkerHandshake measures one handshake over an in-memory pipe:
// the cost each worker connection pays once.
func BenchmarkWorkerHandshake(b *testing.B) {
	secret, _ := NewTopologySecret()
	for b.Loop() {
		c, d := net.Pipe()
		deadline := time.Now().Add(time.Minute)
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := DialHandshake(c, secret, "wc-1-1", deadline); err != nil {
				b.Error(err)
			}
		})
		if _, err := AcceptHandshake(d, secret, "wc-1-1", deadline); err != nil {
			b.Fatal(err)
		}
		wg.Wait()
		c.Close()
		d.Close()
	}
}
