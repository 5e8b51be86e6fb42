package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/auth/redact"
	"github.com/squallstream/squall/topology"
)

// Spout is squall.KafkaSpout, Storm's KafkaSpout from storm-kafka-client:
// each task reads its share of the topics' partitions and emits a tuple
// per record (see the package documentation for the guarantees).
//
// Like every Go spout, its methods are called from the task's executor
// goroutine; Lag alone is safe for concurrent use.
type Spout struct {
	set *spoutSettings

	// Set by Open; the executor goroutine's afterwards.
	out     topology.SpoutCollector
	log     *slog.Logger
	cl      *kgo.Client
	f       *fetcher
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	parts   map[TopicPartition]*partition
	buf     []*kgo.Record // the current batch; emitted records are nil
	bufPos  int
	retries retryQueue
	// ids and vals are the message ids and values of the current batch's
	// tuples (newSlabs).
	ids  []inflight
	vals []any
	// nextCommit is when the next periodic commit is due; committing
	// says a commit request is with the fetcher.
	nextCommit time.Time
	committing bool
	// revoked holds the commit points of partitions this task gave up,
	// to commit with the next request.
	revoked map[TopicPartition]int64
	// now is the clock as Next last read it; calls counts Next's calls,
	// to read the clock and the fetcher's reports every so many.
	now   time.Time
	calls uint

	// record records a metric of the task (TaskContext.RecordMetric), nil
	// if the worker keeps none; nextLagMetrics is when recordLag next
	// records.
	record         func(name string, params any)
	nextLagMetrics time.Time
	// lagPartitions is for how many partitions the task's lag metrics
	// fit under the cap of user metrics; lagCapped says it read more and
	// said so.
	lagPartitions int
	lagCapped     bool
	// lagMu guards lag, which Lag reads from other goroutines.
	lagMu sync.Mutex
	lag   map[TopicPartition]PartitionLag
}

// partition is the executor's state of one assigned partition.
type partition struct {
	tp TopicPartition
	// topic is tp.Topic as an interface, boxed once for every tuple.
	topic any
	// offsets tracks the records under AT_LEAST_ONCE; nil otherwise.
	offsets *offsetTracker
	// polled is the offset after the newest record polled, -1 before
	// any; committed the last offset the broker took, -1 if none.
	polled, committed int64
	paused            bool
	// revoked is set when the partition moves to another task: its
	// tuples' acks and fails are ignored from then on.
	revoked bool
}

// inflight is the message id of a tuple emitted for a record: the record's
// place and what is needed to emit it again.
type inflight struct {
	part   *partition
	offset int64
	fails  int
	stream string
	values []any
}

// NewSpout returns a spout for c, or an error naming what is wrong with c.
// It connects to nothing: Open does.
func NewSpout(c SpoutConfig) (*Spout, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	return &Spout{set: s}, nil
}

// DeclareOutputs declares the translator's streams.
func (s *Spout) DeclareOutputs() []topology.Stream { return s.set.tr.streams() }

// Open creates the client and starts the task's fetcher. It does not wait
// for the brokers: a broker that cannot be reached is reported as an
// error of the component, and retried.
func (s *Spout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	s.record = ctx.RecordMetric
	s.lagPartitions = lagPartitions(ctx.Config)
	s.log = ctx.Logger
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("kafka.group", s.set.GroupID)
	index, tasks, err := taskIndex(ctx)
	if err != nil {
		return fmt.Errorf("kafka spout: %w", err)
	}
	servers, err := bootstrapServers(s.set.BootstrapServers, ctx.Config, "kafka spout")
	if err != nil {
		return err
	}
	conn := &connErrors{}
	opts, err := clientOptions(s.set.client, servers, ctx.ResourcesDir, s.log, conn)
	if err != nil {
		return fmt.Errorf("kafka spout: %w", err)
	}
	// Kafka's fetch.max.wait.ms default (franz-go's is 5 s), before the
	// properties, which may override it. It also bounds how long a paused
	// or newly assigned partition waits behind a fetch in flight.
	opts = append([]kgo.Opt{kgo.FetchMaxWait(500 * time.Millisecond)}, opts...)
	opts = append(opts, kgo.ConsumeResetOffset(s.resetOffset()))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka spout: %w: %v", ErrConfig, err)
	}
	stormID := ctx.Config.String(topology.KeyStormID, "")
	meta, _ := json.Marshal(commitMetadata{TopologyID: stormID, TaskID: ctx.TaskID, ThreadName: "executor-" + ctx.ComponentID})
	s.cl = cl
	s.parts = map[TopicPartition]*partition{}
	s.revoked = map[TopicPartition]int64{}
	s.lag = map[TopicPartition]PartitionLag{}
	s.nextCommit = time.Now().Add(s.set.OffsetCommitPeriod)
	s.f = &fetcher{
		cl: cl, log: s.log, conn: conn, requestTimeout: s.set.client.requestTimeout,
		group: s.set.GroupID, metadata: string(meta), stormID: stormID,
		topics: s.set.Topics, pattern: s.set.pattern,
		index: index, tasks: tasks,
		strategy: s.set.FirstPollOffsetStrategy, atMost: s.set.ProcessingGuarantee == AtMostOnce,
		pollTimeout: s.set.PollTimeout, pollRecords: s.set.client.pollRecords, refreshPeriod: s.set.PartitionRefreshPeriod,
		events:     make(chan fetchEvent, 2),
		commits:    make(chan map[TopicPartition]int64, 1),
		commitDone: make(chan commitResult, 1),
		errs:       make(chan error, 16),
		assigned:   map[TopicPartition]bool{},
		ids:        topicIDs{},
	}
	fctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Go(func() { s.f.run(fctx) })
	s.wg.Go(func() { s.f.committer(fctx) })
	s.log.Info("kafka spout opened", "brokers", strings.Join(servers, ","), "topics", s.topicsString(),
		"index", index, "tasks", tasks, "guarantee", s.set.ProcessingGuarantee,
		"first.poll.offset.strategy", s.set.FirstPollOffsetStrategy, "props", fmt.Sprint(redact.Config(s.set.Props)))
	return nil
}

