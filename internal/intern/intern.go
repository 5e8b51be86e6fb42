// Package intern shares the boxed strings of decoded tuple values.
//
// Tuple values repeat — words, keys, categories — and every fresh string
// costs two allocations once boxed in an interface. A decoder that keeps a
// Table returns the same boxed value for equal short strings instead.
package intern

// Bounds of a Table: strings up to MaxLen bytes, at most MaxEntries of
// them before it starts over.
const (
	MaxLen     = 64
	MaxEntries = 1024
)

// Table interns short strings, boxed. The zero value is ready to use; it
// is not safe for concurrent use.
type Table struct {
	m map[string]any
}

// Value returns raw as a string in an interface, shared with earlier equal
// strings. raw is not retained.
func (t *Table) Value(raw []byte) any {
	if len(raw) > MaxLen {
		return string(raw)
	}
	if v, ok := t.m[string(raw)]; ok {
		return v
	}
	if t.m == nil || len(t.m) >= MaxEntries {
		t.m = make(map[string]any, 256)
	}
	var v any = string(raw)
	t.m[v.(string)] = v
	return v
}
