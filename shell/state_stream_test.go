package shell

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/topology"
)

// A child that asked for the state but does not read the replies holds
// back the rest of the state: the host produces a reply or two ahead of
// it, not the whole state.
func TestStatefulBoltItemsBackpressure(t *testing.T) {
	checkLeaks(t)
	kv := newLockedState(t)
	// 40 values of 250 KiB: 4 per reply of at most 1 MiB, 10 replies.
	const n = 40
	big := strings.Repeat("v", 250<<10)
	kv.do(t, "seed", func(s *state.State) error {
		for i := range n {
			if err := s.Put(fmt.Sprintf(`"k%d"`, i), []byte(`"`+big+`"`)); err != nil {
				return err
			}
		}
		return nil
	})
	f := startStateBolt(t, true, nil)
	f.bolt.OpenState(kv)
	gate := filepath.Join(t.TempDir(), "read")
	f.bolt.Execute(op("items", gate))
	parts := &f.bolt.state.itemParts
	waitUntil(t, patience, "the first reply", func() bool { return parts.Load() >= 1 })
	// Nothing can be awaited here: the host must not do something. A
	// broken bound produces all 10 within milliseconds.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if p := parts.Load(); p > 3 {
			t.Fatalf("%d of 10 replies produced for a child that reads none; want at most 3", p)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := f.emitted(t, 1)
	var count, replies, total, largest int
	if _, err := fmt.Sscanf(got[0], "[%d,%d,%d,%d]", &count, &replies, &total, &largest); err != nil {
		t.Fatalf("emitted %s: %v", got[0], err)
	}
	if count != n || replies != 10 {
		t.Errorf("items: %d in %d replies, want %d in 10", count, replies, n)
	}
	f.acks(t, 1)
}

// A state_get whose reply would pass topology.multilang.max.message.bytes
// is answered in parts under it, every one but the last saying "more"; a
// value larger than the cap goes alone.
func TestStatefulBoltValuesSplit(t *testing.T) {
	checkLeaks(t)
	const limit = 8 << 10
	for _, tc := range []struct {
		name      string
		values    []int // sizes
		wantParts int
		maxBytes  int
	}{
		{"fits", []int{100, 100, 100}, 1, limit},
		{"split", repeat(20, 1000), 3, limit},
		{"one too large", []int{100, 3 * limit, 100}, 3, 3*limit + 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kv := newLockedState(t)
			var keys []any
			kv.do(t, "seed", func(s *state.State) error {
				for i, size := range tc.values {
					keys = append(keys, fmt.Sprintf("k%d", i))
					if err := s.Put(fmt.Sprintf(`"k%d"`, i), []byte(`"`+strings.Repeat("x", size)+`"`)); err != nil {
						return err
					}
				}
				return nil
			})
			f := startStateBolt(t, true, topology.Config{topology.KeyMultilangMaxMessageBytes: limit})
			f.bolt.OpenState(kv)
			f.bolt.Execute(op("getparts", append(keys, "absent")))
			got := f.emitted(t, 1)
			var count, parts, largest int
			if _, err := fmt.Sscanf(got[0], "[%d,%d,%d]", &count, &parts, &largest); err != nil {
				t.Fatalf("emitted %s: %v", got[0], err)
			}
			if count != len(tc.values) || parts != tc.wantParts || largest > tc.maxBytes {
				t.Errorf("%d items in %d replies, the largest %d bytes; want %d in %d, at most %d bytes",
					count, parts, largest, len(tc.values), tc.wantParts, tc.maxBytes)
			}
			f.acks(t, 1)
		})
	}
}

func repeat(n, v int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}
