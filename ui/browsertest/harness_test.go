package browsertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/ui"
)

var screenshots = flag.String("screenshots", "", "write a PNG of each page into this directory (docs/ui: -screenshots=../../docs/ui)")

// squallBin is the squall binary built for the tests.
var squallBin string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "squall-ui-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	squallBin = filepath.Join(dir, "squall")
	build := exec.Command("go", "build", "-o", squallBin, "github.com/squallstream/squall/cmd/squall")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build squall:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// need fails the test when CI is set, and skips it otherwise, saying what
// is missing and how to install it.
func need(t *testing.T, what string, err error) {
	t.Helper()
	msg := fmt.Sprintf("%s: %v (run .ci/install-test-deps)", what, err)
	if testenv.CI() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// devCluster is `squall dev-cluster`: a ZooKeeper, a nimbus and a
// supervisor with two slots, on 127.0.0.1.
type devCluster struct {
	t       *testing.T
	dir     string
	conf    string // its squall.yaml, for the CLI
	rest    string // nimbus's REST address
	logPath string
	proc    *procgroup.Process
}

func startDevCluster(t *testing.T) *devCluster {
	t.Helper()
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err != nil {
		need(t, "ZooKeeper (Debian package zookeeper)", err)
	}
	c := &devCluster{t: t, dir: t.TempDir()}
	c.logPath = filepath.Join(c.dir, "dev-cluster.log")
	out, err := os.Create(c.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ports := testenv.FreePorts(t, 2)
	cmd := exec.Command(squallBin, "dev-cluster", "--dir", c.dir,
		"--zookeeper-port", "0", "--nimbus-port", "0", "--ui-port", "0",
		"--ports", strconv.Itoa(ports[0])+","+strconv.Itoa(ports[1]))
	cmd.Stdout, cmd.Stderr = out, out
	if c.proc, err = procgroup.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	testenv.WaitUntil(t, 90*time.Second, "the dev cluster to be ready", func() bool {
		if c.proc.Exited() {
			t.Fatalf("dev-cluster exited: %v\n%s", c.proc.Status(), c.tail(40))
		}
		return c.hasLine("squall dev cluster ready")
	})
	c.conf = filepath.Join(c.dir, "squall.yaml")
	var conf struct {
		UIPort int `yaml:"ui.port"`
	}
	data, err := os.ReadFile(c.conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &conf); err != nil || conf.UIPort == 0 {
		t.Fatalf("squall.yaml: ui.port %d, %v", conf.UIPort, err)
	}
	c.rest = "127.0.0.1:" + strconv.Itoa(conf.UIPort)
	return c
}

func (c *devCluster) stop() {
	c.proc.Stop(30 * time.Second)
	metas, _ := filepath.Glob(filepath.Join(layout.WorkersRoot(c.localDir()), "*", "meta.json"))
	for _, m := range metas {
		var meta layout.WorkerMeta
		if layout.ReadJSON(m, &meta) == nil && meta.Pid > 0 {
			syscall.Kill(-meta.Pid, syscall.SIGKILL)
		}
	}
	if c.t.Failed() {
		c.t.Logf("--- dev-cluster output:\n%s", c.tail(80))
	}
}

func (c *devCluster) localDir() string { return filepath.Join(c.dir, "local") }

func (c *devCluster) hasLine(prefix string) bool {
	f, err := os.Open(c.logPath)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), prefix) {
			return true
		}
	}
	return false
}

func (c *devCluster) tail(n int) string {
	data, _ := os.ReadFile(c.logPath)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// get reads a REST route of nimbus into v; it returns the HTTP status.
func (c *devCluster) get(path string, v any) int {
	c.t.Helper()
	resp, err := http.Get("http://" + c.rest + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			c.t.Fatalf("GET %s: %v: %s", path, err, data)
		}
	}
	return resp.StatusCode
}

// reportError records a component error in the cluster state, as a
// worker does when a component reports one.
func (c *devCluster) reportError(id string, e cluster.ErrorInfo) {
	c.t.Helper()
	var conf struct {
		Servers []string `yaml:"storm.zookeeper.servers"`
		Port    int      `yaml:"storm.zookeeper.port"`
		Root    string   `yaml:"storm.zookeeper.root"`
	}
	data, err := os.ReadFile(c.conf)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &conf); err != nil {
		c.t.Fatal(err)
	}
	cfg := cluster.DefaultConfig()
	cfg.Servers = []string{net.JoinHostPort(conf.Servers[0], strconv.Itoa(conf.Port))}
	cfg.Root = conf.Root
	zk, err := cluster.NewZooKeeper(cfg, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	defer zk.Close()
	ctx, cancel := context.WithTimeout(c.t.Context(), testenv.Patience(30*time.Second))
	defer cancel()
	if err := zk.ReportError(ctx, id, e); err != nil {
		c.t.Fatalf("report an error: %v", err)
	}
}

