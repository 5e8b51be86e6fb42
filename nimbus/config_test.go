package nimbus

import (
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	good := func() Config {
		c := DefaultConfig()
		c.Host = "nimbus1"
		c.Registry = stockRegistry()
		return c
	}
	if err := good().Validate(); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no host", func(c *Config) { c.Host = "" }, "Host"},
		{"bad gRPC address", func(c *Config) { c.GRPCAddr = "6627" }, "GRPCAddr"},
		{"bad HTTP address", func(c *Config) { c.HTTPAddr = "x" }, "HTTPAddr"},
		{"no local dir", func(c *Config) { c.LocalDir = "" }, "LocalDir"},
		{"no registry", func(c *Config) { c.Registry = nil }, "Registry"},
		{"no submissions", func(c *Config) { c.MaxSubmitBytes = 0 }, "MaxSubmitBytes"},
		{"no shutdown time", func(c *Config) { c.ShutdownTimeout = 0 }, "ShutdownTimeout"},
		{"bad limits", func(c *Config) { c.PackageLimits.MaxFiles = -1 }, "PackageLimits"},
		{"mistyped key", func(c *Config) { c.Cluster["nimbus.monitor.freq.secs"] = "often" }, "nimbus.monitor.freq.secs"},
		{"zero timeout", func(c *Config) { c.Cluster["nimbus.task.timeout.secs"] = 0 }, "nimbus.task.timeout.secs"},
		{"mistyped launch", func(c *Config) { c.Cluster[KeyTaskLaunchSecs] = "soon" }, KeyTaskLaunchSecs},
		{"negative launch", func(c *Config) { c.Cluster[KeyTaskLaunchSecs] = -1 }, KeyTaskLaunchSecs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			c.Cluster = c.Cluster.Merge(nil)
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tc.want)
			}
		})
	}
	if _, err := New(good(), nil); err == nil {
		t.Errorf("New without a cluster state succeeded")
	}
}

func TestReadLimits(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	err := c.ReadLimits(topology.Config{
		api.KeySubmitMaxBytes:          1 << 20,
		api.KeySubmitMaxConcurrent:     2,
		api.KeySubmitIdleTimeoutSecs:   5,
		api.KeySubmitTimeoutSecs:       float64(60), // as JSON decodes it
		api.KeyPackageMaxUnpackedBytes: 1 << 24,
		api.KeyPackageMaxFiles:         100,
		api.KeyPackageMaxRatio:         10,
		KeyHTTPReadTimeoutSecs:         7,
		KeyHTTPIdleTimeoutSecs:         8,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.MaxSubmitBytes, want.MaxConcurrentSubmits = 1<<20, 2
	want.SubmitIdleTimeout, want.SubmitTimeout = 5*time.Second, time.Minute
	want.PackageLimits = tarball.Limits{MaxBytes: 1 << 24, MaxFiles: 100, MaxRatio: 10}
	want.HTTP.ReadTimeout, want.HTTP.IdleTimeout = 7*time.Second, 8*time.Second
	if c.MaxSubmitBytes != want.MaxSubmitBytes || c.MaxConcurrentSubmits != want.MaxConcurrentSubmits ||
		c.SubmitIdleTimeout != want.SubmitIdleTimeout || c.SubmitTimeout != want.SubmitTimeout ||
		c.PackageLimits != want.PackageLimits || c.HTTP != want.HTTP {
		t.Errorf("ReadLimits = %+v, want %+v", c, want)
	}
	for _, bad := range []topology.Config{
		{api.KeySubmitMaxBytes: 0},
		{api.KeySubmitMaxConcurrent: -1},
		{api.KeyPackageMaxRatio: "lots"},
		{KeyHTTPIdleTimeoutSecs: 1.5},
	} {
		c := DefaultConfig()
		err := c.ReadLimits(bad)
		for key := range bad {
			if err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("ReadLimits(%v) = %v, want an error naming %s", bad, err, key)
			}
		}
	}
}
