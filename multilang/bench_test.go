package multilang

import (
	"bytes"
	"io"
	"testing"
)

// A typical bolt emit: one word, anchored, task ids not needed.
const typicalEmit = `{"command":"emit","tuple":["seven"],"stream":"default","anchors":["-6955786537413359385"],"need_task_ids":false}`

// repeatReader replays one framed message forever.
type repeatReader struct {
	msg []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		c := copy(p[n:], r.msg[r.off:])
		n += c
		r.off = (r.off + c) % len(r.msg)
	}
	return n, nil
}

// The benchmarks run each format through Reader and Writer, the interfaces
// the shell host uses, as sub-benchmarks named json and msgpack.
var serializers = []Serializer{JSON, Msgpack}

// encodeWith returns the bytes w writes for one message.
func encodeWith(b *testing.B, s Serializer, write func(w Writer) error) []byte {
	var buf bytes.Buffer
	w := NewWriter(s, &buf)
	if err := write(w); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

func BenchmarkDecodeEmit(b *testing.B) {
	for _, s := range serializers {
		b.Run(s.String(), func(b *testing.B) {
			msg := []byte(frame(typicalEmit))
			if s == Msgpack {
				msg = mp(b, typicalEmit)
			}
			r := NewReader(s, &repeatReader{msg: msg}, DecoderOptions{})
			var m Message
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Decode(&m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

var typicalTuple = &TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white and the seven dwarfs"}}

func BenchmarkEncodeTuple(b *testing.B) {
	benchmarkEncode(b, func(w Writer) error { return w.WriteTuple(typicalTuple) })
}

func BenchmarkEncodeEmit(b *testing.B) {
	m := &Message{Command: CmdEmit, Tuple: []any{"seven"}, Stream: "default", Anchors: []string{"-6955786537413359385"}}
	benchmarkEncode(b, func(w Writer) error { return w.WriteMessage(m) })
}

func benchmarkEncode(b *testing.B, write func(w Writer) error) {
	for _, s := range serializers {
		b.Run(s.String(), func(b *testing.B) {
			w := NewWriter(s, io.Discard)
			b.ReportAllocs()
			for b.Loop() {
				if err := write(w); err != nil {
					b.Fatal(err)
				}
				if w.Buffered() > 32<<10 {
					w.Flush()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkDecodeTuple measures a child's side: decoding a bolt's input.
func BenchmarkDecodeTuple(b *testing.B) {
	for _, s := range serializers {
		b.Run(s.String(), func(b *testing.B) {
			msg := encodeWith(b, s, func(w Writer) error { return w.WriteTuple(typicalTuple) })
			r := NewReader(s, &repeatReader{msg: msg}, DecoderOptions{})
			var m HostMessage
			b.ReportAllocs()
			for b.Loop() {
				if err := r.DecodeHost(&m); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
