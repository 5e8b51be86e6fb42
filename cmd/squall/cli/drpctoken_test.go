package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/testenv"
)

// `squall drpc` with drpc.worker.tokens and without TLS refuses to start,
// naming the keys to set: a worker token is a bearer token, never sent in
// clear text.
func TestDRPCWorkerTokensNeedTLS(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testenv.Patience(60*time.Second))
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := Main(ctx, []string{"drpc", "-c", "drpc.worker.tokens=true", "-c", `storm.zookeeper.servers=["127.0.0.1:1"]`,
		"-c", "drpc.port=0", "-c", "drpc.invocations.port=0", "-c", "drpc.http.port=0"}, &stdout, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "drpc.tls.cert.path") || ctx.Err() != nil {
		t.Fatalf("squall drpc with worker tokens and no TLS: exit %d, stderr %q; want a refusal naming drpc.tls.cert.path", code, stderr.String())
	}
}
