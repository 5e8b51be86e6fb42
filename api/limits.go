package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// The configuration keys of the limits nimbus puts on requests. Errors
// name them, so that an operator knows what to raise.
const (
	// KeySubmitMaxBytes bounds a submission's package and Go binary
	// together, as unpacked from the request (not base64).
	KeySubmitMaxBytes = "nimbus.submit.max.bytes"
	// KeySubmitMaxConcurrent bounds the submissions nimbus receives and
	// validates at once, dry runs included; more are answered 429.
	KeySubmitMaxConcurrent = "nimbus.submit.max.concurrent"
	// KeySubmitIdleTimeoutSecs cuts a submission whose upload sends
	// nothing for this long.
	KeySubmitIdleTimeoutSecs = "nimbus.submit.idle.timeout.secs"
	// KeySubmitTimeoutSecs bounds the upload of a submission, from its
	// first byte to its last.
	KeySubmitTimeoutSecs = "nimbus.submit.timeout.secs"
	// KeyPackageMaxUnpackedBytes, KeyPackageMaxFiles and
	// KeyPackageMaxRatio bound the unpacked package (tarball.Limits).
	KeyPackageMaxUnpackedBytes = "nimbus.package.max.unpacked.bytes"
	KeyPackageMaxFiles         = "nimbus.package.max.files"
	KeyPackageMaxRatio         = "nimbus.package.max.ratio"
)

// Defaults of the limits.
const (
	DefaultMaxConcurrentSubmits = 4
	DefaultSubmitIdleTimeout    = 30 * time.Second
	DefaultSubmitTimeout        = 10 * time.Minute
)

// MaxDefinitionBytes bounds the parts of a submission other than its
// package and Go binary together (definition, included files,
// properties, environment, config overrides, name): they travel in one
// gRPC message.
const MaxDefinitionBytes = 4 << 20

// MaxMessageBytesLimit is the gRPC message limit of nimbus's server: a
// definition and a chunk fit with room to spare. A unary SubmitTopology
// must fit it too; larger submissions go through UploadTopology.
const MaxMessageBytesLimit = 8 << 20

// Reasons of the google.rpc.ErrorInfo detail of a ResourceExhausted
// status, which tell the REST gateway which HTTP status to answer.
const (
	// ReasonTooLarge: the request is over a size limit (413).
	ReasonTooLarge = "TOO_LARGE"
	// ReasonTooMany: nimbus is doing as much of this as it may; retry
	// later (429).
	ReasonTooMany = "TOO_MANY_REQUESTS"
	// errorDomain is the ErrorInfo domain of squall's reasons.
	errorDomain = "squall"
)

// TooLargeError returns a ResourceExhausted status for a request over the
// limit named by key (a configuration key), with msg saying by how much.
func TooLargeError(key, msg string) error {
	return limitStatus(ReasonTooLarge, key, msg)
}

// TooManyError returns a ResourceExhausted status for a request refused
// because nimbus runs as many as the limit named by key allows.
func TooManyError(key, msg string) error {
	return limitStatus(ReasonTooMany, key, msg)
}

func limitStatus(reason, key, msg string) error {
	st := status.New(codes.ResourceExhausted, msg)
	if withDetail, err := st.WithDetails(&errdetails.ErrorInfo{
		Reason:   reason,
		Domain:   errorDomain,
		Metadata: map[string]string{"limit": key},
	}); err == nil {
		st = withDetail
	}
	return st.Err()
}

// LimitOf returns the reason and the limit's key of a status made by
// TooLargeError or TooManyError; ok is false for any other.
func LimitOf(st *status.Status) (reason, key string, ok bool) {
	if st.Code() != codes.ResourceExhausted {
		return "", "", false
	}
	for _, d := range st.Details() {
		if info, isInfo := d.(*errdetails.ErrorInfo); isInfo && info.GetDomain() == errorDomain {
			return info.GetReason(), info.GetMetadata()["limit"], true
		}
	}
	return "", "", false
}

