package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
)

// A supervisor refuses, at start and before it connects anywhere, a
// topology's ZooKeeper credential in its own configuration: the cluster
// derives one per topology from its secret, and one set here would go to
// every worker of every topology (or, without ZooKeeper authentication,
// lock nimbus out of the nodes the workers create).
func TestSupervisorRefusesTopologyZooKeeperAuth(t *testing.T) {
	for _, tt := range []struct {
		name string
		conf []string
		key  string
	}{
		{"scheme and payload", []string{"storm.zookeeper.topology.auth.scheme=digest", "storm.zookeeper.topology.auth.payload=t:p"}, "storm.zookeeper.topology.auth.scheme"},
		{"payload alone", []string{"storm.zookeeper.topology.auth.payload=t:p"}, "storm.zookeeper.topology.auth.payload"},
		{"beside the daemons' credential", []string{
			"storm.zookeeper.auth.scheme=digest", "storm.zookeeper.auth.payload=d:p",
			"storm.zookeeper.topology.auth.scheme=digest", "storm.zookeeper.topology.auth.payload=t:p",
		}, "storm.zookeeper.topology.auth.scheme"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"supervisor", "-c", "storm.local.dir=" + t.TempDir(),
				// Nothing listens there: the check must come first.
				"-c", "storm.zookeeper.servers=[\"127.0.0.1:1\"]"}
			for _, c := range tt.conf {
				args = append(args, "-c", c)
			}
			// Without the check it would wait for ZooKeeper until this
			// deadline.
			ctx, cancel := context.WithTimeout(t.Context(), testenv.Patience(60*time.Second))
			defer cancel()
			var stdout, errOut bytes.Buffer
			code := Main(ctx, args, &stdout, &errOut)
			stderr := errOut.String()
			if code == 0 || !strings.Contains(stderr, tt.key) || !strings.Contains(stderr, "derived") {
				t.Fatalf("squall supervisor %v: exit %d, stderr %q; want a refusal naming %s", tt.conf, code, stderr, tt.key)
			}
		})
	}
}
