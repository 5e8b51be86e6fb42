package multilang

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/tinylib/msgp/msgp"
	vmsgpack "github.com/vmihailenco/msgpack/v5"
)

// squall's MessagePack codec against the libraries, on the messages a host
// reads most (a bolt's anchored emit, an ack), writes most (a tuple to a
// bolt), and the handshake. docs/performance.md has the figures and the
// commands. Names are Benchmark.../<message>/<codec>, where codec is
//
//	squall           MsgpackDecoder/MsgpackEncoder as the shell host uses them
//	vmihailenco      vmihailenco/msgpack/v5 into and from the lib* structs (reflection)
//	vmihailenco-api  vmihailenco's Decoder/Encoder methods called by hand
//	vmihailenco-map  vmihailenco's DecodeMap (a generic map[string]any)
//	msgp             tinylib/msgp's generated DecodeMsg (streaming) and MarshalMsg (append)
//	msgp-bytes       tinylib/msgp's generated UnmarshalMsg of a message already
//	                 framed in memory: an upper bound, since a pipe gives no frames

var (
	benchEmit = &Message{Command: CmdEmit, Tuple: []any{"seven"}, Stream: "default",
		Anchors: []string{"-6955786537413359385"}}
	benchAck = &Message{Command: CmdAck, ID: "-6955786537413359385"}
)

// benchHandshake is a handshake of a realistic size: a configuration of 60
// keys and the context of a word count over 12 tasks.
func benchHandshake() *Handshake {
	conf := map[string]any{
		"topology.name":                    "wordcount",
		"storm.id":                         "wordcount-1-1732186000",
		"topology.workers":                 int64(2),
		"topology.acker.executors":         int64(2),
		"topology.message.timeout.secs":    int64(30),
		"topology.max.spout.pending":       nil,
		"topology.debug":                   false,
		"topology.multilang.serializer":    "msgpack",
		"topology.worker.childopts":        "-Xmx768m",
		"topology.subprocess.timeout.secs": int64(30),
		"storm.zookeeper.servers":          []any{"zk1.example.net", "zk2.example.net", "zk3.example.net"},
		"supervisor.slots.ports":           []any{int64(6700), int64(6701), int64(6702), int64(6703)},
	}
	for i := range 48 {
		key := fmt.Sprintf("storm.example.setting.%02d", i)
		switch i % 3 {
		case 0:
			conf[key] = "value-" + strconv.Itoa(i)
		case 1:
			conf[key] = int64(i * 1000)
		default:
			conf[key] = i%2 == 0
		}
	}
	tasks := map[int]string{}
	for id, comp := range []string{"__acker", "__acker", "count", "count", "count", "count", "sentences", "sentences", "split", "split", "split", "split"} {
		tasks[id+1] = comp
	}
	return &Handshake{
		PidDir: "/var/squall/workers/6f1c2b4e-5d1a-4c7e-9b0f-2a3d4e5f6a7b/pids",
		Conf:   conf,
		Context: Context{
			TaskToComponent:          tasks,
			TaskID:                   9,
			ComponentID:              "split",
			Streams:                  []string{"default"},
			StreamToOutputFields:     map[string][]string{"default": {"word"}},
			StreamToTargetToGrouping: map[string]map[string]Grouping{"default": {"count": {Type: "FIELDS", Fields: []string{"word"}}}},
			SourceToStreamToGrouping: map[string]map[string]Grouping{"sentences": {"default": {Type: "SHUFFLE"}}},
			SourceToStreamToFields:   map[string]map[string][]string{"sentences": {"default": {"sentence"}}},
		},
	}
}

