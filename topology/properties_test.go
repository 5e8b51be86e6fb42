package topology

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"a=1\nb: 2\nc 3\n", map[string]string{"a": "1", "b": "2", "c": "3"}},
		{"# comment\n! also\n\n   \nkey = value with spaces  \n", map[string]string{"key": "value with spaces  "}},
		{"k=v\nk=w\n", map[string]string{"k": "w"}},
		{"long = a, \\\n    b, \\\n    c\n", map[string]string{"long": "a, b, c"}},
		{"path=C:\\\\dir\\\\x\n", map[string]string{"path": `C:\dir\x`}},
		{"esc\\ key = tab\\there\\u0041\n", map[string]string{"esc key": "tab\there" + "A"}},
		{"a\\=b=c\n", map[string]string{"a=b": "c"}},
		{"empty=\nbare\n", map[string]string{"empty": "", "bare": ""}},
		{"list: [\"x\", \"y\"]\n", map[string]string{"list": `["x", "y"]`}},
		{"trailing=\\", map[string]string{"trailing": ""}},
	}
	for _, tt := range tests {
		got, err := ParseProperties(strings.NewReader(tt.in))
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseProperties(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseProperties(strings.NewReader("bad=\\u12\n")); err == nil {
		t.Errorf("ParseProperties(bad \\u escape) = nil error, want one")
	}
}
