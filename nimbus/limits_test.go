package nimbus

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/topology"
)

// client connects to n's gRPC port, as the CLI does.
func client(t *testing.T, n *testNimbus) api.NimbusClient {
	t.Helper()
	conn, err := grpc.NewClient(n.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return api.NewNimbusClient(conn)
}

// TestSubmitRejectsBadFields: every bad field of a submission is
// InvalidArgument (REST 400) naming the field, never Internal, and no
// message shows where nimbus keeps its files.
func TestSubmitRejectsBadFields(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP())
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	named := func(name string) func(*api.SubmitTopologyRequest) {
		return func(r *api.SubmitTopologyRequest) { r.Topology = fmt.Sprintf(wordsYAML, name) }
	}
	tests := []struct {
		name   string
		change func(*api.SubmitTopologyRequest)
		want   string
	}{
		{"name with NUL", named(`"nul\0name"`), "topology.yaml:1: bad topology name"},
		{"name with escape", named(`"esc\e[31mred"`), "topology.yaml:1: bad topology name"},
		{"name with bidi mark", named("\"rtl\u202eevil\""), "topology.yaml:1: bad topology name"},
		{"name too long", named(strings.Repeat("n", 256)), "topology.yaml:1: bad topology name"},
		{"name with leading space", named(`" lead"`), "topology.yaml:1: bad topology name"},
		{"name with slash", named("a/b"), "topology.yaml:1: bad topology name"},
		{"override with NUL", func(r *api.SubmitTopologyRequest) { r.Name = "nul\x00" }, "name: bad topology name"},
		{"override too long", func(r *api.SubmitTopologyRequest) { r.Name = strings.Repeat("n", 300) }, "name: bad topology name"},
		{"override with newline", func(r *api.SubmitTopologyRequest) { r.Name = "two\nlines" }, "name: bad topology name"},
		{"file name with control", func(r *api.SubmitTopologyRequest) { r.TopologyFile = "a\x1bb" }, "topologyFile"},
		{"environment with NUL", func(r *api.SubmitTopologyRequest) { r.Environment = map[string]string{"A\x00": "b"} }, "environment"},
		{"environment with =", func(r *api.SubmitTopologyRequest) { r.Environment = map[string]string{"A=B": "c"} }, "environment"},
		{"no definition", func(r *api.SubmitTopologyRequest) { r.Topology = " " }, "topology: no topology definition"},
		{"zero workers", func(r *api.SubmitTopologyRequest) { r.Config = mustStruct(t, map[string]any{"topology.workers": 0}) }, "topology.workers"},
		{"include outside", func(r *api.SubmitTopologyRequest) {
			r.Topology = "includes:\n  - {file: /etc/passwd}\n" + fmt.Sprintf(wordsYAML, "inc")
		}, "include /etc/passwd"},
		{"include missing", func(r *api.SubmitTopologyRequest) {
			r.Topology = "includes:\n  - {file: nope.yaml}\n" + fmt.Sprintf(wordsYAML, "inc")
		}, "include nope.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := wordsRequest("fields")
			tt.change(req)
			for _, dry := range []bool{false, true} {
				req.DryRun = dry
				_, err := n.SubmitTopology(t.Context(), req)
				wantCode(t, "SubmitTopology", err, codes.InvalidArgument)
				msg := status.Convert(err).Message()
				if !strings.Contains(msg, tt.want) {
					t.Errorf("message %q does not name %q", msg, tt.want)
				}
				if strings.Contains(msg, n.cfg.LocalDir) || strings.Contains(msg, "/tmp/") {
					t.Errorf("message %q shows a directory of nimbus's", msg)
				}
			}
		})
	}
	// Over REST: 400, with the field named.
	body, _ := json.Marshal(map[string]any{"topology": fmt.Sprintf(wordsYAML, "rest"), "name": "bad\x00name"})
	resp, err := http.Post("http://"+n.HTTPAddr()+api.SubmitPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb api.ErrorBody
	json.NewDecoder(resp.Body).Decode(&eb)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(eb.ErrorMessage, "name: bad topology name") {
		t.Errorf("REST: %d %+v, want 400 naming the name", resp.StatusCode, eb)
	}
	assertNoTopologies(t, n, mem)
}

