package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/squallstream/squall/internal/backoff"
)

// fetcher is a spout task's goroutine that talks to the brokers: it
// lists the topics' partitions every refresh period and assigns this
// task's share to the client, and polls records. It alone calls the
// client's consuming methods, so the events it sends (assignment changes,
// then the records polled after them) arrive in the order they happened.
// A second goroutine, committer, runs the commits the executor asks for,
// so that a commit never waits behind a poll.
type fetcher struct {
	cl   *kgo.Client
	log  *slog.Logger
	conn *connErrors
	// requestTimeout bounds each request other than fetches.
	requestTimeout time.Duration

	group    string
	metadata string // the commit metadata of this task
	stormID  string
	topics   []string
	pattern  *regexp.Regexp
	index    int
	tasks    int
	strategy FirstPollOffsetStrategy
	atMost   bool // AT_MOST_ONCE: commit a batch before handing it on

	pollTimeout   time.Duration
	pollRecords   int
	refreshPeriod time.Duration

	// events carries assignment changes and polled records to the
	// executor.
	events chan fetchEvent
	// commits carries the executor's commit requests, one at a time;
	// commitDone their results.
	commits    chan map[TopicPartition]int64
	commitDone chan commitResult
	// errs carries errors for the executor to report; it drops what does
	// not fit.
	errs chan error

	// assigned belongs to run's goroutine.
	assigned map[TopicPartition]bool
	// idsMu guards ids, which run writes and commits read.
	idsMu sync.Mutex
	ids   topicIDs
}

// fetchEvent is what the fetcher tells the executor, in order.
type fetchEvent struct {
	added   []addedPartition
	removed []TopicPartition
	records []*kgo.Record
	ends    []partitionEnds
}

type addedPartition struct {
	tp TopicPartition
	// committed is the group's committed offset, -1 if none.
	committed int64
}

// partitionEnds are a partition's log start and end as a fetch saw them.
type partitionEnds struct {
	tp         TopicPartition
	start, end int64
}

type commitResult struct {
	done map[TopicPartition]int64
	err  error
}

// defaultRequestTimeout bounds a request other than a fetch, unless the
// consumer's request.timeout.ms says otherwise.
const defaultRequestTimeout = 10 * time.Second

// commitMetadata is what the spout stores with each commit, Storm's
// CommitMetadata: EARLIEST and LATEST resume from commits of the same
// topology id.
type commitMetadata struct {
	TopologyID string `json:"topologyId"`
	TaskID     int    `json:"taskId"`
	ThreadName string `json:"threadName"`
}

// committedBy returns the topology id in a commit's metadata, "" if the
// metadata is not the spout's.
func committedBy(metadata string) string {
	var m commitMetadata
	if json.Unmarshal([]byte(metadata), &m) != nil {
		return ""
	}
	return m.TopologyID
}

// startOffset says where a newly assigned partition is read from: Storm's
// KafkaSpout doSeek. c is the group's commit, if ok.
func startOffset(strategy FirstPollOffsetStrategy, c committedOffset, ok bool, stormID string) kgo.Offset {
	if ok && (strategy == UncommittedEarliest || strategy == UncommittedLatest || committedBy(c.metadata) == stormID) {
		return kgo.NewOffset().At(c.offset)
	}
	if strategy == Earliest || strategy == UncommittedEarliest {
		return kgo.NewOffset().AtStart()
	}
	return kgo.NewOffset().AtEnd()
}

func (f *fetcher) run(ctx context.Context) {
	var refreshAt time.Time
	retry := backoff.New(backoff.Policy{Min: 100 * time.Millisecond, Max: f.refreshPeriod})
	for ctx.Err() == nil {
		if !time.Now().Before(refreshAt) {
			if err := f.refresh(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				f.report(err)
				refreshAt = time.Now().Add(retry.Next())
			} else {
				retry.Reset()
				refreshAt = time.Now().Add(f.refreshPeriod)
			}
		}
		if len(f.assigned) == 0 {
			// Nothing to poll: wait for the next refresh.
			t := time.NewTimer(max(time.Until(refreshAt), 0))
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, f.pollTimeout)
		fetches := f.cl.PollRecords(pctx, f.pollRecords)
		cancel()
		ev := f.collect(fetches)
		if len(ev.records) == 0 && len(ev.ends) == 0 {
			continue
		}
		if f.atMost && len(ev.records) > 0 && !f.commitPolled(ctx, ev.records) {
			return
		}
		if !f.send(ctx, ev) {
			return
		}
	}
}

