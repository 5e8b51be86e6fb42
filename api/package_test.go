package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// memStream is an in-memory DownloadPackage stream.
type memStream struct {
	msgs []*DownloadPackageResponse
	// err ends Recv after the messages; io.EOF when nil.
	err error
}

func (s *memStream) Send(m *DownloadPackageResponse) error {
	s.msgs = append(s.msgs, m)
	return nil
}

func (s *memStream) Recv() (*DownloadPackageResponse, error) {
	if len(s.msgs) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, io.EOF
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return m, nil
}

func TestPackageRoundTrip(t *testing.T) {
	sizes := []int{0, 1, PackageChunkBytes - 1, PackageChunkBytes, PackageChunkBytes + 1, 5 * PackageChunkBytes / 2}
	for _, rs := range sizes {
		for _, bs := range []int{0, 3, PackageChunkBytes + 5} {
			t.Run(fmt.Sprintf("resources %d go binary %d", rs, bs), func(t *testing.T) {
				res, bin := randomBytes(rs, uint64(rs)), randomBytes(bs, uint64(bs)+1)
				m := &PackageManifest{
					TopologyId: "wc-1-2", Digest: "sha256:x",
					Submission:  &SubmitTopologyRequest{Topology: wordCountYAML, Inactive: true},
					PackageSize: int64(rs), GoBinarySize: int64(bs),
				}
				s := &memStream{}
				if err := SendPackage(s, m, bytes.NewReader(res), bytes.NewReader(bin)); err != nil {
					t.Fatalf("SendPackage: %v", err)
				}
				for _, msg := range s.msgs {
					if c := msg.GetChunk(); c != nil && len(c.GetData()) > PackageChunkBytes {
						t.Errorf("chunk of %d bytes, more than %d", len(c.GetData()), PackageChunkBytes)
					}
				}
				var gotRes, gotBin bytes.Buffer
				got, err := ReceivePackage(s, &gotRes, &gotBin)
				if err != nil {
					t.Fatalf("ReceivePackage: %v", err)
				}
				if !proto.Equal(got, m) {
					t.Errorf("manifest = %v, want %v", got, m)
				}
				if !bytes.Equal(gotRes.Bytes(), res) || !bytes.Equal(gotBin.Bytes(), bin) {
					t.Errorf("parts differ: resources %d/%d bytes, go binary %d/%d", gotRes.Len(), rs, gotBin.Len(), bs)
				}
			})
		}
	}
}

func TestSendPackageSizeMismatch(t *testing.T) {
	tests := []struct {
		name          string
		size          int64
		resources     io.Reader
		wantErrStream bool
	}{
		{"reader longer than manifest", 3, bytes.NewReader([]byte("abcd")), true},
		{"reader shorter than manifest", 5, bytes.NewReader([]byte("abcd")), true},
		{"nil reader for a non-empty part", 1, nil, true},
		{"nil reader for an empty part", 0, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := SendPackage(&memStream{}, &PackageManifest{PackageSize: tt.size}, tt.resources, nil)
			if got := errors.Is(err, ErrPackageStream); got != tt.wantErrStream {
				t.Errorf("SendPackage = %v, want ErrPackageStream: %v", err, tt.wantErrStream)
			}
		})
	}
}

