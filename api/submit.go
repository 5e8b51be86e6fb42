package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

// serveSubmit is POST /api/v1/topologies: a SubmitTopologyRequest as JSON,
// or the same request as a multipart/form-data upload (readMultipart), both
// handed to the target's SubmitTopology.
func (g *Gateway) serveSubmit(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	inbound, outbound := runtime.MarshalerForRequest(g.mux, r)
	ctx, err := g.target.annotate(r.Context(), g.mux, r)
	if err != nil {
		runtime.HTTPError(r.Context(), g.mux, outbound, w, r, err)
		return
	}
	req := &SubmitTopologyRequest{}
	if isMultipart(r) {
		err = readMultipart(r, req)
	} else if err = inbound.NewDecoder(r.Body).Decode(req); errors.Is(err, io.EOF) {
		err = nil // an empty body is an empty request; nimbus says what is missing
	}
	if err != nil {
		runtime.HTTPError(ctx, g.mux, outbound, w, r, status.Error(codes.InvalidArgument, err.Error()))
		return
	}
	resp, md, err := g.target.submit(ctx, req)
	ctx = runtime.NewServerMetadataContext(ctx, md)
	if err != nil {
		runtime.HTTPError(ctx, g.mux, outbound, w, r, err)
		return
	}
	runtime.ForwardResponseMessage(ctx, g.mux, outbound, w, r, resp, g.mux.GetForwardResponseOptions()...)
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
)

// readMultipart fills req from a multipart/form-data body, as curl -F sends
// it. Files and values may come in any order; each field but config and
// environment at most once. The body is already bounded by the gateway's
// submission limit, so parts are read into memory.
func readMultipart(r *http.Request, req *SubmitTopologyRequest) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return fmt.Errorf("multipart form: %w", err)
	}
	seen := map[string]bool{}
	topologyFileName := ""
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("multipart form: %w", err)
		}
		name := p.FormName()
		data, err := io.ReadAll(p)
		if err != nil {
			return fmt.Errorf("multipart form: field %q: %w", name, err)
		}
		if name != formConfig && name != formEnvironment {
			if seen[name] {
				return fmt.Errorf("multipart form: field %q given twice", name)
			}
			seen[name] = true
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
	case formPackage:
		req.Package = data
	case formGoBinary:
		req.GoBinary = data
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
		return errors.New("unknown field; the fields are topology, topologyFile, package, goBinary, inactive, config, properties, envFilter, environment, name, dryRun")
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
