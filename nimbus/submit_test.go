package nimbus

import (
	"archive/tar"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/submission"
	"github.com/squallstream/squall/internal/tarball"
	"github.com/squallstream/squall/topology"
)

func TestSubmitStoresPackageAndAssigns(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701, 6702, 6703)
	addSupervisor(t, mem, nil, "b", 6700, 6701, 6702, 6703)
	st := mem.Session()
	defer st.Close()

	req := wordsRequest("words")
	req.Package = resourcesTarGz(t, map[string]string{"split.py": "print('hi')\n", "data/words.txt": "a b c\n"})
	start := time.Now()
	id := submit(t, n, req)
	// Scheduled before SubmitTopology answered: no waiting for a tick.
	a := assignment(t, st, id)
	elapsed := time.Since(start)
	if !regexp.MustCompile(`^words-1-\d+$`).MatchString(id) {
		t.Errorf("id = %q, want words-1-<secs>", id)
	}
	if elapsed > 3*time.Second {
		t.Errorf("submit to assignment took %v, want under 3s", elapsed)
	}

	rec, err := st.GetTopology(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "words" || rec.Status != cluster.StatusActive || rec.NumWorkers != 2 {
		t.Errorf("record = %+v, want words ACTIVE with 2 workers", rec)
	}
	if want := map[string]int{"words": 2, "count": 3}; !mapsEqual(rec.ComponentExecutors, want) {
		t.Errorf("ComponentExecutors = %v, want %v", rec.ComponentExecutors, want)
	}
	if rec.PackageSize != int64(len(req.Package)) || !strings.HasPrefix(rec.PackageDigest, "sha256:") {
		t.Errorf("package size %d digest %q, want %d and a sha256 digest", rec.PackageSize, rec.PackageDigest, len(req.Package))
	}

	// The package is on disk.
	dir := filepath.Join(layout.NimbusPackages(n.cfg.LocalDir), id)
	res, err := os.ReadFile(filepath.Join(dir, resourcesFile))
	if err != nil || !bytes.Equal(res, req.Package) {
		t.Errorf("stored resources: %v (equal %v)", err, bytes.Equal(res, req.Package))
	}
	digest, _ := os.ReadFile(filepath.Join(dir, digestFile))
	if strings.TrimSpace(string(digest)) != rec.PackageDigest {
		t.Errorf("stored digest %q, record's %q", digest, rec.PackageDigest)
	}
	if _, err := os.Stat(filepath.Join(dir, binaryFile)); !os.IsNotExist(err) {
		t.Errorf("a binary is stored for a topology without one: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, submissionFile))
	if err != nil {
		t.Fatal(err)
	}
	var stored api.SubmitTopologyRequest
	if err := protojson.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.GetName() != "words" || len(stored.GetPackage()) != 0 {
		t.Errorf("stored submission: name %q, %d package bytes; want the resolved name, no bytes", stored.GetName(), len(stored.GetPackage()))
	}
	if v := stored.GetConfig().GetFields()[topology.KeyAckerExecutors].GetNumberValue(); v != 2 {
		t.Errorf("stored %s = %v, want 2 pinned", topology.KeyAckerExecutors, v)
	}

	// 2 spout + 3 bolt + 2 acker executors, evenly over 2 workers on 2
	// nodes.
	if len(a.Executors) != 7 || tasksOf(a) != 10 {
		t.Errorf("assignment has %d executors, %d tasks; want 7, 10", len(a.Executors), tasksOf(a))
	}
	if got := workersPerNode(a); !mapsEqual(got, map[string]int{"a": 1, "b": 1}) {
		t.Errorf("workers per node = %v, want one on each", got)
	}
	if got := executorsPerWorker(a); !slices.Equal(got, []int{3, 4}) {
		t.Errorf("executors per worker = %v, want [3 4]", got)
	}
	if a.NodeHost["a"] != "host-a" || len(a.ExecutorStartTime) != 7 {
		t.Errorf("assignment NodeHost %v, %d start times", a.NodeHost, len(a.ExecutorStartTime))
	}

	// A second submission gets the next counter.
	id2 := submit(t, n, wordsRequest("other"))
	if !strings.HasPrefix(id2, "other-2-") {
		t.Errorf("second id = %q, want other-2-<secs>", id2)
	}
}

func TestSubmitInvalidDefinition(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{
			name: "bad value",
			yaml: "name: bad\nspouts:\n  - id: words\n    go: squall.TestWordSpout\n    parallelism: zero\n",
			want: []string{"topology.yaml:5", "parallelism"},
		},
		{
			name: "syntax",
			yaml: "name: bad\nspouts: [\n",
			want: []string{"topology.yaml:"},
		},
		{
			name: "unknown component",
			yaml: "name: bad\nspouts:\n  - id: words\n    go: no.Such\n    parallelism: 1\n",
			want: []string{"topology.yaml:3", `component "words"`, "no.Such"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := n.SubmitTopology(t.Context(), &api.SubmitTopologyRequest{Topology: tc.yaml, TopologyFile: "topology.yaml"})
			wantCode(t, "SubmitTopology", err, codes.InvalidArgument)
			msg := status.Convert(err).Message()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, os.TempDir()) {
				t.Errorf("message %q names nimbus's temporary directory", msg)
			}
		})
	}
	assertNoTopologies(t, n, mem)
}