func TestReceivePackageContract(t *testing.T) {
	manifest := func(res, bin int64) *DownloadPackageResponse {
		return &DownloadPackageResponse{Content: &DownloadPackageResponse_Manifest{Manifest: &PackageManifest{PackageSize: res, GoBinarySize: bin}}}
	}
	chunk := func(p PackagePart, data string) *DownloadPackageResponse {
		return &DownloadPackageResponse{Content: &DownloadPackageResponse_Chunk{Chunk: &PackageChunk{Part: p, Data: []byte(data)}}}
	}
	const res, bin = PackagePart_PACKAGE_PART_RESOURCES, PackagePart_PACKAGE_PART_GO_BINARY
	tests := []struct {
		name string
		msgs []*DownloadPackageResponse
		err  error // stream error after msgs
		want error // nil: success
	}{
		{"valid", []*DownloadPackageResponse{manifest(3, 2), chunk(res, "ab"), chunk(res, "c"), chunk(bin, "xy")}, nil, nil},
		{"valid, empty chunks", []*DownloadPackageResponse{manifest(1, 0), chunk(res, ""), chunk(res, "a"), chunk(bin, "")}, nil, nil},
		{"empty stream", nil, nil, ErrPackageStream},
		{"chunk first", []*DownloadPackageResponse{chunk(res, "a")}, nil, ErrPackageStream},
		{"empty message first", []*DownloadPackageResponse{{}}, nil, ErrPackageStream},
		{"second manifest", []*DownloadPackageResponse{manifest(0, 0), manifest(0, 0)}, nil, ErrPackageStream},
		{"binary before resources", []*DownloadPackageResponse{manifest(1, 1), chunk(bin, "x"), chunk(res, "a")}, nil, ErrPackageStream},
		{"unknown part", []*DownloadPackageResponse{manifest(0, 0), chunk(PackagePart_PACKAGE_PART_UNSPECIFIED, "a")}, nil, ErrPackageStream},
		{"too long", []*DownloadPackageResponse{manifest(1, 0), chunk(res, "ab")}, nil, ErrPackageStream},
		{"cut short", []*DownloadPackageResponse{manifest(3, 0), chunk(res, "ab")}, nil, ErrPackageStream},
		{"negative size", []*DownloadPackageResponse{manifest(-1, 0)}, nil, ErrPackageStream},
		{"stream error", []*DownloadPackageResponse{manifest(3, 0), chunk(res, "ab")}, status.Error(codes.Unavailable, "gone"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReceivePackage(&memStream{msgs: tt.msgs, err: tt.err}, io.Discard, nil)
			switch {
			case tt.err != nil:
				if status.Code(err) != status.Code(tt.err) {
					t.Errorf("ReceivePackage = %v, want the stream's error %v", err, tt.err)
				}
			case tt.want == nil && err != nil:
				t.Errorf("ReceivePackage = %v, want success", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Errorf("ReceivePackage = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDownloadPackageOverGRPC streams a package larger than gRPC's default
// message limit through a real connection.
func TestDownloadPackageOverGRPC(t *testing.T) {
	env := newTestEnv(t, viaClient, DefaultGatewayConfig())
	res, bin := randomBytes(9<<20+11, 4), randomBytes(6<<20, 5)
	m := &PackageManifest{TopologyId: "wc-1-2", Digest: "sha256:abc",
		Submission:  &SubmitTopologyRequest{Topology: wordCountYAML, Name: "wc"},
		PackageSize: int64(len(res)), GoBinarySize: int64(len(bin))}
	env.fake.mu.Lock()
	env.fake.pkg = fakePackage{manifest: m, resources: res, goBinary: bin}
	env.fake.mu.Unlock()

	stream, err := env.client.DownloadPackage(t.Context(), &DownloadPackageRequest{TopologyId: "wc-1-2", Digest: "sha256:abc"})
	if err != nil {
		t.Fatal(err)
	}
	var gotRes, gotBin bytes.Buffer
	got, err := ReceivePackage(stream, &gotRes, &gotBin)
	if err != nil {
		t.Fatalf("ReceivePackage: %v", err)
	}
	if !proto.Equal(got, m) || !bytes.Equal(gotRes.Bytes(), res) || !bytes.Equal(gotBin.Bytes(), bin) {
		t.Errorf("downloaded package differs")
	}
	wantCall(t, env.fake, "DownloadPackage", &DownloadPackageRequest{TopologyId: "wc-1-2", Digest: "sha256:abc"})

	env.fake.setErr(status.Error(codes.NotFound, "no topology wc-9-9"))
	stream, err = env.client.DownloadPackage(t.Context(), &DownloadPackageRequest{TopologyId: "wc-9-9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReceivePackage(stream, nil, nil); status.Code(err) != codes.NotFound {
		t.Errorf("ReceivePackage of an unknown topology = %v, want NotFound", err)
	}
}
