package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Upload is a submission whose package and Go binary are read from where
// they wait (files on disk, usually) rather than held in the request, so
// that receiving, forwarding and validating a package costs nimbus disk,
// not memory.
type Upload struct {
	// Request is the submission, with Package and GoBinary empty.
	Request *SubmitTopologyRequest
	// Package and GoBinary are the parts; nil for an empty one.
	Package, GoBinary *io.SectionReader
}

// Size returns the size of the package and the Go binary together.
func (u *Upload) Size() int64 { return partSize(u.Package) + partSize(u.GoBinary) }

func partSize(p *io.SectionReader) int64 {
	if p == nil {
		return 0
	}
	return p.Size()
}

// UploadOf returns the upload of a submission that holds its parts in
// memory, as a unary SubmitTopology does. The request is not copied.
func UploadOf(req *SubmitTopologyRequest) *Upload {
	u := &Upload{Request: req}
	if len(req.GetPackage()) > 0 || len(req.GetGoBinary()) > 0 {
		u.Request = proto.CloneOf(req)
		u.Request.Package, u.Request.GoBinary = nil, nil
		u.Package = bytesPart(req.GetPackage())
		u.GoBinary = bytesPart(req.GetGoBinary())
	}
	return u
}

func bytesPart(b []byte) *io.SectionReader {
	if len(b) == 0 {
		return nil
	}
	return io.NewSectionReader(bytesReaderAt(b), 0, int64(len(b)))
}

type bytesReaderAt []byte

