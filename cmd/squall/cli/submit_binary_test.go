package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// TestDescribeBinary: a submission with a Go binary carries the outline
// this program loaded and the binary's SHA-256, so nimbus need not run it.
func TestDescribeBinary(t *testing.T) {
	req := &api.SubmitTopologyRequest{
		Topology:     "name: described\nspouts:\n  - id: words\n    go: squall.TestWordSpout\nbolts:\n  - id: log\n    go: squall.Null\nstreams:\n  - {from: words, to: log, grouping: {type: SHUFFLE}}\n",
		TopologyFile: "topology.yaml",
	}
	reg := topology.NewRegistry()
	builtin.Register(reg)
	topo, err := submission.Load(req, reg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	bin := []byte("\x7fELF not really, but bytes to hash")
	path := filepath.Join(t.TempDir(), "topology")
	if err := os.WriteFile(path, bin, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := describeBinary(req, topo, f); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	if req.GoBinarySha256 != hex.EncodeToString(sum[:]) {
		t.Errorf("sha256 %q, want %x", req.GoBinarySha256, sum)
	}
	o, err := submission.ParseOutline([]byte(req.GoBinaryOutline))
	if err != nil || o.Name != "described" || len(o.Components) != 2 {
		t.Errorf("outline %+v, %v; want described with 2 components", o, err)
	}
}
