package shell

import (
	"strings"
	"testing"

	"github.com/squallstream/squall/topology"
)

// topology.state.cache.max.keys reaches a stateful child's handshake.
func TestStatefulBoltHandshakeCacheMaxKeys(t *testing.T) {
	f := startStateBolt(t, true, topology.Config{KeyStateCacheMaxKeys: 5})
	f.logged(t, `squall {"protocol": 1, "state": {"cache_max_keys": 5}}`)
}

func TestStateCacheMaxKeysSetting(t *testing.T) {
	for _, tt := range []struct {
		value any
		err   bool
	}{
		{nil, false},
		{1, false},
		{250000, false},
		{0, true},
		{-3, true},
	} {
		conf := topology.Defaults()
		if tt.value != nil {
			conf = conf.Merge(topology.Config{KeyStateCacheMaxKeys: tt.value})
		}
		_, err := readSettings(&topology.TaskContext{Config: conf})
		if (err != nil) != tt.err || (err != nil && !strings.Contains(err.Error(), KeyStateCacheMaxKeys)) {
			t.Errorf("readSettings(%s: %v) = %v, want an error naming the key: %v", KeyStateCacheMaxKeys, tt.value, err, tt.err)
		}
	}
}
