package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/topology"
)

// bootstrapServers returns the configured brokers, or the topology's
// kafka.bootstrap.servers.
func bootstrapServers(given []string, conf topology.Config, what string) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	if servers := splitList(conf.String(KeyBootstrapServers, "")); len(servers) > 0 {
		return servers, nil
	}
	return nil, fmt.Errorf("%s: %w: no brokers: give bootstrap.servers in its arguments, or set %s in the topology's configuration (squall local -c %s=host:9092)", what, ErrConfig, KeyBootstrapServers, KeyBootstrapServers)
}

// clientOptions returns the franz-go options shared by the spout and the
// bolt: brokers, TLS, SASL, and the client properties.
func clientOptions(cs *clientSettings, servers []string, resourcesDir string, log *slog.Logger, conn *connErrors) ([]kgo.Opt, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []kgo.Opt{kgo.SeedBrokers(servers...), kgo.WithLogger(kgoLogger{log}), kgo.WithHooks(conn)}
	tlsConf, err := cs.sec.tlsConfig(resourcesDir)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsConf))
	}
	if m := cs.sec.saslMechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return append(opts, cs.opts...), nil
}

// kgoLogger passes franz-go's warnings and errors to the task's logger.
// franz-go never logs credentials.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }
func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}

// connErrors remembers the last errors of connecting to a broker (dial,
// TLS handshake, SASL authentication), which franz-go retries quietly, so
// that a request that times out can say why. Safe for concurrent use.
type connErrors struct {
	mu sync.Mutex
	// sasl is the last failed SASL exchange; dial the last failed
	// connection (which a failed SASL exchange also ends).
	sasl, dial timedErr
}

type timedErr struct {
	err error
	at  time.Time
}

var (
	_ kgo.HookBrokerConnect = (*connErrors)(nil)
	_ kgo.HookBrokerRead    = (*connErrors)(nil)
)

// Kafka API keys of the SASL handshake.
const (
	keySASLHandshake    = 17
	keySASLAuthenticate = 36
)

func (c *connErrors) OnBrokerConnect(meta kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err != nil {
		c.mu.Lock()
		c.dial = timedErr{fmt.Errorf("connect to %s:%d: %w", meta.Host, meta.Port, err), time.Now()}
		c.mu.Unlock()
	}
}

func (c *connErrors) OnBrokerRead(meta kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && (key == keySASLHandshake || key == keySASLAuthenticate) {
		c.mu.Lock()
		c.sasl = timedErr{fmt.Errorf("SASL authentication with %s:%d failed (wrong mechanism or credentials?): %w", meta.Host, meta.Port, err), time.Now()}
		c.mu.Unlock()
	}
}

// explain adds the last connection error of the past minute, a SASL one
// first, to an error of a request that gave up waiting.
func (c *connErrors) explain(err error) error {
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range []timedErr{c.sasl, c.dial} {
		if e.err != nil && time.Since(e.at) < time.Minute {
			return fmt.Errorf("%w; last connection error: %v", err, e.err)
		}
	}
	return err
}
