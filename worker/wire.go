package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/squallstream/squall/internal/intern"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker/acker"
)

// The wire format of messages between workers: a frame is a 4-byte
// big-endian length and that many bytes holding messages back to back.
// A message is its kind, target task, then per kind: for a tuple the
// source task and stream index, the anchor's edges and the values; for
// acker and spout notes the root, value and spout task. Integers are
// varints; values carry a one-byte type tag.

// ErrUnsendable is returned, wrapped, for a tuple value that cannot be
// sent to another worker (a Go type other than nil, bool, integers,
// floats, strings, []byte, []any, []string and map[string]any).
var ErrUnsendable = errors.New("tuple value cannot be sent to another worker")

// maxFrame bounds a frame, so a corrupt length cannot make a receiver
// allocate without limit.
const maxFrame = 64 << 20

// maxValueDepth bounds the nesting of values.
const maxValueDepth = 64

const (
	wNil byte = iota
	wFalse
	wTrue
	wInt
	wUint
	wFloat
	wString
	wBytes
	wList
	wMap
)

// appendMessage encodes m.
func appendMessage(b []byte, m *message) ([]byte, error) {
	b = append(b, byte(m.kind))
	b = binary.AppendUvarint(b, uint64(m.task))
	switch m.kind {
	case kindTuple:
		src := m.tuple.Source()
		b = binary.AppendVarint(b, int64(src.Task))
		b = binary.AppendUvarint(b, uint64(src.StreamIndex))
		_, edges := anchorOf(m.tuple)
		// The edge count, doubled, plus one when a lineage follows the
		// edges (exactly-once topologies only).
		lineage, _, hasLineage := acker.LineageOf(m.tuple.Tracking())
		n := uint64(len(edges)) << 1
		if hasLineage {
			n |= 1
		}
		b = binary.AppendUvarint(b, n)
		for _, e := range edges {
			b = binary.LittleEndian.AppendUint64(b, e.Root)
			b = binary.LittleEndian.AppendUint64(b, e.ID)
		}
		if hasLineage {
			b = append(b, lineage[:]...)
		}
		values := m.tuple.Values()
		b = binary.AppendUvarint(b, uint64(len(values)))
		var err error
		for _, v := range values {
			if b, err = appendValue(b, v, 0); err != nil {
				return b, err
			}
		}
	default:
		b = binary.LittleEndian.AppendUint64(b, m.root)
		b = binary.LittleEndian.AppendUint64(b, m.val)
		b = binary.AppendUvarint(b, uint64(m.from))
	}
	return b, nil
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxValueDepth {
		return b, fmt.Errorf("%w: values nested deeper than %d", ErrUnsendable, maxValueDepth)
	}
	switch x := v.(type) {
	case nil:
		return append(b, wNil), nil
	case bool:
		if x {
			return append(b, wTrue), nil
		}
		return append(b, wFalse), nil
	case string:
		b = append(b, wString)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), nil
	case int64:
		return binary.AppendVarint(append(b, wInt), x), nil
	case int:
		return binary.AppendVarint(append(b, wInt), int64(x)), nil
	case int32:
		return binary.AppendVarint(append(b, wInt), int64(x)), nil
	case int16:
		return binary.AppendVarint(append(b, wInt), int64(x)), nil
	case int8:
		return binary.AppendVarint(append(b, wInt), int64(x)), nil
	case uint64:
		return binary.AppendUvarint(append(b, wUint), x), nil
	case uint:
		return binary.AppendUvarint(append(b, wUint), uint64(x)), nil
	case uint32:
		return binary.AppendUvarint(append(b, wUint), uint64(x)), nil
	case uint16:
		return binary.AppendUvarint(append(b, wUint), uint64(x)), nil
	case uint8:
		return binary.AppendUvarint(append(b, wUint), uint64(x)), nil
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, wFloat), math.Float64bits(x)), nil
	case float32:
		return binary.LittleEndian.AppendUint64(append(b, wFloat), math.Float64bits(float64(x))), nil
	case []byte:
		b = append(b, wBytes)
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...), nil
	case []any:
		b = binary.AppendUvarint(append(b, wList), uint64(len(x)))
		var err error
		for _, e := range x {
			if b, err = appendValue(b, e, depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	case []string:
		b = binary.AppendUvarint(append(b, wList), uint64(len(x)))
		for _, e := range x {
			b, _ = appendValue(b, e, depth+1)
		}
		return b, nil
	case map[string]any:
		b = binary.AppendUvarint(append(b, wMap), uint64(len(x)))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var err error
		for _, k := range keys {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			if b, err = appendValue(b, x[k], depth+1); err != nil {
				return b, err
			}
		}
		return b, nil
	}
	return b, fmt.Errorf("%w: %T", ErrUnsendable, v)
}

