package drpc

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
)

// recordingCollector records a spout's emits.
type recordingCollector struct {
	mu     sync.Mutex
	values [][]any
	ids    []any
	errs   []error
}

func (c *recordingCollector) Emit(_ string, values []any, msgID any) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.values = append(c.values, values)
	c.ids = append(c.ids, msgID)
	return nil
}
func (c *recordingCollector) EmitDirect(int, string, []any, any) {}
func (c *recordingCollector) ReportError(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, err)
}

func (c *recordingCollector) emitted() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values)
}

// runServer runs a server on free loopback ports until the test ends.
func runServer(t *testing.T) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Port, cfg.InvocationsPort, cfg.HTTPPort = -1, 0, -1
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-s.Ready()
	return s
}

// TestSpoutPrefetchAndClose: a spout takes no more than its prefetch
// ahead of emitting, more as it emits, and fails what it holds when it
// closes, so those clients hear at once.
func TestSpoutPrefetchAndClose(t *testing.T) {
	s := runServer(t)
	sp, err := NewSpout(SpoutConfig{Function: "f", Servers: []string{s.InvocationsAddr()}, Prefetch: 2})
	if err != nil {
		t.Fatal(err)
	}
	out := &recordingCollector{}
	if err := sp.Open(&topology.TaskContext{Config: topology.Config{}}, out); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 5)
	for range 5 {
		go func() {
			_, err := s.Execute(context.Background(), "f", "x")
			errs <- err
		}()
	}
	testenv.WaitUntil(t, time.Minute, "two fetched, three queued", func() bool {
		st := s.Stats()
		return st.Fetched == 2 && st.Queued == 3 && sp.fetchers[0].buffered.Load() == 2
	})
	sp.Next()
	testenv.WaitUntil(t, time.Minute, "one emitted, one more fetched", func() bool {
		return out.emitted() == 1 && s.Stats().Fetched == 3
	})
	// Fail the emitted one: its client hears at once.
	sp.Fail(out.ids[0])
	if err := <-errs; !errors.Is(err, ErrFailed) {
		t.Errorf("the failed request's client got %v, want ErrFailed", err)
	}
	// Close: the two taken and not emitted fail; two stay queued.
	sp.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrFailed) {
			t.Errorf("a request the spout held got %v, want ErrFailed", err)
		}
	}
	if st := s.Stats(); st.Queued != 2 || st.Outstanding != 2 {
		t.Errorf("stats after close = %+v, want 2 queued and outstanding", st)
	}
	info, err := parseReturnInfo(out.values[0][1])
	if err != nil || info.addr() != s.InvocationsAddr() {
		t.Errorf("return-info %v = %+v, %v; want the server %s", out.values[0][1], info, err, s.InvocationsAddr())
	}
}

func TestSpoutConfiguration(t *testing.T) {
	tests := []struct {
		name string
		c    SpoutConfig
		conf topology.Config
		ok   bool
	}{
		{"storm's keys", SpoutConfig{Function: "f"}, topology.Config{KeyServers: []any{"127.0.0.1"}, KeyInvocationsPort: 1}, true},
		{"servers argument", SpoutConfig{Function: "f", Servers: []string{"127.0.0.1:1"}}, nil, true},
		{"no servers", SpoutConfig{Function: "f"}, topology.Config{}, false},
		{"a port in drpc.servers", SpoutConfig{Function: "f"}, topology.Config{KeyServers: []any{"127.0.0.1:1"}}, false},
		{"bad port key", SpoutConfig{Function: "f"}, topology.Config{KeyServers: []any{"h"}, KeyInvocationsPort: "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := NewSpout(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			err = sp.Open(&topology.TaskContext{Config: tt.conf}, &recordingCollector{})
			if (err == nil) != tt.ok {
				t.Errorf("Open = %v, want ok %v", err, tt.ok)
			}
			sp.Close()
		})
	}
	for _, c := range []SpoutConfig{{}, {Function: "f", Prefetch: -1}, {Function: "f", Servers: []string{"nohost"}}} {
		if _, err := NewSpout(c); err == nil {
			t.Errorf("NewSpout(%+v) accepted", c)
		}
	}
}
