package nimbus

import (
	"strings"
	"testing"
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
		{"no validate time", func(c *Config) { c.ValidateTimeout = 0 }, "ValidateTimeout"},
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