// TestRebalanceRejectsBadFields: numWorkers 0 is not "unset", too many
// workers or executors are refused, each naming the field.
func TestRebalanceRejectsBadFields(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP())
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	id := submit(t, n, wordsRequest("rebal"))
	tests := []struct {
		name string
		opts *api.RebalanceOptions
		wait *int32
		want string
	}{
		{"zero workers", &api.RebalanceOptions{NumWorkers: proto.Int32(0)}, nil, "rebalanceOptions.numWorkers 0"},
		{"negative workers", &api.RebalanceOptions{NumWorkers: proto.Int32(-3)}, nil, "rebalanceOptions.numWorkers -3"},
		// 10 executors: 2 words, 3 count, 2 ackers... at most 10 workers.
		{"a million workers", &api.RebalanceOptions{NumWorkers: proto.Int32(1_000_000)}, nil, "rebalanceOptions.numWorkers 1000000"},
		{"more workers than executors", &api.RebalanceOptions{NumWorkers: proto.Int32(8)}, nil, "at most 7 workers"},
		{"zero executors", &api.RebalanceOptions{Executors: map[string]int32{"count": 0}}, nil, `rebalanceOptions.executors["count"] 0`},
		{"more executors than tasks", &api.RebalanceOptions{Executors: map[string]int32{"count": 7}}, nil, `rebalanceOptions.executors["count"] 7`},
		{"unknown component", &api.RebalanceOptions{Executors: map[string]int32{"nope": 1}}, nil, `no component "nope"`},
		{"negative wait", nil, proto.Int32(-1), "waitSecs -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := n.RebalanceTopology(t.Context(), &api.RebalanceTopologyRequest{Id: id, RebalanceOptions: tt.opts, WaitSecs: tt.wait})
			wantCode(t, "RebalanceTopology", err, codes.InvalidArgument)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not name %q", msg, tt.want)
			}
		})
	}
	// Over REST, numWorkers 0 is a 400 too, and null leaves it unset.
	for body, want := range map[string]int{
		`{"rebalanceOptions": {"numWorkers": 0}}`:    http.StatusBadRequest,
		`{"rebalanceOptions": {"numWorkers": null}}`: http.StatusOK,
	} {
		resp, err := http.Post("http://"+n.HTTPAddr()+"/api/v1/topology/"+id+"/rebalance/0", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("REST rebalance %s: %d, want %d", body, resp.StatusCode, want)
		}
	}
}

// TestTooFewSlotsIsSaid: a topology asking for more workers than the
// cluster has free slots is told so at submission (dry run included) and
// in the topology list.
func TestTooFewSlotsIsSaid(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700)
	// With the slots it asks for, nothing is said.
	modest := wordsRequest("modest")
	modest.DryRun = true
	modest.Config = mustStruct(t, map[string]any{topology.KeyWorkers: 1})
	if resp, err := n.SubmitTopology(t.Context(), modest); err != nil || resp.GetSchedulerInfo() != "" {
		t.Errorf("dry run with free slots = %v, %v; want no schedulerInfo", resp, err)
	}
	req := wordsRequest("greedy")
	req.Config = mustStruct(t, map[string]any{topology.KeyWorkers: 3})
	req.DryRun = true
	resp, err := n.SubmitTopology(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(resp.GetSchedulerInfo(), "3 workers") || !strings.Contains(resp.GetSchedulerInfo(), "1 free slot") {
		t.Errorf("dry run schedulerInfo = %q, want it to say 3 workers, 1 free slot", resp.GetSchedulerInfo())
	}
	req.DryRun = false
	resp, err = n.SubmitTopology(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetSchedulerInfo() == "" {
		t.Errorf("submission schedulerInfo is empty; the topology got 1 of 3 workers")
	}
	list, err := n.ListTopologies(t.Context(), &api.ListTopologiesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetTopologies()) != 1 || list.GetTopologies()[0].GetSchedulerInfo() != resp.GetSchedulerInfo() {
		t.Errorf("list = %v, want the schedulerInfo %q", list.GetTopologies(), resp.GetSchedulerInfo())
	}
}

// TestUploadTopology: a package larger than any gRPC message goes up as
// a stream; as one message it is refused as too large (413).
func TestUploadTopology(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t)
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	c := client(t, n)
	req := wordsRequest("streamed")
	pkg := tarGz(t, tarEntry{name: "data.bin", body: string(randomBytes(12 << 20))})
	u := &api.Upload{Request: req, Package: io.NewSectionReader(bytes.NewReader(pkg), 0, int64(len(pkg)))}
	resp, err := api.SendUpload(t.Context(), c, u)
	if err != nil {
		t.Fatalf("SendUpload of %d bytes: %v", len(pkg), err)
	}
	p, err := n.store.open(resp.GetTopologyId())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	if p.resSize != int64(len(pkg)) {
		t.Errorf("stored package has %d bytes, want %d", p.resSize, len(pkg))
	}
	unary := proto.CloneOf(wordsRequest("unary"))
	unary.Package = pkg
	_, err = c.SubmitTopology(t.Context(), unary)
	if st := status.Convert(err); st.Code() != codes.ResourceExhausted || api.HTTPStatusOf(st) != http.StatusRequestEntityTooLarge {
		t.Errorf("unary SubmitTopology of %d bytes = %v, want ResourceExhausted (413)", len(pkg), err)
	}
}