// wireReader decodes messages from one frame.
type wireReader struct {
	b   []byte
	off int
	err error
	// values, when set, shares the repeated short strings of tuples.
	values *intern.Table
}

var errShortFrame = errors.New("frame ends inside a message")

func (r *wireReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *wireReader) byte() byte {
	if r.off >= len(r.b) {
		r.fail(errShortFrame)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *wireReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b[min(r.off, len(r.b)):])
	if n <= 0 {
		r.fail(errShortFrame)
		return 0
	}
	r.off += n
	return v
}

func (r *wireReader) varint() int64 {
	v, n := binary.Varint(r.b[min(r.off, len(r.b)):])
	if n <= 0 {
		r.fail(errShortFrame)
		return 0
	}
	r.off += n
	return v
}

func (r *wireReader) uint64() uint64 {
	if r.off+8 > len(r.b) {
		r.fail(errShortFrame)
		r.off = len(r.b)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

// count reads a length and checks it against what is left of the frame
// (each element takes at least min bytes).
func (r *wireReader) count(minSize int) int {
	n := r.uvarint()
	if n > uint64(len(r.b)-r.off)/uint64(max(minSize, 1)) {
		r.fail(errShortFrame)
		return 0
	}
	return int(n)
}

func (r *wireReader) bytes(n int) []byte {
	if r.off+n > len(r.b) {
		r.fail(errShortFrame)
		r.off = len(r.b)
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

func (r *wireReader) value(depth int) any {
	if depth > maxValueDepth {
		r.fail(fmt.Errorf("values nested deeper than %d", maxValueDepth))
		return nil
	}
	switch tag := r.byte(); tag {
	case wNil:
		return nil
	case wFalse:
		return false
	case wTrue:
		return true
	case wInt:
		return r.varint()
	case wUint:
		return r.uvarint()
	case wFloat:
		return math.Float64frombits(r.uint64())
	case wString:
		b := r.bytes(r.count(1))
		if r.values != nil {
			return r.values.Value(b)
		}
		return string(b)
	case wBytes:
		return slices.Clone(r.bytes(r.count(1)))
	case wList:
		n := r.count(1)
		l := make([]any, 0, n)
		for range n {
			l = append(l, r.value(depth+1))
		}
		return l
	case wMap:
		n := r.count(2)
		m := make(map[string]any, n)
		for range n {
			k := string(r.bytes(r.count(1)))
			m[k] = r.value(depth + 1)
		}
		return m
	default:
		r.fail(fmt.Errorf("unknown value tag %d", tag))
		return nil
	}
}

// sources resolves a tuple's source from its task and stream index.
type sources interface {
	source(task int, stream int) (*topology.Source, error)
}

// next decodes the next message into m.
func (r *wireReader) next(m *message, srcs sources) error {
	*m = message{kind: kind(r.byte()), task: int32(r.uvarint())}
	switch m.kind {
	case kindTuple:
		srcTask, stream := int(r.varint()), int(r.uvarint())
		var anchor any // no anchor is no tracking
		n := r.uvarint()
		hasLineage := n&1 == 1
		n >>= 1
		if n > uint64(len(r.b)-r.off)/16 {
			r.fail(errShortFrame)
			n = 0
		}
		switch {
		case hasLineage && n > 0:
			edges := make([]acker.Edge, n)
			for i := range edges {
				edges[i] = acker.Edge{Root: r.uint64(), ID: r.uint64()}
			}
			var l acker.Lineage
			copy(l[:], r.bytes(len(l)))
			anchor = acker.NewLineageAnchor(edges, l)
		case hasLineage:
			r.fail(errors.New("a lineage without edges"))
		case n == 0:
		case n == 1:
			anchor = acker.NewAnchor(acker.Edge{Root: r.uint64(), ID: r.uint64()})
		default:
			edges := make([]acker.Edge, n)
			for i := range edges {
				edges[i] = acker.Edge{Root: r.uint64(), ID: r.uint64()}
			}
			anchor = acker.NewMultiAnchor(edges)
		}
		nv := r.count(1)
		values := make([]any, 0, nv)
		for range nv {
			values = append(values, r.value(0))
		}
		if r.err != nil {
			return r.err
		}
		src, err := srcs.source(srcTask, stream)
		if err != nil {
			return err
		}
		m.tuple = topology.NewTuple(src, values, anchor)
	case kindInit, kindAck, kindFail, kindReset, kindComplete, kindFailed, kindResetTimeout:
		m.root, m.val, m.from = r.uint64(), r.uint64(), int32(r.uvarint())
	default:
		r.fail(fmt.Errorf("unknown message kind %d", m.kind))
	}
	return r.err
}

func (r *wireReader) done() bool { return r.off >= len(r.b) }
