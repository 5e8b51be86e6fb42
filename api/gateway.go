package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Request body limits of the REST gateway.
const (
	// DefaultMaxSubmitBytes bounds the body of a submission.
	DefaultMaxSubmitBytes int64 = 256 << 20
	// DefaultMaxRequestBytes bounds the body of any other request.
	DefaultMaxRequestBytes int64 = 1 << 20
)

// SubmitPath is where topologies are submitted over REST.
const SubmitPath = "/api/v1/topologies"

// Staleness of an answer. nimbus answers reads from its last known state
// when ZooKeeper does not answer, and says so with the gRPC response
// header StaleMetadataKey: the age of that state in whole seconds. The
// REST gateway sends it as the HTTP header StaleHeader.
const (
	StaleMetadataKey = "x-squall-stale"
	StaleHeader      = "X-Squall-Stale"
)

// GatewayConfig configures the REST gateway.
type GatewayConfig struct {
	// MaxSubmitBytes bounds a submission's package and Go binary together,
	// as unpacked from the body (KeySubmitMaxBytes); a larger one is
	// answered 413. The body itself may be a third larger (base64) plus
	// the definition.
	MaxSubmitBytes int64
	// MaxRequestBytes bounds the request body of every other request; a
	// larger one is answered 413.
	MaxRequestBytes int64
	// Submissions are the slots submissions take while the gateway reads
	// and nimbus validates them; when none is free a submission is
	// answered 429 before its body is read. nil means
	// DefaultMaxConcurrentSubmits slots of the gateway's own; nimbus
	// shares its slots with its gRPC server (SubmitTap).
	Submissions *Slots
	// SpoolDir is where submissions' packages wait on disk while nimbus
	// validates them; "" is the system's temporary directory.
	SpoolDir string
	// SubmitIdleTimeout cuts a submission whose body sends nothing for
	// this long (KeySubmitIdleTimeoutSecs).
	SubmitIdleTimeout time.Duration
	// SubmitTimeout bounds reading a submission's body
	// (KeySubmitTimeoutSecs).
	SubmitTimeout time.Duration
}

// DefaultGatewayConfig returns the gateway's defaults: packages up to
// 256 MiB, other requests up to 1 MiB, DefaultMaxConcurrentSubmits
// submissions at once.
func DefaultGatewayConfig() GatewayConfig {
	return GatewayConfig{
		MaxSubmitBytes:    DefaultMaxSubmitBytes,
		MaxRequestBytes:   DefaultMaxRequestBytes,
		SubmitIdleTimeout: DefaultSubmitIdleTimeout,
		SubmitTimeout:     DefaultSubmitTimeout,
	}
}

// Validate reports the first field of c that is out of range.
func (c GatewayConfig) Validate() error {
	if c.MaxSubmitBytes <= 0 {
		return fmt.Errorf("gateway config: MaxSubmitBytes %d: must be positive", c.MaxSubmitBytes)
	}
	if c.MaxRequestBytes <= 0 {
		return fmt.Errorf("gateway config: MaxRequestBytes %d: must be positive", c.MaxRequestBytes)
	}
	if c.SubmitIdleTimeout < 0 || c.SubmitTimeout < 0 {
		return fmt.Errorf("gateway config: SubmitIdleTimeout %v, SubmitTimeout %v: must not be negative", c.SubmitIdleTimeout, c.SubmitTimeout)
	}
	return nil
}

// submitBodyLimit bounds a submission's body: its parts in base64 and the
// other fields, escaped.
func (c GatewayConfig) submitBodyLimit() int64 {
	return c.MaxSubmitBytes/3*4 + 4 + 2*MaxDefinitionBytes + 64<<10
}

// MaxMessageBytes is the gRPC message size that fits a submission of
// maxSubmitBytes, with room for the definition and options. gRPC's default
// limit, 4 MiB, is too small for most packages: nimbus's server needs
// grpc.MaxRecvMsgSize(MaxMessageBytes(n)), and clients that submit, the
// gateway's connection among them,
// grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(MaxMessageBytes(n))).
func MaxMessageBytes(maxSubmitBytes int64) int {
	return int(maxSubmitBytes) + 1<<20
}

// GatewayTarget is where the gateway sends the requests it translates: a
// gRPC client (ForClient) or the service implementation itself (ForServer).
type GatewayTarget struct {
	register func(*runtime.ServeMux) error
	// annotate turns the HTTP request's headers into gRPC metadata, on the
	// outgoing side for a client and the incoming side for a server.
	annotate func(ctx context.Context, mux *runtime.ServeMux, r *http.Request) (context.Context, error)
	upload   func(ctx context.Context, u *Upload) (*SubmitTopologyResponse, runtime.ServerMetadata, error)
}

