package drpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/topology"
)

// defaultPrefetch is how many requests a spout task takes from each
// server ahead of emitting them, unless topology.max.spout.pending is
// lower.
const defaultPrefetch = 128

// Spout is Storm's DRPCSpout: it receives the requests for one function
// from every configured DRPC server as they arrive (the servers push them;
// nothing polls) and emits each reliably as [args, return-info]. When the
// tuple fails or times out, the request fails, and its client gets
// FAILED_REQUEST at once.
//
// The servers are drpc.servers at drpc.invocations.port, or the servers
// the spout is given (host:port, for several servers on one host).
type Spout struct {
	function string
	servers  []string
	prefetch int
	creds    Credentials

	out       topology.SpoutCollector
	log       *slog.Logger
	inbox     chan incoming
	fetchers  []*fetcher
	returners []*returner
	// infoSuffix is, for each server, the end of the return-info JSON
	// after the request id.
	infoSuffix []string
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// SpoutConfig configures a Spout.
type SpoutConfig struct {
	// Function is the DRPC function whose requests the spout emits.
	Function string
	// Servers are the invocation addresses (host:port) of the DRPC servers;
	// nil means drpc.servers at drpc.invocations.port.
	Servers []string
	// Prefetch bounds the requests a task takes from each server before
	// it emits them; 0 means 128, or topology.max.spout.pending if lower.
	Prefetch int
	// Credentials, if set, gives the options for dialling the servers.
	Credentials Credentials
}

// Credentials returns the dial options (transport credentials, per-call
// tokens) that a topology's DRPC components use to reach its DRPC servers,
// from the topology's configuration. The security layer supplies it; nil
// means plaintext.
type Credentials func(conf topology.Config) ([]grpc.DialOption, error)

func (c Credentials) dialOptions(conf topology.Config) ([]grpc.DialOption, error) {
	if c == nil {
		return nil, nil
	}
	return c(conf)
}

// NewSpout returns a DRPC spout for c.Function.
func NewSpout(c SpoutConfig) (*Spout, error) {
	if err := checkFunction(c.Function); err != nil {
		return nil, fmt.Errorf("drpc spout: %w", err)
	}
	if c.Prefetch < 0 {
		return nil, fmt.Errorf("drpc spout: prefetch %d is negative", c.Prefetch)
	}
	for _, s := range c.Servers {
		if _, _, err := splitServer(s); err != nil {
			return nil, fmt.Errorf("drpc spout: server %q: %w", s, err)
		}
	}
	return &Spout{function: c.Function, servers: c.Servers, prefetch: c.Prefetch, creds: c.Credentials}, nil
}

// Fields of the spout's output, Storm's.
const (
	FieldArgs       = "args"
	FieldReturnInfo = "return-info"
)

// DeclareOutputs declares [args, return-info] on the default stream.
func (s *Spout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{FieldArgs, FieldReturnInfo}}}
}

// Open connects to every server.
func (s *Spout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	s.log = ctx.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	servers, err := s.serverAddrs(ctx.Config)
	if err != nil {
		return err
	}
	opts, err := s.creds.dialOptions(ctx.Config)
	if err != nil {
		return fmt.Errorf("drpc spout %q: credentials: %w", s.function, err)
	}
	window := s.prefetch
	if window == 0 {
		window = defaultPrefetch
		if p, ok := ctx.Config.IntOK(topology.KeyMaxSpoutPending); ok && p > 0 {
			window = min(window, p)
		}
	}
	s.inbox = make(chan incoming, window*len(servers))
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	for i, addr := range servers {
		host, port, _ := splitServer(addr)
		hostJSON, _ := json.Marshal(host)
		s.infoSuffix = append(s.infoSuffix, fmt.Sprintf(`,"host":%s,"port":%d}`, hostJSON, port))
		f, err := newFetcher(i, addr, s.function, window, s.inbox, s.log, out.ReportError, opts...)
		if err == nil {
			s.fetchers = append(s.fetchers, f)
			var r *returner
			if r, err = newReturner(addr, s.log, opts...); err == nil {
				s.returners = append(s.returners, r)
				continue
			}
		}
		s.Close()
		return fmt.Errorf("drpc spout %q: %w", s.function, err)
	}
	for _, f := range s.fetchers {
		s.wg.Go(func() { f.run(runCtx) })
	}
	return nil
}