// resetOffset is where the client goes when a committed offset is out of
// range: auto.offset.reset, by default the log's start under
// AT_LEAST_ONCE (as Storm sets it) and its end otherwise (Kafka's
// default).
func (s *Spout) resetOffset() kgo.Offset {
	switch s.set.client.resetOffset {
	case "earliest":
		return kgo.NewOffset().AtStart()
	case "latest":
		return kgo.NewOffset().AtEnd()
	case "none":
		return kgo.NoResetOffset()
	}
	if s.set.ProcessingGuarantee == AtLeastOnce {
		return kgo.NewOffset().AtStart()
	}
	return kgo.NewOffset().AtEnd()
}

func (s *Spout) topicsString() string {
	if s.set.pattern != nil {
		return s.set.TopicPattern
	}
	return strings.Join(s.set.Topics, ",")
}

// controlEvery is how many calls of Next pass between reads of the clock
// and of the fetcher's reports while records flow: both cost more than
// emitting a record.
const controlEvery = 64

// Next emits one tuple: a failed one whose retry is due, else the next
// polled record. It never waits for the brokers.
func (s *Spout) Next() {
	if s.calls++; s.calls%controlEvery == 0 || s.bufPos >= len(s.buf) {
		s.now = time.Now()
		s.control()
		s.recordLag(s.now)
	}
	now := s.now
	if !s.committing && !now.Before(s.nextCommit) {
		s.startCommit(now)
	}
	for m := s.retries.next(now); m != nil; m = s.retries.next(now) {
		if !m.part.revoked {
			s.out.Emit(m.stream, m.values, m)
			return
		}
	}
	for {
		for s.bufPos < len(s.buf) {
			r := s.buf[s.bufPos]
			s.buf[s.bufPos] = nil
			s.bufPos++
			if r == nil {
				continue
			}
			if p := s.parts[TopicPartition{r.Topic, r.Partition}]; p != nil {
				s.emit(r, p)
				return
			}
		}
		select {
		case ev := <-s.f.events:
			s.apply(ev)
		default:
			return
		}
	}
}

// control takes the fetcher's commit results and errors.
func (s *Spout) control() {
	for {
		select {
		case res := <-s.f.commitDone:
			s.committed(res)
		case err := <-s.f.errs:
			s.log.Warn("kafka spout", "err", err)
			s.out.ReportError(fmt.Errorf("kafka spout: %w", err))
		default:
			return
		}
	}
}

func (s *Spout) emit(r *kgo.Record, p *partition) {
	tracked := s.set.ProcessingGuarantee == AtLeastOnce || s.set.TupleTrackingEnforced
	if len(s.vals)+s.set.tr.width > cap(s.vals) || (tracked && len(s.ids) == cap(s.ids)) {
		s.newSlabs(1) // not expected: apply made room for its batch
	}
	at := len(s.vals)
	stream, values := s.set.tr.translate(r, s.vals[at:at:at+s.set.tr.width], p.topic)
	values = values[:len(values):len(values)]
	s.vals = s.vals[:at+len(values)]
	if !tracked {
		s.out.Emit(stream, values, nil)
		return
	}
	s.ids = append(s.ids, inflight{part: p, offset: r.Offset, stream: stream, values: values})
	s.out.Emit(stream, values, &s.ids[len(s.ids)-1])
}

