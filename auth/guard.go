package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/squallstream/squall/api"
)

// ACLSource returns the ACL of the topology a request names, by id (or,
// when id is empty, by name), or an error wrapping ErrUnknownTopology.
// nimbus provides it from its topology records.
type ACLSource func(ctx context.Context, id, name string) (TopologyACL, error)

// MethodRule is how the Guard checks one RPC.
type MethodRule struct {
	// Op is the operation the RPC performs.
	Op Operation
	// Topology returns the topology a request is about, by id or name;
	// required when Op is on a topology.
	Topology func(req any) (id, name string)
	// Filter, if set, edits a successful response for the principal: a
	// list keeps only what it may view, configurations are redacted.
	Filter func(ctx context.Context, g *Guard, p Principal, resp any) error
}

// GuardConfig configures a Guard.
type GuardConfig struct {
	// Authenticator finds out who calls. Required.
	Authenticator *Authenticator
	// Policy decides what they may do.
	Policy Policy
	// Methods is the rule of every RPC the server serves, by full method
	// name ("/squall.v1.Nimbus/KillTopology"). A method without one is
	// refused. NimbusMethods is the table of squall.v1.Nimbus.
	Methods map[string]MethodRule
	// ACLs looks topologies' ACLs up. Required when a rule is on a
	// topology.
	ACLs ACLSource
	// Audit receives the audit log (nil: nowhere).
	Audit *Audit
	// Logger receives what is not audit (nil: nowhere).
	Logger *slog.Logger
}

// Guard is the one place where every RPC is authenticated and authorized:
// gRPC interceptors for nimbus's server, and the REST middleware that
// authenticates REST callers and forwards their identity to them. Its
// methods are safe for concurrent use.
type Guard struct {
	authn   *Authenticator
	policy  Policy
	methods map[string]MethodRule
	acls    ACLSource
	audit   *Audit
	log     *slog.Logger
}

// NewGuard checks cfg and returns a Guard.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	if cfg.Authenticator == nil {
		return nil, errors.New("guard: no Authenticator")
	}
	for name, r := range cfg.Methods {
		if r.Op.Class() == 0 {
			return nil, fmt.Errorf("guard: method %s: no operation", name)
		}
		if r.Op.OnTopology() && (r.Topology == nil || cfg.ACLs == nil) {
			return nil, fmt.Errorf("guard: method %s: %v is on a topology, but the rule has no Topology or the guard no ACLs", name, r.Op)
		}
	}
	if cfg.Audit == nil {
		cfg.Audit = NewAudit(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{
		authn:   cfg.Authenticator,
		policy:  cfg.Policy,
		methods: cfg.Methods,
		acls:    cfg.ACLs,
		audit:   cfg.Audit,
		log:     cfg.Logger.With("component", "auth"),
	}, nil
}

// Policy returns the guard's policy.
func (g *Guard) Policy() Policy { return g.policy }

// ServerOptions returns the interceptors as gRPC server options.
func (g *Guard) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.UnaryInterceptor),
		grpc.ChainStreamInterceptor(g.StreamInterceptor),
	}
}

// authenticate finds the caller of method and puts it in ctx. An error is
// a gRPC status.
func (g *Guard) authenticate(ctx context.Context, method string) (context.Context, Principal, MethodRule, error) {
	rule, ok := g.methods[method]
	if !ok {
		g.log.Error("rpc missing from the authorization table, refused", "method", method)
		return ctx, Principal{}, rule, status.Errorf(codes.PermissionDenied, "%s is not in the authorization table", method)
	}
	p, err := g.authn.FromGRPC(ctx)
	if err != nil {
		// Every refusal is audited: an unauthenticated read is someone
		// probing the API.
		g.audit.Record(ctx, AuditEntry{Principal: p, Operation: rule.Op, Result: resultOf(err), Err: err})
		return ctx, p, rule, statusOf(err)
	}
	return NewContext(ctx, p), p, rule, nil
}

// authorize checks p against rule for req (nil for a stream before its
// request) and returns the topology named, for the audit log.
func (g *Guard) authorize(ctx context.Context, p Principal, rule MethodRule, req any) (string, error) {
	var (
		acl  *TopologyACL
		topo string
	)
	if rule.Op.OnTopology() {
		id, name := rule.Topology(req)
		topo = id
		if topo == "" {
			topo = name
		}
		a, err := g.acls(ctx, id, name)
		if err != nil {
			if rule.Op.ChangesState() {
				g.audit.Record(ctx, AuditEntry{Principal: p, Operation: rule.Op, Topology: topo, Result: resultOf(err), Err: err})
			}
			return topo, err
		}
		acl = &a
		topo = a.ID
	}
	// Allowed changes are audited once done (finish), refusals now.
	err := Authorize(p, rule.Op, acl, g.policy)
	if err != nil {
		g.audit.Record(ctx, AuditEntry{Principal: p, Operation: rule.Op, Topology: topo, Result: ResultDenied, Err: err})
	}
	return topo, err
}

// finish filters a successful response and audits a state change.
func (g *Guard) finish(ctx context.Context, p Principal, rule MethodRule, topo string, resp any, err error) error {
	if err == nil && rule.Filter != nil && resp != nil {
		err = rule.Filter(ctx, g, p, resp)
	}
	if rule.Op.ChangesState() {
		if topo == "" {
			if s, ok := resp.(interface{ GetTopologyId() string }); ok {
				topo = s.GetTopologyId()
			}
		}
		g.audit.Record(ctx, AuditEntry{Principal: p, Operation: rule.Op, Topology: topo, Result: resultOf(err), Err: err})
	}
	return err
}

