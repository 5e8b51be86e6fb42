// Package fakekafka runs an in-process broker that speaks the Kafka
// protocol (franz-go's kfake) on loopback, for tests and for trying the
// Kafka components by hand (`squall kafka-fake`). It is a test tool: it
// keeps everything in memory, has one replica per partition and none of a
// real Kafka's durability. It also holds the small producing and consuming
// helpers the tests share.
package fakekafka

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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

// maxLine bounds a line that LoadLines reads.
const maxLine = 1 << 20

// LoadLines writes every line of r to topic as a record whose key is the
// line's number (from 1), spread over the topic's partitions in turn. It
// returns how many records it wrote.
func LoadLines(ctx context.Context, addr, topic string, partitions int32, r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	var recs []*kgo.Record
	for sc.Scan() {
		n := len(recs)
		recs = append(recs, &kgo.Record{Topic: topic, Partition: int32(n) % max(partitions, 1),
			Key: []byte(strconv.Itoa(n + 1)), Value: []byte(sc.Text())})
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read lines for %s: %w", topic, err)
	}
	if err := Produce(ctx, addr, recs); err != nil {
		return 0, fmt.Errorf("write lines to %s: %w", topic, err)
	}
	return len(recs), nil
}

// Tail prints the records of topics, from their start, as they arrive,
// one line each ("topic/partition@offset key: value"), until ctx ends.
func Tail(ctx context.Context, addr string, topics []string, w io.Writer) error {
	cl, err := Client(addr, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var werr error
		fs.EachRecord(func(r *kgo.Record) {
			if werr == nil {
				_, werr = fmt.Fprintf(w, "%s/%d@%d %s: %s\n", r.Topic, r.Partition, r.Offset, r.Key, r.Value)
			}
		})
		if werr != nil {
			return werr
		}
	}
}

// Committed returns a group's committed offsets of a topic's partitions
// (absent: none).
func Committed(ctx context.Context, addr, group, topic string, partitions int32) (map[int32]int64, error) {
	cl, err := Client(addr)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group
	rt := kmsg.NewOffsetFetchRequestTopic()
	rt.Topic = topic
	for p := range partitions {
		rt.Partitions = append(rt.Partitions, p)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	add := func(p int32, off int64) {
		if off >= 0 {
			out[p] = off
		}
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			add(p.Partition, p.Offset)
		}
	}
	for _, g := range resp.Groups {
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				add(p.Partition, p.Offset)
			}
		}
	}
	return out, nil
}
