package checkpoint_test

import (
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/squallstream/squall/state"
	"github.com/squallstream/squall/state/checkpoint"
	"github.com/squallstream/squall/state/memstore"
)

var update = flag.Bool("update", false, "rewrite the transcripts in testdata with what the code does")

// The bolt transcripts in testdata/bolt drive a Bolt with commands and
// record what it asks of its host, each command followed by the expected
// lines, prefixed with "> ". Commands:
//
//	new inputs=1,2 [state] [exactly-once] [quiesce-rollback] [max-buffered=N] [retain=N] [max-seen=N]
//	restart                        the task restarts: a new Bolt, a new State on the same store
//	tuple NAME src=TASK [id=N]     a data tuple
//	acked NAME | failed NAME       the bolt acks or fails a tuple it was given
//	barrier NAME from=TASK ACTION TXID seq=N
//	put KEY VALUE | del KEY        the bolt writes its state
//	fail-next prepare|commit|rollback   the backend's next such call fails
//	abort-prepare                  the host aborts a PREPARE waiting for tuples in flight
//	state                          print the state's user keys, txids and tuple-ID records
//	stats                          print the Bolt's counters
func TestBoltTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/bolt/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			runTranscript(t, file)
		})
	}
}

func runTranscript(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{t: t, store: memstore.New()}
	var out strings.Builder
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	for i := 0; i < len(lines); {
		line := lines[i]
		i++
		if strings.HasPrefix(line, "> ") || line == ">" {
			continue // expectations are compared below
		}
		out.WriteString(line + "\n")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var want []string
		for ; i < len(lines) && (strings.HasPrefix(lines[i], "> ") || lines[i] == ">"); i++ {
			want = append(want, strings.TrimPrefix(strings.TrimPrefix(lines[i], ">"), " "))
		}
		r.log = nil
		r.run(line)
		got := r.log
		for _, l := range got {
			out.WriteString("> " + l + "\n")
		}
		if !*update && !slices.Equal(got, want) {
			t.Errorf("%s:%d: %s\ngot:\n  %s\nwant:\n  %s", file, i, line, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
	}
	if *update {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type tuple struct {
	name string
	meta checkpoint.Meta
}

type runner struct {
	t        *testing.T
	store    *memstore.Store
	backend  *failingBackend
	st       *state.State
	bolt     *checkpoint.Bolt[string]
	cfg      checkpoint.BoltConfig
	stateful bool
	tuples   map[string]tuple
	log      []string
}

// The runner is the bolt's host: it logs what the bolt asks.
func (r *runner) Execute(t string) { r.logf("execute %s", t) }
func (r *runner) Ack(t string)     { r.logf("ack %s", t) }
func (r *runner) Fail(t string)    { r.logf("fail %s", t) }
func (r *runner) Forward(b checkpoint.Barrier, a string) {
	r.logf("forward %s %d seq=%d anchor=%s", b.Action, b.Txid, b.Seq, a)
}
func (r *runner) Before(a checkpoint.Action, txid int64) { r.logf("hook %s %d", a, txid) }
func (r *runner) RolledBack(txid int64)                  { r.logf("rolled back %d", txid) }
func (r *runner) ReportError(err error) {
	kind := "other"
	for _, s := range []error{state.ErrNotPrepared, state.ErrStaleTxid, state.ErrOtherPrepared, errInjected} {
		if errors.Is(err, s) {
			kind = s.Error()
		}
	}
	r.logf("error: %s", kind)
}

func (r *runner) logf(format string, args ...any) {
	r.log = append(r.log, fmt.Sprintf(format, args...))
}

var errInjected = errors.New("injected backend failure")

// failingBackend is a memstore backend whose next prepare, commit or
// rollback can be made to fail.
type failingBackend struct {
	*memstore.Backend
	failNext string
}

func (b *failingBackend) fail(op string) error {
	if b.failNext == op {
		b.failNext = ""
		return errInjected
	}
	return nil
}

func (b *failingBackend) Prepare(txid int64, w map[string][]byte) error {
	if err := b.fail("prepare"); err != nil {
		return err
	}
	return b.Backend.Prepare(txid, w)
}

func (b *failingBackend) Commit(txid int64, w map[string][]byte) error {
	if err := b.fail("commit"); err != nil {
		return err
	}
	return b.Backend.Commit(txid, w)
}

func (b *failingBackend) Rollback() error {
	if err := b.fail("rollback"); err != nil {
		return err
	}
	return b.Backend.Rollback()
}

func (r *runner) start() {
	r.t.Helper()
	r.tuples = make(map[string]tuple)
	if r.stateful {
		r.backend = &failingBackend{Backend: r.store.Backend("ns")}
		st, err := state.Open(r.backend)
		if err != nil {
			r.t.Fatal(err)
		}
		r.st, r.cfg.State = st, st
	}
	b, err := checkpoint.NewBolt[string](r.cfg, r)
	if err != nil {
		r.t.Fatal(err)
	}
	r.bolt = b
}

func (r *runner) run(line string) {
	t := r.t
	t.Helper()
	f := strings.Fields(line)
	args := map[string]string{}
	var words []string
	for _, w := range f[1:] {
		if k, v, ok := strings.Cut(w, "="); ok {
			args[k] = v
		} else {
			words = append(words, w)
		}
	}
	num := func(k string) int64 {
		n, err := strconv.ParseInt(args[k], 10, 64)
		if err != nil {
			t.Fatalf("%s: %s=%q: %v", line, k, args[k], err)
		}
		return n
	}
	switch f[0] {
	case "new":
		r.cfg, r.stateful = checkpoint.BoltConfig{}, false
		for _, in := range strings.Split(args["inputs"], ",") {
			n, _ := strconv.Atoi(in)
			r.cfg.Inputs = append(r.cfg.Inputs, n)
		}
		for _, w := range words {
			switch w {
			case "state":
				r.stateful = true
			case "exactly-once":
				r.cfg.ExactlyOnce = true
			case "quiesce-rollback":
				r.cfg.QuiesceRollback = true
			default:
				t.Fatalf("%s: unknown word %q", line, w)
			}
		}
		if _, ok := args["max-buffered"]; ok {
			r.cfg.MaxBuffered = int(num("max-buffered"))
		}
		if _, ok := args["retain"]; ok {
			r.cfg.RetainTxids = num("retain")
		}
		if _, ok := args["max-seen"]; ok {
			r.cfg.MaxSeen = int(num("max-seen"))
		}
		r.start()
	case "restart":
		r.start()
	case "tuple":
		m := checkpoint.Meta{Source: int(num("src"))}
		if _, ok := args["id"]; ok {
			m.ID, m.HasID = checkpoint.ID{15: byte(num("id"))}, true
		}
		r.tuples[words[0]] = tuple{words[0], m}
		r.bolt.Tuple(words[0], m)
	case "acked":
		r.bolt.Acked(words[0])
	case "failed":
		r.bolt.Failed(words[0], r.tuples[words[0]].meta)
	case "barrier":
		a, err := checkpoint.ParseAction(words[1])
		if err != nil {
			t.Fatal(err)
		}
		txid, _ := strconv.ParseInt(words[2], 10, 64)
		r.bolt.Barrier(words[0], int(num("from")), checkpoint.Barrier{Txid: txid, Action: a, Seq: uint64(num("seq"))})
	case "put":
		if err := r.st.Put(words[0], []byte(words[1])); err != nil {
			t.Fatal(err)
		}
	case "del":
		if err := r.st.Delete(words[0]); err != nil {
			t.Fatal(err)
		}
	case "abort-prepare":
		r.logf("aborted %v", r.bolt.AbortPrepare())
	case "fail-next":
		r.backend.failNext = words[0]
	case "state":
		user := map[string]string{}
		records, ids := 0, 0
		_ = r.st.Range(func(k string, v []byte) bool {
			if strings.HasPrefix(k, checkpoint.SeenKeyPrefix) {
				records++
				ids += len(v) / 16
			} else {
				user[k] = string(v)
			}
			return true
		})
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(user)) {
			kv = append(kv, k+"="+user[k])
		}
		r.logf("state committed=%d prepared=%d {%s} id-records=%d ids=%d", r.st.Committed(), r.st.Prepared(), strings.Join(kv, " "), records, ids)
	case "stats":
		s := r.bolt.Stats()
		r.logf("stats initialized=%v in-flight=%d buffered=%d duplicates=%d overflowed=%d stale=%d evicted=%d",
			s.Initialized, r.bolt.InFlight(), s.Buffered, s.Duplicates, s.Overflowed, s.StaleBarriers, s.EvictedIDs)
	default:
		t.Fatalf("unknown command %q", line)
	}
}
