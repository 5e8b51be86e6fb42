package browsertest

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/squallstream/squall/auth"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/testenv"
)

// The word count example, as users run it.
const exampleDir = "../../examples/wordcount"

// TestUI loads every page of the UI in chromium against a dev cluster
// running the word count, submitted through the UI: the graph shows every
// component and stream, the numbers are the REST API's, the actions change
// the cluster, and each page passes axe-core and fits 1366x768.
func TestUI(t *testing.T) {
	start := time.Now()
	c := startDevCluster(t)
	s := startUIServer(t, c)
	// The UI as nimbus serves it, on ui.port beside the REST API.
	nimbusUI := "http://" + c.rest
	b := startBrowser(t, nimbusUI)
	def := readDef(t, filepath.Join(exampleDir, "topology.yaml"))
	t.Logf("cluster and browser up in %v", time.Since(start).Round(time.Millisecond))

	b.load(nimbusUI)

	id := submit(t, b, def)
	waitFlowing(t, c, id, def)

	failing := def.Bolts[0].ID
	task := reportError(t, c, id, failing)

	clusterPage(t, b, c, def)
	topologyPage(t, b, c, id, def)
	errorsShown(t, b, id, failing, task)
	deactivateByKeyboard(t, b, c, id)
	compareTopology(t, b, c, id)
	componentPage(t, b, c, id, def)
	// The switches nimbus does not have yet (the logviewer on the
	// supervisors, bearer tokens) are the test server's, beside it.
	b.load(s.URL)
	logsPage(t, b, c, s, id)
	readOnly(t, b, s, id)
	b.load(nimbusUI)
	activate(t, b, c, id)
	debugComponent(t, b, c, id, def)
	b.load(s.URL)
	login(t, b, s)
	b.load(nimbusUI)
	kill(t, b, c, id)
	t.Logf("browser tests took %v", time.Since(start).Round(time.Millisecond))
}