// TestSubmissionSlotsAreShared: REST and gRPC submissions take the same
// slots: while a REST upload holds the only one, a gRPC submission is
// refused (429), and once it ends, the gRPC submission goes through.
func TestSubmissionSlotsAreShared(t *testing.T) {
	t.Parallel()
	n, mem := memNimbus(t, withHTTP(), func(c *Config) { c.MaxConcurrentSubmits = 1 })
	addSupervisor(t, mem, nil, "a", 6700, 6701)
	c := client(t, n)

	// startUpload sends the headers of a REST upload and the start of its
	// body, then stalls: the upload holds a slot until conn closes.
	startUpload := func() net.Conn {
		conn, err := net.Dial("tcp", n.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"topology\": \"", api.SubmitPath)
		return conn
	}
	// answered reports whether the server answered the upload already:
	// it came while a gRPC submission held the slot, and was refused.
	answered := func(conn net.Conn) bool {
		conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		got, _ := conn.Read(make([]byte, 1))
		return got > 0
	}
	// Each gRPC try has its own name, so that one going through before the
	// server reads the upload is not a conflict.
	try := 0
	submitGRPC := func() error {
		try++
		_, err := c.SubmitTopology(t.Context(), wordsRequest(fmt.Sprintf("grpc%d", try)))
		return err
	}
	conn := startUpload()
	waitFor(t, "the REST upload to hold the slot", func() bool {
		reason, key, _ := api.LimitOf(status.Convert(submitGRPC()))
		if reason == api.ReasonTooMany && key == api.KeySubmitMaxConcurrent {
			return true
		}
		if answered(conn) {
			conn.Close()
			conn = startUpload()
		}
		return false
	})
	conn.Close()
	waitFor(t, "the slot to be freed", func() bool { return submitGRPC() == nil })
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestInternalErrorsHideDirectories: an error of nimbus's own is a 500
// that says what failed, not where nimbus keeps its files.
func TestInternalErrorsHideDirectories(t *testing.T) {
	for in, want := range map[string]string{
		"stage package: open /var/lib/squall/nimbus/packages/.staging-1/resources.tar.gz: no space left on device": "stage package: open resources.tar.gz: no space left on device",
		`unpack package: mkdirat "/tmp/squall/x": permission denied`:                                               `unpack package: mkdirat "x": permission denied`,
		"5/10 workers, 2 of 3 at http://host:8080/api/v1":                                                          "5/10 workers, 2 of 3 at http://host:8080/api/v1",
		"rename /a/b /c/d: exists": "rename b d: exists",
	} {
		st := status.Convert(grpcError(errors.New(in)))
		if st.Code() != codes.Internal || st.Message() != want {
			t.Errorf("grpcError(%q) = %v %q, want Internal %q", in, st.Code(), st.Message(), want)
		}
	}
	// Others keep their message: the paths there are the user's.
	if msg := status.Convert(grpcError(invalidf("include /etc/passwd: not a file of the package"))).Message(); !strings.Contains(msg, "/etc/passwd") {
		t.Errorf("an InvalidArgument message lost its path: %q", msg)
	}
}

// TestBadIDsAreNotFound: an id no topology can have is not looked up.
func TestBadIDsAreNotFound(t *testing.T) {
	t.Parallel()
	n, _ := memNimbus(t)
	for _, id := range []string{"nul\x00-1-2", "a/b-1-2", "../x", strings.Repeat("x", 400), "esc\x1b-1-2"} {
		_, err := n.GetTopology(t.Context(), &api.GetTopologyRequest{Id: id})
		wantCode(t, fmt.Sprintf("GetTopology(%q)", id), err, codes.NotFound)
		_, err = n.KillTopology(t.Context(), &api.KillTopologyRequest{Id: id})
		wantCode(t, fmt.Sprintf("KillTopology(%q)", id), err, codes.NotFound)
	}
}