func (b bytesReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// request returns the submission with its parts read into memory, for a
// server that takes only SubmitTopology.
func (u *Upload) request() (*SubmitTopologyRequest, error) {
	req := proto.CloneOf(u.Request)
	var err error
	if req.Package, err = readPart(u.Package); err != nil {
		return nil, err
	}
	if req.GoBinary, err = readPart(u.GoBinary); err != nil {
		return nil, err
	}
	return req, nil
}

func readPart(p *io.SectionReader) ([]byte, error) {
	if p == nil {
		return nil, nil
	}
	return io.ReadAll(io.NewSectionReader(p, 0, p.Size()))
}

// UploadServer is a NimbusServer that takes uploads: the REST gateway in
// front of it (ForServer) hands it submissions with their parts spooled to
// disk instead of calling SubmitTopology with them in memory.
type UploadServer interface {
	SubmitUpload(context.Context, *Upload) (*SubmitTopologyResponse, error)
}

// SendUpload submits u over an UploadTopology stream: the header, then
// the package and the Go binary in chunks of PackageChunkBytes.
func SendUpload(ctx context.Context, c NimbusClient, u *Upload, opts ...grpc.CallOption) (*SubmitTopologyResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream if sending fails
	stream, err := c.UploadTopology(ctx, opts...)
	if err != nil {
		return nil, err
	}
	header := &UploadHeader{
		Submission:   u.Request,
		PackageSize:  partSize(u.Package),
		GoBinarySize: partSize(u.GoBinary),
	}
	err = stream.Send(&UploadTopologyRequest{Content: &UploadTopologyRequest_Header{Header: header}})
	for _, p := range []struct {
		part PackagePart
		r    *io.SectionReader
	}{{PackagePart_PACKAGE_PART_RESOURCES, u.Package}, {PackagePart_PACKAGE_PART_GO_BINARY, u.GoBinary}} {
		if err != nil || p.r == nil {
			continue
		}
		err = sendUploadPart(stream, p.part, io.NewSectionReader(p.r, 0, p.r.Size()))
	}
	if errors.Is(err, io.EOF) {
		// nimbus ended the stream early (it refused the upload): its
		// status comes with CloseAndRecv.
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return stream.CloseAndRecv()
}

func sendUploadPart(stream grpc.ClientStreamingClient[UploadTopologyRequest, SubmitTopologyResponse], part PackagePart, r io.Reader) error {
	for {
		// A fresh buffer per chunk: gRPC may still hold a sent message.
		buf := make([]byte, PackageChunkBytes)
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			chunk := &PackageChunk{Part: part, Data: buf[:n]}
			if serr := stream.Send(&UploadTopologyRequest{Content: &UploadTopologyRequest_Chunk{Chunk: chunk}}); serr != nil {
				return serr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("upload %s: read: %w", partName(part), err)
		}
	}
}

// UploadLimits bound what ReceiveUpload accepts.
type UploadLimits struct {
	// MaxBytes bounds the package and the Go binary together.
	MaxBytes int64
	// IdleTimeout cuts a stream that sends nothing for this long; 0 means
	// no limit.
	IdleTimeout time.Duration
	// Timeout bounds the whole upload; 0 means no limit.
	Timeout time.Duration
}

// UploadReceiver is the receiving side of an UploadTopology stream
// (Nimbus_UploadTopologyServer).
type UploadReceiver interface {
	Recv() (*UploadTopologyRequest, error)
}

// ReceiveUpload reads an UploadTopology stream to its end, spooling the
// package and the Go binary into files of spool. It refuses a header
// whose sizes pass lim.MaxBytes before reading any chunk (TooLargeError),
// and a stream that breaks the contract (no header first, parts out of
// order, sizes other than the header's) with InvalidArgument. The Upload
// is valid until spool is closed.
func ReceiveUpload(ctx context.Context, r UploadReceiver, spool *Spool, lim UploadLimits) (*Upload, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lim.Timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeoutCause(ctx, lim.Timeout, errUploadTimeout)
		defer cancelTimeout()
	}
	msgs := receive(ctx, r)
	first, err := nextMessage(ctx, msgs, lim)
	if err != nil {
		return nil, err
	}
	h := first.GetHeader()
	switch {
	case h == nil:
		return nil, status.Error(codes.InvalidArgument, "upload: the first message is not the header")
	case h.GetSubmission() == nil:
		return nil, status.Error(codes.InvalidArgument, "upload: the header holds no submission")
	case h.GetPackageSize() < 0 || h.GetGoBinarySize() < 0:
		return nil, status.Error(codes.InvalidArgument, "upload: negative size in the header")
	case len(h.GetSubmission().GetPackage()) > 0 || len(h.GetSubmission().GetGoBinary()) > 0:
		return nil, status.Error(codes.InvalidArgument, "upload: the header's submission holds a package or Go binary; send them as chunks")
	case h.GetPackageSize() > lim.MaxBytes-h.GetGoBinarySize():
		return nil, tooLarge(lim.MaxBytes, h.GetPackageSize()+h.GetGoBinarySize())
	}
	want := map[PackagePart]int64{
		PackagePart_PACKAGE_PART_RESOURCES: h.GetPackageSize(),
		PackagePart_PACKAGE_PART_GO_BINARY: h.GetGoBinarySize(),
	}
	files := map[PackagePart]*os.File{}
	for part, size := range want {
		if size > 0 {
			if files[part], err = spool.file(); err != nil {
				return nil, err
			}
		}
	}
	got := map[PackagePart]int64{}
	current := PackagePart_PACKAGE_PART_RESOURCES
	for {
		msg, err := nextMessage(ctx, msgs, lim)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		c := msg.GetChunk()
		if c == nil {
			return nil, status.Error(codes.InvalidArgument, "upload: a second header")
		}
		part := c.GetPart()
		size, known := want[part]
		switch {
		case !known:
			return nil, status.Errorf(codes.InvalidArgument, "upload: unknown part %v", part)
		case part < current:
			return nil, status.Errorf(codes.InvalidArgument, "upload: %s after %s", partName(part), partName(current))
		case got[part]+int64(len(c.GetData())) > size:
			return nil, status.Errorf(codes.InvalidArgument, "upload: %s longer than the header's %d bytes", partName(part), size)
		}
		current = part
		if _, err := files[part].Write(c.GetData()); err != nil {
			return nil, fmt.Errorf("upload %s: spool: %w", partName(part), err)
		}
		got[part] += int64(len(c.GetData()))
	}
	for part, size := range want {
		if got[part] != size {
			return nil, status.Errorf(codes.InvalidArgument, "upload: %s has %d bytes, the header says %d", partName(part), got[part], size)
		}
	}
	u := &Upload{Request: h.GetSubmission()}
	if f := files[PackagePart_PACKAGE_PART_RESOURCES]; f != nil {
		u.Package = io.NewSectionReader(f, 0, want[PackagePart_PACKAGE_PART_RESOURCES])
	}
	if f := files[PackagePart_PACKAGE_PART_GO_BINARY]; f != nil {
		u.GoBinary = io.NewSectionReader(f, 0, want[PackagePart_PACKAGE_PART_GO_BINARY])
	}
	return u, nil
}

type received struct {
	msg *UploadTopologyRequest
	err error
}

// receive reads r in a goroutine of its own until an error (io.EOF at the
// end) or ctx ends, so that the reader can give up on a stalled stream.
// The goroutine ends once the stream's call ends.
func receive(ctx context.Context, r UploadReceiver) <-chan received {
	out := make(chan received)
	go func() {
		for {
			msg, err := r.Recv()
			select {
			case out <- received{msg, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func nextMessage(ctx context.Context, msgs <-chan received, lim UploadLimits) (*UploadTopologyRequest, error) {
	var idle <-chan time.Time
	if lim.IdleTimeout > 0 {
		t := time.NewTimer(lim.IdleTimeout)
		defer t.Stop()
		idle = t.C
	}
	select {
	case m := <-msgs:
		return m.msg, m.err
	case <-idle:
		return nil, status.Errorf(codes.DeadlineExceeded, "upload sent nothing for %v (%s)", lim.IdleTimeout, KeySubmitIdleTimeoutSecs)
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), errUploadTimeout) {
			return nil, status.Errorf(codes.DeadlineExceeded, "upload took longer than %v (%s)", lim.Timeout, KeySubmitTimeoutSecs)
		}
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

var errUploadTimeout = errors.New("upload timeout")

func tooLarge(limit, size int64) error {
	return TooLargeError(KeySubmitMaxBytes, fmt.Sprintf(
		"the package and Go binary are larger than %s allows (%d bytes); got %d bytes", KeySubmitMaxBytes, limit, size))
}

// Spool holds the parts of uploads in files of a directory, unlinked as
// soon as they are made: they take disk space only while open, and none
// is left behind by a daemon that dies. It is used by one goroutine.
type Spool struct {
	dir   string
	files []*os.File
}

// NewSpool returns a spool writing into dir ("" for the system's
// temporary directory), which must exist.
func NewSpool(dir string) *Spool { return &Spool{dir: dir} }

func (s *Spool) file() (*os.File, error) {
	f, err := os.CreateTemp(s.dir, "upload-")
	if err != nil {
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool upload: %w", err)
	}
	s.files = append(s.files, f)
	return f, nil
}

// Close closes the spool's files, which frees their space.
func (s *Spool) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	s.files = nil
	return errors.Join(errs...)
}
