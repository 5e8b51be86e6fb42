package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/nimbus"
	"github.com/squallstream/squall/topology"
)

// testCluster is a nimbus on an in-memory cluster state with one
// supervisor of four slots, for the client commands.
type testCluster struct {
	mem  *cluster.Memory
	grpc string
}

func startNimbus(t *testing.T) *testCluster {
	t.Helper()
	mem := cluster.NewMemory()
	st := mem.Session()
	t.Cleanup(func() { st.Close() })
	sup := mem.Session()
	t.Cleanup(func() { sup.Close() })
	now := time.Now()
	if err := sup.RegisterSupervisor(t.Context(), cluster.SupervisorInfo{ID: "a", Host: "127.0.0.1",
		Ports: []int{6700, 6701, 6702, 6703}, StartTime: now, Time: now, Version: "test"}); err != nil {
		t.Fatal(err)
	}
	cfg := nimbus.DefaultConfig()
	cfg.Host = "127.0.0.1"
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = ""
	cfg.LocalDir = t.TempDir()
	cfg.Registry = stockRegistry(io.Discard)
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	n, err := nimbus.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("nimbus: %v", err)
		}
	})
	select {
	case <-n.Ready():
	case err := <-done:
		t.Fatalf("nimbus: %v", err)
	}
	return &testCluster{mem: mem, grpc: n.GRPCAddr()}
}

// isolate gives the test a home and a working directory of its own, so
// that no configuration of the machine's is found.
func isolate(t *testing.T) (home, wd string) {
	t.Helper()
	home, wd = t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Chdir(wd)
	return home, wd
}

// writeClientConf writes a squall.yaml pointing at c's nimbus.
func writeClientConf(t *testing.T, path string, c *testCluster) {
	t.Helper()
	host, port, _ := splitHostPort(c.grpc)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := writeYAML(path, map[string]any{topology.KeyNimbusSeeds: []any{host}, topology.KeyNimbusGRPCPort: mustAtoi(port)}); err != nil {
		t.Fatal(err)
	}
}

// squall runs the command line in process and returns its exit code and
// output.
func squall(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := MainWith(ctx, args, &stdout, &stderr, Options{Registry: nil})
	return code, stdout.String(), stderr.String()
}

// repoRoot is the repository's root, where the docs' examples run: the
// test starts in cmd/squall/cli.
var repoRoot = func() string {
	root, err := filepath.Abs("../../..")
	if err != nil {
		panic(err)
	}
	return root
}()

// docCommands returns the squall commands of the first shell block after
// heading in a markdown file, without their comments.
func docCommands(t *testing.T, file, heading string) [][]string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, heading)
	if i < 0 {
		t.Fatalf("%s has no %q", file, heading)
	}
	start := strings.Index(text[i:], "```sh\n")
	end := strings.Index(text[i+start+6:], "```")
	var cmds [][]string
	s := bufio.NewScanner(strings.NewReader(text[i+start+6 : i+start+6+end]))
	for s.Scan() {
		line, _, _ := strings.Cut(s.Text(), "#")
		if f := strings.Fields(line); len(f) > 0 && f[0] == "squall" {
			cmds = append(cmds, f[1:])
		}
	}
	if len(cmds) == 0 {
		t.Fatalf("no squall commands under %q in %s", heading, file)
	}
	return cmds
}

