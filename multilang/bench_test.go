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

func BenchmarkDecodeEmit(b *testing.B) {
	d := NewDecoder(&repeatReader{msg: []byte(frame(typicalEmit))}, DecoderOptions{})
	var m Message
	b.SetBytes(int64(len(frame(typicalEmit))))
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(&m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkEncodeTuple(b *testing.B) {
	e := NewEncoder(io.Discard)
	t := &TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white and the seven dwarfs"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.WriteTuple(t); err != nil {
			b.Fatal(err)
		}
		if e.Buffered() > 32<<10 {
			e.Flush()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkEncodeEmit(b *testing.B) {
	e := NewEncoder(io.Discard)
	m := &Message{Command: CmdEmit, Tuple: []any{"seven"}, Stream: "default", Anchors: []string{"-6955786537413359385"}}
	b.ReportAllocs()
	for b.Loop() {
		if err := e.WriteMessage(m); err != nil {
			b.Fatal(err)
		}
		if e.Buffered() > 32<<10 {
			e.Flush()
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkDecodeTuple measures a child's side: decoding a bolt's input.
func BenchmarkDecodeTuple(b *testing.B) {
	var buf bytes.Buffer
	e := NewEncoder(&buf)
	e.WriteTuple(&TupleMessage{ID: "-6955786537413359385", Comp: "sentences", Stream: "default", Task: 4, Tuple: []any{"snow white and the seven dwarfs"}})
	e.Flush()
	d := NewDecoder(&repeatReader{msg: buf.Bytes()}, DecoderOptions{})
	var m HostMessage
	b.ReportAllocs()
	for b.Loop() {
		if err := d.DecodeHost(&m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