// newSlabs makes room for the tuples of n records: their message ids and
// values are carved from two slices a batch, not allocated one by one. A
// tuple in flight keeps its batch's slices alive, a few tens of kilobytes.
func (s *Spout) newSlabs(n int) {
	s.vals = make([]any, 0, n*s.set.tr.width)
	if s.set.ProcessingGuarantee == AtLeastOnce || s.set.TupleTrackingEnforced {
		s.ids = make([]inflight, 0, n)
	}
}

// apply takes in an event of the fetcher: assignment changes, or records
// to emit.
func (s *Spout) apply(ev fetchEvent) {
	for _, tp := range ev.removed {
		s.revoke(tp)
	}
	for _, a := range ev.added {
		p := &partition{tp: a.tp, topic: a.tp.Topic, polled: -1, committed: a.committed}
		if s.set.ProcessingGuarantee == AtLeastOnce {
			p.offsets = newOffsetTracker(a.committed)
		}
		s.parts[a.tp] = p
		s.updateLag(a.tp, func(l *PartitionLag) { l.Committed = a.committed })
	}
	for i, r := range ev.records {
		p := s.parts[TopicPartition{r.Topic, r.Partition}]
		if p == nil || (p.offsets != nil && !p.offsets.track(r.Offset)) {
			ev.records[i] = nil // a partition no longer ours, or a record polled twice
			continue
		}
		p.polled = r.Offset + 1
	}
	if len(ev.records) > 0 || len(ev.ends) > 0 {
		s.lagMu.Lock()
		for _, e := range ev.ends {
			if p := s.parts[e.tp]; p != nil {
				l := s.lagEntry(e.tp)
				l.LogStart, l.LogEnd, l.LatestEmitted = e.start, e.end, p.polled-1
				s.lag[e.tp] = l
			}
		}
		s.lagMu.Unlock()
	}
	if len(ev.records) > 0 {
		s.buf, s.bufPos = ev.records, 0
		s.newSlabs(len(ev.records))
		s.pauseFull()
	}
}

// pauseFull stops fetching the partitions that reached
// max.uncommitted.offsets (AT_LEAST_ONCE).
func (s *Spout) pauseFull() {
	if s.set.ProcessingGuarantee != AtLeastOnce {
		return
	}
	var pause map[string][]int32
	for _, p := range s.parts {
		if !p.paused && p.offsets.uncommitted() >= int64(s.set.MaxUncommittedOffsets) {
			if pause == nil {
				pause = map[string][]int32{}
			}
			pause[p.tp.Topic] = append(pause[p.tp.Topic], p.tp.Partition)
			p.paused = true
		}
	}
	if pause != nil {
		s.cl.PauseFetchPartitions(pause)
	}
}

func (s *Spout) resume(p *partition) {
	p.paused = false
	s.cl.ResumeFetchPartitions(map[string][]int32{p.tp.Topic: {p.tp.Partition}})
}

// revoke gives up a partition that moved to another task: its ready
// offsets are committed with the next request (Storm commits on
// revocation), its tuples' acks and fails are ignored.
func (s *Spout) revoke(tp TopicPartition) {
	p := s.parts[tp]
	if p == nil {
		return
	}
	if off, ok := s.readyOffset(p); ok {
		s.revoked[tp] = off
		s.nextCommit = time.Time{}
	}
	if p.paused {
		s.resume(p)
	}
	p.revoked = true
	delete(s.parts, tp)
	s.retries.drop(func(m *inflight) bool { return m.part != p })
	s.lagMu.Lock()
	delete(s.lag, tp)
	s.lagMu.Unlock()
}

// readyOffset returns the offset p may be committed at, if it is past the
// last commit.
func (s *Spout) readyOffset(p *partition) (int64, bool) {
	switch s.set.ProcessingGuarantee {
	case AtLeastOnce:
		return p.offsets.readyToCommit()
	case NoGuarantee:
		return p.polled, p.polled > p.committed
	}
	return 0, false // AT_MOST_ONCE: the fetcher commits before emitting
}

// readyOffsets returns what a commit would send now.
func (s *Spout) readyOffsets() map[TopicPartition]int64 {
	offsets := map[TopicPartition]int64{}
	for tp, p := range s.parts {
		if off, ok := s.readyOffset(p); ok {
			offsets[tp] = off
		}
	}
	for tp, off := range s.revoked {
		offsets[tp] = off
	}
	clear(s.revoked)
	return offsets
}

// startCommit hands the ready offsets to the fetcher.
func (s *Spout) startCommit(now time.Time) {
	s.nextCommit = now.Add(s.set.OffsetCommitPeriod)
	if offsets := s.readyOffsets(); len(offsets) > 0 {
		s.committing = true
		s.f.commits <- offsets // room for one: one request at a time
	}
}