// TestDocsManagingTopologies runs the commands of docs/operations.md's
// "Managing topologies" as written, in order, from the repository's root,
// against a nimbus found without --config (~/.squall/squall.yaml).
func TestDocsManagingTopologies(t *testing.T) {
	c := startNimbus(t)
	home, _ := isolate(t)
	writeClientConf(t, filepath.Join(home, ".squall", "squall.yaml"), c)
	t.Chdir(repoRoot)
	for _, args := range docCommands(t, "docs/operations.md", "## Managing topologies") {
		ctx := t.Context()
		if args[0] == "monitor" {
			// It runs until Ctrl-C.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
		}
		code, out, errOut := squall(t, ctx, args...)
		if code != 0 {
			t.Errorf("squall %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
	}
}

// TestDocsRebalanceExample: the rebalance of the operations guide and the
// CLI's help works on the docs' own topology, examples/wordcount.
func TestDocsRebalanceExample(t *testing.T) {
	c := startNimbus(t)
	isolate(t)
	t.Chdir(repoRoot)
	if code, out, errOut := squall(t, t.Context(), "submit", "--nimbus", c.grpc, "examples/wordcount"); code != 0 {
		t.Fatalf("submit: %s%s", out, errOut)
	}
	example := newRebalanceCmd().Example
	args := strings.Fields(strings.TrimSpace(example))[1:]
	args = append(args, "--nimbus", c.grpc)
	if code, out, errOut := squall(t, t.Context(), args...); code != 0 {
		t.Errorf("squall %s: %s%s", strings.Join(args, " "), out, errOut)
	}
}

// TestFindClientConfig: without --config a client command reads
// ./squall.yaml, else a running dev-cluster's, else
// ~/.squall/squall.yaml, else nothing (nimbus on 127.0.0.1).
func TestFindClientConfig(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		local bool
		dev   int // the dev-cluster's pid; 0: none
		home  bool
		want  string
	}{
		{"nothing", false, 0, false, ""},
		{"home", false, 0, true, "home"},
		{"dev-cluster over home", false, os.Getpid(), true, "dev"},
		{"dead dev-cluster", false, dead.Process.Pid, true, "home"},
		{"local over all", true, os.Getpid(), true, "local"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home, wd := isolate(t)
			files := map[string]string{
				"local": filepath.Join(wd, "squall.yaml"),
				"dev":   filepath.Join(t.TempDir(), "squall.yaml"),
				"home":  filepath.Join(home, ".squall", "squall.yaml"),
			}
			for name, path := range files {
				if name == "local" && !tt.local || name == "home" && !tt.home || name == "dev" && tt.dev == 0 {
					continue
				}
				os.MkdirAll(filepath.Dir(path), 0o700)
				writeYAML(path, map[string]any{topology.KeyNimbusSeeds: []any{name + ".example.com"}})
			}
			if tt.dev != 0 {
				os.MkdirAll(filepath.Join(home, ".squall"), 0o700)
				writeYAML(devClusterFile(), devClusterPointer{PID: tt.dev, Config: files["dev"]})
			}
			var f clientFlags
			conf, err := f.clientConfig()
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"127.0.0.1:6627"}
			if tt.want != "" {
				want = []string{tt.want + ".example.com:6627"}
			}
			if got := f.seeds(conf); !equal(got, want) {
				t.Errorf("seeds = %v (from %s), want %v", got, f.source, want)
			}
		})
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestNoNimbusSaysWhereItLooked: when nimbus cannot be reached, the error
// names the address and where it came from.
func TestNoNimbusSaysWhereItLooked(t *testing.T) {
	isolate(t)
	code, _, errOut := squall(t, t.Context(), "list", "-c", "nimbus.grpc.port=1", "--timeout", "2s")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1:1") || !strings.Contains(errOut, "no configuration") {
		t.Errorf("list without a nimbus: exit %d, %q", code, errOut)
	}
}

