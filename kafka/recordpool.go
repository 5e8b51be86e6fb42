package kafka

import (
	"math/bits"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recordPool lends franz-go the slices it decodes fetched records into
// (kgo.PoolRecords). A spout task reads hundreds of thousands of records a
// second and a kgo.Record is about 170 bytes: without the pool they are
// most of what the task allocates. The spout gives each record back
// (Record.Recycle) once its tuple is made; a batch's slice returns to the
// pool when its last record does. A record never given back costs only
// the reuse of its slice: the collector takes it.
//
// Only the records are pooled, not the decompressed bytes their keys and
// values point into, so a tuple may keep those (ByteArrayDeserializer).
//
// A fetch's batches differ in size, so the slices are kept by size class:
// class c holds up to recordsKept slices of capacity 2^c. Not a
// sync.Pool: the collector empties those at every cycle, and at this rate
// of allocation cycles come faster than a batch is emitted.
type recordPool struct {
	mu      sync.Mutex
	classes [maxRecordClass + 1][]*[]kgo.Record
}

// maxRecordClass is the largest class pooled (64Ki records, about 11 MB);
// larger slices are left to the collector. recordsKept is how many
// slices of a class the pool keeps: a task has a batch or two in hand
// and one in the client.
const (
	maxRecordClass = 16
	recordsKept    = 4
)

var _ kgo.PoolRecords = (*recordPool)(nil)

func recordClass(n int) int { return bits.Len(uint(max(n, 1) - 1)) }

// GetRecords returns a slice with room for n records.
func (rp *recordPool) GetRecords(n int) []kgo.Record {
	c := recordClass(n)
	if c > maxRecordClass {
		return make([]kgo.Record, 0, n)
	}
	rp.mu.Lock()
	var s *[]kgo.Record
	if free := rp.classes[c]; len(free) > 0 {
		s = free[len(free)-1]
		rp.classes[c] = free[:len(free)-1]
	}
	rp.mu.Unlock()
	if s != nil {
		return (*s)[:0]
	}
	return make([]kgo.Record, 0, 1<<c)
}

// PutRecords takes back a slice whose records were all recycled (and so
// zeroed).
func (rp *recordPool) PutRecords(s []kgo.Record) {
	c := recordClass(cap(s))
	if c > maxRecordClass || cap(s) != 1<<c {
		return // not one of GetRecords's
	}
	rp.mu.Lock()
	if len(rp.classes[c]) < recordsKept {
		rp.classes[c] = append(rp.classes[c], &s)
	}
	rp.mu.Unlock()
}
