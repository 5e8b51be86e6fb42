package transcript

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestJSONToMsgpack(t *testing.T) {
	tests := []struct{ json, hex string }{
		{`{"a": 1}`, "81a16101"},
		{`[1, -1, 200, -200, 70000]`, "9501ffccc8d1ff38ce00011170"},
		{`[1.5, 1e3, 18446744073709551615]`, "93cb3ff8000000000000cb408f400000000000cfffffffffffffffff"},
		{`["snö", null, true, false]`, "94a4736ec3b6c0c3c2"},
		{`{"b": [], "a": {}}`, "82a16180a16290"},
	}
	for _, tt := range tests {
		got, err := JSONToMsgpack([]byte(tt.json))
		if err != nil || hex.EncodeToString(got) != tt.hex {
			t.Errorf("JSONToMsgpack(%s) = %x, %v; want %s", tt.json, got, err, tt.hex)
		}
	}
	if _, err := JSONToMsgpack([]byte(`{`)); err == nil {
		t.Error("JSONToMsgpack of bad JSON succeeded")
	}
}

func TestReadMsgpack(t *testing.T) {
	long := strings.Repeat("x", 70000)
	values := []string{
		`{"command": "emit", "tuple": ["a", 1, -2.5, null, true, {"k": [1, {"n": null}]}], "anchors": ["7"]}`,
		`[3, 7]`, `"` + long + `"`, `[` + strings.Repeat(`1,`, 20) + `2]`, `-9223372036854775808`,
	}
	var stream []byte
	var want []any
	for _, v := range values {
		b, err := JSONToMsgpack([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		stream = append(stream, b...)
		j, _ := Decode([]byte(v))
		want = append(want, j)
	}
	r := bufio.NewReader(bytes.NewReader(stream))
	for i, w := range want {
		got, err := MsgpackToJSON(r)
		if err != nil {
			t.Fatalf("MsgpackToJSON %d: %v", i, err)
		}
		if err := Match(w, mustDecode(t, string(got))); err != nil {
			t.Errorf("value %d: %v", i, err)
		}
	}
	if _, err := ReadMsgpack(r); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
	// SkipMsgpack passes over the same values.
	r = bufio.NewReader(bytes.NewReader(stream))
	for range values {
		if err := SkipMsgpack(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := SkipMsgpack(r); err != io.EOF {
		t.Errorf("SkipMsgpack at the end: %v, want io.EOF", err)
	}
	for _, bad := range []string{"92", "c1", "db00", "81c3c0"} {
		b, _ := hex.DecodeString(bad)
		if _, err := ReadMsgpack(bufio.NewReader(bytes.NewReader(b))); err == nil || err == io.EOF {
			t.Errorf("ReadMsgpack(%s) = %v, want an error", bad, err)
		}
	}
	// A value cut short, even one whose header claims 4 GiB of elements
	// or bytes, ends in io.ErrUnexpectedEOF without allocating the claim.
	for _, cut := range []string{"92", "ddffffffff01", "dfffffffffa161", "dbffffffff41"} {
		b, _ := hex.DecodeString(cut)
		if _, err := ReadMsgpack(bufio.NewReader(bytes.NewReader(b))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("ReadMsgpack(%s) = %v, want io.ErrUnexpectedEOF", cut, err)
		}
		if err := SkipMsgpack(bufio.NewReader(bytes.NewReader(b))); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("SkipMsgpack(%s) = %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
	// The library alone would allocate the 16 MiB this array claims.
	lying, _ := hex.DecodeString("dd000fffff01")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ReadMsgpack(bufio.NewReader(bytes.NewReader(lying)))
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("ReadMsgpack(%x) allocated %d bytes", lying, n)
	}
	// Integers read as int64 whatever their form, binaries as strings.
	b, _ := hex.DecodeString("94ccc8cf0000000000000007c40268690a")
	if got, err := ReadMsgpack(bufio.NewReader(bytes.NewReader(b))); err != nil || !reflect.DeepEqual(got, []any{int64(200), int64(7), "hi", int64(10)}) {
		t.Errorf("ReadMsgpack(%x) = %#v, %v", b, got, err)
	}
	if got, _ := ReadMsgpack(bufio.NewReader(bytes.NewReader([]byte{0xca, 0x3f, 0xc0, 0, 0}))); !reflect.DeepEqual(got, 1.5) {
		t.Errorf("float32 = %v", got)
	}
}