func TestParseSeconds(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"5", 5 * time.Second},
		{"2.5", 2500 * time.Millisecond},
		{"500ms", 500 * time.Millisecond},
		{"1m", time.Minute},
		{"0", 0},
		{"-1", 0},
		{"soon", 0},
		{"NaN", 0},
		{"100000", 0},
	} {
		got, err := parseSeconds(tt.in)
		if (err == nil) != (tt.want > 0) || got != tt.want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

// TestOperationFlags: what Storm's CLI takes and squall does not, or a
// value that cannot be right, is refused before anything is sent, saying
// why.
func TestOperationFlags(t *testing.T) {
	isolate(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"kill", "wc", "-w", "-5"}, "-w -5"},
		{[]string{"rebalance", "wc", "-w", "-1"}, "-w -1"},
		{[]string{"rebalance", "wc", "-n", "0"}, "-n 0"},
		{[]string{"rebalance", "wc", "-e", "split=0"}, `-e "split=0"`},
		{[]string{"rebalance", "wc", "-r", `{"split": {"memory": 512}}`}, "no resource-aware scheduler"},
		{[]string{"rebalance", "wc", "-t", `{"topology.debug": true}`}, "submit it again with -c"},
		{[]string{"monitor", "wc", "-m", "split", "-i", "0"}, "-i"},
	} {
		code, _, errOut := squall(t, t.Context(), append(tt.args, "--nimbus", "127.0.0.1:1", "--timeout", "1s")...)
		if code == 0 || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, "unavailable") {
			t.Errorf("squall %v: exit %d, %q; want a refusal naming %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestGetErrorsPrintsStormJSON: get-errors prints Storm's shape, the
// latest error of each component (none yet: an empty Comp-Errors), or
// Storm's failure.
func TestGetErrorsPrintsStormJSON(t *testing.T) {
	c := startNimbus(t)
	isolate(t)
	t.Chdir(repoRoot)
	if code, out, errOut := squall(t, t.Context(), "submit", "--nimbus", c.grpc, "examples/wordcount"); code != 0 {
		t.Fatalf("submit: %s%s", out, errOut)
	}
	_, list, _ := squall(t, t.Context(), "list", "--nimbus", c.grpc)
	id := regexp.MustCompile(`wordcount-\d+-\d+`).FindString(list)
	// Storm prints "Comp-Errors" even when it is empty: scripts read it.
	if code, out, errOut := squall(t, t.Context(), "get-errors", "--nimbus", c.grpc, "wordcount"); code != 0 ||
		strings.TrimSpace(out) != `{"Topology Name":"wordcount","Comp-Errors":{}}` {
		t.Errorf("get-errors of a topology without errors: exit %d, %q%s, want Storm's empty Comp-Errors", code, out, errOut)
	}
	st := c.mem.Session()
	defer st.Close()
	now := time.Now()
	for i, e := range []cluster.ErrorInfo{
		{Component: "split", Task: 2, Message: "ValueError: first", Time: now.Add(-time.Minute)},
		{Component: "split", Task: 3, Message: "ValueError: latest", Time: now},
		{Component: "count", Task: 4, Message: "panic: counted", Time: now},
	} {
		e.Host, e.Port = "127.0.0.1", 6700+i
		if err := st.ReportError(t.Context(), id, e); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := squall(t, t.Context(), "get-errors", "--nimbus", c.grpc, "wordcount")
	if code != 0 {
		t.Fatalf("get-errors: %s%s", out, errOut)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("get-errors printed %q: %v", out, err)
	}
	want := map[string]any{"Topology Name": "wordcount", "Comp-Errors": map[string]any{"split": "ValueError: latest", "count": "panic: counted"}}
	if b1, b2 := mustJSON(got), mustJSON(want); b1 != b2 {
		t.Errorf("get-errors = %s, want %s", b1, b2)
	}
	code, out, _ = squall(t, t.Context(), "get-errors", "--nimbus", c.grpc, "nope")
	if code == 0 || strings.TrimSpace(out) != `{"Failure":"No topologies running with name nope"}` {
		t.Errorf("get-errors of an unknown topology: exit %d, %q", code, out)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestListAndSubmitSayWhenSlotsAreShort: a topology asking for more
// workers than there are free slots is told so at submission and in list,
// on stderr, with Storm's table unchanged on stdout.
func TestListAndSubmitSayWhenSlotsAreShort(t *testing.T) {
	c := startNimbus(t)
	isolate(t)
	t.Chdir(repoRoot)
	code, out, errOut := squall(t, t.Context(), "submit", "--nimbus", c.grpc, "-c", "topology.workers=6", "examples/wordcount")
	if code != 0 || !strings.Contains(errOut, "wordcount: ") || !strings.Contains(errOut, "slots") {
		t.Errorf("submit: exit %d, %q %q; want a note about slots", code, out, errOut)
	}
	code, out, errOut = squall(t, t.Context(), "list", "--nimbus", c.grpc)
	if code != 0 || !strings.Contains(errOut, "wordcount: ") || strings.Contains(out, "slots") {
		t.Errorf("list: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestSubmitRefusedPackageNamesItsDirectory: when nimbus refuses a
// package, the error says which directory was packaged (a topology file's
// whole directory, when it has no resources/ beside it).
func TestSubmitRefusedPackageNamesItsDirectory(t *testing.T) {
	c := startNimbus(t)
	isolate(t)
	dir := t.TempDir()
	yaml := "name: roomy\nspouts:\n  - id: words\n    go: squall.TestWordSpout\nbolts:\n  - id: sink\n    go: squall.Null\nstreams:\n  - {from: words, to: sink, grouping: {type: SHUFFLE}}\n"
	if err := os.WriteFile(filepath.Join(dir, "topology.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	// Zeros compress far beyond nimbus.package.max.ratio.
	if err := os.WriteFile(filepath.Join(dir, "zeros.bin"), make([]byte, 8<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := squall(t, t.Context(), "submit", "--nimbus", c.grpc, filepath.Join(dir, "topology.yaml"))
	if code == 0 || !strings.Contains(errOut, "refused the package of "+dir) || !strings.Contains(errOut, "nimbus.package.max.ratio") {
		t.Errorf("submit: exit %d, %q %q; want a refusal naming %s and the limit", code, out, errOut, dir)
	}
}