// UnaryInterceptor authenticates and authorizes a unary RPC.
func (g *Guard) UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, p, rule, err := g.authenticate(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	topo, err := g.authorize(ctx, p, rule, req)
	if err != nil {
		return nil, statusOf(err)
	}
	resp, err := handler(ctx, req)
	if err := g.finish(ctx, p, rule, topo, resp, err); err != nil {
		return nil, statusOf(err)
	}
	return resp, nil
}

// StreamInterceptor authenticates and authorizes a streaming RPC: before
// the handler runs, or, when the rule needs the request to name the
// topology, when the handler receives the request.
func (g *Guard) StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, p, rule, err := g.authenticate(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	gs := &guardedStream{ServerStream: ss, ctx: ctx, g: g, p: p, rule: rule}
	if !rule.Op.OnTopology() {
		if gs.topo, err = g.authorize(ctx, p, rule, nil); err != nil {
			return statusOf(err)
		}
		gs.checked = true
	}
	err = handler(srv, gs)
	if err == nil && !gs.checked {
		err = status.Errorf(codes.PermissionDenied, "%s ended without a request to authorize", info.FullMethod)
	}
	if gs.denied != nil {
		return gs.denied
	}
	if err := g.finish(ctx, p, rule, gs.topo, nil, err); err != nil {
		return statusOf(err)
	}
	return nil
}

// guardedStream carries the principal's context and authorizes the first
// request it receives when the rule needs it. Only the handler's goroutine
// uses it.
type guardedStream struct {
	grpc.ServerStream
	ctx     context.Context
	g       *Guard
	p       Principal
	rule    MethodRule
	checked bool
	topo    string
	denied  error
}

func (s *guardedStream) Context() context.Context { return s.ctx }

func (s *guardedStream) RecvMsg(m any) error {
	if s.denied != nil {
		return s.denied
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if !s.checked {
		topo, err := s.g.authorize(s.ctx, s.p, s.rule, m)
		s.topo = topo
		if err != nil {
			s.denied = statusOf(err)
			return s.denied
		}
		s.checked = true
	}
	return nil
}

func (s *guardedStream) SendMsg(m any) error {
	if !s.checked {
		return status.Error(codes.PermissionDenied, "response before the request was authorized")
	}
	// A streamed submission's topology is known from its answer only.
	if r, ok := m.(interface{ GetTopologyId() string }); ok && s.topo == "" {
		s.topo = r.GetTopologyId()
	}
	return s.ServerStream.SendMsg(m)
}

// statusOf turns an error into the gRPC status the caller gets.
func statusOf(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return status.Error(codes.Unauthenticated, err.Error())
	case errors.Is(err, ErrPermissionDenied):
		return status.Error(codes.PermissionDenied, err.Error())
	case errors.Is(err, ErrUnknownTopology):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

func resultOf(err error) string {
	switch {
	case err == nil:
		return ResultOK
	case errors.Is(err, ErrUnauthenticated) || status.Code(err) == codes.Unauthenticated:
		return ResultUnauthenticated
	case errors.Is(err, ErrPermissionDenied) || status.Code(err) == codes.PermissionDenied:
		return ResultDenied
	}
	return status.Code(statusOf(err)).String()
}

// HTTP is the REST gateway's middleware. It authenticates the caller
// (401 when it cannot), and forwards the identity to the gRPC service
// through the gateway as IdentityMetadataKey, having first deleted every
// Grpc-Metadata-* header the client sent, so that nobody can forward an
// identity of their choosing; the token itself goes no further. The
// gateway must call the service through a Link (api.ForClient over
// Link.DialOptions), so that the interceptors authorize every REST request
// as they do gRPC ones. The principal is also in the request's context,
// for handlers beside the gateway.
func (g *Guard) HTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k := range r.Header {
			if len(k) >= len(metadataHeaderPrefix) && strings.EqualFold(k[:len(metadataHeaderPrefix)], metadataHeaderPrefix) {
				delete(r.Header, k) // the key as sent: Del would canonicalize it
			}
		}
		p, err := g.authn.FromHTTP(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="squall"`)
			writeHTTPError(w, http.StatusUnauthorized, err.Error())
			return
		}
		r.Header.Del("Authorization")
		r.Header.Set(identityHeader, EncodeIdentity(p))
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
	})
}

// HTTPWithStatic is HTTP for a server that also serves public static
// files: the web UI's HTML, scripts and styles, which hold no cluster
// data, so that a browser can load the page that then calls the API with
// credentials. GET and HEAD requests outside /api/ go to static without
// authentication; every other request passes HTTP to next.
func (g *Guard) HTTPWithStatic(next, static http.Handler) http.Handler {
	guarded := g.HTTP(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !isAPIPath(r.URL.Path) {
			static.ServeHTTP(w, r)
			return
		}
		guarded.ServeHTTP(w, r)
	})
}

// isAPIPath reports whether p is under /api/ (or is /api), case aside and
// after cleaning, so that no spelling of an API path reaches the static
// handler.
func isAPIPath(p string) bool {
	p = strings.ToLower(path.Clean("/" + p))
	return p == "/api" || strings.HasPrefix(p, "/api/")
}

func writeHTTPError(w http.ResponseWriter, httpStatus int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(httpStatus)
	// Encoding a struct of two strings cannot fail.
	b, _ := json.Marshal(api.NewErrorBody(httpStatus, message))
	_, _ = w.Write(b)
}

// metadataHeaderPrefix is the grpc-gateway's prefix of HTTP headers it
// turns into gRPC metadata (runtime.MetadataHeaderPrefix).
const metadataHeaderPrefix = "Grpc-Metadata-"
