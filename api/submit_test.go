package api

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatalf("structpb.NewStruct(%v): %v", m, err)
	}
	return s
}

// formPart is one part of a multipart form: a file when file is set.
type formPart struct {
	name string
	file string
	data []byte
}

func multipartBody(t *testing.T, parts []formPart) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		if p.file != "" {
			w, werr := mw.CreateFormFile(p.name, p.file)
			if werr == nil {
				_, err = w.Write(p.data)
			} else {
				err = werr
			}
		} else {
			err = mw.WriteField(p.name, string(p.data))
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatalf("multipart: %v", err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

const wordCountYAML = `name: wordcount
config:
  topology.workers: 2
spouts:
  - id: sentences
    shell: {command: [python3, sentences.py], fields: [sentence]}
bolts:
  - id: split
    shell: {command: [python3, split.py], fields: [word]}
    inputs: [{from: sentences, grouping: SHUFFLE}]
`

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestSubmitMultipartEqualsJSON checks that a multipart upload and the
// JSON submission of the same things reach nimbus as the same request.
func TestSubmitMultipartEqualsJSON(t *testing.T) {
	pkg := randomBytes(300<<10+17, 1)
	bin := randomBytes(1<<20+3, 2)
	want := &SubmitTopologyRequest{
		Topology:     wordCountYAML,
		TopologyFile: "wordcount.yaml",
		Package:      pkg,
		GoBinary:     bin,
		Inactive:     true,
		Config: mustStruct(t, map[string]any{
			"topology.workers":           3,
			"topology.debug":             true,
			"topology.name.suffix":       "blue",
			"supervisor.slots.ports":     []any{6700, 6701},
			"topology.message.timeout.s": 1.5,
		}),
		Properties:  "kafka.topic=words\n# comment\n",
		EnvFilter:   true,
		Environment: map[string]string{"HOME": "/home/storm", "EMPTY": "", "EQ": "a=b"},
		Name:        "wordcount-blue",
	}
	multi, ct := multipartBody(t, []formPart{
		{name: "topology", file: "dir/wordcount.yaml", data: []byte(wordCountYAML)},
		{name: "package", file: "resources.tar.gz", data: pkg},
		{name: "goBinary", file: "wordcount", data: bin},
		{name: "inactive", data: []byte("true")},
		{name: "config", data: []byte("topology.workers=3")},
		{name: "config", data: []byte("topology.debug=true")},
		{name: "config", data: []byte("topology.name.suffix=blue")},
		{name: "config", data: []byte("supervisor.slots.ports=[6700, 6701]")},
		{name: "config", data: []byte("topology.message.timeout.s=1.5")},
		{name: "properties", file: "dev.properties", data: []byte("kafka.topic=words\n# comment\n")},
		{name: "envFilter", data: []byte("1")},
		{name: "environment", data: []byte("HOME=/home/storm")},
		{name: "environment", data: []byte("EMPTY=")},
		{name: "environment", data: []byte("EQ=a=b")},
		{name: "name", data: []byte("wordcount-blue")},
		{name: "dryRun", data: []byte("false")},
	})
	jsonBody, err := protojson.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			env := newTestEnv(t, target, DefaultGatewayConfig())

			resp := env.do(t, "POST", "/api/v1/topologies", ct, bytes.NewReader(multi))
			if resp.status != 200 {
				t.Fatalf("multipart: status %d: %s", resp.status, resp.body)
			}
			wantCall(t, env.fake, "SubmitTopology", want)
			multipartResp := resp.body

			resp = env.do(t, "POST", "/api/v1/topologies", jsonType, bytes.NewReader(jsonBody))
			if resp.status != 200 {
				t.Fatalf("JSON: status %d: %s", resp.status, resp.body)
			}
			wantCall(t, env.fake, "SubmitTopology", want)
			if !bytes.Equal(resp.body, multipartResp) {
				t.Errorf("responses differ:\nmultipart %s\nJSON      %s", multipartResp, resp.body)
			}
			checkGolden(t, "submit.json", resp.body)
		})
	}
}