// committed takes the result of a commit.
func (s *Spout) committed(res commitResult) {
	s.committing = false
	if res.err != nil {
		s.log.Warn("kafka commit", "err", res.err)
		s.out.ReportError(fmt.Errorf("kafka spout: %w", res.err))
	}
	for tp, off := range res.done {
		p := s.parts[tp]
		if p == nil {
			continue
		}
		p.committed = max(p.committed, off)
		if p.offsets != nil {
			p.offsets.markCommitted(off)
			if p.paused && p.offsets.uncommitted() < int64(s.set.MaxUncommittedOffsets) {
				s.resume(p)
			}
		}
		s.updateLag(tp, func(l *PartitionLag) { l.Committed = p.committed })
	}
}

// Ack marks a record processed (AT_LEAST_ONCE).
func (s *Spout) Ack(id any) {
	m, ok := id.(*inflight)
	if !ok || m.part.offsets == nil || m.part.revoked {
		return
	}
	m.part.offsets.ack(m.offset)
}

// Fail schedules a record's tuple to be emitted again (AT_LEAST_ONCE), or
// gives it up, counting it as processed, after the policy's last retry.
func (s *Spout) Fail(id any) {
	m, ok := id.(*inflight)
	if !ok || m.part.offsets == nil || m.part.revoked {
		return
	}
	m.fails++
	if !s.set.Retry.Retries(m.fails) {
		s.log.Warn("kafka tuple given up after its last retry", "partition", m.part.tp.String(), "offset", m.offset, "fails", m.fails)
		m.part.offsets.ack(m.offset)
		return
	}
	s.retries.schedule(m, time.Now().Add(s.set.Retry.Delay(m.fails)))
}

// Activate does nothing: the task reads from Open on.
func (s *Spout) Activate() {}

// Deactivate commits what is ready, as Storm's spout does.
func (s *Spout) Deactivate() {
	if s.f == nil {
		return
	}
	s.control()
	if !s.committing {
		s.startCommit(time.Now())
	}
}

// finalCommitTimeout bounds the commit of Close.
const finalCommitTimeout = 5 * time.Second

// Close stops the fetcher, commits what is ready and closes the client.
func (s *Spout) Close() {
	if s.cl == nil {
		return
	}
	s.cancel()
	s.wg.Wait()
	select {
	case res := <-s.f.commitDone:
		if errors.Is(res.err, context.Canceled) {
			res.err = nil // cut short by stopping: committed again below
		}
		s.committed(res)
	default:
	}
	s.committing = false
	if offsets := s.readyOffsets(); len(offsets) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), finalCommitTimeout)
		done, err := s.f.commit(ctx, offsets)
		cancel()
		s.committed(commitResult{done: done, err: err})
	}
	s.cl.Close()
	s.cl = nil
}

// PartitionLag is one partition's progress, as Storm's
// storm-kafka-monitor reports it.
type PartitionLag struct {
	Topic     string
	Partition int32
	// Committed is the group's committed offset, -1 if none.
	Committed int64
	// LogStart and LogEnd are the partition's first offset and the offset
	// after its last record (the high watermark), -1 until known.
	LogStart, LogEnd int64
	// LatestEmitted is the offset of the newest record polled, -1 if none.
	LatestEmitted int64
}

// Lag returns LogEnd - Committed: how many records are not yet committed.
// With no commit it counts from LogStart; -1 while the log end is unknown.
func (l PartitionLag) Lag() int64 {
	switch {
	case l.LogEnd < 0:
		return -1
	case l.Committed >= 0:
		return max(l.LogEnd-l.Committed, 0)
	}
	return max(l.LogEnd-max(l.LogStart, 0), 0)
}

func (s *Spout) updateLag(tp TopicPartition, f func(*PartitionLag)) {
	s.lagMu.Lock()
	l := s.lagEntry(tp)
	f(&l)
	s.lag[tp] = l
	s.lagMu.Unlock()
}

// lagEntry returns tp's entry of s.lag, new if absent; lagMu is held.
func (s *Spout) lagEntry(tp TopicPartition) PartitionLag {
	if l, ok := s.lag[tp]; ok {
		return l
	}
	return PartitionLag{Topic: tp.Topic, Partition: tp.Partition, Committed: -1, LogStart: -1, LogEnd: -1, LatestEmitted: -1}
}

// Lag returns the progress of the partitions this task reads, sorted. It
// is safe for concurrent use.
func (s *Spout) Lag() []PartitionLag {
	s.lagMu.Lock()
	defer s.lagMu.Unlock()
	out := make([]PartitionLag, 0, len(s.lag))
	for _, l := range s.lag {
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b PartitionLag) int {
		return compareTP(TopicPartition{a.Topic, a.Partition}, TopicPartition{b.Topic, b.Partition})
	})
	return out
}