// uiServer serves the UI as nimbus will (docs/ui.md, wiring plan): the
// handler at "/" and nimbus's REST API under "/api/", here proxied to the
// dev cluster's nimbus. Switches let a test turn on what phase 2 brings:
// bearer tokens (checked by package auth, as nimbus will check them) and
// the logviewer route.
type uiServer struct {
	*httptest.Server
	// authn, when set, must accept every /api/ request (auth.Guard.HTTP's
	// check, without the identity forwarding this proxy does not need).
	authn atomic.Pointer[auth.Authenticator]
	// logviewer serves /api/v1/logviewer/log from the cluster's log dir,
	// as the contract in docs/ui.md says; off, nimbus answers (404).
	logviewer atomic.Bool
	// readOnly makes the cluster configuration say ui.actions.enabled:
	// false, as nimbus started with it would.
	readOnly atomic.Bool
}

func startUIServer(t *testing.T, c *devCluster) *uiServer {
	t.Helper()
	target, _ := url.Parse("http://" + c.rest)
	proxy := httputil.NewSingleHostReverseProxy(target)
	s := &uiServer{}
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !s.readOnly.Load() || resp.Request.URL.Path != "/api/v1/cluster/configuration" || resp.StatusCode != http.StatusOK {
			return nil
		}
		var conf map[string]any
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := json.Unmarshal(data, &conf); err != nil {
			return err
		}
		conf["ui.actions.enabled"] = false
		data, _ = json.Marshal(conf)
		resp.Body = io.NopCloser(strings.NewReader(string(data)))
		resp.ContentLength = int64(len(data))
		resp.Header.Set("Content-Length", strconv.Itoa(len(data)))
		return nil
	}
	logs := newLogviewer(filepath.Join(c.localDir(), "logs"))
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := s.authn.Load(); a != nil {
			if _, err := a.FromHTTP(r); err != nil {
				w.Header().Set("WWW-Authenticate", `Bearer realm="squall"`)
				writeError(w, http.StatusUnauthorized, err.Error())
				return
			}
			r.Header.Del("Authorization")
		}
		if s.logviewer.Load() && r.URL.Path == "/api/v1/logviewer/log" {
			logs.ServeHTTP(w, r)
			return
		}
		proxy.ServeHTTP(w, r)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.Handle("/", ui.New())
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": fmt.Sprintf("%d %s", status, http.StatusText(status)), "errorMessage": msg})
}

// logviewer answers GET /api/v1/logviewer/log?host=&file=&start=&length=
// as docs/ui.md's wiring plan asks of nimbus's proxy, from one node's logs
// directory: the bytes [start, start+length) of the file as text/plain
// (the last length bytes without start), with X-Log-Start and
// X-Log-File-Length. The UI's logs page is built against it.
type logviewer struct{ dir string }

func newLogviewer(dir string) *logviewer { return &logviewer{dir: dir} }

const maxLogRead = 10 << 20 // Storm's logviewer caps a page at 10 MiB

func (l *logviewer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("host") != "127.0.0.1" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no logviewer on host %q", q.Get("host")))
		return
	}
	root, err := os.OpenRoot(l.dir)
	if err != nil {
		writeError(w, http.StatusNotFound, "no logs on this node")
		return
	}
	defer root.Close()
	f, err := root.Open(q.Get("file"))
	if errors.Is(err, os.ErrNotExist) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no log %q", q.Get("file")))
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("log %q: %v", q.Get("file"), err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("log %q is not a file", q.Get("file")))
		return
	}
	length := int64(51200)
	if s := q.Get("length"); s != "" {
		if length, err = strconv.ParseInt(s, 10, 64); err != nil || length < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("length %q: want a number of bytes", s))
			return
		}
	}
	length = min(length, maxLogRead)
	start := max(0, st.Size()-length)
	if s := q.Get("start"); s != "" {
		if start, err = strconv.ParseInt(s, 10, 64); err != nil || start < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("start %q: want a byte offset", s))
			return
		}
	}
	start = min(start, st.Size())
	buf := make([]byte, min(length, st.Size()-start))
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Log-Start", strconv.FormatInt(start, 10))
	w.Header().Set("X-Log-File-Length", strconv.FormatInt(st.Size(), 10))
	w.Write(buf[:n])
}

// topologyDef is what the tests read of a topology definition: its
// components and streams, the graph the UI must draw.
type topologyDef struct {
	Name    string                `yaml:"name"`
	Spouts  []struct{ ID string } `yaml:"spouts"`
	Bolts   []struct{ ID string } `yaml:"bolts"`
	Streams []struct {
		From string `yaml:"from"`
		To   string `yaml:"to"`
	} `yaml:"streams"`
}

func readDef(t *testing.T, path string) topologyDef {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d topologyDef
	if err := yaml.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// ctxTimeout is a context for one step of a test.
func ctxTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, testenv.Patience(d))
}