func toLibHandshake(h *Handshake) libHandshake {
	groupings := func(m map[string]map[string]Grouping) map[string]map[string]libGrouping {
		out := map[string]map[string]libGrouping{}
		for k, inner := range m {
			out[k] = map[string]libGrouping{}
			for k2, g := range inner {
				out[k][k2] = libGrouping(g)
			}
		}
		return out
	}
	tasks := map[string]string{}
	for id, comp := range h.Context.TaskToComponent {
		tasks[strconv.Itoa(id)] = comp
	}
	c := &h.Context
	return libHandshake{
		PidDir: h.PidDir,
		Conf:   maps.Clone(h.Conf),
		Context: libContext{
			TaskToComponent:          tasks,
			TaskID:                   c.TaskID,
			ComponentID:              c.ComponentID,
			Streams:                  c.Streams,
			StreamToOutputFields:     c.StreamToOutputFields,
			StreamToTargetToGrouping: groupings(c.StreamToTargetToGrouping),
			SourceToStreamToGrouping: groupings(c.SourceToStreamToGrouping),
			SourceToStreamToFields:   c.SourceToStreamToFields,
		},
	}
}

// squallBytes returns what squall's encoder writes for one message.
func squallBytes(tb testing.TB, write func(e *MsgpackEncoder) error) []byte {
	tb.Helper()
	var buf bytes.Buffer
	e := NewMsgpackEncoder(&buf)
	if err := write(e); err != nil {
		tb.Fatal(err)
	}
	if err := e.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// A decodeCase reads one kind of message. Each codec's constructor returns
// a step that decodes the next message of r into a value it keeps, and a
// getter of that value (for TestMsgpackLibCodecsAgree); a nil constructor
// means the codec does not take part for that message.
type decodeCase struct {
	name  string
	write func(e *MsgpackEncoder) error
	// want is the decoded message as the lib structs hold it.
	want   func() any
	codecs []decodeCodec
}

type decodeCodec struct {
	name string
	new  func(r io.Reader, data []byte) (step func() error, got func() any)
}

func decodeCases() []decodeCase {
	h := benchHandshake()
	childCodecs := []decodeCodec{
		{"squall", func(r io.Reader, _ []byte) (func() error, func() any) {
			d := NewMsgpackDecoder(r, DecoderOptions{})
			var m Message
			return func() error { return d.Decode(&m) }, func() any { return messageToLib(&m) }
		}},
		{"vmihailenco", func(r io.Reader, _ []byte) (func() error, func() any) {
			d := vmDecoder(r)
			var m libChildMessage
			return func() error { libChildDefaults(&m); return d.Decode(&m) }, func() any { return m }
		}},
		{"vmihailenco-api", func(r io.Reader, _ []byte) (func() error, func() any) {
			d := vmDecoder(r)
			var m libChildMessage
			var scratch []byte
			return func() (err error) { scratch, err = vmDecodeChild(d, &m, scratch); return err }, func() any { return m }
		}},
		{"vmihailenco-map", vmDecodeMap},
		{"msgp", func(r io.Reader, _ []byte) (func() error, func() any) {
			mr := msgp.NewReaderSize(r, readBufferSize)
			var m libChildMessage
			return func() error { libChildDefaults(&m); return m.DecodeMsg(mr) }, func() any { return m }
		}},
		{"msgp-bytes", func(_ io.Reader, data []byte) (func() error, func() any) {
			var m libChildMessage
			return func() error { libChildDefaults(&m); _, err := m.UnmarshalMsg(data); return err }, func() any { return m }
		}},
	}
	return []decodeCase{
		{
			name:  "emit",
			write: func(e *MsgpackEncoder) error { return e.WriteMessage(benchEmit) },
			want: func() any {
				return messageToLib(&Message{Command: CmdEmit, Tuple: benchEmit.Tuple, Stream: "default", Anchors: benchEmit.Anchors})
			},
			codecs: childCodecs,
		},
		{
			name:   "ack",
			write:  func(e *MsgpackEncoder) error { return e.WriteMessage(benchAck) },
			want:   func() any { return messageToLib(&Message{Command: CmdAck, ID: benchAck.ID, NeedTaskIDs: true}) },
			codecs: childCodecs,
		},
		{
			name:  "tuple",
			write: func(e *MsgpackEncoder) error { return e.WriteTuple(typicalTuple) },
			want:  func() any { return tupleToLib(typicalTuple) },
			codecs: []decodeCodec{
				{"squall", func(r io.Reader, _ []byte) (func() error, func() any) {
					d := NewMsgpackDecoder(r, DecoderOptions{})
					var m HostMessage
					return func() error { return d.DecodeHost(&m) }, func() any { return tupleToLib(&m.Tuple) }
				}},
				{"vmihailenco", func(r io.Reader, _ []byte) (func() error, func() any) {
					d := vmDecoder(r)
					var t libTuple
					return func() error { t = libTuple{}; return d.Decode(&t) }, func() any { return t }
				}},
				{"vmihailenco-map", vmDecodeMap},
				{"msgp", func(r io.Reader, _ []byte) (func() error, func() any) {
					mr := msgp.NewReaderSize(r, readBufferSize)
					var t libTuple
					return func() error { t = libTuple{}; return t.DecodeMsg(mr) }, func() any { return t }
				}},
				{"msgp-bytes", func(_ io.Reader, data []byte) (func() error, func() any) {
					var t libTuple
					return func() error { t = libTuple{}; _, err := t.UnmarshalMsg(data); return err }, func() any { return t }
				}},
			},
		},
		{
			name:  "handshake",
			write: func(e *MsgpackEncoder) error { return e.WriteHandshake(h) },
			want:  func() any { return toLibHandshake(h) },
			codecs: []decodeCodec{
				{"squall", func(r io.Reader, _ []byte) (func() error, func() any) {
					d := NewMsgpackDecoder(r, DecoderOptions{})
					var m HostMessage
					return func() error { return d.DecodeHost(&m) }, func() any { return toLibHandshake(m.Handshake) }
				}},
				{"vmihailenco", func(r io.Reader, _ []byte) (func() error, func() any) {
					d := vmDecoder(r)
					var h libHandshake
					return func() error { h = libHandshake{}; return d.Decode(&h) }, func() any { return h }
				}},
				{"vmihailenco-map", vmDecodeMap},
				{"msgp", func(r io.Reader, _ []byte) (func() error, func() any) {
					mr := msgp.NewReaderSize(r, readBufferSize)
					var h libHandshake
					return func() error { h = libHandshake{}; return h.DecodeMsg(mr) }, func() any { return h }
				}},
				{"msgp-bytes", func(_ io.Reader, data []byte) (func() error, func() any) {
					var h libHandshake
					return func() error { h = libHandshake{}; _, err := h.UnmarshalMsg(data); return err }, func() any { return h }
				}},
			},
		},
	}
}

// messageToLib is m as libChildMessage holds it.
func messageToLib(m *Message) libChildMessage {
	l := libChildMessage{Command: m.Command, ID: m.ID, Stream: m.Stream, Task: libNoTask, Anchors: m.Anchors,
		Tuple: m.Tuple, NeedTaskIDs: m.NeedTaskIDs, Msg: m.Msg, Level: LevelInfo, Name: m.Name, Params: m.Params, Pid: m.Pid}
	if m.Direct {
		l.Task = m.Task
	}
	if m.Command == CmdLog {
		l.Level = m.Level
	}
	return l
}

func tupleToLib(t *TupleMessage) libTuple {
	return libTuple{ID: t.ID, Comp: t.Comp, Stream: t.Stream, Task: t.Task, Tuple: t.Tuple}
}

// vmDecoder returns a vmihailenco decoder reading r through a buffer as
// large as squall's, with numbers decoded as squall's decoder does them
// (int64, uint64 beyond, float64).
func vmDecoder(r io.Reader) *vmsgpack.Decoder {
	d := vmsgpack.NewDecoder(bufio.NewReaderSize(r, readBufferSize))
	d.UseLooseInterfaceDecoding(true)
	return d
}

func vmDecodeMap(r io.Reader, _ []byte) (func() error, func() any) {
	d := vmDecoder(r)
	var m map[string]any
	return func() (err error) { m, err = d.DecodeMap(); return err }, func() any { return m }
}

// vmDecodeChild decodes a child's message with vmihailenco's Decoder
// methods, as a parser built on that library would: keys read into scratch
// without allocating, each field by its type.
func vmDecodeChild(d *vmsgpack.Decoder, m *libChildMessage, scratch []byte) ([]byte, error) {
	libChildDefaults(m)
	n, err := d.DecodeMapLen()
	if err != nil {
		return scratch, err
	}
	for range n {
		size, err := d.DecodeBytesLen()
		if err != nil {
			return scratch, err
		}
		if size > 64 {
			if err := d.Skip(); err != nil {
				return scratch, err
			}
			continue // not a key of ours
		}
		if cap(scratch) < size {
			scratch = make([]byte, 64)
		}
		key := scratch[:max(size, 0)]
		if err := d.ReadFull(key); err != nil {
			return scratch, err
		}
		switch string(key) {
		case "command":
			m.Command, err = d.DecodeString()
		case "id":
			m.ID, err = d.DecodeInterfaceLoose()
		case "stream":
			m.Stream, err = d.DecodeString()
		case "task":
			m.Task, err = d.DecodeInt()
		case "anchors":
			var k int
			k, err = d.DecodeArrayLen()
			for i := 0; i < k && err == nil; i++ {
				var s string
				if s, err = d.DecodeString(); err == nil {
					m.Anchors = append(m.Anchors, s)
				}
			}
		case "tuple":
			m.Tuple, err = d.DecodeSlice()
		case "need_task_ids":
			m.NeedTaskIDs, err = d.DecodeBool()
		case "msg":
			m.Msg, err = d.DecodeString()
		case "level":
			m.Level, err = d.DecodeInt()
		case "name":
			m.Name, err = d.DecodeString()
		case "params":
			m.Params, err = d.DecodeInterfaceLoose()
		case "pid":
			m.Pid, err = d.DecodeInt()
		default:
			err = d.Skip()
		}
		if err != nil {
			return scratch, fmt.Errorf("%s: %w", key, err)
		}
	}
	return scratch, nil
}

func BenchmarkMsgpackLibDecode(b *testing.B) {
	for _, c := range decodeCases() {
		data := squallBytes(b, c.write)
		for _, codec := range c.codecs {
			b.Run(c.name+"/"+codec.name, func(b *testing.B) {
				step, _ := codec.new(&repeatReader{msg: data}, data)
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := step(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

// An encodeCase writes one kind of message. Each codec's constructor
// returns a step that appends the message to a buffer flushed to w every
// 32 KiB (as the shell host flushes its writer), and a flush.
type encodeCase struct {
	name   string
	codecs []encodeCodec
}

type encodeCodec struct {
	name string
	new  func(w io.Writer) (step func() error, flush func() error)
}

const benchFlushBytes = 32 << 10

// squallEncode runs write on an encoder over w.
func squallEncode(write func(e *MsgpackEncoder) error) encodeCodec {
	return encodeCodec{"squall", func(w io.Writer) (func() error, func() error) {
		e := NewMsgpackEncoder(w)
		return func() error {
			if err := write(e); err != nil {
				return err
			}
			if e.Buffered() > benchFlushBytes {
				return e.Flush()
			}
			return nil
		}, e.Flush
	}}
}

// vmEncode encodes v with vmihailenco's Encoder: integers in their smallest
// form and map keys sorted, as squall's encoder writes them.
func vmEncode(v any) encodeCodec {
	return encodeCodec{"vmihailenco", func(w io.Writer) (func() error, func() error) {
		bw := bufio.NewWriterSize(w, benchFlushBytes)
		e := vmEncoder(bw)
		return func() error { return e.Encode(v) }, bw.Flush
	}}
}

func vmEncoder(w io.Writer) *vmsgpack.Encoder {
	e := vmsgpack.NewEncoder(w)
	e.UseCompactInts(true)
	e.SetSortMapKeys(true)
	return e
}

// msgpEncode appends v with tinylib/msgp's generated MarshalMsg.
func msgpEncode(v msgp.Marshaler) encodeCodec {
	return encodeCodec{"msgp", func(w io.Writer) (func() error, func() error) {
		buf := make([]byte, 0, 4096)
		flush := func() error {
			_, err := w.Write(buf)
			buf = buf[:0]
			return err
		}
		return func() error {
			var err error
			if buf, err = v.MarshalMsg(buf); err != nil {
				return err
			}
			if len(buf) > benchFlushBytes {
				return flush()
			}
			return nil
		}, flush
	}}
}

func encodeCases() []encodeCase {
	h := benchHandshake()
	lh := toLibHandshake(h)
	lt := tupleToLib(typicalTuple)
	emit := &libEmit{Command: CmdEmit, Stream: benchEmit.Stream, Anchors: benchEmit.Anchors, Tuple: benchEmit.Tuple}
	ack := &libAck{Command: CmdAck, ID: benchAck.ID}
	return []encodeCase{
		{"tuple", []encodeCodec{
			squallEncode(func(e *MsgpackEncoder) error { return e.WriteTuple(typicalTuple) }),
			vmEncode(&lt),
			{"vmihailenco-api", func(w io.Writer) (func() error, func() error) {
				bw := bufio.NewWriterSize(w, benchFlushBytes)
				e := vmEncoder(bw)
				return func() error { return vmEncodeTuple(e, typicalTuple) }, bw.Flush
			}},
			msgpEncode(&lt),
		}},
		{"emit", []encodeCodec{
			squallEncode(func(e *MsgpackEncoder) error { return e.WriteMessage(benchEmit) }),
			vmEncode(emit),
			msgpEncode(emit),
		}},
		{"ack", []encodeCodec{
			squallEncode(func(e *MsgpackEncoder) error { return e.WriteMessage(benchAck) }),
			vmEncode(ack),
			msgpEncode(ack),
		}},
		{"handshake", []encodeCodec{
			squallEncode(func(e *MsgpackEncoder) error { return e.WriteHandshake(h) }),
			vmEncode(&lh),
			msgpEncode(&lh),
		}},
	}
}

// vmEncodeTuple writes a tuple with vmihailenco's Encoder methods.
func vmEncodeTuple(e *vmsgpack.Encoder, t *TupleMessage) error {
	e.EncodeMapLen(5)
	e.EncodeString("id")
	e.EncodeString(t.ID)
	e.EncodeString("comp")
	e.EncodeString(t.Comp)
	e.EncodeString("stream")
	e.EncodeString(t.Stream)
	e.EncodeString("task")
	e.EncodeInt(int64(t.Task))
	e.EncodeString("tuple")
	if err := e.EncodeArrayLen(len(t.Tuple)); err != nil {
		return err
	}
	for _, v := range t.Tuple {
		if err := e.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

func BenchmarkMsgpackLibEncode(b *testing.B) {
	for _, c := range encodeCases() {
		for _, codec := range c.codecs {
			b.Run(c.name+"/"+codec.name, func(b *testing.B) {
				var size countingWriter
				step, flush := codec.new(&size)
				if err := step(); err != nil {
					b.Fatal(err)
				}
				if err := flush(); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(size))
				step, flush = codec.new(io.Discard)
				b.ReportAllocs()
				for b.Loop() {
					if err := step(); err != nil {
						b.Fatal(err)
					}
				}
				if err := flush(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

type countingWriter int

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// TestMsgpackLibCodecsAgree checks that the benchmarks time the same work:
// every codec decodes each message to the same value, twice in a row from
// one stream, and every encoder writes bytes that decode to the same value
// as squall's.
func TestMsgpackLibCodecsAgree(t *testing.T) {
	for _, c := range decodeCases() {
		data := squallBytes(t, c.write)
		want := asJSON(t, c.want())
		for _, codec := range c.codecs {
			t.Run("decode/"+c.name+"/"+codec.name, func(t *testing.T) {
				step, got := codec.new(bytes.NewReader(bytes.Repeat(data, 2)), data)
				for i := range 2 {
					if err := step(); err != nil {
						t.Fatalf("decode %d: %v", i, err)
					}
					w := want
					if codec.name == "vmihailenco-map" {
						w = asJSON(t, readGeneric(t, data)) // the generic form
					}
					if g := asJSON(t, got()); g != w {
						t.Errorf("decode %d = %s, want %s", i, g, w)
					}
				}
			})
		}
	}
	for _, c := range encodeCases() {
		var want any
		for _, codec := range c.codecs {
			t.Run("encode/"+c.name+"/"+codec.name, func(t *testing.T) {
				var buf bytes.Buffer
				step, flush := codec.new(&buf)
				if err := step(); err != nil {
					t.Fatal(err)
				}
				if err := flush(); err != nil {
					t.Fatal(err)
				}
				got := readGeneric(t, buf.Bytes())
				if codec.name == "squall" {
					want = got
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("wrote %#v, want %#v as squall writes it", got, want)
				}
			})
		}
	}
}

// asJSON shows v as JSON, so that values compare whatever integer type a
// library chose.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("Marshal(%#v): %v", v, err)
	}
	return string(b)
}

// BenchmarkMsgpackLibRatio runs squall's codec and one library in turns,
// in slices of about 100µs each, and reports the median of the per-slice
// time ratios library/squall (x-squall: 2 means the library takes twice
// as long). Load from other processes slows both sides of a pair alike,
// so this figure moves far less on a busy machine than ns/op does.
func BenchmarkMsgpackLibRatio(b *testing.B) {
	for _, c := range decodeCases() {
		data := squallBytes(b, c.write)
		newStep := func(codec decodeCodec) func() error {
			step, _ := codec.new(&repeatReader{msg: data}, data)
			return step
		}
		for _, codec := range c.codecs[1:] {
			b.Run("decode/"+c.name+"/"+codec.name, func(b *testing.B) {
				benchRatio(b, newStep(c.codecs[0]), newStep(codec))
			})
		}
	}
	for _, c := range encodeCases() {
		for _, codec := range c.codecs[1:] {
			b.Run("encode/"+c.name+"/"+codec.name, func(b *testing.B) {
				squall, _ := c.codecs[0].new(io.Discard)
				lib, _ := codec.new(io.Discard)
				benchRatio(b, squall, lib)
			})
		}
	}
}

func benchRatio(b *testing.B, squall, lib func() error) {
	slice := func(step func() error, n int) time.Duration {
		start := time.Now()
		for range n {
			if err := step(); err != nil {
				b.Fatal(err)
			}
		}
		return time.Since(start)
	}
	// Size the slices from a first run of each side (which warms them up).
	n := 100
	if d := slice(squall, n) + slice(lib, n); d > 0 {
		n = max(1, int(int64(2*n)*int64(100*time.Microsecond)/int64(d)))
	}
	var ratios []float64
	for b.Loop() {
		var s, l time.Duration
		if len(ratios)%2 == 0 {
			s, l = slice(squall, n), slice(lib, n)
		} else {
			l, s = slice(lib, n), slice(squall, n)
		}
		ratios = append(ratios, float64(l)/float64(s))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-squall")
	b.ReportMetric(ratios[len(ratios)/4], "p25-x")
	b.ReportMetric(ratios[3*len(ratios)/4], "p75-x")
	b.ReportMetric(0, "ns/op")
}
