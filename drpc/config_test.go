package drpc

import (
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/topology"
)

func TestConfigFrom(t *testing.T) {
	tests := []struct {
		name    string
		conf    topology.Config
		check   func(Config) bool
		wantErr string // the key the error names
	}{
		{"defaults are Storm's, on loopback", topology.Config{}, func(c Config) bool {
			return c.Host == "127.0.0.1" && c.Port == 3772 && c.InvocationsPort == 3773 && c.HTTPPort == 3774 &&
				c.RequestTimeout == 600*time.Second && c.MaxBufferSize == 1048576
		}, ""},
		{"values", topology.Config{KeyHost: "0.0.0.0", KeyPort: -1, KeyInvocationsPort: "4000", KeyHTTPPort: 0,
			KeyRequestTimeoutSecs: 5.0, KeyMaxBufferSize: int64(4096), KeyMaxOutstanding: 10}, func(c Config) bool {
			return c.Host == "0.0.0.0" && c.Port == -1 && c.InvocationsPort == 4000 && c.HTTPPort == 0 &&
				c.RequestTimeout == 5*time.Second && c.MaxBufferSize == 4096 && c.MaxOutstanding == 10
		}, ""},
		{"port not a number", topology.Config{KeyPort: "x"}, nil, KeyPort},
		{"fractional timeout", topology.Config{KeyRequestTimeoutSecs: 1.5}, nil, KeyRequestTimeoutSecs},
		{"zero timeout", topology.Config{KeyRequestTimeoutSecs: 0}, nil, KeyRequestTimeoutSecs},
		{"negative buffer", topology.Config{KeyMaxBufferSize: -1}, nil, KeyMaxBufferSize},
		{"host not a string", topology.Config{KeyHost: 7}, nil, KeyHost},
		{"empty host", topology.Config{KeyHost: ""}, nil, KeyHost},
		{"invocations port is required", topology.Config{KeyInvocationsPort: -1}, nil, KeyInvocationsPort},
		{"port too large", topology.Config{KeyHTTPPort: 70000}, nil, KeyHTTPPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFrom(tt.conf)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ConfigFrom(%v) = %v, want an error naming %s", tt.conf, err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Errorf("ConfigFrom(%v) = %+v, %v", tt.conf, c, err)
			}
		})
	}
}

func TestJoinServers(t *testing.T) {
	tests := []struct {
		hosts []string
		want  []string
		ok    bool
	}{
		{[]string{"127.0.0.1", "drpc1.example.com", "::1"}, []string{"127.0.0.1:3773", "drpc1.example.com:3773", "[::1]:3773"}, true},
		{[]string{"127.0.0.1:4000"}, nil, false},
		{[]string{""}, nil, false},
	}
	for _, tt := range tests {
		got, err := joinServers(tt.hosts, 3773)
		if (err == nil) != tt.ok || strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("joinServers(%q) = %q, %v; want %q ok %v", tt.hosts, got, err, tt.want, tt.ok)
		}
	}
}
