// Package fakekafka runs an in-process broker that speaks the Kafka
// protocol (franz-go's kfake) on loopback, for tests and for trying the
// Kafka components by hand (`squall kafka-fake`). It is a test tool: it
// keeps everything in memory, has one replica per partition and none of a
// real Kafka's durability. It also holds the small producing and consuming
// helpers the tests share.
package fakekafka

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Config configures a fake broker.
type Config struct {
	// Port is the loopback port of the (single) broker; 0 picks one.
	Port int
	// Topics are created at start, each with Partitions partitions
	// (default 1).
	Topics     []string
	Partitions int32
	// AutoCreate creates topics a client asks for, with Partitions
	// partitions.
	AutoCreate bool
	// Opts are extra kfake options (TLS, SASL users, ...).
	Opts []kfake.Opt
}

// Broker is a running fake cluster of one broker.
type Broker struct {
	c *kfake.Cluster
}

// Start starts a broker on 127.0.0.1.
func Start(cfg Config) (*Broker, error) {
	parts := max(cfg.Partitions, 1)
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(cfg.Port), kfake.DefaultNumPartitions(int(parts))}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(parts, cfg.Topics...))
	}
	if cfg.AutoCreate {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	c, err := kfake.NewCluster(append(opts, cfg.Opts...)...)
	if err != nil {
		return nil, fmt.Errorf("start fake kafka: %w", err)
	}
	return &Broker{c: c}, nil
}

// Addr returns the broker's host:port.
func (b *Broker) Addr() string { return b.c.ListenAddrs()[0] }

// Cluster returns the kfake cluster, for tests that inspect it.
func (b *Broker) Cluster() *kfake.Cluster { return b.c }

// CreateTopic creates a topic with n partitions.
func (b *Broker) CreateTopic(topic string, n int32) error {
	return b.c.CreateTopic(topic, n, nil)
}

// Close stops the broker.
func (b *Broker) Close() { b.c.Close() }

// Client returns a franz-go client of the broker, with opts.
func Client(addr string, opts ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(addr, ",")...)}, opts...)...)
}

// Produce writes records to the broker, each to the partition it names,
// and waits for every acknowledgement.
func Produce(ctx context.Context, addr string, recs []*kgo.Record) error {
	cl, err := Client(addr, kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<16), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	var (
		mu       sync.Mutex
		firstErr error
	)
	for _, r := range recs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return firstErr
}

// Consume reads a topic from its start until stop, given every record so
// far, returns true or ctx ends.
func Consume(ctx context.Context, addr, topic string, stop func([]*kgo.Record) bool) ([]*kgo.Record, error) {
	cl, err := Client(addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var all []*kgo.Record
	for !stop(all) {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return all, err
		}
		all = append(all, fs.Records()...)
	}
	return all, nil
}
