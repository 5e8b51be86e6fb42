package supervisor

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/layout"
)

// packageServer serves fake packages over gRPC and returns a client.
func packageServer(t *testing.T, pkgs ...fakePackage) api.NimbusClient {
	t.Helper()
	f := &fakeNimbus{pkgs: map[string]fakePackage{}}
	for _, p := range pkgs {
		f.add(p)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	api.RegisterNimbusServer(srv, f)
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(lis) })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		wg.Wait()
	})
	return api.NewNimbusClient(conn)
}

func tarGz(t *testing.T, entries ...tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := []byte("content")
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write(body)
		}
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func pkg(id, digest string, resources, bin []byte) fakePackage {
	return fakePackage{
		manifest: &api.PackageManifest{TopologyId: id, Digest: digest, Submission: &api.SubmitTopologyRequest{Name: id},
			PackageSize: int64(len(resources)), GoBinarySize: int64(len(bin))},
		resources: resources,
		goBinary:  bin,
	}
}

func TestFetchPackage(t *testing.T) {
	good := tarGz(t, tar.Header{Name: "a.txt", Typeflag: tar.TypeReg, Mode: 0o644})
	tests := []struct {
		name    string
		pkg     fakePackage
		ask     string // topology asked for
		digest  string
		limit   int64
		refused bool
	}{
		{name: "good", pkg: pkg("t", "d1", good, []byte("#!bin")), ask: "t", digest: "d1"},
		{name: "empty resources", pkg: pkg("t", "d1", nil, nil), ask: "t", digest: "d1"},
		{name: "too large", pkg: pkg("t", "d1", good, make([]byte, 100)), ask: "t", digest: "d1", limit: 50, refused: true},
		{name: "path traversal", pkg: pkg("t", "d1", tarGz(t, tar.Header{Name: "../x", Typeflag: tar.TypeReg}), nil), ask: "t", digest: "d1", refused: true},
		{name: "symlink out", pkg: pkg("t", "d1", tarGz(t, tar.Header{Name: "l", Typeflag: tar.TypeSymlink, Linkname: "../../etc"}), nil), ask: "t", digest: "d1", refused: true},
		{name: "device", pkg: pkg("t", "d1", tarGz(t, tar.Header{Name: "dev", Typeflag: tar.TypeChar}), nil), ask: "t", digest: "d1", refused: true},
		{name: "not gzip", pkg: pkg("t", "d1", []byte("plain"), nil), ask: "t", digest: "d1", refused: true},
		{name: "digest not asked for", pkg: pkg("t", "d2", good, nil), ask: "t", digest: "", refused: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := packageServer(t, tt.pkg)
			root := t.TempDir()
			local := filepath.Join(root, "local")
			lim := packageLimits{maxBytes: 1 << 20}
			if tt.limit > 0 {
				lim.maxBytes = tt.limit
			}
			got, err := fetchPackage(t.Context(), client, local, tt.ask, tt.digest, lim)
			if tt.refused {
				if !errors.Is(err, ErrPackageRefused) {
					t.Fatalf("fetchPackage() = %q, %v; want ErrPackageRefused", got, err)
				}
				if entries, _ := os.ReadDir(layout.StormDistRoot(local)); len(entries) != 0 {
					t.Errorf("stormdist holds %v after a refusal", entries)
				}
				if entries, _ := os.ReadDir(root); len(entries) != 1 {
					t.Errorf("%s holds %v, want only local/", root, entries)
				}
				return
			}
			if err != nil || got != tt.pkg.manifest.GetDigest() {
				t.Fatalf("fetchPackage() = %q, %v; want %q", got, err, tt.pkg.manifest.GetDigest())
			}
			dist := layout.StormDist(local, tt.ask)
			if d, _ := readDigest(dist); d != got {
				t.Errorf("digest file %q, want %q", d, got)
			}
			if _, err := os.Stat(layout.ResourcesDir(dist)); err != nil {
				t.Errorf("resources/: %v", err)
			}
			_, err = os.Stat(layout.GoBinary(dist))
			if hasBin := len(tt.pkg.goBinary) > 0; hasBin != (err == nil) {
				t.Errorf("bin/topology: %v, want present = %v", err, hasBin)
			}
		})
	}
}

func TestFetchPackageMismatch(t *testing.T) {
	// A nimbus that answers with another topology's package.
	client := packageServer(t, pkg("other", "d1", nil, nil))
	local := t.TempDir()
	_, err := fetchPackage(t.Context(), mismatchClient{client, "other"}, local, "t", "d1", packageLimits{maxBytes: 1 << 20})
	if !errors.Is(err, ErrPackageRefused) {
		t.Errorf("fetchPackage() = %v, want ErrPackageRefused", err)
	}
}

// mismatchClient asks for another topology than the caller did.
type mismatchClient struct {
	api.NimbusClient
	id string
}

func (c mismatchClient) DownloadPackage(ctx context.Context, r *api.DownloadPackageRequest, opts ...grpc.CallOption) (grpc.ServerStreamingClient[api.DownloadPackageResponse], error) {
	return c.NimbusClient.DownloadPackage(ctx, &api.DownloadPackageRequest{TopologyId: c.id, Digest: r.GetDigest()}, opts...)
}

func TestFetchPackageReplaces(t *testing.T) {
	local := t.TempDir()
	a := tarGz(t, tar.Header{Name: "old.txt", Typeflag: tar.TypeReg})
	b := tarGz(t, tar.Header{Name: "new.txt", Typeflag: tar.TypeReg})
	if _, err := fetchPackage(t.Context(), packageServer(t, pkg("t", "d1", a, nil)), local, "t", "d1", packageLimits{maxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	if _, err := fetchPackage(t.Context(), packageServer(t, pkg("t", "d2", b, nil)), local, "t", "d2", packageLimits{maxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	res := layout.ResourcesDir(layout.StormDist(local, "t"))
	if _, err := os.Stat(filepath.Join(res, "new.txt")); err != nil {
		t.Errorf("new package not installed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res, "old.txt")); !os.IsNotExist(err) {
		t.Errorf("old package still there: %v", err)
	}
	entries, _ := os.ReadDir(layout.StormDistRoot(local))
	if len(entries) != 1 {
		t.Errorf("stormdist holds %v, want only t", entries)
	}
}