// ForClient returns a target that calls nimbus through a gRPC client, such
// as NewNimbusClient(conn) over a connection to nimbus's gRPC port. Calls
// go through gRPC's interceptors (authentication, logging); submissions go
// as UploadTopology streams, so no message size limit applies to them.
func ForClient(c NimbusClient) GatewayTarget {
	return GatewayTarget{
		register: func(mux *runtime.ServeMux) error {
			return RegisterNimbusHandlerClient(context.Background(), mux, c)
		},
		annotate: func(ctx context.Context, mux *runtime.ServeMux, r *http.Request) (context.Context, error) {
			return runtime.AnnotateContext(ctx, mux, r, "/squall.v1.Nimbus/SubmitTopology", runtime.WithHTTPPathPattern(SubmitPath))
		},
		upload: func(ctx context.Context, u *Upload) (*SubmitTopologyResponse, runtime.ServerMetadata, error) {
			var md runtime.ServerMetadata
			resp, err := SendUpload(ctx, c, u, grpc.Header(&md.HeaderMD), grpc.Trailer(&md.TrailerMD))
			return resp, md, err
		},
	}
}

// ForServer returns a target that calls the service implementation
// directly, in process: no serialisation and no message size limits, but
// also none of the gRPC server's interceptors, so whatever they enforce
// (authentication) must be enforced in front of the gateway too.
// Submissions go to its SubmitUpload if it is an UploadServer, with their
// parts on disk; else to SubmitTopology, read into memory.
func ForServer(s NimbusServer) GatewayTarget {
	return GatewayTarget{
		register: func(mux *runtime.ServeMux) error {
			return RegisterNimbusHandlerServer(context.Background(), mux, s)
		},
		annotate: func(ctx context.Context, mux *runtime.ServeMux, r *http.Request) (context.Context, error) {
			return runtime.AnnotateIncomingContext(ctx, mux, r, "/squall.v1.Nimbus/SubmitTopology", runtime.WithHTTPPathPattern(SubmitPath))
		},
		upload: func(ctx context.Context, u *Upload) (*SubmitTopologyResponse, runtime.ServerMetadata, error) {
			var stream runtime.ServerTransportStream
			ctx = grpc.NewContextWithServerTransportStream(ctx, &stream)
			var resp *SubmitTopologyResponse
			var err error
			if us, ok := s.(UploadServer); ok {
				resp, err = us.SubmitUpload(ctx, u)
			} else {
				var req *SubmitTopologyRequest
				if req, err = u.request(); err == nil {
					resp, err = s.SubmitTopology(ctx, req)
				}
			}
			return resp, runtime.ServerMetadata{HeaderMD: stream.Header(), TrailerMD: stream.Trailer()}, err
		},
	}
}

// Gateway is the REST API: Storm's UI REST paths and squall's submission
// route, translated to calls of the Nimbus service. It is an http.Handler,
// safe for concurrent use. gRPC status codes become HTTP statuses here and
// nowhere else (see HTTPStatus), with Storm's error body (ErrorBody).
type Gateway struct {
	cfg    GatewayConfig
	mux    *runtime.ServeMux
	target GatewayTarget
	slots  *Slots
}

// NewGatewayHandler builds the REST gateway in front of target.
func NewGatewayHandler(target GatewayTarget, cfg GatewayConfig) (*Gateway, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if target.register == nil {
		return nil, errors.New("gateway: no target: use ForClient or ForServer")
	}
	g := &Gateway{cfg: cfg, target: target, slots: cfg.Submissions}
	if g.slots == nil {
		g.slots = NewSlots(DefaultMaxConcurrentSubmits)
	}
	if g.cfg.SubmitIdleTimeout == 0 {
		g.cfg.SubmitIdleTimeout = DefaultSubmitIdleTimeout
	}
	if g.cfg.SubmitTimeout == 0 {
		g.cfg.SubmitTimeout = DefaultSubmitTimeout
	}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newJSONMarshaler()),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		// Path variables are whole segments, fully unescaped: "%2F" in a
		// component id is a slash, "%3A" a colon.
		runtime.WithUnescapingMode(runtime.UnescapingModeAllExceptReserved),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
	)
	if err := target.register(g.mux); err != nil {
		return nil, fmt.Errorf("gateway: register nimbus: %w", err)
	}
	// Registered after the generated handlers, so it takes the path over
	// from the generated JSON-only one (the mux tries the latest first).
	if err := g.mux.HandlePath(http.MethodPost, SubmitPath, g.serveSubmit); err != nil {
		return nil, fmt.Errorf("gateway: register submission: %w", err)
	}
	return g, nil
}