// assertNoTopologies checks that nothing was stored.
func assertNoTopologies(t *testing.T, n *testNimbus, mem *cluster.Memory) {
	t.Helper()
	st := mem.Session()
	defer st.Close()
	if ids, err := st.ListTopologies(t.Context()); err != nil || len(ids) != 0 {
		t.Errorf("topologies = %v, %v; want none", ids, err)
	}
	if ids, err := st.ListAssignments(t.Context()); err != nil || len(ids) != 0 {
		t.Errorf("assignments = %v, %v; want none", ids, err)
	}
	entries, err := os.ReadDir(layout.NimbusPackages(n.cfg.LocalDir))
	if err != nil || len(entries) != 0 {
		t.Errorf("package store holds %v (%v); want nothing", entries, err)
	}
}

func TestSubmitMaliciousPackage(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, func(c *Config) {
		c.PackageLimits = tarball.Limits{MaxBytes: 4 << 20, MaxFiles: 10, MaxRatio: 50}
		c.MaxSubmitBytes = 64 << 10
	})
	addSupervisor(t, mem, nil, "a", 6700)
	big := make([]byte, 80<<10)
	rand.Read(big)
	tests := []struct {
		name string
		pkg  []byte
		// limit is the key of the limit passed, "" for an unsafe package.
		limit string
		want  string
	}{
		{name: "dot dot", pkg: tarGz(t, tarEntry{name: "../evil", body: "x"}), want: "../evil"},
		{name: "nested dot dot", pkg: tarGz(t, tarEntry{name: "a/../../evil", body: "x"}), want: "a/../../evil"},
		{name: "absolute", pkg: tarGz(t, tarEntry{name: "/tmp/evil", body: "x"}), want: "/tmp/evil"},
		{name: "symlink out", pkg: tarGz(t, tarEntry{name: "link", typeflag: tar.TypeSymlink, linkname: "../../etc/passwd"}), want: "link"},
		{name: "absolute symlink", pkg: tarGz(t, tarEntry{name: "link", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}), want: "/etc/passwd"},
		{name: "symlink chain", pkg: tarGz(t,
			tarEntry{name: "l1", typeflag: tar.TypeSymlink, linkname: "."},
			tarEntry{name: "l1/l2", typeflag: tar.TypeSymlink, linkname: ".."},
			tarEntry{name: "l2/l3", typeflag: tar.TypeSymlink, linkname: ".."},
			tarEntry{name: "l2/l3/evil", body: "escaped"}), want: "l2/l3"},
		{name: "hard link", pkg: tarGz(t, tarEntry{name: "hard", typeflag: tar.TypeLink, linkname: "x"}), want: "hard"},
		{name: "fifo", pkg: tarGz(t, tarEntry{name: "pipe", typeflag: tar.TypeFifo}), want: "fifo"},
		{name: "device", pkg: tarGz(t, tarEntry{name: "dev", typeflag: tar.TypeChar}), want: "device"},
		{name: "duplicate", pkg: tarGz(t, tarEntry{name: "a", body: "x"}, tarEntry{name: "./a", body: "y"}), want: "twice"},
		{name: "not gzip", pkg: []byte("just some text, not an archive"), want: "gzip"},
		{name: "unpacks too big", pkg: tarGz(t, tarEntry{name: "huge", size: 5 << 20}), limit: api.KeyPackageMaxUnpackedBytes},
		{name: "too many files", pkg: tarGz(t, manyEntries(11)...), limit: api.KeyPackageMaxFiles},
		{name: "bomb", pkg: tarGz(t, tarEntry{name: "zeros", size: 3 << 20}), limit: api.KeyPackageMaxRatio},
		{name: "too big", pkg: big, limit: api.KeySubmitMaxBytes},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := wordsRequest("evil")
			req.Package = tc.pkg
			for _, dry := range []bool{false, true} {
				req.DryRun = dry
				_, err := n.SubmitTopology(t.Context(), req)
				st := status.Convert(err)
				if tc.limit == "" {
					wantCode(t, "SubmitTopology", err, codes.InvalidArgument)
					if !strings.Contains(st.Message(), tc.want) {
						t.Errorf("message %q does not name %q", st.Message(), tc.want)
					}
					continue
				}
				reason, key, ok := api.LimitOf(st)
				if !ok || reason != api.ReasonTooLarge || key != tc.limit || !strings.Contains(st.Message(), tc.limit) {
					t.Errorf("SubmitTopology(dry run %v) = %v, want TOO_LARGE naming %s", dry, err, tc.limit)
				}
			}
		})
	}
	assertNoTopologies(t, n, mem)
	for _, dir := range []string{filepath.Join(n.cfg.LocalDir, ".."), n.cfg.LocalDir, n.store.scratch} {
		if _, err := os.Stat(filepath.Join(dir, "evil")); !os.IsNotExist(err) {
			t.Errorf("an entry escaped into %s: %v", dir, err)
		}
	}
	if entries, _ := os.ReadDir(n.store.scratch); len(entries) != 0 {
		t.Errorf("scratch holds %v after the submissions", entries)
	}
}

