package e2e_test

import (
	"bytes"
	"maps"
	"mime/multipart"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/tarball"
)

// expectedCounts counts the words of the word-count test's input.
func expectedCounts(t *testing.T) map[string]int64 {
	t.Helper()
	data, err := os.ReadFile("testdata/wordcount/resources/sentences.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, w := range strings.Fields(string(data)) {
		want[w]++
	}
	return want
}

var topLine = regexp.MustCompile(`(?m)^\s*\d+\. (\S+)\s+(\d+)$`)

// finalCounts reads the ranking the top bolt printed when it stopped.
func finalCounts(t *testing.T, logs string) map[string]int64 {
	t.Helper()
	i := strings.LastIndex(logs, `top 1000 of "top":`)
	if i < 0 {
		t.Fatalf("the top bolt printed no ranking")
	}
	got := map[string]int64{}
	for _, m := range topLine.FindAllStringSubmatch(logs[i:], -1) {
		n, _ := strconv.ParseInt(m[2], 10, 64)
		got[m[1]] = n
	}
	return got
}

// waitAcked waits until the topology's spout acked n tuples.
func (c *cluster) waitAcked(id string, n int64, timeout time.Duration) topologyPage {
	c.t.Helper()
	var p topologyPage
	waitUntil(c.t, timeout, "all spout tuples acked", func() bool {
		p = c.topology(id)
		return len(p.Spouts) == 1 && p.Spouts[0].Acked >= n
	})
	return p
}

func TestClusterWordCount(t *testing.T) {
	needPython(t)
	c := newCluster(t, 2)
	want := expectedCounts(t)
	lines := int64(2000)

	// Submitted with the CLI.
	start := time.Now()
	out := c.squall("submit", "testdata/wordcount")
	if !strings.Contains(out, "Submitted topology e2e-wordcount") {
		t.Fatalf("submit said %q", out)
	}
	id := c.topologyID("e2e-wordcount")
	waitUntil(t, 30*time.Second, "the first tuple", func() bool {
		p := c.topology(id)
		return len(p.Bolts) > 0 && p.Bolts[0].Executed > 0 || len(p.Spouts) > 0 && p.Spouts[0].Emitted > 0
	})
	t.Logf("submit to first tuple seen by nimbus: %v (heartbeats every second)", time.Since(start))
	p := c.waitAcked(id, lines, 60*time.Second)
	if p.Workers != 2 || len(c.workerPids(id)) != 2 {
		t.Errorf("topology runs in %d workers (%d processes), want 2", p.Workers, len(c.workerPids(id)))
	}
	list := c.squall("list")
	if !regexp.MustCompile(`e2e-wordcount\s+ACTIVE\s+\d+\s+2\s+\d+\s+` + regexp.QuoteMeta(id)).MatchString(list) {
		t.Errorf("list:\n%s", list)
	}
	if out := c.squall("kill", "-w", "0", "e2e-wordcount"); !strings.Contains(out, "Killed topology: e2e-wordcount") {
		t.Errorf("kill said %q", out)
	}
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
	if got := finalCounts(t, c.workerLogs(id)); !maps.Equal(got, want) {
		t.Errorf("counts = %v\nwant %v", got, want)
	}
	waitUntil(t, 30*time.Second, "the topology to go", func() bool {
		return strings.Contains(c.squall("list"), "No topologies running")
	})

	// Submitted with curl, as multipart, under another name.
	var pkg bytes.Buffer
	if err := tarball.Create(&pkg, "testdata/wordcount/resources"); err != nil {
		t.Fatal(err)
	}
	pkgFile := filepath.Join(t.TempDir(), "resources.tar.gz")
	os.WriteFile(pkgFile, pkg.Bytes(), 0o644)
	if curl, err := exec.LookPath("curl"); err == nil {
		cmd := exec.Command(curl, "-sS", "-f", "-F", "topology=@testdata/wordcount/topology.yaml", "-F", "package=@"+pkgFile,
			"-F", "name=e2e-rest", "http://"+c.http+"/api/v1/topologies")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"status":"success"`) {
			t.Fatalf("curl submit: %v: %s", err, out)
		}
	} else {
		// No curl: the same multipart request from Go.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		def, _ := os.ReadFile("testdata/wordcount/topology.yaml")
		fw, _ := mw.CreateFormFile("topology", "topology.yaml")
		fw.Write(def)
		fw, _ = mw.CreateFormFile("package", "resources.tar.gz")
		fw.Write(pkg.Bytes())
		mw.WriteField("name", "e2e-rest")
		mw.Close()
		if code := c.rest("POST", "/api/v1/topologies", &body, mw.FormDataContentType(), nil); code != 200 {
			t.Fatalf("REST submit: HTTP %d", code)
		}
	}
	id = c.topologyID("e2e-rest")
	c.waitAcked(id, lines, 60*time.Second)
	var op map[string]string
	if code := c.rest("POST", "/api/v1/topology/"+id+"/kill/0", nil, "", &op); code != 200 || op["status"] != "success" {
		t.Fatalf("REST kill: HTTP %d %v", code, op)
	}
	waitUntil(t, 30*time.Second, "the workers to stop", func() bool { return len(c.workerPids(id)) == 0 })
	if got := finalCounts(t, c.workerLogs(id)); !maps.Equal(got, want) {
		t.Errorf("counts via REST = %v\nwant %v", got, want)
	}
}