// serverAddrs returns the invocation addresses of the servers.
func (s *Spout) serverAddrs(conf topology.Config) ([]string, error) {
	if len(s.servers) > 0 {
		return s.servers, nil
	}
	r := confReader{conf: conf}
	hosts := r.strings(KeyServers)
	port := r.int(KeyInvocationsPort, DefaultInvocationsPort)
	if r.err != nil {
		return nil, fmt.Errorf("drpc spout %q: %w", s.function, r.err)
	}
	if len(hosts) == 0 {
		return nil, fmt.Errorf("drpc spout %q: no DRPC servers configured: set %s (and %s), or the spout's servers", s.function, KeyServers, KeyInvocationsPort)
	}
	addrs, err := joinServers(hosts, port)
	if err != nil {
		return nil, fmt.Errorf("drpc spout %q: %w", s.function, err)
	}
	return addrs, nil
}

// joinServers returns the addresses of drpc.servers at a port.
func joinServers(hosts []string, port int) ([]string, error) {
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		if _, _, err := net.SplitHostPort(h); err == nil || h == "" {
			return nil, fmt.Errorf("config %s: %q is not a host name: the ports are %s and %s "+
				"(a spout reaches servers on other ports through its servers argument)", KeyServers, h, KeyPort, KeyInvocationsPort)
		}
		addrs[i] = net.JoinHostPort(h, strconv.Itoa(port))
	}
	return addrs, nil
}

// splitServer splits host:port, with a port from 1 to 65535.
func splitServer(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 || host == "" {
		return "", 0, errors.New("want host:port")
	}
	return host, port, nil
}

// msgID is the message id of an emitted request.
type msgID struct {
	server int
	id     string
}

// Next emits one request, if one came.
func (s *Spout) Next() {
	select {
	case in := <-s.inbox:
		s.fetchers[in.server].took()
		id := in.req.GetRequestId()
		s.out.Emit(topology.DefaultStream, []any{in.req.GetArgs(), s.returnInfo(in.server, id)}, &msgID{server: in.server, id: id})
	default:
	}
}

// returnInfo is Storm's return-info: JSON naming the request and the
// server to return its result to.
func (s *Spout) returnInfo(server int, id string) string {
	idJSON, _ := json.Marshal(id)
	return `{"id":` + string(idJSON) + s.infoSuffix[server]
}

// Ack does nothing: the result went back through ReturnResults.
func (s *Spout) Ack(any) {}

// Fail fails the request, so that its client hears at once.
func (s *Spout) Fail(id any) {
	m, ok := id.(*msgID)
	if !ok {
		return
	}
	s.failRequest(m.server, m.id, "the topology failed the request: a bolt failed its tuple, or it timed out (topology.message.timeout.secs)")
}

func (s *Spout) failRequest(server int, id, msg string) {
	o := &drpcpb.Outcome{RequestId: id, Outcome: &drpcpb.Outcome_Failure{Failure: msg}}
	done := func(err error) {
		if err != nil {
			s.log.Warn("drpc fail request", "request", id, "err", err)
		}
	}
	if !s.returners[server].trySend(o, done) {
		s.log.Warn("drpc fail request dropped: too many waiting", "request", id)
	}
}

// Close stops fetching and fails the requests the task took and did not
// emit, so that their clients do not wait for the timeout.
func (s *Spout) Close() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	for _, f := range s.fetchers {
		f.conn.Close()
	}
	for s.inbox != nil {
		select {
		case in := <-s.inbox:
			s.failRequest(in.server, in.req.GetRequestId(), "the DRPC spout stopped before it emitted the request")
			continue
		default:
		}
		break
	}
	for _, r := range s.returners {
		r.close()
	}
	s.returners, s.fetchers = nil, nil
}
