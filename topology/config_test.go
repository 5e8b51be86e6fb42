package topology

import (
	"errors"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	tests := []struct {
		key   string
		value any
		ok    bool
	}{
		{KeyWorkers, 2, true},
		{KeyWorkers, int64(2), true},
		{KeyWorkers, 2.0, true},
		{KeyWorkers, "2", true},
		{KeyWorkers, 2.5, false},
		{KeyWorkers, "two", false},
		{KeyWorkers, true, false},
		{KeyWorkers, nil, true},
		{KeyMaxSpoutPending, 1000, true},
		{KeyMaxSpoutPending, []any{1}, false},
		{KeyTickTupleFreqSecs, 5, true},
		{KeyTickTupleFreqSecs, 0.5, true},
		{KeyTickTupleFreqSecs, "0.5", true},
		{KeyTickTupleFreqSecs, "often", false},
		{KeyDebug, true, true},
		{KeyDebug, "false", true},
		{KeyDebug, "maybe", false},
		{KeyDebug, 1, false},
		{KeyMultilangSerializer, "msgpack", true},
		{KeyMultilangSerializer, 3, false},
		{KeyZookeeperServers, []any{"zk1", "zk2"}, true},
		{KeyZookeeperServers, []string{"zk1"}, true},
		{KeyZookeeperServers, []any{"zk1", 2}, false},
		{KeyZookeeperServers, "zk1", false},
		{KeySupervisorSlotsPorts, []any{6700, 6701}, true},
		{KeySupervisorSlotsPorts, []int{6700}, true},
		{KeySupervisorSlotsPorts, []any{"x"}, false},
		{KeyTopologyEnvironment, map[string]any{"A": "b"}, true},
		{KeyTopologyEnvironment, map[string]string{"A": "b"}, true},
		{KeyTopologyEnvironment, []any{"A=b"}, false},
		{KeyDRPCServers, []any{"drpc1", "drpc2"}, true},
		{KeyDRPCServers, "drpc1", false},
		{KeyDRPCServers, []any{"drpc1", 3772}, false},
		{KeyDRPCPort, -1, true},
		{KeyDRPCPort, "3772", true},
		{KeyDRPCPort, "http", false},
		{KeyDRPCInvocationsPort, 3773.5, false},
		{KeyDRPCHTTPPort, []any{3774}, false},
		{KeyDRPCRequestTimeoutSecs, "ten", false},
		{KeyDRPCMaxBufferSize, 1 << 20, true},
		{KeyDRPCMaxBufferSize, "1MB", false},
		{KeyDRPCMaxOutstanding, true, false},
		{KeyDRPCHost, "127.0.0.1", true},
		{KeyDRPCHost, 127, false},
		{KeyDRPCAuthorizer, "org.apache.storm.security.auth.authorizer.DenyAuthorizer", true},
		{KeyDRPCAuthorizer, map[string]any{"class": "x"}, false},
		{"no.such.key", struct{}{}, true},
	}
	for _, tt := range tests {
		err := CheckConfig(Config{tt.key: tt.value})
		if (err == nil) != tt.ok {
			t.Errorf("CheckConfig(%s: %#v) = %v, want ok=%v", tt.key, tt.value, err, tt.ok)
			continue
		}
		if err == nil {
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Key != tt.key || !errors.Is(err, ErrBadConfig) {
			t.Errorf("CheckConfig(%s: %#v) = %v, want a *ConfigError for the key", tt.key, tt.value, err)
		}
	}
}

func TestCheckConfigAccepted(t *testing.T) {
	// Whatever CheckConfig accepts, the getters read without panicking.
	c := Config{KeyWorkers: "3", KeyDebug: "true", KeyTickTupleFreqSecs: "0.5", KeyMessageTimeoutSecs: 30.0}
	if err := CheckConfig(c); err != nil {
		t.Fatalf("CheckConfig(%v) = %v", c, err)
	}
	if c.Int(KeyWorkers, 0) != 3 || !c.Bool(KeyDebug, false) || c.Seconds(KeyTickTupleFreqSecs, 0).Seconds() != 0.5 || c.Int(KeyMessageTimeoutSecs, 0) != 30 {
		t.Errorf("getters disagree with CheckConfig on %v", c)
	}
}

func TestCheckConfigSeveralKeys(t *testing.T) {
	err := CheckConfig(Config{KeyWorkers: "x", KeyDebug: "y", "other": 1})
	var keys []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		keys = append(keys, e.(*ConfigError).Key)
	}
	if len(keys) != 2 || keys[0] != KeyDebug || keys[1] != KeyWorkers {
		t.Errorf("CheckConfig keys = %q, want [%s %s]", keys, KeyDebug, KeyWorkers)
	}
}

func TestDefaultsPassCheckConfig(t *testing.T) {
	if err := CheckConfig(Defaults()); err != nil {
		t.Errorf("CheckConfig(Defaults()) = %v", err)
	}
}