func manyEntries(k int) []tarEntry {
	var out []tarEntry
	for i := range k {
		out = append(out, tarEntry{name: "f" + string(rune('a'+i)), body: "x"})
	}
	return out
}

func TestSubmitDuplicateName(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	id := submit(t, n, wordsRequest("dup"))

	_, err := n.SubmitTopology(t.Context(), wordsRequest("dup"))
	wantCode(t, "second SubmitTopology", err, codes.AlreadyExists)
	dry := wordsRequest("dup")
	dry.DryRun = true
	_, err = n.SubmitTopology(t.Context(), dry)
	wantCode(t, "dry run", err, codes.AlreadyExists)
	// The name override counts, not the definition's name.
	renamed := wordsRequest("other")
	renamed.Name = "dup"
	_, err = n.SubmitTopology(t.Context(), renamed)
	wantCode(t, "renamed SubmitTopology", err, codes.AlreadyExists)

	st := mem.Session()
	defer st.Close()
	if ids, _ := st.ListTopologies(t.Context()); !slices.Equal(ids, []string{id}) {
		t.Errorf("topologies = %v, want only %s", ids, id)
	}
	if pkgs, _ := n.store.list(); !slices.Equal(pkgs, []string{id}) {
		t.Errorf("packages = %v, want only %s", pkgs, id)
	}
}

