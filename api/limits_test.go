package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/squallstream/squall/internal/testenv"
)

// readJSONSubmission runs readSubmitJSON and the gateway's unmarshaler on
// body, as serveSubmit does, and returns the request with its parts read
// back into it.
func readJSONSubmission(t *testing.T, body string) (*SubmitTopologyRequest, error) {
	t.Helper()
	spool := NewSpool(t.TempDir())
	t.Cleanup(func() { spool.Close() })
	parts := &partWriter{spool: spool, limit: 1 << 30}
	rest, err := readSubmitJSON(strings.NewReader(body), parts)
	if err != nil {
		return nil, err
	}
	req := &SubmitTopologyRequest{}
	if err := newJSONMarshaler().Unmarshal(rest, req); err != nil {
		return nil, err
	}
	return parts.upload(req).request()
}

// protojsonSubmission is what protojson makes of body: the reference.
func protojsonSubmission(body string) (*SubmitTopologyRequest, error) {
	req := &SubmitTopologyRequest{}
	err := protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal([]byte(body), req)
	return req, err
}

func TestReadSubmitJSON(t *testing.T) {
	pkg := []byte("\x00\x01\x02\xfe\xff package bytes")
	std := base64.StdEncoding.EncodeToString(pkg)
	tests := []struct {
		name, body string
		want       *SubmitTopologyRequest
	}{
		{"empty object", `{}`, &SubmitTopologyRequest{}},
		{"package last", `{"topology": "name: wc\n", "package": "` + std + `"}`,
			&SubmitTopologyRequest{Topology: "name: wc\n", Package: pkg}},
		{"package first", ` { "package" : "` + std + `" , "topology":"t" } `,
			&SubmitTopologyRequest{Topology: "t", Package: pkg}},
		{"unpadded", `{"package": "` + base64.RawStdEncoding.EncodeToString(pkg) + `"}`, &SubmitTopologyRequest{Package: pkg}},
		{"URL alphabet", `{"package": "` + base64.URLEncoding.EncodeToString(pkg) + `"}`, &SubmitTopologyRequest{Package: pkg}},
		{"escaped slash and line breaks", `{"package": "` + strings.ReplaceAll(std[:8]+`\n`+std[8:], "/", `\/`) + `"}`,
			&SubmitTopologyRequest{Package: pkg}},
		{"unicode escapes", `{"goBinary": "\u0041\u0041\u0045\u0043"}`, &SubmitTopologyRequest{GoBinary: []byte{0, 1, 2}}},
		{"proto names", `{"go_binary": "AAEC", "topology_file": "t.yaml", "dry_run": true}`,
			&SubmitTopologyRequest{GoBinary: []byte{0, 1, 2}, TopologyFile: "t.yaml", DryRun: true}},
		{"null parts", `{"package": null, "goBinary": null, "name": "x"}`, &SubmitTopologyRequest{Name: "x"}},
		{"nested config and unknown fields", `{"config": {"a": [1, {"b": "}]"}], "c": null}, "callback": "x", "inactive": true,
			"environment": {"HOME": "/root"}}`,
			&SubmitTopologyRequest{Inactive: true, Environment: map[string]string{"HOME": "/root"},
				Config: mustStruct(t, map[string]any{"a": []any{1, map[string]any{"b": "}]"}}, "c": nil})}},
		{"escapes in other fields", `{"topology": "a\"b\\c\u00e9\n"}`, &SubmitTopologyRequest{Topology: "a\"b\\c\u00e9\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readJSONSubmission(t, tt.body)
			if err != nil {
				t.Fatalf("readSubmitJSON(%s) = %v", tt.body, err)
			}
			if !proto.Equal(got, tt.want) {
				t.Errorf("readSubmitJSON(%s) = %v, want %v", tt.body, got, tt.want)
			}
			if ref, err := protojsonSubmission(tt.body); err == nil && !proto.Equal(got, ref) {
				t.Errorf("readSubmitJSON(%s) = %v, protojson says %v", tt.body, got, ref)
			}
		})
	}
}

