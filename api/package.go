package api

import (
	"errors"
	"fmt"
	"io"
)

// PackageChunkBytes is the size of the chunks SendPackage sends: well under
// gRPC's default 4 MiB message limit, so package downloads need no special
// client settings.
const PackageChunkBytes = 1 << 20

// PackageSender is the sending side of a DownloadPackage stream
// (Nimbus_DownloadPackageServer).
type PackageSender interface {
	Send(*DownloadPackageResponse) error
}

// PackageReceiver is the receiving side of a DownloadPackage stream
// (Nimbus_DownloadPackageClient).
type PackageReceiver interface {
	Recv() (*DownloadPackageResponse, error)
}

// SendPackage writes a DownloadPackage answer: the manifest, then
// m.PackageSize bytes of resources, then m.GoBinarySize bytes of goBinary,
// in chunks of PackageChunkBytes. A nil reader stands for an empty part. It
// fails if a reader holds more or fewer bytes than the manifest says.
func SendPackage(s PackageSender, m *PackageManifest, resources, goBinary io.Reader) error {
	if err := s.Send(&DownloadPackageResponse{Content: &DownloadPackageResponse_Manifest{Manifest: m}}); err != nil {
		return fmt.Errorf("send package manifest: %w", err)
	}
	if err := sendPart(s, PackagePart_PACKAGE_PART_RESOURCES, resources, m.GetPackageSize()); err != nil {
		return err
	}
	return sendPart(s, PackagePart_PACKAGE_PART_GO_BINARY, goBinary, m.GetGoBinarySize())
}

func sendPart(s PackageSender, part PackagePart, r io.Reader, size int64) error {
	if r == nil {
		r = eofReader{}
	}
	// Read one byte past size to notice a reader longer than the manifest.
	r = io.LimitReader(r, size+1)
	var sent int64
	for {
		// A fresh buffer per chunk: gRPC may still hold a sent message.
		buf := make([]byte, min(size+1-sent, PackageChunkBytes))
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			if sent+int64(n) > size {
				return fmt.Errorf("send package %s: %w: more than the manifest's %d bytes", partName(part), ErrPackageStream, size)
			}
			chunk := &PackageChunk{Part: part, Data: buf[:n]}
			if err := s.Send(&DownloadPackageResponse{Content: &DownloadPackageResponse_Chunk{Chunk: chunk}}); err != nil {
				return fmt.Errorf("send package %s: %w", partName(part), err)
			}
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("send package %s: read: %w", partName(part), err)
		}
	}
	if sent != size {
		return fmt.Errorf("send package %s: %w: %d bytes, the manifest says %d", partName(part), ErrPackageStream, sent, size)
	}
	return nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ReceivePackage reads a DownloadPackage answer to its end, writing the
// resources archive to resources and the Go binary to goBinary (either may
// be nil to discard it), and returns the manifest. It checks the stream's
// contract, returning an error wrapping ErrPackageStream when the stream
// does not start with the manifest, sends parts out of order, or ends with
// other sizes than the manifest's. Stream errors (a gRPC status such as
// NotFound) are returned as they are.
func ReceivePackage(r PackageReceiver, resources, goBinary io.Writer) (*PackageManifest, error) {
	first, err := r.Recv()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("receive package: %w: empty stream", ErrPackageStream)
		}
		return nil, fmt.Errorf("receive package: %w", err)
	}
	m := first.GetManifest()
	if m == nil {
		return nil, fmt.Errorf("receive package: %w: first message is not the manifest", ErrPackageStream)
	}
	if m.GetPackageSize() < 0 || m.GetGoBinarySize() < 0 {
		return nil, fmt.Errorf("receive package: %w: negative size in manifest", ErrPackageStream)
	}
	want := map[PackagePart]int64{
		PackagePart_PACKAGE_PART_RESOURCES: m.GetPackageSize(),
		PackagePart_PACKAGE_PART_GO_BINARY: m.GetGoBinarySize(),
	}
	dst := map[PackagePart]io.Writer{
		PackagePart_PACKAGE_PART_RESOURCES: resources,
		PackagePart_PACKAGE_PART_GO_BINARY: goBinary,
	}
	got := map[PackagePart]int64{}
	current := PackagePart_PACKAGE_PART_RESOURCES
	for {
		msg, err := r.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("receive package: %w", err)
		}
		c := msg.GetChunk()
		if c == nil {
			return nil, fmt.Errorf("receive package: %w: a second manifest", ErrPackageStream)
		}
		part := c.GetPart()
		size, known := want[part]
		switch {
		case !known:
			return nil, fmt.Errorf("receive package: %w: unknown part %v", ErrPackageStream, part)
		case part < current:
			return nil, fmt.Errorf("receive package: %w: %s after %s", ErrPackageStream, partName(part), partName(current))
		case got[part]+int64(len(c.GetData())) > size:
			return nil, fmt.Errorf("receive package: %w: %s longer than the manifest's %d bytes", ErrPackageStream, partName(part), size)
		}
		current = part
		if w := dst[part]; w != nil {
			if _, err := w.Write(c.GetData()); err != nil {
				return nil, fmt.Errorf("receive package %s: write: %w", partName(part), err)
			}
		}
		got[part] += int64(len(c.GetData()))
	}
	for _, part := range []PackagePart{PackagePart_PACKAGE_PART_RESOURCES, PackagePart_PACKAGE_PART_GO_BINARY} {
		if got[part] != want[part] {
			return nil, fmt.Errorf("receive package: %w: %s has %d bytes, the manifest says %d", ErrPackageStream, partName(part), got[part], want[part])
		}
	}
	return m, nil
}

func partName(p PackagePart) string {
	switch p {
	case PackagePart_PACKAGE_PART_RESOURCES:
		return "resources"
	case PackagePart_PACKAGE_PART_GO_BINARY:
		return "go binary"
	}
	return p.String()
}
