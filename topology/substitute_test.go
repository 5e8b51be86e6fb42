package topology

import "testing"

func TestSubstituterReplace(t *testing.T) {
	s := substituter{
		props: map[string]string{"host": "db", "port": "5432", "list": `["a", 'b' , c]`, "ENV-X": "prop"},
		env: func(name string) (string, bool) {
			v, ok := map[string]string{"HOME": "/home/u"}[name]
			return v, ok
		},
	}
	tests := []struct {
		in, want string
	}{
		{"${host}:${port}", "db:5432"},
		{"${ENV-HOME}/x", "/home/u/x"},
		{"${ENV-NOPE}", "${ENV-NOPE}"},
		{"${list[0]}${list[1]}${list[2]}", "abc"},
		{"${list[3]}", "${list[3]}"},
		{"${nope[0]}", "${nope[0]}"},
		{"${missing} and ${host}", "${missing} and db"},
		{"no placeholders", "no placeholders"},
		{"$host {host}", "$host {host}"},
	}
	for _, tt := range tests {
		if got, _ := s.replace(tt.in); got != tt.want {
			t.Errorf("replace(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Without env substitution, ${ENV-X} is an ordinary property, as in Flux.
	noEnv := substituter{props: s.props}
	if got, _ := noEnv.replace("${ENV-X}"); got != "prop" {
		t.Errorf("replace(${ENV-X}) without env = %q, want prop", got)
	}
}
