package drpc

import (
	"context"
	"crypto/tls"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/topology"
)

// Configuration keys, under Storm's names where Storm has the key. Keys
// marked "squall" are squall's own. topology.KnownKeys type-checks them
// when a configuration is loaded.
const (
	KeyServers            = topology.KeyDRPCServers
	KeyPort               = topology.KeyDRPCPort
	KeyInvocationsPort    = topology.KeyDRPCInvocationsPort
	KeyHTTPPort           = topology.KeyDRPCHTTPPort
	KeyRequestTimeoutSecs = topology.KeyDRPCRequestTimeoutSecs
	KeyMaxBufferSize      = topology.KeyDRPCMaxBufferSize
	KeyHost               = topology.KeyDRPCHost           // squall: the address the server binds
	KeyMaxOutstanding     = topology.KeyDRPCMaxOutstanding // squall
)

// Defaults, Storm's where Storm has the key.
const (
	DefaultPort            = 3772
	DefaultInvocationsPort = 3773
	DefaultHTTPPort        = 3774
	DefaultRequestTimeout  = 600 * time.Second
	DefaultMaxBufferSize   = 1 << 20
	DefaultHost            = "127.0.0.1"
	DefaultMaxOutstanding  = 100_000
)

// MaxFunctionLen bounds a function name, in bytes.
const MaxFunctionLen = 256

// Config configures a Server.
type Config struct {
	// Host is the address every listener binds (drpc.host): loopback by
	// default. Storm binds every interface; squall does only when told.
	Host string
	// Port is the client API's port (drpc.port, where Storm serves its
	// DistributedRPC Thrift service); negative means no client port, 0
	// any free port.
	Port int
	// InvocationsPort is the topologies' API's port
	// (drpc.invocations.port); 0 means any free port.
	InvocationsPort int
	// HTTPPort serves Storm's HTTP forms (drpc.http.port); negative means
	// none, 0 any free port.
	HTTPPort int
	// RequestTimeout is how long a request may wait for its result
	// (drpc.request.timeout.secs).
	RequestTimeout time.Duration
	// MaxBufferSize bounds, in bytes, the requests queued and not yet
	// fetched by a topology, over all functions (drpc.max_buffer_size); a
	// request beyond it is refused with ErrBusy (HTTP 503). It also bounds
	// one request's arguments and one result.
	MaxBufferSize int
	// MaxOutstanding bounds the requests waiting for a result, queued or
	// fetched (drpc.max.outstanding.requests); beyond it, ErrBusy.
	MaxOutstanding int

	// Principal returns who makes a call, from the call's context, where
	// the security layer's gRPC interceptors (GRPCOptions) and HTTP
	// middleware (WrapHTTP) put it. Nil means every caller is anonymous
	// (the empty principal).
	Principal func(context.Context) string
	// Authorize decides what a principal may do (drpc.authorizer). Nil
	// allows everything.
	Authorize Authorizer
	// Topology returns the topology a caller's credentials belong to (a
	// worker token's), "" for others' credentials: such a caller settles
	// only the requests its own topology fetched. Nil means "" for all.
	Topology func(context.Context) string
	// GRPCOptions are added to both gRPC servers: transport credentials
	// and interceptors of the security layer.
	GRPCOptions []grpc.ServerOption
	// WrapHTTP, if set, wraps the HTTP handler: the security layer's
	// authentication.
	WrapHTTP func(http.Handler) http.Handler
	// HTTPTLS, if set, serves HTTPS on the HTTP port.
	HTTPTLS *tls.Config
}

// DefaultConfig returns Storm's defaults, bound to loopback.
func DefaultConfig() Config {
	return Config{
		Host:            DefaultHost,
		Port:            DefaultPort,
		InvocationsPort: DefaultInvocationsPort,
		HTTPPort:        DefaultHTTPPort,
		RequestTimeout:  DefaultRequestTimeout,
		MaxBufferSize:   DefaultMaxBufferSize,
		MaxOutstanding:  DefaultMaxOutstanding,
	}
}

