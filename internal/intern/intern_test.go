package intern

import (
	"strings"
	"testing"
)

func TestValueSharesEqualStrings(t *testing.T) {
	var tab Table
	buf := []byte("apple")
	a := tab.Value(buf)
	buf[0] = 'X' // the table must not have kept buf
	b := tab.Value([]byte("apple"))
	if a != "apple" || b != "apple" {
		t.Fatalf("got %q and %q", a, b)
	}
	if allocs := testing.AllocsPerRun(100, func() { tab.Value([]byte("apple")) }); allocs != 0 {
		t.Errorf("an interned string costs %v allocations", allocs)
	}
}

func TestValueBounds(t *testing.T) {
	var tab Table
	long := strings.Repeat("x", MaxLen+1)
	if v := tab.Value([]byte(long)); v != long || len(tab.m) != 0 {
		t.Errorf("a string longer than MaxLen was interned")
	}
	for i := range MaxEntries + 10 {
		tab.Value([]byte(strings.Repeat("y", i%MaxLen) + string(rune('a'+i/MaxLen))))
	}
	if len(tab.m) > MaxEntries {
		t.Errorf("table holds %d entries, bound %d", len(tab.m), MaxEntries)
	}
}
