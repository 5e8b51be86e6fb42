package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/auth/redact"
	"github.com/squallstream/squall/topology"
)

// Bolt is squall.KafkaBolt, Storm's KafkaBolt: it produces each tuple as
// a record and acks the tuple once the broker acknowledged the record
// (acks=all by default), or fails it on a produce error. Tick tuples are
// acked and ignored.
type Bolt struct {
	set *boltSettings

	out    topology.BoltCollector
	log    *slog.Logger
	conn   *connErrors
	cl     *kgo.Client
	ctx    context.Context
	cancel context.CancelFunc
}

// NewBolt returns a bolt for c, or an error naming what is wrong with c.
func NewBolt(c BoltConfig) (*Bolt, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	return &Bolt{set: s}, nil
}

// Prepare creates the producing client; it does not wait for the brokers.
func (b *Bolt) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	b.log = ctx.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	servers, err := bootstrapServers(b.set.BootstrapServers, ctx.Config, "kafka bolt")
	if err != nil {
		return err
	}
	b.conn = &connErrors{}
	opts, err := clientOptions(b.set.client, servers, ctx.ResourcesDir, b.log, b.conn)
	if err != nil {
		return fmt.Errorf("kafka bolt: %w", err)
	}
	// Kafka's delivery.timeout.ms default (franz-go retries forever), before
	// the properties, which may override it: with the brokers gone, records
	// fail after it and their tuples go back to the spout, and an Execute
	// waiting for room in the client's buffer returns.
	opts = append([]kgo.Opt{kgo.RecordDeliveryTimeout(defaultDeliveryTimeout)}, opts...)
	if b.cl, err = kgo.NewClient(opts...); err != nil {
		return fmt.Errorf("kafka bolt: %w: %v", ErrConfig, err)
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.log.Info("kafka bolt prepared", "brokers", strings.Join(servers, ","), "topic", b.set.Topic, "topic.field", b.set.TopicField,
		"props", fmt.Sprint(redact.Config(b.set.Props)))
	return nil
}

// Execute produces the tuple's record.
func (b *Bolt) Execute(t topology.Tuple) {
	if t.IsTick() {
		b.out.Ack(t)
		return
	}
	rec, err := b.record(t)
	if err != nil {
		b.out.ReportError(fmt.Errorf("kafka bolt: %w", err))
		b.out.Fail(t)
		return
	}
	switch {
	case b.set.FireAndForget:
		b.cl.Produce(b.ctx, rec, b.reportFailure)
		b.out.Ack(t)
	case b.set.Sync:
		b.done(t, b.cl.ProduceSync(b.ctx, rec).FirstErr())
	default:
		b.cl.Produce(b.ctx, rec, func(_ *kgo.Record, err error) { b.done(t, err) })
	}
}

func (b *Bolt) done(t topology.Tuple, err error) {
	if err != nil {
		b.reportFailure(nil, err)
		b.out.Fail(t)
		return
	}
	b.out.Ack(t)
}

func (b *Bolt) reportFailure(_ *kgo.Record, err error) {
	if err != nil {
		b.out.ReportError(fmt.Errorf("kafka bolt: produce: %w", b.conn.explain(err)))
	}
}

// record builds the record of a tuple.
func (b *Bolt) record(t topology.Tuple) (*kgo.Record, error) {
	topic := b.set.Topic
	if f := b.set.TopicField; f != "" {
		if v, ok := t.ValueByField(f); ok {
			s, isString := v.(string)
			if !isString || checkTopicName(s) != nil {
				return nil, fmt.Errorf("%w: field %q of a tuple from %s:%s is %s, not a topic name", ErrTuple, f, t.SourceComponent(), t.SourceStream(), shortValue(v))
			}
			topic = s
		}
	}
	if topic == "" {
		return nil, fmt.Errorf("%w: a tuple from %s:%s has no field %q and the bolt has no default topic", ErrTuple, t.SourceComponent(), t.SourceStream(), b.set.TopicField)
	}
	v, ok := t.ValueByField(b.set.ValueField)
	if !ok {
		return nil, fmt.Errorf("%w: a tuple from %s:%s has no field %q for the record's value (fields: %v)", ErrTuple, t.SourceComponent(), t.SourceStream(), b.set.ValueField, t.Fields().Names())
	}
	value, err := recordBytes(v)
	if err != nil {
		return nil, fmt.Errorf("%w: value field %q: %v", ErrTuple, b.set.ValueField, err)
	}
	rec := &kgo.Record{Topic: topic, Value: value}
	if k, ok := t.ValueByField(b.set.KeyField); ok {
		if rec.Key, err = recordBytes(k); err != nil {
			return nil, fmt.Errorf("%w: key field %q: %v", ErrTuple, b.set.KeyField, err)
		}
	}
	return rec, nil
}

// recordBytes turns a tuple value into a record's key or value: strings
// and bytes as they are, nil as null, anything else (numbers, maps and
// lists from a multilang component) as JSON.
func recordBytes(v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(x), nil
	case []byte:
		return x, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%s cannot be written as JSON: %v", shortValue(v), err)
	}
	return b, nil
}

func shortValue(v any) string {
	s := fmt.Sprintf("%T %v", v, v)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// defaultDeliveryTimeout is Kafka's delivery.timeout.ms default.
const defaultDeliveryTimeout = 2 * time.Minute

// flushTimeout bounds how long Cleanup waits for records in flight.
const flushTimeout = 10 * time.Second

// Cleanup waits a while for the records in flight, then closes the client;
// tuples whose records were not acknowledged by then are failed.
func (b *Bolt) Cleanup() {
	if b.cl == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
	if err := b.cl.Flush(ctx); err != nil {
		b.log.Warn("kafka bolt: records still in flight at cleanup", "err", err)
	}
	cancel()
	b.cancel()
	b.cl.Close()
	b.cl = nil
}
