package multilang

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseSerializer(t *testing.T) {
	tests := []struct {
		name string
		want Serializer
		err  error
	}{
		{"json", JSON, nil},
		{"", JSON, nil},
		{"org.apache.storm.multilang.JsonSerializer", JSON, nil},
		{" msgpack ", Msgpack, nil},
		{"msgpack", Msgpack, nil},
		{"protobuf", "", ErrUnknownSerializer},
		{"JSON", "", ErrUnknownSerializer},
	}
	for _, tt := range tests {
		got, err := ParseSerializer(tt.name)
		if got != tt.want || !errors.Is(err, tt.err) {
			t.Errorf("ParseSerializer(%q) = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestNewReaderWriter(t *testing.T) {
	for _, s := range []Serializer{JSON, Msgpack} {
		t.Run(s.String(), func(t *testing.T) {
			var buf bytes.Buffer
			w := NewWriter(s, &buf)
			if err := w.WriteMessage(&Message{Command: CmdSync}); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if s == Msgpack && buf.Bytes()[0] != 0x81 || s == JSON && buf.Bytes()[0] != '{' {
				t.Errorf("NewWriter(%s) wrote %q", s, buf.Bytes())
			}
			var m Message
			if err := NewReader(s, &buf, DecoderOptions{}).Decode(&m); err != nil || m.Command != CmdSync {
				t.Errorf("NewReader(%s).Decode = %v, %v; want sync", s, m.Command, err)
			}
		})
	}
}

func TestSniffReply(t *testing.T) {
	tests := []struct {
		name   string
		host   Serializer
		prefix string
		want   Serializer
		ok     bool
	}{
		{"msgpack pid reply to a JSON host", JSON, "\x81\xa3pid\xcd\x04\xd2", Msgpack, true},
		{"msgpack pid reply after stray text", JSON, "hello\n\x81\xa3pid\x05", Msgpack, true},
		{"msgpack pid reply in a map16", JSON, "\xde\x00\x01\xa3pid\x05", Msgpack, true},
		{"msgpack log then pid", JSON, "\x83\xa7command\xa3log\xa3msg\xa1x\xa5level\x02\x81\xa3pid\x05", Msgpack, true},
		{"stray UTF-8 text", JSON, "\xdf\x90 text\n", "", false},
		{"msgpack map16 first", JSON, "\xde\x00\x11", Msgpack, true},
		{"JSON pid reply to a JSON host", JSON, "{\"pid\": 1234}\nend\n", "", false},
		{"nothing yet", JSON, "", "", false},
		{"JSON pid reply to a msgpack host", Msgpack, "{\"pid\": 1234}\nend\n", JSON, true},
		{"JSON pid reply split", Msgpack, "{\"pi", "", false},
		{"pretty JSON", Msgpack, "{\n  \"pid\": 1\n}\nend\n", JSON, true},
		{"stray text then JSON", Msgpack, "starting\n{ \"pid\": 7 }\n", JSON, true},
		{"msgpack pid reply to a msgpack host", Msgpack, "\x81\xa3pid\x05", "", false},
		{"stray text only", Msgpack, "hello\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := SniffReply(tt.host, []byte(tt.prefix))
			if got != tt.want || ok != tt.ok {
				t.Errorf("SniffReply(%s, %q) = %q, %v; want %q, %v", tt.host, tt.prefix, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestMismatchError(t *testing.T) {
	err := error(&MismatchError{Host: Msgpack, Child: JSON})
	want := "the child answered in JSON but the host speaks MessagePack; set topology.multilang.serializer: json"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
