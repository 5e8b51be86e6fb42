package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// serveSubmit is POST /api/v1/topologies: a SubmitTopologyRequest as JSON,
// or the same request as a multipart/form-data upload (readMultipart),
// handed to the target as an Upload. It takes a submission slot before it
// reads the body (429 when none is free), and spools the package and Go
// binary to disk as they arrive, so a submission costs nimbus about its
// size in disk, not in memory.
func (g *Gateway) serveSubmit(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	inbound, outbound := runtime.MarshalerForRequest(g.mux, r)
	ctx, err := g.target.annotate(r.Context(), g.mux, r)
	if err != nil {
		runtime.HTTPError(r.Context(), g.mux, outbound, w, r, err)
		return
	}
	if !g.slots.TryAcquire() {
		// Closing the connection sends the 429 at once: to keep it, the
		// server would first read the rest of the body, which a client
		// sends only after it, having started, uploads all of it.
		w.Header().Set("Connection", "close")
		runtime.HTTPError(ctx, g.mux, outbound, w, r, g.slots.busyError())
		return
	}
	defer g.slots.Release()
	g.extendDeadlines(w, r)

	spool := NewSpool(g.cfg.SpoolDir)
	defer spool.Close()
	parts := &partWriter{spool: spool, limit: g.cfg.MaxSubmitBytes}
	req := &SubmitTopologyRequest{}
	if isMultipart(r) {
		err = readMultipart(r, req, parts)
	} else {
		var rest []byte
		if rest, err = readSubmitJSON(r.Body, parts); err == nil {
			err = inbound.Unmarshal(rest, req)
		}
	}
	if err != nil {
		if _, ok := status.FromError(err); !ok {
			err = status.Error(codes.InvalidArgument, err.Error())
		}
		runtime.HTTPError(ctx, g.mux, outbound, w, r, err)
		return
	}
	if len(req.GetPackage()) > 0 || len(req.GetGoBinary()) > 0 {
		// Only readMultipart's fields reach req; this cannot happen.
		runtime.HTTPError(ctx, g.mux, outbound, w, r, status.Error(codes.Internal, "submission parts in the request"))
		return
	}
	resp, md, err := g.target.upload(ctx, parts.upload(req))
	ctx = runtime.NewServerMetadataContext(ctx, md)
	if err != nil {
		runtime.HTTPError(ctx, g.mux, outbound, w, r, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, g.mux, outbound, w, r, resp, g.mux.GetForwardResponseOptions()...)
}

// extendDeadlines replaces the server's read and write timeouts for a
// submission: its body may take long to arrive, as long as it keeps
// arriving (GatewayConfig.SubmitIdleTimeout) and is complete within
// SubmitTimeout.
func (g *Gateway) extendDeadlines(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	end := time.Now().Add(g.cfg.SubmitTimeout)
	// The answer comes after validation, which may run the Go binary.
	_ = rc.SetWriteDeadline(end.Add(2 * time.Minute))
	if b, ok := r.Context().Value(limitedBodyKey{}).(*limitedBody); ok {
		b.progress = func() {
			next := time.Now().Add(g.cfg.SubmitIdleTimeout)
			if next.After(end) {
				next = end
			}
			_ = rc.SetReadDeadline(next)
		}
		b.progress()
	}
}

// partWriter spools the package and Go binary of one submission, within
// their limit together.
type partWriter struct {
	spool *Spool
	limit int64
	size  int64
	files [3]*os.File // by PackagePart
	sizes [3]int64
}

// start returns the writer of part.
func (p *partWriter) start(part PackagePart) io.Writer { return partSink{p, part} }

type partSink struct {
	p    *partWriter
	part PackagePart
}

func (s partSink) Write(b []byte) (int, error) {
	p := s.p
	if int64(len(b)) > p.limit-p.size {
		return 0, tooLarge(p.limit, p.size+int64(len(b)))
	}
	f := p.files[s.part]
	if f == nil {
		var err error
		if f, err = p.spool.file(); err != nil {
			return 0, err
		}
		p.files[s.part] = f
	}
	n, err := f.Write(b)
	p.size += int64(n)
	p.sizes[s.part] += int64(n)
	return n, err
}

// upload returns the upload of req and the parts written.
func (p *partWriter) upload(req *SubmitTopologyRequest) *Upload {
	u := &Upload{Request: req}
	section := func(part PackagePart) *io.SectionReader {
		if p.files[part] == nil || p.sizes[part] == 0 {
			return nil
		}
		return io.NewSectionReader(p.files[part], 0, p.sizes[part])
	}
	u.Package = section(PackagePart_PACKAGE_PART_RESOURCES)
	u.GoBinary = section(PackagePart_PACKAGE_PART_GO_BINARY)
	return u
}

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

// Multipart form fields of a submission: SubmitTopologyRequest's JSON names.
const (
	formTopology     = "topology"
	formTopologyFile = "topologyFile"
	formPackage      = "package"
	formGoBinary     = "goBinary"
	formInactive     = "inactive"
	formConfig       = "config"
	formProperties   = "properties"
	formEnvFilter    = "envFilter"
	formEnvironment  = "environment"
	formName         = "name"
	formDryRun       = "dryRun"
	formOutline      = "goBinaryOutline"
	formSHA256       = "goBinarySha256"
)

// readMultipart fills req from a multipart/form-data body, as curl -F sends
// it, and writes the package and Go binary parts to parts. Files and
// values may come in any order; each field but config and environment at
// most once. The fields other than the two parts are read into memory, at
// most MaxDefinitionBytes of them together.
func readMultipart(r *http.Request, req *SubmitTopologyRequest, parts *partWriter) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return fmt.Errorf("multipart form: %w", err)
	}
	seen := map[string]bool{}
	topologyFileName := ""
	left := int64(MaxDefinitionBytes)
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("multipart form: %w", err)
		}
		name := p.FormName()
		if name != formConfig && name != formEnvironment {
			if seen[name] {
				return fmt.Errorf("multipart form: field %q given twice", name)
			}
			seen[name] = true
		}
		switch name {
		case formPackage, formGoBinary:
			part := PackagePart_PACKAGE_PART_RESOURCES
			if name == formGoBinary {
				part = PackagePart_PACKAGE_PART_GO_BINARY
			}
			if _, err := io.Copy(parts.start(part), p); err != nil {
				if _, ok := status.FromError(err); ok {
					return err
				}
				return fmt.Errorf("multipart form: field %q: %w", name, err)
			}
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p, left+1))
		if err != nil {
			return fmt.Errorf("multipart form: field %q: %w", name, err)
		}
		if left -= int64(len(data)); left < 0 {
			return TooLargeError(KeySubmitMaxBytes, fmt.Sprintf(
				"the submission's fields other than package and goBinary are larger than %d bytes", MaxDefinitionBytes))
		}
		if err := setFormField(req, name, data); err != nil {
			return fmt.Errorf("multipart form: field %q: %w", name, err)
		}
		if name == formTopology && p.FileName() != "" {
			topologyFileName = path.Base(p.FileName())
		}
	}
	if req.TopologyFile == "" {
		req.TopologyFile = topologyFileName
	}
	return nil
}

