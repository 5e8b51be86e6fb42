package cluster

import (
	"github.com/squallstream/squall/auth/zkacl"
	"github.com/squallstream/squall/internal/backoff"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// ZooKeeper is the State kept in ZooKeeper: one client session. Create it
// with NewZooKeeper. Its methods are safe for concurrent use.
//
// The session is watched by a callback of the ZooKeeper client: when the
// connection is lost, leaderships end at once; when the client has to start
// a new session because the old one expired, this session's supervisor and
// nimbus registrations are re-created by a maintenance goroutine, which also
// deletes the election nodes of leaderships that ended while disconnected.
// Close stops it and every other goroutine this type starts (one per watch,
// one per leadership, one per ZooKeeper request in flight).
type ZooKeeper struct {
	cfg    Config
	log    *slog.Logger
	root   string
	acl    []zk.ACL // of the nodes this session creates, but topologies' (topologyACL)
	policy zkacl.Policy

	conn    *zk.Conn
	connSet chan struct{} // closed once conn is set; the event callback waits for it
	authed  chan struct{} // closed once the session's credential is added (at once without one)

	ctx    context.Context // ends when Close starts
	cancel context.CancelFunc
	kick   chan struct{} // wakes the maintenance goroutine; buffer 1
	wg     sync.WaitGroup
	once   sync.Once

	// regSem, a one-slot semaphore, serializes the writes of this session's
	// ephemeral registrations and guards regs.
	regSem chan struct{}
	regs   map[string][]byte // ephemeral node path → latest data

	mu sync.Mutex
	// Guarded by mu (never held while calling ZooKeeper):
	closed      bool                   // Close has started; no new goroutines
	session     int64                  // current or last session id, 0 before the first
	connected   bool                   // a session is established and the connection up
	reregister  bool                   // a new session needs regs re-created
	stale       []string               // candidate nodes of ended leaderships, to delete
	leaderships map[*Leadership]string // live leaderships → their candidate node
}

var _ State = (*ZooKeeper)(nil)

// NewZooKeeper validates cfg and opens a session to ZooKeeper. It does not
// wait for the connection: requests wait for it (within their context), and
// the ZooKeeper client retries the servers in the background, logging
// through logger (nil discards logs).
func NewZooKeeper(cfg Config, logger *slog.Logger) (*ZooKeeper, error) {
	return newZooKeeper(cfg, logger, nil)
}

// newZooKeeper is NewZooKeeper with a dialer for the client's connections
// (nil: net.DialTimeout); tests use it to observe sessions.
func newZooKeeper(cfg Config, logger *slog.Logger, dial zk.Dialer) (*ZooKeeper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	policy, err := cfg.policy()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dial == nil {
		dial = net.DialTimeout
	}
	servers := make([]string, len(cfg.Servers))
	for i, s := range cfg.Servers {
		servers[i], _ = serverAddr(s) // checked by Validate
	}
	ctx, cancel := context.WithCancel(context.Background())
	z := &ZooKeeper{
		cfg:         cfg,
		log:         logger.With("component", "cluster", "root", cfg.Root),
		root:        cfg.Root,
		acl:         zk.WorldACL(zk.PermAll),
		policy:      policy,
		connSet:     make(chan struct{}),
		authed:      make(chan struct{}),
		ctx:         ctx,
		cancel:      cancel,
		kick:        make(chan struct{}, 1),
		regSem:      make(chan struct{}, 1),
		regs:        make(map[string][]byte),
		leaderships: make(map[*Leadership]string),
	}
	conn, _, err := zk.Connect(servers, cfg.SessionTimeout,
		zk.WithLogger(zkLogger{z.log}),
		zk.WithEventCallback(z.onEvent),
		zk.WithDialer(capDeadlines(dial, cfg.SessionTimeout)))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("connect to zookeeper %s: %w", strings.Join(servers, ","), err)
	}
	z.conn = conn
	close(z.connSet)
	if cfg.Auth.IsZero() {
		close(z.authed)
	} else {
		kind := zkacl.KindDaemon
		if cfg.Worker {
			kind = zkacl.KindWorker
		}
		if z.acl, err = policy.ACL(kind, zkacl.Credential{}); err != nil {
			cancel()
			conn.Close()
			return nil, err
		}
		z.wg.Go(z.addAuth)
	}
	z.wg.Go(z.maintain)
	return z, nil
}