// HTTPStatusOf is HTTPStatus for a whole status: ResourceExhausted is 413
// when a size limit was passed (ReasonTooLarge, or gRPC's own message
// limit) and 429 otherwise.
func HTTPStatusOf(st *status.Status) int {
	if st.Code() != codes.ResourceExhausted {
		return HTTPStatus(st.Code())
	}
	reason, _, ok := LimitOf(st)
	switch {
	case ok && reason == ReasonTooLarge:
		return http.StatusRequestEntityTooLarge
	case ok:
		return http.StatusTooManyRequests
	case strings.Contains(st.Message(), "larger than max"):
		// gRPC's own message size limit.
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusTooManyRequests
}

// RetryAfterSecs is the Retry-After a 429 or a 503 answer suggests.
const RetryAfterSecs = 5

// Slots bounds how many submissions run at once: the REST gateway takes a
// slot before it reads a submission's body, nimbus's gRPC server before it
// reads a SubmitTopology or UploadTopology message (SubmitTap). It is safe
// for concurrent use.
type Slots struct {
	c chan struct{}
}

// NewSlots returns n slots; n below 1 means 1.
func NewSlots(n int) *Slots { return &Slots{c: make(chan struct{}, max(n, 1))} }

// TryAcquire takes a slot if one is free.
func (s *Slots) TryAcquire() bool {
	select {
	case s.c <- struct{}{}:
		return true
	default:
		return false
	}
}

// Release frees a slot TryAcquire took.
func (s *Slots) Release() { <-s.c }

// Cap returns the number of slots.
func (s *Slots) Cap() int { return cap(s.c) }

// InUse returns the number of slots taken.
func (s *Slots) InUse() int { return len(s.c) }

func (s *Slots) busyError() error {
	return TooManyError(KeySubmitMaxConcurrent, fmt.Sprintf(
		"nimbus is receiving %d submissions already, as many as %s allows; retry in a few seconds",
		s.Cap(), KeySubmitMaxConcurrent))
}

// submitMethods are the RPCs that take a submission slot.
var submitMethods = map[string]bool{
	Nimbus_SubmitTopology_FullMethodName: true,
	Nimbus_UploadTopology_FullMethodName: true,
}

// SubmitTap is a gRPC server's InTapHandle (grpc.InTapHandle) that gives
// every SubmitTopology and UploadTopology call a slot before gRPC reads
// its message, and answers ResourceExhausted (TOO_MANY_REQUESTS) when none
// is free: so that many large submissions at once cost nimbus one refusal
// each, not their size in memory. The slot is freed when the call ends,
// however it ends.
func SubmitTap(slots *Slots) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		if !submitMethods[info.FullMethodName] {
			return ctx, nil
		}
		if !slots.TryAcquire() {
			return ctx, slots.busyError()
		}
		// The stream's context ends with the call, always.
		context.AfterFunc(ctx, slots.Release)
		return ctx, nil
	}
}

// HTTPConfig are the REST server's timeouts. A slow client holds a
// connection for at most these.
type HTTPConfig struct {
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request but a submission's, which
	// the gateway bounds itself (GatewayConfig.SubmitIdleTimeout and
	// SubmitTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, but a submission's.
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request for this
	// long.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes int
}

// DefaultHTTPConfig returns the REST server's default timeouts.
func DefaultHTTPConfig() HTTPConfig {
	return HTTPConfig{
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// NewHTTPServer returns an http.Server for the gateway with c's timeouts.
// A submission extends its own deadlines as its upload progresses
// (Gateway), so the read and write timeouts do not cut large packages.
func NewHTTPServer(g *Gateway, c HTTPConfig) *http.Server {
	return &http.Server{
		Handler:           g,
		ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout:       c.ReadTimeout,
		WriteTimeout:      c.WriteTimeout,
		IdleTimeout:       c.IdleTimeout,
		MaxHeaderBytes:    c.MaxHeaderBytes,
	}
}
