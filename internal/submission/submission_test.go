package submission

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/topology/builtin"
)

// TestLoadIncludesOnlyThePackage: a definition includes files of its
// package; anything else, by path or through a link, is refused without
// being read.
func TestLoadIncludesOnlyThePackage(t *testing.T) {
	reg := topology.NewRegistry()
	builtin.Register(reg)
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte("config: {topology.workers: 7}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "base.yaml"), []byte("config: {topology.debug: true}\n"), 0o600)
	os.Symlink(secret, filepath.Join(dir, "link.yaml"))
	const main = `name: inc
includes:
  - {file: %s}
spouts:
  - {id: words, go: squall.TestWordSpout}
bolts:
  - {id: log, go: squall.Log}
streams:
  - {from: words, to: log, grouping: {type: SHUFFLE}}
`
	for _, tt := range []struct {
		include string
		ok      bool
	}{
		{"base.yaml", true},
		{secret, false},
		{"../" + filepath.Base(outside) + "/secret.yaml", false},
		{"link.yaml", false},
		{"missing.yaml", false},
	} {
		req := &api.SubmitTopologyRequest{Topology: strings.Replace(main, "%s", tt.include, 1)}
		top, err := Load(req, reg, dir)
		if (err == nil) != tt.ok {
			t.Errorf("Load(include %s) = %v, want ok %v", tt.include, err, tt.ok)
			continue
		}
		if err != nil {
			if !errors.Is(err, topology.ErrInclude) {
				t.Errorf("Load(include %s) = %v, want ErrInclude", tt.include, err)
			}
			if strings.Contains(err.Error(), "topology.workers") {
				t.Errorf("Load(include %s) = %v: shows the file outside", tt.include, err)
			}
			continue
		}
		if !top.Config.Bool(topology.KeyDebug, false) {
			t.Errorf("Load(include %s): the include's config is missing", tt.include)
		}
	}
}
