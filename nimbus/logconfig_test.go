package nimbus

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/squallstream/squall/api"
)

func TestLogConfig(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	n, mem := memNimbus(t, withClock(clock))
	addSupervisor(t, mem, clock, "a", 6700, 6701)
	id := submit(t, n, wordsRequest("leveled"))

	set := func(levels map[string]*api.NamedLoggerLevel) (*api.LogConfigResponse, error) {
		return n.SetLogConfig(t.Context(), &api.SetLogConfigRequest{Name: "leveled", NamedLoggerLevels: levels})
	}
	resp, err := set(map[string]*api.NamedLoggerLevel{"ROOT": {TargetLevel: "debug", Timeout: 30}})
	if err != nil {
		t.Fatal(err)
	}
	if l := resp.GetNamedLoggerLevels()["ROOT"]; l.GetTargetLevel() != "DEBUG" || l.GetTimeout() != 30 || l.GetTimeoutEpoch() != clock.Now().Add(30*time.Second).Unix() {
		t.Errorf("SetLogConfig answered %v, want ROOT=DEBUG for 30s", resp)
	}
	st := mem.Session()
	defer st.Close()
	rec, err := st.GetTopology(t.Context(), id)
	if err != nil || rec.LogConfig["ROOT"].Target != "DEBUG" || !rec.LogConfig["ROOT"].ResetAt.Equal(clock.Now().Add(30*time.Second)) {
		t.Errorf("stored log config = %v, %v; want ROOT=DEBUG until now+30s", rec.LogConfig, err)
	}
	clock.Advance(31 * time.Second)
	got, err := n.GetLogConfig(t.Context(), &api.GetLogConfigRequest{Id: id})
	if err != nil || len(got.GetNamedLoggerLevels()) != 0 {
		t.Errorf("GetLogConfig after the timeout = %v, %v; want none", got, err)
	}
	if _, err := set(map[string]*api.NamedLoggerLevel{"ROOT": {TargetLevel: "WARN"}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := set(map[string]*api.NamedLoggerLevel{"ROOT": {TargetLevel: "CLEAR"}}); err != nil || len(resp.GetNamedLoggerLevels()) != 0 {
		t.Errorf("clearing ROOT = %v, %v; want none left", resp, err)
	}

	for name, levels := range map[string]map[string]*api.NamedLoggerLevel{
		"no logger":        {},
		"another logger":   {"org.apache.storm": {TargetLevel: "DEBUG"}},
		"unknown level":    {"ROOT": {TargetLevel: "LOUD"}},
		"negative timeout": {"ROOT": {TargetLevel: "DEBUG", Timeout: -1}},
		"timeout too long": {"ROOT": {TargetLevel: "DEBUG", Timeout: 86401}},
	} {
		_, err := set(levels)
		wantCode(t, name, err, codes.InvalidArgument)
	}
	_, err = n.SetLogConfig(t.Context(), &api.SetLogConfigRequest{Name: "nope", NamedLoggerLevels: map[string]*api.NamedLoggerLevel{"ROOT": {TargetLevel: "DEBUG"}}})
	wantCode(t, "unknown topology", err, codes.NotFound)
}