// submit uploads the example twice: as a definition and resources with a
// dry run, then as one directory archive for real.
func submit(t *testing.T, b *browser, def topologyDef) string {
	t.Helper()
	dir := t.TempDir()
	// The browser reads uploads by absolute path.
	defFile, err := filepath.Abs(filepath.Join(exampleDir, "topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pkg := filepath.Join(dir, "resources.tar.gz")
	writeTarGz(t, pkg, filepath.Join(exampleDir, "resources"), "")
	whole := filepath.Join(dir, "wordcount.tar.gz")
	writeTarGz(t, whole, exampleDir, "wordcount")

	b.open("#/submit")
	b.do("submit a dry run of the definition and its resources",
		chromedp.Click(chromedp.ID("mode-files")),
		chromedp.SetUploadFiles(chromedp.ID("definition"), []string{defFile}),
		chromedp.SetUploadFiles(chromedp.ID("package"), []string{pkg}),
		chromedp.Click(chromedp.ID("dry-run")),
		chromedp.Click(chromedp.ID("submit")))
	b.waitFor("the dry run's answer", `document.querySelector('[data-testid=submit-ok], [data-testid=submit-error]')`, 60*time.Second)
	if msg := eval[string](b, `document.getElementById('submit-result').innerText`); !strings.Contains(msg, "Dry run: "+def.Name+" is valid") {
		t.Fatalf("dry run answered %q", msg)
	}
	b.do("submit the directory archive",
		chromedp.Click(chromedp.ID("mode-dir")),
		chromedp.SetUploadFiles(chromedp.ID("dir-archive"), []string{whole}),
		chromedp.Click(chromedp.ID("dry-run")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('submit-result').replaceChildren(); undefined`),
		chromedp.Click(chromedp.ID("submit")))
	b.waitFor("the submission's answer", `document.querySelector('[data-testid=submit-ok], [data-testid=submit-error]')`, 60*time.Second)
	id := eval[string](b, `document.querySelector('[data-testid=submit-ok]')?.dataset.topologyId || document.getElementById('submit-result').innerText`)
	if !strings.HasPrefix(id, def.Name+"-") {
		t.Fatalf("the submission answered %q", id)
	}
	b.check("submit")
	return id
}

// writeTarGz packs dir as a .tar.gz, its entries under prefix.
func writeTarGz(t *testing.T, path, dir, prefix string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := gzip.NewWriter(f)
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		name := filepath.ToSlash(filepath.Join(prefix, rel))
		if name == "." {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name = name
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
}

type restTopology struct {
	ID, Name, Status                         string
	WorkersTotal, ExecutorsTotal, TasksTotal int
	Spouts                                   []map[string]any `json:"spouts"`
	Bolts                                    []map[string]any `json:"bolts"`
	Workers                                  []struct {
		Host string `json:"host"`
		Port int    `json:"port"`
	} `json:"workers"`
}

// waitFlowing waits until every stream of the definition has carried
// tuples, as the bolts' input stats say.
func waitFlowing(t *testing.T, c *devCluster, id string, def topologyDef) {
	t.Helper()
	testenv.WaitUntil(t, 90*time.Second, "tuples on every stream", func() bool {
		for _, s := range def.Streams {
			var comp struct {
				InputStats []struct {
					Component string `json:"component"`
					Executed  int64  `json:"executed"`
				} `json:"inputStats"`
			}
			if c.get("/api/v1/topology/"+id+"/component/"+s.To, &comp) != 200 {
				return false
			}
			if !slices.ContainsFunc(comp.InputStats, func(in struct {
				Component string `json:"component"`
				Executed  int64  `json:"executed"`
			}) bool {
				return in.Component == s.From && in.Executed > 0
			}) {
				return false
			}
		}
		return true
	})
}

// tableRows reads a table of the page: each row's data-row and its cells'
// text by column.
func tableRows(b *browser, key string) map[string]map[string]string {
	return eval[map[string]map[string]string](b, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll('table[data-table=%q] tbody tr[data-row]')]
		.map(tr => [tr.dataset.row, Object.fromEntries([...tr.cells].map(td => [td.dataset.col, td.innerText.trim()]))]))`, key))
}

// num reads a number the page shows with thousands separators.
func num(s string) string { return strings.ReplaceAll(s, ",", "") }

// str writes a REST value as the page should show it.
func str(v any) string {
	switch x := v.(type) {
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

const errorText = "Traceback (most recent call last):\n  File \"split.py\", line 9, in process\nValueError: a sentence the UI test made up"

// reportError records an error of one of component's tasks, as its
// worker would, and returns the task.
func reportError(t *testing.T, c *devCluster, id, component string) int {
	t.Helper()
	var comp struct {
		Executors []struct {
			ID   string `json:"id"`
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"executorStats"`
	}
	c.get("/api/v1/topology/"+id+"/component/"+component, &comp)
	var task int
	if len(comp.Executors) == 0 {
		t.Fatalf("component %s has no executor", component)
	}
	e := comp.Executors[0]
	if _, err := fmt.Sscanf(e.ID, "[%d-", &task); err != nil {
		t.Fatalf("executor id %q: %v", e.ID, err)
	}
	c.reportError(id, cluster.ErrorInfo{Component: component, Task: task, Host: e.Host, Port: e.Port, Time: time.Now(), Message: errorText})
	return task
}

// errorsShown checks the error on the topology page: in the last errors,
// as the bolt's last error, and on its node in the graph.
func errorsShown(t *testing.T, b *browser, id, component string, task int) {
	t.Helper()
	b.refresh()
	type shown struct {
		Rows     []map[string]string
		Node     bool
		LastErr  string
		TaskLink string
	}
	got := eval[shown](b, fmt.Sprintf(`({
		rows: [...document.querySelectorAll('table[data-table=errors] tbody tr')].map(tr => Object.fromEntries([...tr.cells].map(td => [td.dataset.col, td.innerText.trim()]))),
		node: document.querySelector('[data-testid=graph] .node[data-id=%[1]q]')?.classList.contains('error') || false,
		lastErr: document.querySelector('table[data-table=bolts] tr[data-row=%[1]q] td[data-col=lastError]')?.innerText || '',
		taskLink: document.querySelector('table[data-table=errors] td[data-col=task] a')?.getAttribute('href') || '',
	})`, component))
	if len(got.Rows) != 1 || got.Rows[0]["component"] != component || got.Rows[0]["task"] != strconv.Itoa(task) || got.Rows[0]["error"] != errorText {
		t.Errorf("last errors = %v, want one of %s task %d: %q", got.Rows, component, task, errorText)
	}
	if !got.Node {
		t.Errorf("the graph does not mark %s, which has a recent error", component)
	}
	if !strings.Contains(got.LastErr, "Traceback") {
		t.Errorf("bolt %s's last error shows %q", component, got.LastErr)
	}
	if !strings.Contains(got.TaskLink, "grep=task%3D"+strconv.Itoa(task)) {
		t.Errorf("the error's task links to %q, want its log lines", got.TaskLink)
	}
}

func clusterPage(t *testing.T, b *browser, c *devCluster, def topologyDef) {
	t.Helper()
	b.open("#/")
	var sum map[string]any
	c.get("/api/v1/cluster/summary", &sum)
	got := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('[data-testid=cluster-summary] dd')].map(d => [d.dataset.field, d.innerText]))`)
	for _, k := range []string{"stormVersion", "supervisors", "slotsUsed", "slotsFree", "slotsTotal", "executorsTotal", "tasksTotal", "topologies"} {
		if num(got[k]) != str(sum[k]) {
			t.Errorf("cluster page %s = %q, REST says %v", k, got[k], sum[k])
		}
	}
	var topos struct{ Topologies []map[string]any }
	c.get("/api/v1/topology/summary", &topos)
	rows := tableRows(b, "topologies")
	if len(rows) != len(topos.Topologies) {
		t.Errorf("cluster page lists %d topologies, REST %d", len(rows), len(topos.Topologies))
	}
	for _, want := range topos.Topologies {
		row := rows[want["id"].(string)]
		for _, k := range []string{"name", "status", "workersTotal", "executorsTotal", "tasksTotal"} {
			if num(row[k]) != str(want[k]) {
				t.Errorf("cluster page topology %v %s = %q, REST says %v", want["id"], k, row[k], want[k])
			}
		}
	}
	var sups struct{ Supervisors []map[string]any }
	c.get("/api/v1/supervisor/summary", &sups)
	srows := tableRows(b, "supervisors")
	for _, want := range sups.Supervisors {
		row := srows[want["id"].(string)]
		for _, k := range []string{"host", "slotsTotal", "slotsUsed", "slotsFree", "version"} {
			if num(row[k]) != str(want[k]) {
				t.Errorf("cluster page supervisor %s = %q, REST says %v", k, row[k], want[k])
			}
		}
	}
	nrows := tableRows(b, "nimbuses")
	if len(nrows) != 1 || !strings.Contains(fmt.Sprint(nrows), "Leader") {
		t.Errorf("cluster page nimbuses = %v, want one Leader", nrows)
	}
	if eval[int](b, `document.querySelectorAll('#cluster-configuration tbody tr').length`) < 5 {
		t.Errorf("the cluster configuration is nearly empty")
	}
	b.check("cluster")
}

func topologyPage(t *testing.T, b *browser, c *devCluster, id string, def topologyDef) {
	t.Helper()
	b.open("#/topology/" + id)
	var wantNodes, wantEdges []string
	for _, s := range def.Spouts {
		wantNodes = append(wantNodes, s.ID)
	}
	for _, s := range def.Bolts {
		wantNodes = append(wantNodes, s.ID)
	}
	for _, s := range def.Streams {
		wantEdges = append(wantEdges, s.From+">"+s.To)
	}
	slices.Sort(wantNodes)
	slices.Sort(wantEdges)
	type graph struct{ Nodes, Edges, Labels []string }
	var g graph
	deadline := time.Now().Add(testenv.Patience(60 * time.Second))
	for {
		g = eval[graph](b, `({
			nodes: [...document.querySelectorAll('[data-testid=graph] .node')].map(n => n.dataset.id).sort(),
			edges: [...document.querySelectorAll('[data-testid=graph] .edge')].map(e => e.dataset.from + '>' + e.dataset.to).sort(),
			labels: [...document.querySelectorAll('[data-testid=graph] .edge text:not(.bg)')].map(e => e.textContent)})`)
		// Rates need two refreshes with tuples flowing.
		rated := len(g.Labels) > 0 && !slices.ContainsFunc(g.Labels, func(l string) bool { return !strings.Contains(l, "/s") })
		if reflect.DeepEqual(g.Nodes, wantNodes) && reflect.DeepEqual(g.Edges, wantEdges) && rated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("graph: nodes %v, edges %v, labels %q; want nodes %v, edges %v, each labelled with a rate", g.Nodes, g.Edges, g.Labels, wantNodes, wantEdges)
		}
		b.refresh()
	}
	// Each node links to its component's page.
	links := eval[[]string](b, `[...document.querySelectorAll('[data-testid=graph] a.node')].map(a => a.getAttribute('href'))`)
	for _, n := range wantNodes {
		if !slices.Contains(links, "#/topology/"+id+"/component/"+n) {
			t.Errorf("graph links %v: none to component %s", links, n)
		}
	}
	// nimbus answers Storm's four windows: the 10-minute one comes
	// without the note a fallback to all time would bring, and the
	// topology stats list the four.
	b.setInput("window", "600")
	if h := eval[string](b, `location.hash`); !strings.Contains(h, "window=600") {
		t.Errorf("the window is not in the address: %s", h)
	}
	b.waitFor("the four windows", `document.querySelectorAll('table[data-table=topology-stats] tbody tr[data-row]').length === 4`, 30*time.Second)
	if eval[bool](b, `!!document.querySelector('[data-testid=window-fallback]')`) {
		t.Errorf("the page notes a fallback, though nimbus answers the 10-minute window")
	}
	b.setInput("window", ":all-time")
	b.check("topology")
}

func deactivateByKeyboard(t *testing.T, b *browser, c *devCluster, id string) {
	t.Helper()
	b.tabTo("action-deactivate")
	b.do("press Enter on Deactivate", chromedp.KeyEvent(kb.Enter))
	b.waitFor("the confirmation", `document.getElementById('action').open`, 10*time.Second)
	b.do("confirm with Enter", chromedp.KeyEvent(kb.Enter))
	waitStatus(t, c, id, "INACTIVE")
	b.waitFor("the page to show INACTIVE", `document.querySelector('[data-field=status]')?.textContent === 'INACTIVE'`, 30*time.Second)
	if got := eval[string](b, `document.activeElement?.id || ''`); got != "action-deactivate" {
		t.Errorf("after the dialog the focus is on %q, want back on action-deactivate", got)
	}
}

func waitStatus(t *testing.T, c *devCluster, id, want string) {
	t.Helper()
	var top restTopology
	testenv.WaitUntil(t, 30*time.Second, "topology status "+want, func() bool {
		c.get("/api/v1/topology/"+id, &top)
		return top.Status == want
	})
}

// compareTopology checks the topology page's tables against the REST
// API, once the deactivated topology's counters stand still.
func compareTopology(t *testing.T, b *browser, c *devCluster, id string) {
	t.Helper()
	fields := map[string][]string{
		"spouts": {"executors", "tasks", "emitted", "transferred", "completeLatency", "acked", "failed"},
		"bolts":  {"executors", "tasks", "emitted", "transferred", "executeLatency", "executed", "processLatency", "acked", "failed"},
	}
	var diffs []string
	deadline := time.Now().Add(testenv.Patience(60 * time.Second))
	for {
		b.refresh()
		page := map[string]map[string]map[string]string{"spouts": tableRows(b, "spouts"), "bolts": tableRows(b, "bolts")}
		var top restTopology
		c.get("/api/v1/topology/"+id, &top)
		diffs = nil
		for kind, rows := range map[string][]map[string]any{"spouts": top.Spouts, "bolts": top.Bolts} {
			idKey := map[string]string{"spouts": "spoutId", "bolts": "boltId"}[kind]
			for _, want := range rows {
				got := page[kind][want[idKey].(string)]
				for _, f := range fields[kind] {
					if num(got[f]) != str(want[f]) {
						diffs = append(diffs, fmt.Sprintf("%s %v %s: page %q, REST %v", kind, want[idKey], f, got[f], want[f]))
					}
				}
			}
		}
		if len(diffs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the topology page differs from the REST API:\n%s", strings.Join(diffs, "\n"))
		}
	}
}

func componentPage(t *testing.T, b *browser, c *devCluster, id string, def topologyDef) {
	t.Helper()
	var from, comp string
	for _, s := range def.Streams {
		if s.From == def.Spouts[0].ID {
			from, comp = s.From, s.To
		}
	}
	b.open("#/topology/" + id + "/component/" + comp)
	var rest struct {
		Executors     []map[string]any `json:"executorStats"`
		InputStats    []map[string]any `json:"inputStats"`
		ComponentType string           `json:"componentType"`
	}
	var rows map[string]map[string]string
	var diffs []string
	deadline := time.Now().Add(testenv.Patience(60 * time.Second))
	for {
		rows = tableRows(b, "executors")
		c.get("/api/v1/topology/"+id+"/component/"+comp, &rest)
		diffs = nil
		if len(rows) != len(rest.Executors) {
			diffs = append(diffs, fmt.Sprintf("%d executor rows, REST %d", len(rows), len(rest.Executors)))
		}
		for _, want := range rest.Executors {
			got := rows[want["id"].(string)]
			for _, f := range []string{"emitted", "transferred", "executed", "acked", "failed", "executeLatency", "processLatency"} {
				if num(got[f]) != str(want[f]) {
					diffs = append(diffs, fmt.Sprintf("executor %v %s: page %q, REST %v", want["id"], f, got[f], want[f]))
				}
			}
			if got["host"] != fmt.Sprintf("%v:%v", want["host"], want["port"]) {
				diffs = append(diffs, fmt.Sprintf("executor %v worker: page %q", want["id"], got["host"]))
			}
		}
		if len(diffs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the component page differs from the REST API:\n%s", strings.Join(diffs, "\n"))
		}
		b.refresh()
	}
	inputs := tableRows(b, "inputs")
	if _, ok := inputs[from+":default"]; !ok {
		t.Errorf("component %s's inputs %v lack %s's default stream", comp, inputs, from)
	}
	if n := eval[int](b, `document.querySelectorAll('table[data-table="component-errors"] tbody tr:not(.empty)').length`); def.Bolts[0].ID == comp && n != 1 {
		t.Errorf("component %s's page lists %d errors, want 1", comp, n)
	}
	if n := eval[int](b, `document.querySelectorAll('table[data-table=executors] a[href*="grep=task%3D"]').length`); n < len(rest.Executors) {
		t.Errorf("%d task log links for %d executors", n, len(rest.Executors))
	}
	b.check("component")
}

func logsPage(t *testing.T, b *browser, c *devCluster, s *uiServer, id string) {
	t.Helper()
	var top restTopology
	c.get("/api/v1/topology/"+id, &top)
	if len(top.Workers) == 0 {
		t.Fatal("the topology has no worker")
	}
	w := top.Workers[0]
	logRoute := func(port int) string {
		return fmt.Sprintf("#/logs?host=%s&file=%s", w.Host, strings.ReplaceAll(fmt.Sprintf("%s/%d/worker.log", id, port), "/", "%2F"))
	}
	route := logRoute(w.Port)
	// A log the node's logviewer does not have (no worker on port 1): the
	// page says so.
	b.open(logRoute(1))
	b.waitFor("the unavailable note", `!!document.querySelector('[data-testid=logs-unavailable]')`, 30*time.Second)
	b.axe("logs-unavailable")
	b.open(route)

	// With the logviewer route (phase 2), the page shows and follows the
	// log. The dev cluster's workers log at warn: write lines to see.
	path := filepath.Join(c.localDir(), "logs", id, strconv.Itoa(w.Port), "worker.log")
	appendLog := func(lines string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(lines); err != nil {
			t.Fatal(err)
		}
	}
	appendLog(`time=2026-12-06T11:45:00.000Z level=WARN msg="shell child failed" worker=w1 component=split task=70 err="exit status 1" restart_in=1s crash_looping=false
time=2026-12-06T11:45:01.000Z level=INFO msg="child stderr" worker=w1 component=split task=70 line="ui test first"
`)
	s.logviewer.Store(true)
	b.do("reload", chromedp.Reload())
	b.waitFor("the log", `document.querySelector('[data-testid=log]')?.textContent.includes('ui test first')`, 60*time.Second)
	appendLog(`time=2026-12-06T11:45:02.000Z level=INFO msg="child stderr" worker=w1 component=split task=7 line="ui test marker"` + "\n")
	b.refresh()
	b.waitFor("the appended line", `document.querySelector('[data-testid=log]').textContent.includes('ui test marker')`, 30*time.Second)
	b.setInput("log-filter", "task=7")
	if got := eval[string](b, `document.querySelector('[data-testid=log]').textContent`); !strings.Contains(got, "ui test marker") || strings.Contains(got, "task=70") {
		t.Errorf("filtered on task=7 the log shows %q", got)
	}
	b.setInput("log-filter", "")
	b.check("logs")
	s.logviewer.Store(false)
}

func readOnly(t *testing.T, b *browser, s *uiServer, id string) {
	t.Helper()
	s.readOnly.Store(true)
	defer s.readOnly.Store(false)
	b.open("#/topology/" + id)
	if !eval[bool](b, `!!document.querySelector('[data-testid=actions-hidden]') && !document.getElementById('action-kill')`) {
		t.Errorf("with ui.actions.enabled false the actions still show:%s", b.pageState())
	}
	b.open("#/topology/" + id + "/component/split")
	b.waitFor("the component page", `!!document.querySelector('[data-testid=component-summary]')`, 30*time.Second)
	if eval[bool](b, `!!document.getElementById('action-debug')`) {
		t.Errorf("with ui.actions.enabled false the component page still offers debug:%s", b.pageState())
	}
}

func activate(t *testing.T, b *browser, c *devCluster, id string) {
	t.Helper()
	b.open("#/topology/" + id)
	b.do("activate", chromedp.Click(chromedp.ID("action-activate")))
	b.waitFor("the confirmation", `document.getElementById('action').open`, 10*time.Second)
	b.do("confirm", chromedp.Click(chromedp.ID("action-ok")))
	waitStatus(t, c, id, "ACTIVE")
	b.waitFor("the page to show ACTIVE", `document.querySelector('[data-field=status]')?.textContent === 'ACTIVE'`, 30*time.Second)
}

// login turns bearer tokens on: the UI asks for one, refuses a wrong one,
// and keeps the right one for the tab.
func login(t *testing.T, b *browser, s *uiServer) {
	t.Helper()
	tok, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	line, err := auth.TokenLine(tok, "alice", []string{"ops"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokens")
	if err := os.WriteFile(path, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := auth.LoadTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	s.authn.Store(auth.NewAuthenticator(store, false, auth.Policy{Enforce: true}))
	defer s.authn.Store(nil)

	b.do("reload", chromedp.Evaluate[chromedp.Void](`sessionStorage.clear(); location.hash = '#/'; undefined`), chromedp.Reload())
	b.waitFor("the login dialog", `document.getElementById('login')?.open`, 30*time.Second)
	b.check("login")
	b.do("log in with a wrong token", chromedp.SendKeys(chromedp.ID("login-token"), "sqt_wrong"), chromedp.KeyEvent(kb.Enter))
	b.waitFor("the dialog again", `document.getElementById('login').open && document.getElementById('login-why').textContent.includes('refused')`, 30*time.Second)
	b.do("log in", chromedp.SendKeys(chromedp.ID("login-token"), tok), chromedp.KeyEvent(kb.Enter))
	b.waitFor("the cluster page", `document.getElementById('main').hasAttribute('data-refreshed') && !document.getElementById('login').open`, 30*time.Second)
	if got := eval[string](b, `sessionStorage.getItem('squall.token')`); got != tok {
		t.Errorf("sessionStorage holds %q, want the token", got)
	}
	s.authn.Store(nil)
	b.do("log out", chromedp.Click(chromedp.ID("logout")))
	if got := eval[string](b, `sessionStorage.getItem('squall.token') || ''`); got != "" {
		t.Errorf("after logging out sessionStorage holds %q", got)
	}
}

func kill(t *testing.T, b *browser, c *devCluster, id string) {
	t.Helper()
	b.open("#/topology/" + id)
	b.do("kill", chromedp.Click(chromedp.ID("action-kill")))
	b.waitFor("the wait time prompt", `document.getElementById('action').open && document.activeElement.id === 'action-wait'`, 10*time.Second)
	b.setInput("action-wait", "soon")
	b.do("a bad wait time", chromedp.Click(chromedp.ID("action-ok")))
	if !eval[bool](b, `document.getElementById('action').open`) {
		t.Fatal("the kill dialog closed on a wait time that is not a number")
	}
	b.setInput("action-wait", "1")
	b.do("wait 1 s", chromedp.Click(chromedp.ID("action-ok")))
	testenv.WaitUntil(t, 60*time.Second, "the topology to be gone", func() bool {
		return c.get("/api/v1/topology/"+id, nil) == 404
	})
	b.refresh()
	b.waitFor("the not-found note", `document.querySelector('[data-testid=not-found]')`, 30*time.Second)
}

// debugComponent turns on Storm's debug for the spout's first consumer
// from its page: its emits reach its workers' event logs, which the
// executors' "events" links open; then turns it off.
func debugComponent(t *testing.T, b *browser, c *devCluster, id string, def topologyDef) {
	t.Helper()
	var comp string
	for _, s := range def.Streams {
		if s.From == def.Spouts[0].ID {
			comp = s.To
		}
	}
	b.open("#/topology/" + id + "/component/" + comp)
	b.waitFor("the debug button", `document.getElementById('action-debug')?.textContent === 'Debug'`, 30*time.Second)
	b.do("debug", chromedp.Click(chromedp.ID("action-debug")))
	b.waitFor("the sampling prompt", `document.getElementById('action').open && document.activeElement.id === 'action-spct'`, 10*time.Second)
	b.setInput("action-spct", "100")
	b.do("confirm", chromedp.Click(chromedp.ID("action-ok")))
	var page struct {
		Debug       bool    `json:"debug"`
		SamplingPct float64 `json:"samplingPct"`
		Executors   []struct {
			Host string `json:"host"`
			Port int    `json:"port"`
		} `json:"executorStats"`
	}
	testenv.WaitUntil(t, 30*time.Second, "debug on in REST", func() bool {
		c.get("/api/v1/topology/"+id+"/component/"+comp, &page)
		return page.Debug && page.SamplingPct == 100
	})
	b.waitFor("the page showing debug on", `document.getElementById('action-debug')?.textContent === 'Stop debug'`, 30*time.Second)
	if n := eval[int](b, `document.querySelectorAll('table[data-table=executors] a[href*="events.log"]').length`); n != len(page.Executors) {
		t.Errorf("%d event log links for %d executors", n, len(page.Executors))
	}
	// The dev cluster's workers write events.log beside worker.log.
	events := filepath.Join(c.localDir(), "logs", id, strconv.Itoa(page.Executors[0].Port), "events.log")
	testenv.WaitUntil(t, 60*time.Second, comp+"'s sampled tuples in "+events, func() bool {
		b, _ := os.ReadFile(events)
		return strings.Contains(string(b), "msg=event") && strings.Contains(string(b), "component="+comp)
	})
	b.do("stop debug", chromedp.Click(chromedp.ID("action-debug")))
	testenv.WaitUntil(t, 30*time.Second, "debug off in REST", func() bool {
		c.get("/api/v1/topology/"+id+"/component/"+comp, &page)
		return !page.Debug
	})
}