// TestSubmitMultipartFields checks the form's smaller rules.
func TestSubmitMultipartFields(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	tests := []struct {
		name  string
		parts []formPart
		want  *SubmitTopologyRequest // nil: 400
	}{
		{"topology as a value, file name given",
			[]formPart{{name: "topology", data: []byte("name: x\n")}, {name: "topologyFile", data: []byte("x.yaml")}},
			&SubmitTopologyRequest{Topology: "name: x\n", TopologyFile: "x.yaml"}},
		{"explicit file name wins over the upload's",
			[]formPart{{name: "topologyFile", data: []byte("given.yaml")}, {name: "topology", file: "uploaded.yaml", data: []byte("a")}},
			&SubmitTopologyRequest{Topology: "a", TopologyFile: "given.yaml"}},
		{"empty boolean is a flag",
			[]formPart{{name: "topology", data: []byte("a")}, {name: "dryRun", data: nil}},
			&SubmitTopologyRequest{Topology: "a", DryRun: true}},
		{"config value that is not JSON is a string",
			[]formPart{{name: "config", data: []byte("topology.name=word count")}, {name: "config", data: []byte("k={not json")}},
			&SubmitTopologyRequest{Config: mustStruct(t, map[string]any{"topology.name": "word count", "k": "{not json"})}},
		{"config null", []formPart{{name: "config", data: []byte("topology.max.spout.pending=null")}},
			&SubmitTopologyRequest{Config: mustStruct(t, map[string]any{"topology.max.spout.pending": nil})}},
		{"empty form", nil, &SubmitTopologyRequest{}},
		{"unknown field", []formPart{{name: "pakage", data: []byte("x")}}, nil},
		{"field twice", []formPart{{name: "topology", data: []byte("a")}, {name: "topology", data: []byte("b")}}, nil},
		{"bad boolean", []formPart{{name: "inactive", data: []byte("yes please")}}, nil},
		{"config without =", []formPart{{name: "config", data: []byte("topology.workers")}}, nil},
		{"config without key", []formPart{{name: "config", data: []byte("=3")}}, nil},
		{"environment without =", []formPart{{name: "environment", data: []byte("HOME")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := env.fake.numCalls()
			body, ct := multipartBody(t, tt.parts)
			resp := env.do(t, "POST", "/api/v1/topologies", ct, bytes.NewReader(body))
			if tt.want == nil {
				wantErrorBody(t, resp, http.StatusBadRequest)
				if env.fake.numCalls() != before {
					t.Errorf("the submission reached nimbus")
				}
				return
			}
			if resp.status != 200 {
				t.Fatalf("status %d: %s", resp.status, resp.body)
			}
			wantCall(t, env.fake, "SubmitTopology", tt.want)
		})
	}
	t.Run("broken multipart body", func(t *testing.T) {
		resp := env.do(t, "POST", "/api/v1/topologies", "multipart/form-data; boundary=xyz", strings.NewReader("--xyz\r\nnot a part"))
		wantErrorBody(t, resp, http.StatusBadRequest)
	})
	t.Run("multipart without boundary", func(t *testing.T) {
		resp := env.do(t, "POST", "/api/v1/topologies", "multipart/form-data", strings.NewReader(""))
		wantErrorBody(t, resp, http.StatusBadRequest)
	})
	t.Run("empty JSON body is an empty request", func(t *testing.T) {
		resp := env.do(t, "POST", "/api/v1/topologies", jsonType, nil)
		if resp.status != 200 {
			t.Fatalf("status %d: %s", resp.status, resp.body)
		}
		wantCall(t, env.fake, "SubmitTopology", &SubmitTopologyRequest{})
	})
}

// TestCurl drives the gateway with the real curl, as docs/api.md shows.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	topo := write("topology.yaml", []byte(wordCountYAML))
	pkg := write("resources.tar.gz", randomBytes(70<<10, 3))
	props := write("dev.properties", []byte("a=1\n"))
	pkgData, _ := os.ReadFile(pkg)

	run := func(t *testing.T, args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), curl, append([]string{"-sS", "--fail-with-body"}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("curl %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return v
	}

	t.Run("multipart submission", func(t *testing.T) {
		v := run(t, "-F", "topology=@"+topo, "-F", "package=@"+pkg, "-F", "properties=@"+props,
			"-F", "inactive=true", "-F", "config=topology.workers=3", env.url+"/api/v1/topologies")
		if v["topologyId"] != "wordcount-1-1700000000" || v["status"] != "success" {
			t.Errorf("response %v", v)
		}
		wantCall(t, env.fake, "SubmitTopology", &SubmitTopologyRequest{
			Topology: wordCountYAML, TopologyFile: "topology.yaml", Package: pkgData, Properties: "a=1\n",
			Inactive: true, Config: mustStruct(t, map[string]any{"topology.workers": 3}),
		})
	})
	t.Run("JSON submission", func(t *testing.T) {
		body, _ := protojson.Marshal(&SubmitTopologyRequest{Topology: wordCountYAML, Package: pkgData})
		req := write("submit.json", body)
		run(t, "-H", "Content-Type: application/json", "--data-binary", "@"+req, env.url+"/api/v1/topologies")
		wantCall(t, env.fake, "SubmitTopology", &SubmitTopologyRequest{Topology: wordCountYAML, Package: pkgData})
	})
	t.Run("kill", func(t *testing.T) {
		v := run(t, "-X", "POST", env.url+"/api/v1/topology/wordcount-1-1700000000/kill/10")
		want := map[string]any{"topologyOperation": "kill", "topologyId": "wordcount-1-1700000000", "status": "success"}
		if !mapsEqual(v, want) {
			t.Errorf("response %v, want %v", v, want)
		}
		wantCall(t, env.fake, "KillTopology", &KillTopologyRequest{Id: "wordcount-1-1700000000", WaitSecs: proto.Int32(10)})
	})
	t.Run("rebalance as Storm's docs show it", func(t *testing.T) {
		run(t, "-X", "POST", "-H", "Content-Type: application/json",
			"-d", `{"rebalanceOptions": {"numWorkers": 2, "executors": { "spout" : "5", "split": 7, "count": 5 }}, "callback":"foo"}`,
			env.url+"/api/v1/topology/wordcount-1-1420308665/rebalance/0")
	})
	t.Run("rebalance with curl -d", func(t *testing.T) {
		run(t, "-d", `{"rebalanceOptions": {"numWorkers": 4}}`, env.url+"/api/v1/topology/wc-1-2/rebalance/3")
		wantCall(t, env.fake, "RebalanceTopology", &RebalanceTopologyRequest{Id: "wc-1-2", WaitSecs: proto.Int32(3),
			RebalanceOptions: &RebalanceOptions{NumWorkers: proto.Int32(4)}})
	})
	t.Run("get with a space in the id", func(t *testing.T) {
		run(t, env.url+"/api/v1/topology/word%20count-1-2?sys=1")
		wantCall(t, env.fake, "GetTopology", &GetTopologyRequest{Id: "word count-1-2", Sys: true})
	})
}

func mapsEqual(a, b map[string]any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
