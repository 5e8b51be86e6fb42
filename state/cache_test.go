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

func TestCommittedCacheSkipsRuntimeRecords(t *testing.T) {
	s := &State{cache: &committedCache{maxKeys: 10, maxBytes: 1 << 20, values: map[string][]byte{}}}
	s.cache.put("\x00squall/seen/1", []byte("old"))
	s.cacheWrites(map[string][]byte{"\x00squall/seen/1": []byte("new"), "\x00squall/seen/2": []byte("x"), "word": []byte("1")})
	if len(s.cache.values) != 1 || s.cache.bytes != len("word")+1 {
		t.Errorf("cached %d values (%d bytes) after a commit of two runtime records and a word; want the word alone", len(s.cache.values), s.cache.bytes)
	}
	if _, _, hit := s.cache.get("\x00squall/seen/1"); hit {
		t.Error("a runtime record overwritten by a commit is still cached, with its old value")
	}
}
