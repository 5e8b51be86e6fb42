package drpc_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/squallstream/squall/adapters"
	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/shell"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// The finish hook of the Node and Ruby adapters, in a drpc: chain: split
// (Go) sends one tuple per word; count (a plain Bolt in the language)
// answers the request's tuple count from its finish hook.
func TestFinishBatchAdapters(t *testing.T) {
	for _, c := range []struct{ lang, interp, script string }{
		{"node", "node", "count.js"},
		{"ruby", "ruby", "count.rb"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			if _, err := exec.LookPath(c.interp); err != nil {
				if testenv.CI() {
					t.Fatalf("%s is required: %v", c.interp, err)
				}
				t.Skipf("%s not found: %v", c.interp, err)
			}
			yaml := fmt.Sprintf(`
name: finish-%s
drpc:
  function: count
  bolts:
    - id: split
      go: test.Split
      parallelism: 2
    - id: count
      shell: {command: [%s, %s], fields: [id, count]}
      finishBatch: true
      parallelism: 2
      grouping: {type: FIELDS, args: [id]}
`, c.lang, c.interp, c.script)
			topo, err := topology.Load([]byte(yaml), topology.LoadOptions{Registry: linearRegistry()})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			s := startServer(t, testConfig())
			host, port, _ := net.SplitHostPort(s.InvocationsAddr())
			p, _ := strconv.Atoi(port)
			topo.Config = topo.Config.Merge(topology.Config{drpc.KeyServers: []any{host}, drpc.KeyInvocationsPort: p})
			env, err := adapters.Install(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			resources, err := filepath.Abs("testdata/finish-adapters/resources")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(resources, c.script)); err != nil {
				t.Fatal(err)
			}
			runWorker(t, worker.Config{Topology: topo, ResourcesDir: resources, Shell: shell.Options{Env: env}})
			warmUp(t, s.HTTPAddr(), "count", "warm", c.lang+":1")
			for args, n := range map[string]int{"a b a": 3, "one": 1, "": 0, "x y z w v u": 6} {
				want := fmt.Sprintf("%s:%d", c.lang, n)
				if code, body := post(t, s.HTTPAddr(), "count", args); code != http.StatusOK || body != want {
					t.Errorf("POST count %q = %d %q, want 200 %q", args, code, body, want)
				}
			}
		})
	}
}

// warmUp calls function until it answers want: the spout starts before
// the shell children are up, and on a loaded machine requests that wait
// for them longer than the tuple timeout fail.
func warmUp(t *testing.T, addr, function, args, want string) {
	t.Helper()
	testenv.WaitUntil(t, 120*time.Second, fmt.Sprintf("%s(%q) to answer %q", function, args, want), func() bool {
		code, body, err := doErr(http.MethodPost, "http://"+addr+"/drpc/"+function, args)
		return err == nil && code == http.StatusOK && body == want
	})
}
