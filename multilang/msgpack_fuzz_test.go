package multilang

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func FuzzMsgpackDecode(f *testing.F) {
	for _, seed := range []string{
		`{"command":"emit","tuple":["a b"],"anchors":["1"],"need_task_ids":false}`,
		`{"command":"emit","tuple":[1,2.5,null,{"k":[true]}],"id":{"x":1},"task":3,"stream":"s"}`,
		`{"command":"ack","id":"-1"}`,
		`{"command":"log","msg":"m","level":4}`,
		`{"pid":12}`,
		`{"command":"metrics","name":"n","params":[1]}`,
		`{"command":"emit","tuple":[[[[[[[]]]]]]]}`,
		`{"command":"state_get","keys":["a",1,2.0,true]}`,
		`{"command":"state_put","items":[["a",{"n":[1,null]}],[-0.0,"x"]]}`,
		`{"command":"state_delete","keys":[[1]]}`,
		`{"command":"state_values","items":[["a",1]]}`,
		`{"command":"state_items","items":[["a",1]],"more":true}`,
		`{"command":"state_reset","txid":41}`,
	} {
		f.Add(mp(f, seed))
	}
	f.Add([]byte("stray\n\x81\xa7command\xa4sync"))
	f.Add([]byte("\x82\xa7command\xa4emit\xa5tuple\x91\xa3a\xffb"))
	f.Add([]byte("\x82\xa7command\xa4emit\xa5tuple\x93\xc4\x02hi\xca\x3f\xc0\x00\x00\x81\x07\xa1x"))
	f.Add([]byte("\x82\xa7command\xa4emit\xa5tuple\xdd\xff\xff\xff\xff\x01"))
	f.Add([]byte("\x81\xc1"))
	f.Add(mp(f, `[3, 7]`))
	f.Add(mp(f, `{"id": "1", "comp": null, "stream": "__heartbeat", "task": -1, "tuple": []}`))
	f.Add(mp(f, `{"pidDir": "/p", "conf": {"a": [1]}, "context": {"task->component": {"1": "x"}, "taskid": 1}}`))
	const max = 4096
	f.Fuzz(func(t *testing.T, data []byte) {
		// A child reading the same bytes as host messages never panics
		// and stays bounded too.
		hd := NewMsgpackDecoder(bytes.NewReader(data), DecoderOptions{MaxMessageBytes: max})
		for i := 0; i < 1000; i++ {
			var hm HostMessage
			err := hd.DecodeHost(&hm)
			if c := cap(hd.frame); c > 4*max+readBufferSize {
				t.Fatalf("decoder buffer grew to %d bytes with a cap of %d", c, max)
			}
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("DecodeHost error %v is neither malformed nor too large", err)
			}
		}
		d := NewMsgpackDecoder(bytes.NewReader(data), DecoderOptions{MaxMessageBytes: max, OnStray: func([]byte) {}})
		for i := 0; i < 1000; i++ {
			var m Message
			err := d.Decode(&m)
			if c := cap(d.frame); c > 4*max+readBufferSize {
				t.Fatalf("decoder buffer grew to %d bytes with a cap of %d", c, max)
			}
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
					t.Fatalf("Decode error %v is neither malformed nor too large", err)
				}
				continue
			}
			checkStateMessage(t, &m)
			// Whatever decodes re-encodes, and decodes to a message that
			// encodes the same way.
			var first bytes.Buffer
			e := NewMsgpackEncoder(&first)
			if err := e.WriteMessage(&m); err != nil {
				if errors.Is(err, ErrUnencodable) {
					continue
				}
				t.Fatalf("WriteMessage(%+v): %v", m, err)
			}
			e.Flush()
			encoded := bytes.Clone(first.Bytes())
			var again Message
			if err := NewMsgpackDecoder(&first, DecoderOptions{}).Decode(&again); err != nil {
				t.Fatalf("decoding %q again: %v", encoded, err)
			}
			var second bytes.Buffer
			e = NewMsgpackEncoder(&second)
			if err := e.WriteMessage(&again); err != nil {
				t.Fatalf("WriteMessage(%+v) after a round trip: %v", again, err)
			}
			e.Flush()
			if !bytes.Equal(encoded, second.Bytes()) {
				t.Fatalf("round trip of %+v:\n%q\nbecame\n%q", m, encoded, second.Bytes())
			}
		}
	})
}
