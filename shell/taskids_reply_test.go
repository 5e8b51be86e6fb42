package shell

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/multilang"
)

// replyTimesEnv names the file where the timedsplit child appends its
// waits for task ids.
const replyTimesEnv = "SHELL_TEST_REPLY_TIMES"

// timedSplit is a split bolt that waits for the task ids after every emit,
// as Storm's adapters do, and appends each wait to the file at path: from
// just before it writes the emit until it has decoded the reply, in
// nanoseconds, as little-endian uint32s. The buffered records reach the
// file every 1024 waits.
func (c *testChild) timedSplit(path string) int {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 4
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 4<<10)
	defer w.Flush()
	var rec [4]byte
	for {
		m, ok := c.next()
		if !ok {
			return 0
		}
		switch m.Kind {
		case multilang.HostHeartbeat:
			c.sync()
			continue
		case multilang.HostTuple:
		default:
			fmt.Fprintf(os.Stderr, "unexpected message %+v\n", m)
			return 5
		}
		t := m.Tuple
		sentence, _ := t.Tuple[0].(string)
		for _, word := range strings.Fields(sentence) {
			start := time.Now()
			c.emit([]any{word}, []string{t.ID}, "", true)
			c.taskIDs()
			binary.LittleEndian.PutUint32(rec[:], uint32(min(time.Since(start), math.MaxUint32)))
			w.Write(rec[:])
		}
		c.ack(t.ID)
	}
}

// BenchmarkTaskIDsReply measures what paces a child that waits for its
// task ids after every emit: the time from the child's write of an emit
// to its reading of the reply, as a Go child (the test binary) sees it,
// under the bare loop and under the host of BenchmarkTaskIDsChild. The
// quantiles are of the waits during the timed part (reply-p50-µs, ...);
// host minus bare is what the host adds to each emit.
func BenchmarkTaskIDsReply(b *testing.B) {
	for _, side := range []struct {
		name  string
		start func(*testing.B, []string, string, []string) (func(int), int)
	}{{"bare", startTaskIDsBare}, {"host", startTaskIDsHost}} {
		b.Run(side.name, func(b *testing.B) {
			dir := b.TempDir()
			times := filepath.Join(dir, "reply-times")
			run, _ := side.start(b, []string{os.Args[0]}, dir, []string{childModeEnv + "=timedsplit", replyTimesEnv + "=" + times})
			run(taskIDsSlice) // warm up
			b.ResetTimer()
			run(b.N)
			b.StopTimer()
			waits := readReplyTimes(b, times)
			waits = waits[max(0, len(waits)-b.N*len(strings.Fields(taskIDsSentence))):]
			slices.Sort(waits)
			for _, q := range []struct {
				unit string
				at   float64
			}{{"reply-p50-µs", 0.5}, {"reply-p90-µs", 0.9}, {"reply-p99-µs", 0.99}} {
				b.ReportMetric(float64(waits[int(q.at*float64(len(waits)-1))])/1e3, q.unit)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tuples/s")
		})
	}
}

// readReplyTimes reads what the timedsplit child has written to path.
func readReplyTimes(b *testing.B, path string) []uint32 {
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if len(data) < 4 {
		b.Fatalf("%s: no waits recorded", path)
	}
	waits := make([]uint32, len(data)/4)
	for i := range waits {
		waits[i] = binary.LittleEndian.Uint32(data[4*i:])
	}
	return waits
}
