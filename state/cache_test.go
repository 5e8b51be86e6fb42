package state

import (
	"fmt"
	"testing"
)

func TestCommittedCacheBounds(t *testing.T) {
	for _, tc := range []struct {
		name             string
		maxKeys, maxByte int
		values           int
		valueSize        int
	}{
		{"keys", 10, 1 << 20, 100, 8},
		{"bytes", 1000, 100, 100, 8},
		{"one value too large", 10, 100, 1, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &committedCache{maxKeys: tc.maxKeys, maxBytes: tc.maxByte, values: map[string][]byte{}}
			for i := range tc.values {
				c.put(fmt.Sprintf("k%03d", i), make([]byte, tc.valueSize))
				c.put(fmt.Sprintf("k%03d", i), make([]byte, tc.valueSize)) // again: counted once
				sum := 0
				for k, v := range c.values {
					sum += len(k) + len(v)
				}
				if len(c.values) > tc.maxKeys || c.bytes > tc.maxByte || sum != c.bytes {
					t.Fatalf("after %d puts: %d keys, %d bytes (counted %d); bounds %d keys, %d bytes",
						i+1, len(c.values), sum, c.bytes, tc.maxKeys, tc.maxByte)
				}
			}
		})
	}
}

func TestCommittedCacheAbsence(t *testing.T) {
	c := &committedCache{maxKeys: 10, maxBytes: 100, values: map[string][]byte{}}
	c.put("gone", nil)
	c.put("empty", []byte{})
	if _, ok, hit := c.get("gone"); ok || !hit {
		t.Errorf("gone: ok %v hit %v, want an absent hit", ok, hit)
	}
	if _, ok, hit := c.get("empty"); !ok || !hit {
		t.Errorf("empty: ok %v hit %v, want a present hit", ok, hit)
	}
	if _, _, hit := c.get("never"); hit {
		t.Error("never: a hit")
	}
}