// ServeHTTP serves one REST request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := g.cfg.MaxRequestBytes
	what := "a request's body"
	if r.Method == http.MethodPost && r.URL.Path == SubmitPath {
		limit = g.cfg.submitBodyLimit()
		what = fmt.Sprintf("a submission's body (%s is %d bytes, for the package and Go binary without base64)",
			KeySubmitMaxBytes, g.cfg.MaxSubmitBytes)
	}
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, tooLargeMessage(limit, what))
		return
	}
	body := &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), limit: limit, what: what}
	r = r.WithContext(context.WithValue(r.Context(), limitedBodyKey{}, body))
	r.Body = body
	// The mux reads path variables from RawPath, which net/url leaves empty
	// when the default escaping reproduces it (as for "50%25-1-2"); then the
	// mux would unescape the already unescaped Path a second time.
	u := *r.URL
	u.RawPath = u.EscapedPath()
	r.URL = &u
	g.mux.ServeHTTP(w, r)
}

// limitedBody is a request body cut at the gateway's limit. It remembers
// whether the limit was hit, because the generated handlers turn every
// body error into InvalidArgument and the error handler must answer 413,
// and whether a read timed out (408). Only the request's goroutine uses
// it.
type limitedBody struct {
	io.ReadCloser
	limit    int64
	what     string
	exceeded bool
	timedOut bool
	// progress, when set, is called before every read: a submission
	// extends its read deadline with it.
	progress func()
}

type limitedBodyKey struct{}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.progress != nil {
		b.progress()
	}
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.exceeded = true
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		b.timedOut = true
	}
	return n, err
}

func tooLargeMessage(limit int64, what string) string {
	return fmt.Sprintf("request body larger than %d bytes, the limit of %s", limit, what)
}

// handleError is the mux's error handler: the one place where gRPC
// statuses become HTTP statuses.
func (g *Gateway) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if b, ok := r.Context().Value(limitedBodyKey{}).(*limitedBody); ok {
		switch {
		case b.exceeded:
			writeError(w, http.StatusRequestEntityTooLarge, tooLargeMessage(b.limit, b.what))
			return
		case b.timedOut:
			msg := "the request's body did not arrive in time"
			if b.progress != nil {
				msg = fmt.Sprintf("the submission's body stopped arriving: it must send something every %v (%s) and be complete within %v (%s)",
					g.cfg.SubmitIdleTimeout, KeySubmitIdleTimeoutSecs, g.cfg.SubmitTimeout, KeySubmitTimeoutSecs)
			}
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusRequestTimeout, msg)
			return
		}
	}
	httpStatus := 0
	if hs, ok := errors.AsType[*runtime.HTTPStatusError](err); ok {
		httpStatus, err = hs.HTTPStatus, hs.Err
	}
	st := status.Convert(err)
	if httpStatus == 0 {
		httpStatus = HTTPStatusOf(st)
	}
	if httpStatus == http.StatusTooManyRequests || httpStatus == http.StatusServiceUnavailable {
		// A 503 is nimbus unavailable: ZooKeeper unreachable, no leader
		// yet; about a session's reconnection or a leader election.
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSecs))
	}
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		for k, vs := range md.HeaderMD {
			h, _ := outgoingHeader(k)
			for _, v := range vs {
				w.Header().Add(h, v)
			}
		}
	}
	writeError(w, httpStatus, st.Message())
}

// outgoingHeader names the HTTP header of a gRPC response header: its
// own name for squall's (StaleMetadataKey), grpc-gateway's
// Grpc-Metadata- prefix for the others.
func outgoingHeader(key string) (string, bool) {
	if key == StaleMetadataKey {
		return StaleHeader, true
	}
	return runtime.MetadataHeaderPrefix + key, true
}

func (g *Gateway) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	msg := http.StatusText(httpStatus)
	switch httpStatus {
	case http.StatusNotFound:
		msg = fmt.Sprintf("no API at %s", r.URL.Path)
	case http.StatusMethodNotAllowed:
		msg = fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)
	}
	writeError(w, httpStatus, msg)
}

func writeError(w http.ResponseWriter, httpStatus int, message string) {
	w.Header().Del("Trailer")
	w.Header().Del("Transfer-Encoding")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	// Encoding a struct of two strings cannot fail.
	b, _ := json.Marshal(NewErrorBody(httpStatus, message))
	_, _ = w.Write(b)
}