func setFormField(req *SubmitTopologyRequest, name string, data []byte) error {
	var err error
	switch name {
	case formTopology:
		req.Topology = string(data)
	case formTopologyFile:
		req.TopologyFile = string(data)
	case formProperties:
		req.Properties = string(data)
	case formName:
		req.Name = string(data)
	case formInactive:
		req.Inactive, err = parseFormBool(data)
	case formEnvFilter:
		req.EnvFilter, err = parseFormBool(data)
	case formDryRun:
		req.DryRun, err = parseFormBool(data)
	case formOutline:
		req.GoBinaryOutline = string(data)
	case formSHA256:
		req.GoBinarySha256 = string(data)
	case formConfig:
		k, v, err := splitAssignment(data, "key=value")
		if err != nil {
			return err
		}
		val, err := ParseConfigValue(v)
		if err != nil {
			return err
		}
		if req.Config == nil {
			req.Config = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		}
		req.Config.Fields[k] = val
	case formEnvironment:
		k, v, err := splitAssignment(data, "NAME=value")
		if err != nil {
			return err
		}
		if req.Environment == nil {
			req.Environment = map[string]string{}
		}
		req.Environment[k] = v
	default:
		return errors.New("unknown field; the fields are topology, topologyFile, package, goBinary, goBinaryOutline, goBinarySha256, inactive, config, properties, envFilter, environment, name, dryRun")
	}
	return err
}

func parseFormBool(data []byte) (bool, error) {
	s := strings.TrimSpace(string(data))
	if s == "" {
		return true, nil // -F inactive= reads as a flag
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", s)
	}
	return b, nil
}

func splitAssignment(data []byte, form string) (string, string, error) {
	k, v, ok := strings.Cut(string(data), "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return "", "", fmt.Errorf("%q is not %s", data, form)
	}
	return k, v, nil
}

// ParseConfigValue types the value of a -c key=value override as Storm's
// command line does: JSON when it parses as JSON (3, true, ["a","b"],
// {"k": 1}, null), otherwise the string itself.
func ParseConfigValue(s string) (*structpb.Value, error) {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return structpb.NewStringValue(s), nil
	}
	val, err := structpb.NewValue(v)
	if err != nil {
		return nil, fmt.Errorf("config value %q: %w", s, err)
	}
	return val, nil
}