// collect gathers the records and log ends of a poll and reports its
// errors.
func (f *fetcher) collect(fetches kgo.Fetches) fetchEvent {
	var ev fetchEvent
	fetches.EachPartition(func(p kgo.FetchTopicPartition) {
		if p.Err != nil {
			if !errors.Is(p.Err, context.DeadlineExceeded) && !errors.Is(p.Err, context.Canceled) && !errors.Is(p.Err, kgo.ErrClientClosed) {
				f.report(fmt.Errorf("fetch %s-%d: %w", p.Topic, p.Partition, p.Err))
			}
			return
		}
		tp := TopicPartition{p.Topic, p.Partition}
		if p.HighWatermark >= 0 {
			ev.ends = append(ev.ends, partitionEnds{tp: tp, start: p.LogStartOffset, end: p.HighWatermark})
		}
		ev.records = append(ev.records, p.Records...)
	})
	return ev
}

// send hands an event to the executor. It returns false if ctx ended
// first.
func (f *fetcher) send(ctx context.Context, ev fetchEvent) bool {
	select {
	case f.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// committer runs the executor's commit requests until ctx ends.
func (f *fetcher) committer(ctx context.Context) {
	for {
		select {
		case req := <-f.commits:
			done, err := f.commit(ctx, req)
			f.commitDone <- commitResult{done: done, err: err} // room for one: one request at a time
		case <-ctx.Done():
			return
		}
	}
}

// commit commits offsets for the group with the task's metadata.
func (f *fetcher) commit(ctx context.Context, offsets map[TopicPartition]int64) (map[TopicPartition]int64, error) {
	f.idsMu.Lock()
	ids := maps.Clone(f.ids)
	f.idsMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, f.requestTimeout)
	defer cancel()
	done, err := commitOffsets(cctx, f.cl, f.group, ids, offsets, f.metadata)
	return done, f.conn.explain(err)
}

// commitPolled commits a batch's offsets before it is emitted
// (AT_MOST_ONCE), retrying until the broker takes them. It returns false
// if ctx ended first.
func (f *fetcher) commitPolled(ctx context.Context, records []*kgo.Record) bool {
	offsets := map[TopicPartition]int64{}
	for _, r := range records {
		tp := TopicPartition{r.Topic, r.Partition}
		offsets[tp] = max(offsets[tp], r.Offset+1)
	}
	retry := backoff.New(backoff.Policy{Min: 50 * time.Millisecond, Max: 5 * time.Second})
	for {
		done, err := f.commit(ctx, offsets)
		for tp := range done {
			delete(offsets, tp)
		}
		if err == nil && len(offsets) == 0 {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		f.report(fmt.Errorf("commit before emitting (AT_MOST_ONCE): %w", err))
		if !retry.Wait(ctx) {
			return false
		}
	}
}

// refresh lists the partitions, and when this task's share changed,
// assigns it to the client and tells the executor.
func (f *fetcher) refresh(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, f.requestTimeout)
	defer cancel()
	all, ids, err := listPartitions(rctx, f.cl, f.topics, f.pattern)
	if err != nil {
		return f.conn.explain(err)
	}
	f.idsMu.Lock()
	maps.Copy(f.ids, ids)
	f.idsMu.Unlock()
	mine := AssignPartitions(all, f.index, f.tasks)
	var added, removed []TopicPartition
	for _, tp := range mine {
		if !f.assigned[tp] {
			added = append(added, tp)
		}
	}
	for tp := range f.assigned {
		if !slices.Contains(mine, tp) {
			removed = append(removed, tp)
		}
	}
	if len(added) == 0 && len(removed) == 0 {
		return nil
	}
	var committed map[TopicPartition]committedOffset
	if len(added) > 0 {
		if committed, err = fetchCommitted(rctx, f.cl, f.group, added); err != nil {
			return f.conn.explain(err)
		}
	}
	ev := fetchEvent{removed: removed}
	if len(removed) > 0 {
		rm := map[string][]int32{}
		for _, tp := range removed {
			rm[tp.Topic] = append(rm[tp.Topic], tp.Partition)
			delete(f.assigned, tp)
		}
		f.cl.RemoveConsumePartitions(rm)
	}
	if len(added) > 0 {
		add := map[string]map[int32]kgo.Offset{}
		for _, tp := range added {
			c, ok := committed[tp]
			if add[tp.Topic] == nil {
				add[tp.Topic] = map[int32]kgo.Offset{}
			}
			add[tp.Topic][tp.Partition] = startOffset(f.strategy, c, ok, f.stormID)
			ap := addedPartition{tp: tp, committed: -1}
			if ok {
				ap.committed = c.offset
			}
			ev.added = append(ev.added, ap)
			f.assigned[tp] = true
		}
		f.cl.AddConsumePartitions(add)
	}
	slices.SortFunc(removed, compareTP)
	f.log.Info("kafka partitions assigned", "index", f.index, "tasks", f.tasks,
		"partitions", fmt.Sprint(slices.SortedFunc(maps.Keys(f.assigned), compareTP)), "added", len(added), "removed", len(removed))
	f.send(ctx, ev)
	return nil
}

func (f *fetcher) report(err error) {
	select {
	case f.errs <- err:
	default:
	}
}