// Validate names the first field that is wrong, and its key.
func (c Config) Validate() error {
	port := func(p int) bool { return p <= math.MaxUint16 }
	switch {
	case c.Host == "":
		return fmt.Errorf("drpc config: Host (%s) is empty", KeyHost)
	case !port(c.Port):
		return fmt.Errorf("drpc config: Port (%s) %d is not a port", KeyPort, c.Port)
	case c.InvocationsPort < 0 || !port(c.InvocationsPort):
		return fmt.Errorf("drpc config: InvocationsPort (%s) %d is not a port", KeyInvocationsPort, c.InvocationsPort)
	case !port(c.HTTPPort):
		return fmt.Errorf("drpc config: HTTPPort (%s) %d is not a port", KeyHTTPPort, c.HTTPPort)
	case c.RequestTimeout <= 0:
		return fmt.Errorf("drpc config: RequestTimeout (%s) %v is not positive", KeyRequestTimeoutSecs, c.RequestTimeout)
	case c.MaxBufferSize <= 0:
		return fmt.Errorf("drpc config: MaxBufferSize (%s) %d is not positive", KeyMaxBufferSize, c.MaxBufferSize)
	case c.MaxOutstanding <= 0:
		return fmt.Errorf("drpc config: MaxOutstanding (%s) %d is not positive", KeyMaxOutstanding, c.MaxOutstanding)
	}
	return nil
}

// ConfigFrom reads a server's configuration from Storm's keys, over the
// defaults. An error names the key that is wrong.
func ConfigFrom(conf topology.Config) (Config, error) {
	c := DefaultConfig()
	r := confReader{conf: conf}
	c.Host = r.string(KeyHost, c.Host)
	c.Port = r.int(KeyPort, c.Port)
	c.InvocationsPort = r.int(KeyInvocationsPort, c.InvocationsPort)
	c.HTTPPort = r.int(KeyHTTPPort, c.HTTPPort)
	c.RequestTimeout = time.Duration(r.int(KeyRequestTimeoutSecs, int(c.RequestTimeout/time.Second))) * time.Second
	c.MaxBufferSize = r.int(KeyMaxBufferSize, c.MaxBufferSize)
	c.MaxOutstanding = r.int(KeyMaxOutstanding, c.MaxOutstanding)
	if r.err != nil {
		return Config{}, r.err
	}
	return c, c.Validate()
}

// confReader reads typed values from a configuration and keeps the first
// error, naming its key, instead of panicking as topology.Config's getters
// do on keys that CheckConfig does not know.
type confReader struct {
	conf topology.Config
	err  error
}

func (r *confReader) fail(key string, v any, want string) {
	if r.err == nil {
		r.err = fmt.Errorf("config %s: %#v is not %s", key, v, want)
	}
}

func (r *confReader) int(key string, def int) int {
	v, ok := r.conf[key]
	if !ok || v == nil {
		return def
	}
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case uint64:
		if n <= math.MaxInt32 {
			return int(n)
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32 {
			return int(n)
		}
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i
		}
	}
	r.fail(key, v, "an integer")
	return def
}

func (r *confReader) string(key, def string) string {
	v, ok := r.conf[key]
	if !ok || v == nil {
		return def
	}
	if s, ok := v.(string); ok {
		return s
	}
	r.fail(key, v, "a string")
	return def
}

func (r *confReader) strings(key string) []string {
	v, ok := r.conf[key]
	if !ok || v == nil {
		return nil
	}
	switch l := v.(type) {
	case string:
		return []string{l}
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			s, ok := e.(string)
			if !ok {
				r.fail(key, v, "a list of strings")
				return nil
			}
			out = append(out, s)
		}
		return out
	}
	r.fail(key, v, "a list of strings")
	return nil
}