// addAuth adds the session's credential before any other request (call
// waits for it); the client re-sends it on every reconnection and new
// session by itself.
func (z *ZooKeeper) addAuth() {
	delays := backoff.New(backoff.Policy{Min: 50 * time.Millisecond, Max: 2 * time.Second})
	for {
		err := z.conn.AddAuth(z.cfg.Auth.Scheme, z.cfg.Auth.Payload)
		if err == nil {
			close(z.authed)
			return
		}
		if z.ctx.Err() != nil {
			return
		}
		z.log.Warn("zookeeper authentication", "scheme", z.cfg.Auth.Scheme, "err", err)
		t := time.NewTimer(delays.Next())
		select {
		case <-t.C:
		case <-z.ctx.Done():
			t.Stop()
			return
		}
	}
}

// capDeadlines wraps dial so that no deadline the ZooKeeper client sets on
// a connection is further than max away. The client gives the session
// handshake ten receive timeouts (6.7 session timeouts: 133 s with the
// default 20 s), and a server that accepts connections while it still
// loads its database (ZooKeeper starting again) holds a handshake that
// long: the daemon would stay cut off long after ZooKeeper is back. Capped
// at a session timeout, the client gives up and tries again; its other
// deadlines (two thirds of a session timeout) are shorter already.
func capDeadlines(dial zk.Dialer, max time.Duration) zk.Dialer {
	return func(network, address string, timeout time.Duration) (net.Conn, error) {
		c, err := dial(network, address, timeout)
		if err != nil {
			return nil, err
		}
		return cappedConn{c, max}, nil
	}
}

// cappedConn is a connection whose deadlines are at most max away.
type cappedConn struct {
	net.Conn
	max time.Duration
}

func (c cappedConn) cap(t time.Time) time.Time {
	if limit := time.Now().Add(c.max); !t.IsZero() && t.After(limit) {
		return limit
	}
	return t
}

func (c cappedConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(c.cap(t)) }
func (c cappedConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(c.cap(t)) }
func (c cappedConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(c.cap(t)) }

// Close ends the session (ZooKeeper removes its ephemeral nodes at once),
// ends leaderships and watches, and waits for every goroutine it started.
func (z *ZooKeeper) Close() error {
	z.once.Do(func() {
		z.mu.Lock()
		z.closed = true
		z.endLeaderships("state closed")
		z.mu.Unlock()
		z.cancel()
		z.conn.Close()
		z.wg.Wait()
	})
	return nil
}

// Connected reports whether the session is established and its connection
// up at this moment. Requests made while it is not wait for it (within
// their context); a caller that must answer at once, as nimbus's API
// does, answers from what it read earlier instead.
func (z *ZooKeeper) Connected() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.connected && !z.closed
}

// onEvent is the ZooKeeper client's event callback. It runs on the client's
// goroutine, so it must not block or call ZooKeeper.
func (z *ZooKeeper) onEvent(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	<-z.connSet
	z.mu.Lock()
	defer z.mu.Unlock()
	switch ev.State {
	case zk.StateHasSession:
		id := z.conn.SessionID()
		switch {
		case z.session == 0:
			z.log.Info("zookeeper session established", "session", sessionHex(id), "server", ev.Server)
		case id != z.session:
			z.log.Warn("zookeeper session expired, new session established",
				"old_session", sessionHex(z.session), "session", sessionHex(id), "server", ev.Server)
			z.reregister = true
		default:
			z.log.Info("zookeeper connection restored", "session", sessionHex(id), "server", ev.Server)
		}
		z.session, z.connected = id, true
		z.wake()
	case zk.StateDisconnected, zk.StateExpired, zk.StateAuthFailed:
		if z.connected && !z.closed {
			z.log.Warn("zookeeper connection lost", "session", sessionHex(z.session), "state", ev.State.String())
		}
		z.connected = false
		z.endLeaderships("zookeeper " + ev.State.String())
	}
}

// endLeaderships ends all live leaderships and queues their candidate nodes
// for deletion (they outlive the leadership if the session survives).
// Callers hold mu.
func (z *ZooKeeper) endLeaderships(reason string) {
	for l, node := range z.leaderships {
		l.end()
		z.stale = append(z.stale, node)
		delete(z.leaderships, l)
		level := slog.LevelWarn
		if z.closed {
			level = slog.LevelInfo
		}
		z.log.Log(context.Background(), level, "leadership lost", "leader", l.info.Addr(), "reason", reason)
	}
	if len(z.stale) > 0 {
		z.wake()
	}
}

