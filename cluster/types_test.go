package cluster

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestExecutorIDText(t *testing.T) {
	tests := []struct {
		text string
		want ExecutorID
		ok   bool
	}{
		{"[1 2]", ExecutorID{1, 2}, true},
		{"[-1 -1]", ExecutorID{-1, -1}, true},
		{"[7 7]", ExecutorID{7, 7}, true},
		{"1 2", ExecutorID{}, false},
		{"[1 2", ExecutorID{}, false},
		{"[1,2]", ExecutorID{}, false},
		{"[1 2 3]", ExecutorID{}, false},
		{"[a 2]", ExecutorID{}, false},
		{"", ExecutorID{}, false},
	}
	for _, tt := range tests {
		var got ExecutorID
		err := got.UnmarshalText([]byte(tt.text))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, ok %v", tt.text, got, err, tt.want, tt.ok)
		}
		if tt.ok {
			if back, _ := got.MarshalText(); string(back) != tt.text {
				t.Errorf("MarshalText(%v) = %q, want %q", got, back, tt.text)
			}
		}
	}
}

func TestAssignmentJSON(t *testing.T) {
	a := sampleAssignment("t1")
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Assignment
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", data, err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Errorf("JSON round trip = %+v, want %+v", back, a)
	}
}

func TestNimbusInfoIsLeaderNotStored(t *testing.T) {
	data, err := json.Marshal(NimbusInfo{Host: "h", Port: 1, IsLeader: true})
	if err != nil {
		t.Fatal(err)
	}
	var back NimbusInfo
	if err := json.Unmarshal(data, &back); err != nil || back.IsLeader {
		t.Errorf("NimbusInfo from %s = %+v, %v; want IsLeader false", data, back, err)
	}
}