func TestSubmitDryRun(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	req := wordsRequest("dry")
	req.DryRun = true
	req.Name = "renamed"
	resp, err := n.SubmitTopology(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetTopologyId() != "" || !resp.GetDryRun() || resp.GetTopologyName() != "renamed" || resp.GetStatus() != api.StatusSuccess {
		t.Errorf("dry run = %v, want success without id for renamed", resp)
	}
	assertNoTopologies(t, n, mem)
}

func TestSubmitInactive(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	req := wordsRequest("sleepy")
	req.Inactive = true
	id := submit(t, n, req)
	st := mem.Session()
	defer st.Close()
	rec, _ := st.GetTopology(t.Context(), id)
	if rec.Status != cluster.StatusInactive {
		t.Errorf("status = %s, want INACTIVE", rec.Status)
	}
	if a := assignment(t, st, id); len(a.Executors) == 0 {
		t.Errorf("an inactive topology is not assigned")
	}
}

// goBinaryRequest is a submission of a topology using CustomSpoutName,
// which only bin's registry has, with the outline its submitter makes.
func goBinaryRequest(t *testing.T, name string, bin []byte) *api.SubmitTopologyRequest {
	t.Helper()
	req := &api.SubmitTopologyRequest{
		Topology: "name: " + name + "\nconfig: {topology.workers: 1}\nspouts:\n  - id: custom\n    go: " + CustomSpoutName +
			"\n    parallelism: 2\nbolts:\n  - id: log\n    go: squall.Null\n    parallelism: 1\nstreams:\n  - {from: custom, to: log, grouping: {type: SHUFFLE}}\n",
		TopologyFile: "topology.yaml",
	}
	topo, err := submission.Load(req, binaryRegistry(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	outline, err := json.Marshal(submission.NewOutline(topo))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(bin)
	req.GoBinary, req.GoBinaryOutline, req.GoBinarySha256 = bin, string(outline), hex.EncodeToString(sum[:])
	return req
}

// TestSubmitGoBinary: a topology with its own Go binary is scheduled from
// the outline its submitter sent, the binary stored, never run by nimbus.
func TestSubmitGoBinary(t *testing.T) {
	t.Parallel()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)

	t.Run("own components", func(t *testing.T) {
		id := submit(t, n, goBinaryRequest(t, "custom", bin))
		st := mem.Session()
		defer st.Close()
		rec, _ := st.GetTopology(t.Context(), id)
		if want := map[string]int{"custom": 2, "log": 1}; !mapsEqual(rec.ComponentExecutors, want) {
			t.Errorf("ComponentExecutors = %v, want %v", rec.ComponentExecutors, want)
		}
		if a := assignment(t, st, id); len(a.Executors) != 4 {
			t.Errorf("assignment has %d executors, want 4 (2 custom, 1 log, 1 acker)", len(a.Executors))
		}
		stored, err := os.ReadFile(n.store.binaryPath(id))
		if err != nil || !bytes.Equal(stored, bin) {
			t.Errorf("stored binary: %v", err)
		}
		// A restarted nimbus (no cached model) loads it from the stored
		// outline too.
		n.models.forget(id)
		if _, err := n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id}); err != nil {
			t.Errorf("GetTopology after forgetting the model: %v", err)
		}
		if _, err := n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id, WaitSecs: new(int32(0))}); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		name   string
		change func(*api.SubmitTopologyRequest)
		want   string
	}{
		{"no outline", func(r *api.SubmitTopologyRequest) { r.GoBinaryOutline = "" }, "goBinaryOutline"},
		{"bad outline", func(r *api.SubmitTopologyRequest) { r.GoBinaryOutline = `{"name":"x"}` }, "goBinaryOutline"},
		{"no sha256", func(r *api.SubmitTopologyRequest) { r.GoBinarySha256 = "" }, "goBinarySha256"},
		{"another binary", func(r *api.SubmitTopologyRequest) { r.GoBinary = append(bytes.Clone(bin), 0) }, "goBinarySha256"},
		{"not an executable", func(r *api.SubmitTopologyRequest) { r.GoBinary = []byte("#!/bin/sh\necho hi\n") }, "ELF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := goBinaryRequest(t, "refused", bin)
			c.change(req)
			_, err := n.SubmitTopology(t.Context(), req)
			wantCode(t, "SubmitTopology", err, codes.InvalidArgument)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not name %s", msg, c.want)
			}
		})
	}
	st := mem.Session()
	defer st.Close()
	waitFor(t, "the killed topology's removal", func() bool {
		ids, _ := st.ListTopologies(t.Context())
		return len(ids) == 0
	})
}

func mapsEqual[V comparable](a, b map[string]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