// wake kicks the maintenance goroutine without blocking.
func (z *ZooKeeper) wake() {
	select {
	case z.kick <- struct{}{}:
	default:
	}
}

// maintain re-creates registrations after a new session and deletes stale
// candidate nodes, retrying until done or closed.
func (z *ZooKeeper) maintain() {
	for {
		select {
		case <-z.ctx.Done():
			return
		case <-z.kick:
		}
		for delay := 50 * time.Millisecond; !z.maintainOnce(); delay = min(2*delay, 2*time.Second) {
			t := time.NewTimer(delay)
			select {
			case <-z.ctx.Done():
				t.Stop()
				return
			case <-z.kick:
				t.Stop()
			case <-t.C:
			}
		}
	}
}

// maintainOnce does the pending maintenance and reports whether none is
// left (or must wait for a connection).
func (z *ZooKeeper) maintainOnce() bool {
	z.mu.Lock()
	if !z.connected || z.closed {
		z.mu.Unlock()
		return true // a reconnection kicks again
	}
	reregister, stale := z.reregister, z.stale
	z.reregister, z.stale = false, nil
	z.mu.Unlock()

	ok := true
	if reregister {
		if err := z.registerAll(z.ctx); err != nil {
			z.log.Warn("re-register after session expiry", "err", err)
			z.mu.Lock()
			z.reregister = true
			z.mu.Unlock()
			ok = false
		}
	}
	var left []string
	for _, p := range stale {
		if err := z.deleteIfExists(z.ctx, p); err != nil {
			z.log.Warn("delete stale election node", "path", p, "err", err)
			left = append(left, p)
		}
	}
	if len(left) > 0 {
		z.mu.Lock()
		z.stale = append(z.stale, left...)
		z.mu.Unlock()
		ok = false
	}
	return ok
}

// goTracked runs f in a goroutine Close waits for, unless closed.
func (z *ZooKeeper) goTracked(f func()) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.closed {
		return false
	}
	z.wg.Go(f)
	return true
}

// call runs op, one ZooKeeper request, and returns its result, or returns
// early when ctx ends or the State closes. An abandoned op finishes in its
// tracked goroutine when ZooKeeper answers or the connection closes.
func call[T any](ctx context.Context, z *ZooKeeper, op func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	ch := make(chan result, 1)
	if !z.goTracked(func() {
		select {
		case <-z.authed:
		case <-z.ctx.Done():
			ch <- result{zero, ErrClosed}
			return
		}
		v, err := op()
		ch <- result{v, err}
	}) {
		return zero, ErrClosed
	}
	select {
	case r := <-ch:
		if r.err != nil && z.ctx.Err() != nil {
			return zero, ErrClosed
		}
		return r.v, r.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-z.ctx.Done():
		return zero, ErrClosed
	}
}

// retry runs op with call until it succeeds, fails for good, or ctx ends.
// A request that was never sent (no server reachable) is always retried;
// one that may have been applied (the connection or session was lost with
// it in flight) only if idempotent.
func retry[T any](ctx context.Context, z *ZooKeeper, idempotent bool, op func() (T, error)) (T, error) {
	delays := backoff.New(backoff.Policy{Min: 20 * time.Millisecond, Max: time.Second})
	for {
		v, err := call(ctx, z, op)
		if err == nil || !transient(err, idempotent) {
			return v, err
		}
		t := time.NewTimer(delays.Next())
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("%w (last zookeeper error: %v)", ctx.Err(), err)
		case <-z.ctx.Done():
			t.Stop()
			return v, ErrClosed
		}
	}
}

// transient reports whether err is worth retrying (see retry).
func transient(err error, idempotent bool) bool {
	if errors.Is(err, zk.ErrNoServer) {
		return true
	}
	return idempotent && ambiguous(err)
}

// ambiguous reports whether err leaves it unknown if a write was applied.
func ambiguous(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrSessionMoved) || errors.Is(err, zk.ErrNoServer)
}

func sessionHex(id int64) string { return fmt.Sprintf("%#x", id) }

// zkLogger routes the ZooKeeper client's log lines into slog: problems at
// Warn, chatter (connected, authenticated, loops ending) at Debug.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	level := slog.LevelDebug
	lower := strings.ToLower(msg)
	for _, bad := range []string{"fail", "error", "expired", "exceed", "unknown", "gave up"} {
		if strings.Contains(lower, bad) {
			level = slog.LevelWarn
			break
		}
	}
	l.log.Log(context.Background(), level, "zookeeper client", "detail", msg)
}