func TestReadSubmitJSONRejects(t *testing.T) {
	for _, body := range []string{
		`[]`,
		`"package"`,
		`{"package": "AAEC", "package": "AAEC"}`,
		`{"package": "AA*C"}`,
		`{"package": "A"}`,
		`{"package": "AA=C"}`,
		`{"package": "AAE=="}`,
		`{"package": 12}`,
		`{"package": nul}`,
		`{"package": "AAEC"`,
		`{"package": "\u00e9AAA"}`,
		`{"topology": "x"} {}`,
		`{"topology": "x",}`,
		`{"topology" "x"}`,
		`{"topology": "x` + "\x01" + `"}`,
		`{"inactive": maybe}`,
		`{"config": ` + strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2) + `}`,
	} {
		if got, err := readJSONSubmission(t, body); err == nil {
			t.Errorf("readSubmitJSON(%.60s) = %v, want an error", body, got)
		}
	}
}

// FuzzReadSubmitJSON: whatever protojson accepts, the streaming reader
// reads the same; nothing makes it panic.
func FuzzReadSubmitJSON(f *testing.F) {
	for _, seed := range []string{
		`{}`, `{"topology": "name: wc\n", "package": "AAEC"}`, `{"goBinary": "AAE=", "config": {"a": [1, 2]}}`,
		`{"package": null}`, `{"package": "A\/8="}`, `{"environment": {"A": "b"}, "inactive": true}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got, err := readJSONSubmission(t, body)
		ref, refErr := protojsonSubmission(body)
		if refErr != nil {
			return
		}
		if err != nil {
			t.Fatalf("readSubmitJSON(%q) = %v; protojson reads %v", body, err, ref)
		}
		if !proto.Equal(got, ref) {
			t.Fatalf("readSubmitJSON(%q) = %v; protojson reads %v", body, got, ref)
		}
	})
}

// uploadServer is a fake nimbus taking uploads, as nimbus does: it sees
// the parts on disk.
type uploadServer struct {
	*fakeNimbus
	mu  sync.Mutex
	got []*Upload
	// block, when set, holds SubmitUpload until it is closed.
	block chan struct{}
}

func (u *uploadServer) SubmitUpload(ctx context.Context, up *Upload) (*SubmitTopologyResponse, error) {
	if u.block != nil {
		<-u.block
	}
	u.mu.Lock()
	u.got = append(u.got, up)
	u.mu.Unlock()
	req, err := up.request()
	if err != nil {
		return nil, err
	}
	return u.SubmitTopology(ctx, req)
}

func TestGatewayGivesUploadServersTheirParts(t *testing.T) {
	srv := &uploadServer{fakeNimbus: newFakeNimbus()}
	gw, err := NewGatewayHandler(ForServer(srv), GatewayConfig{MaxSubmitBytes: 1 << 20, MaxRequestBytes: 1 << 10, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	pkg := randomBytes(300<<10, 1)
	body := `{"topology": "name: wc\n", "package": "` + base64.StdEncoding.EncodeToString(pkg) + `"}`
	resp, err := http.Post(hs.URL+SubmitPath, jsonType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	wantCall(t, srv.fakeNimbus, "SubmitTopology", &SubmitTopologyRequest{Topology: "name: wc\n", Package: pkg})
	if len(srv.got) != 1 || srv.got[0].Package == nil || srv.got[0].Package.Size() != int64(len(pkg)) || srv.got[0].GoBinary != nil {
		t.Errorf("SubmitUpload got %+v", srv.got)
	}
}

// TestRefusedUploadIsAnsweredAtOnce: a client that sent an upload's
// headers and stalls in its body (as one streaming a large package does
// while it waits for an answer) gets the 429 without sending the rest.
func TestRefusedUploadIsAnsweredAtOnce(t *testing.T) {
	slots := NewSlots(1)
	env := newTestEnv(t, viaServer, GatewayConfig{MaxSubmitBytes: 1 << 20, MaxRequestBytes: 1 << 10, Submissions: slots})
	if !slots.TryAcquire() {
		t.Fatal("no free slot")
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(env.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"topology\": \"", SubmitPath)
	// Generous: without the fix the answer never comes.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a refused upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("status %d, want 429", resp.StatusCode)
	}
}

// TestGatewaySubmissionSlots: with every slot taken, a submission is
// answered 429 before its body is read, naming the limit, with a
// Retry-After; once a slot is free it goes through.
func TestGatewaySubmissionSlots(t *testing.T) {
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			slots := NewSlots(1)
			env := newTestEnv(t, target, GatewayConfig{MaxSubmitBytes: 1 << 20, MaxRequestBytes: 1 << 10, Submissions: slots})
			if !slots.TryAcquire() {
				t.Fatal("no free slot")
			}
			before := env.fake.numCalls()
			resp := env.do(t, "POST", SubmitPath, jsonType, strings.NewReader(`{"topology": "x"}`))
			if msg := wantErrorBody(t, resp, http.StatusTooManyRequests); !strings.Contains(msg, KeySubmitMaxConcurrent) {
				t.Errorf("message %q does not name %s", msg, KeySubmitMaxConcurrent)
			}
			if resp.header.Get("Retry-After") == "" {
				t.Errorf("429 without Retry-After")
			}
			if env.fake.numCalls() != before {
				t.Errorf("the refused submission reached nimbus")
			}
			slots.Release()
			if resp := env.do(t, "POST", SubmitPath, jsonType, strings.NewReader(`{"topology": "x"}`)); resp.status != 200 {
				t.Errorf("with a free slot: status %d: %s", resp.status, resp.body)
			}
			if n := slots.InUse(); n != 0 {
				t.Errorf("%d slots in use after the submission", n)
			}
		})
	}
}

// TestSubmitTap: gRPC submissions take a slot before their message is
// read; without one they are ResourceExhausted (TOO_MANY_REQUESTS), and a
// call frees its slot when it ends, refused or not.
func TestSubmitTap(t *testing.T) {
	slots := NewSlots(1)
	fake := newFakeNimbus()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.InTapHandle(SubmitTap(slots)))
	RegisterNimbusServer(srv, fake)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(lis) })
	t.Cleanup(func() {
		srv.Stop()
		wg.Wait()
	})
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := NewNimbusClient(conn)

	if _, err := c.SubmitTopology(t.Context(), &SubmitTopologyRequest{Topology: "x"}); err != nil {
		t.Fatalf("SubmitTopology = %v", err)
	}
	testenv.WaitUntil(t, 30*time.Second, "the slot to be freed", func() bool { return slots.InUse() == 0 })

	slots.TryAcquire()
	for name, call := range map[string]func() error{
		"unary": func() error {
			_, err := c.SubmitTopology(t.Context(), &SubmitTopologyRequest{Topology: "x"})
			return err
		},
		"stream": func() error {
			_, err := SendUpload(t.Context(), c, &Upload{Request: &SubmitTopologyRequest{Topology: "x"}, Package: bytesPart([]byte("pkg"))})
			return err
		},
	} {
		err := call()
		reason, key, ok := LimitOf(status.Convert(err))
		if !ok || reason != ReasonTooMany || key != KeySubmitMaxConcurrent {
			t.Errorf("%s with no free slot = %v, want TOO_MANY_REQUESTS of %s", name, err, KeySubmitMaxConcurrent)
		}
	}
	// Other calls take no slot.
	if _, err := c.ListTopologies(t.Context(), &ListTopologiesRequest{}); err != nil {
		t.Errorf("ListTopologies with no free slot = %v", err)
	}
	slots.Release()
	if _, err := SendUpload(t.Context(), c, &Upload{Request: &SubmitTopologyRequest{Topology: "x"}, Package: bytesPart([]byte("pkg"))}); err != nil {
		t.Errorf("SendUpload = %v", err)
	}
	wantCall(t, fake, "SubmitTopology", &SubmitTopologyRequest{Topology: "x", Package: []byte("pkg")})
	testenv.WaitUntil(t, 30*time.Second, "the slot to be freed", func() bool { return slots.InUse() == 0 })
}

// chanReceiver is an UploadReceiver fed by a test.
type chanReceiver chan *UploadTopologyRequest

func (c chanReceiver) Recv() (*UploadTopologyRequest, error) {
	m, ok := <-c
	if !ok {
		return nil, io.EOF
	}
	return m, nil
}

func header(sub *SubmitTopologyRequest, pkg, bin int64) *UploadTopologyRequest {
	return &UploadTopologyRequest{Content: &UploadTopologyRequest_Header{Header: &UploadHeader{Submission: sub, PackageSize: pkg, GoBinarySize: bin}}}
}

func chunk(part PackagePart, data string) *UploadTopologyRequest {
	return &UploadTopologyRequest{Content: &UploadTopologyRequest_Chunk{Chunk: &PackageChunk{Part: part, Data: []byte(data)}}}
}

func TestReceiveUpload(t *testing.T) {
	const res, bin = PackagePart_PACKAGE_PART_RESOURCES, PackagePart_PACKAGE_PART_GO_BINARY
	sub := &SubmitTopologyRequest{Topology: "x"}
	tests := []struct {
		name   string
		msgs   []*UploadTopologyRequest
		code   codes.Code
		reason string
	}{
		{"complete", []*UploadTopologyRequest{header(sub, 4, 2), chunk(res, "ab"), chunk(res, "cd"), chunk(bin, "ef")}, codes.OK, ""},
		{"no parts", []*UploadTopologyRequest{header(sub, 0, 0)}, codes.OK, ""},
		{"too large before any chunk", []*UploadTopologyRequest{header(sub, 60, 41)}, codes.ResourceExhausted, ReasonTooLarge},
		{"no header", []*UploadTopologyRequest{chunk(res, "ab")}, codes.InvalidArgument, ""},
		{"no submission", []*UploadTopologyRequest{header(nil, 0, 0)}, codes.InvalidArgument, ""},
		{"bytes in the header", []*UploadTopologyRequest{header(&SubmitTopologyRequest{Package: []byte("p")}, 0, 0)}, codes.InvalidArgument, ""},
		{"negative size", []*UploadTopologyRequest{header(sub, -1, 0)}, codes.InvalidArgument, ""},
		{"second header", []*UploadTopologyRequest{header(sub, 0, 0), header(sub, 0, 0)}, codes.InvalidArgument, ""},
		{"longer than said", []*UploadTopologyRequest{header(sub, 1, 0), chunk(res, "ab")}, codes.InvalidArgument, ""},
		{"shorter than said", []*UploadTopologyRequest{header(sub, 3, 0), chunk(res, "ab")}, codes.InvalidArgument, ""},
		{"out of order", []*UploadTopologyRequest{header(sub, 1, 1), chunk(bin, "a"), chunk(res, "b")}, codes.InvalidArgument, ""},
		{"unknown part", []*UploadTopologyRequest{header(sub, 1, 0), chunk(PackagePart_PACKAGE_PART_UNSPECIFIED, "a")}, codes.InvalidArgument, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := make(chanReceiver, len(tt.msgs))
			for _, m := range tt.msgs {
				c <- m
			}
			close(c)
			spool := NewSpool(t.TempDir())
			defer spool.Close()
			u, err := ReceiveUpload(t.Context(), c, spool, UploadLimits{MaxBytes: 100})
			st := status.Convert(err)
			if st.Code() != tt.code {
				t.Fatalf("ReceiveUpload = %v, want %v", err, tt.code)
			}
			if reason, _, _ := LimitOf(st); reason != tt.reason {
				t.Errorf("ReceiveUpload = %v: reason %q, want %q", err, reason, tt.reason)
			}
			if err == nil {
				req, err := u.request()
				if err != nil || req.GetTopology() != "x" || len(req.GetPackage())+len(req.GetGoBinary()) != int(u.Size()) {
					t.Errorf("upload %v, %v", req, err)
				}
			}
		})
	}
}

// TestReceiveUploadTimeouts: a stream that stalls is cut after the idle
// timeout, one that trickles after the whole timeout; both name the key.
func TestReceiveUploadTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := make(chanReceiver, 1)
		c <- header(&SubmitTopologyRequest{Topology: "x"}, 10, 0)
		spool := NewSpool(t.TempDir())
		defer spool.Close()
		_, err := ReceiveUpload(t.Context(), c, spool, UploadLimits{MaxBytes: 100, IdleTimeout: 30 * time.Second})
		if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), KeySubmitIdleTimeoutSecs) {
			t.Errorf("stalled upload: %v", err)
		}
		close(c)
	})
	synctest.Test(t, func(t *testing.T) {
		c := make(chanReceiver)
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer close(c)
			c <- header(&SubmitTopologyRequest{Topology: "x"}, 1000, 0)
			for range 1000 {
				time.Sleep(time.Second)
				select {
				case c <- chunk(PackagePart_PACKAGE_PART_RESOURCES, "a"):
				case <-done:
					return
				}
			}
		})
		spool := NewSpool(t.TempDir())
		defer spool.Close()
		_, err := ReceiveUpload(t.Context(), c, spool, UploadLimits{MaxBytes: 2000, IdleTimeout: 30 * time.Second, Timeout: time.Minute})
		if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), KeySubmitTimeoutSecs) {
			t.Errorf("trickling upload: %v", err)
		}
		close(done)
		wg.Wait()
	})
}

// TestSlowBodies: a request whose body stops arriving is cut, a
// submission after SubmitIdleTimeout, any other after the server's
// ReadTimeout, and its connection closed.
func TestSlowBodies(t *testing.T) {
	gw, err := NewGatewayHandler(ForServer(newFakeNimbus()), GatewayConfig{
		MaxSubmitBytes: 1 << 20, MaxRequestBytes: 1 << 10,
		SubmitIdleTimeout: 300 * time.Millisecond, SubmitTimeout: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	hc := DefaultHTTPConfig()
	hc.ReadTimeout = 300 * time.Millisecond
	hs := httptest.NewUnstartedServer(nil)
	hs.Config = NewHTTPServer(gw, hc)
	hs.Start()
	t.Cleanup(hs.Close)
	for _, path := range []string{SubmitPath, "/api/v1/topology/wc-1-2/rebalance/0"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.Dial("tcp", hs.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"topology\": \"", path)
			conn.SetReadDeadline(time.Now().Add(30 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("status %d, want 408", resp.StatusCode)
			}
			// The server closes the connection.
			if _, err := io.ReadAll(conn); err != nil && !errors.Is(err, net.ErrClosed) {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Errorf("the connection stayed open")
				}
			}
		})
	}
}

// TestLargeJSONSubmissionIsStreamed: a JSON submission several times the
// size of the gateway's buffers reaches the server whole, byte for byte.
func TestLargeJSONSubmissionIsStreamed(t *testing.T) {
	srv := &uploadServer{fakeNimbus: newFakeNimbus()}
	gw, err := NewGatewayHandler(ForServer(srv), GatewayConfig{MaxSubmitBytes: 8 << 20, MaxRequestBytes: 1 << 10, SpoolDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	pkg := randomBytes(5<<20, 7)
	bin := randomBytes(1<<20, 8)
	body := `{"goBinary": "` + base64.StdEncoding.EncodeToString(bin) + `", "topology": "name: wc\n", "package": "` +
		base64.URLEncoding.EncodeToString(pkg) + `", "config": {"topology.workers": 2}}`
	resp, err := http.Post(hs.URL+SubmitPath, jsonType, unsized{strings.NewReader(body)})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	c, _ := srv.lastCall()
	got := c.req.(*SubmitTopologyRequest)
	if !bytes.Equal(got.GetPackage(), pkg) || !bytes.Equal(got.GetGoBinary(), bin) || got.GetTopology() != "name: wc\n" ||
		!proto.Equal(got.GetConfig(), &structpb.Struct{Fields: map[string]*structpb.Value{"topology.workers": structpb.NewNumberValue(2)}}) {
		t.Errorf("the submission arrived changed")
	}
}
