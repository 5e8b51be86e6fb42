package cli_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/squallstream/squall/cmd/squall/cli"
)

// TestDryRunRedactsConfig: the configuration squall local --dry-run
// prints hides values whose key looks secret, as REST and the logs do.
func TestDryRunRedactsConfig(t *testing.T) {
	yaml := strings.Replace(lintYAML, "topology.workers: 1", "topology.workers: 1\n  db.password: hunter2\n  kafka.sasl.jaas.config: secret-jaas\n  my.apiKey: k-123", 1)
	dir := writeTopology(t, yaml, "split.sh")
	var stdout, stderr bytes.Buffer
	code := cli.Main(context.Background(), []string{"local", "--dry-run", dir}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("squall local --dry-run = %d\nstderr:\n%s", code, &stderr)
	}
	out := stdout.String()
	for _, secret := range []string{"hunter2", "k-123"} {
		if strings.Contains(out+stderr.String(), secret) {
			t.Errorf("the dry run printed the secret %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"db.password: *****", "my.apiKey: *****", "topology.workers: 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the dry run's configuration lacks %q:\n%s", want, out)
		}
	}
}
