package drpc_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/squallstream/squall/drpc"
	"github.com/squallstream/squall/internal/testenv"
	"github.com/squallstream/squall/topology"
)

// A chain of Go bolts that counts the distinct words of a request's
// arguments, as storm-starter's reach counts distinct followers: split
// emits one tuple per word, distinct keeps per task the words it saw and
// emits their number when the request is complete, sum adds those up.

type splitBolt struct{ out topology.BoltCollector }

// splitHeld counts the tuples split bolts hold.
var splitHeld atomic.Int64

func (b *splitBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	return nil
}

func (b *splitBolt) Execute(t topology.Tuple) {
	id, args := t.Value(0), t.String(1)
	switch {
	case args == "fail":
		b.out.Fail(t)
		return
	case strings.HasPrefix(args, "hold"):
		// Never acked: the request waits for its tuple's timeout.
		splitHeld.Add(1)
		return
	}
	for w := range strings.FieldsSeq(args) {
		b.out.Emit(topology.DefaultStream, []topology.Tuple{t}, []any{id, w})
	}
	b.out.Ack(t)
}

func (*splitBolt) Cleanup() {}
func (*splitBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"id", "word"}}}
}

// distinctBolt is a batch bolt: state per request, an answer at the end.
type distinctBolt struct {
	out   topology.BoltCollector
	words map[any]map[string]bool
}

func (b *distinctBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out, b.words = out, map[any]map[string]bool{}
	return nil
}

func (b *distinctBolt) Execute(t topology.Tuple) {
	id := t.Value(0)
	if b.words[id] == nil {
		b.words[id] = map[string]bool{}
	}
	b.words[id][t.String(1)] = true
	b.out.Ack(t)
}

func (b *distinctBolt) FinishBatch(id any) {
	b.out.Emit(topology.DefaultStream, nil, []any{id, int64(len(b.words[id]))})
	delete(b.words, id)
}

func (*distinctBolt) Cleanup() {}
func (*distinctBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"id", "partial-count"}}}
}

type sumBolt struct {
	out  topology.BoltCollector
	sums map[any]int64
}

func (b *sumBolt) Prepare(_ *topology.TaskContext, out topology.BoltCollector) error {
	b.out, b.sums = out, map[any]int64{}
	return nil
}

func (b *sumBolt) Execute(t topology.Tuple) {
	b.sums[t.Value(0)] += t.Value(1).(int64)
	b.out.Ack(t)
}

func (b *sumBolt) FinishBatch(id any) {
	b.out.Emit(topology.DefaultStream, nil, []any{id, strconv.FormatInt(b.sums[id], 10)})
	delete(b.sums, id)
}

func (*sumBolt) Cleanup() {}
func (*sumBolt) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{"id", "count"}}}
}

func linearRegistry() *topology.Registry {
	r := topology.NewRegistry()
	drpc.Register(r)
	r.RegisterBolt("test.Split", func(a topology.Args) (topology.Bolt, error) { return &splitBolt{}, a.Err() })
	r.RegisterBolt("test.Distinct", func(a topology.Args) (topology.Bolt, error) { return &distinctBolt{}, a.Err() })
	r.RegisterBolt("test.Sum", func(a topology.Args) (topology.Bolt, error) { return &sumBolt{}, a.Err() })
	return r
}

const distinctYAML = `
name: distinct-words
config:
  topology.message.timeout.secs: %d
drpc:
  function: distinct
  servers: [%s]
  bolts:
    - id: split
      go: test.Split
      parallelism: 2
    - id: distinct
      go: test.Distinct
      parallelism: 3
      grouping: {type: FIELDS, args: [id, word]}
    - id: sum
      go: test.Sum
      parallelism: 2
      grouping: {type: FIELDS, args: [id]}
`

func distinctTopology(t *testing.T, timeoutSecs int, servers ...string) *topology.Topology {
	t.Helper()
	topo, err := topology.Load(fmt.Appendf(nil, distinctYAML, timeoutSecs, strings.Join(servers, ", ")), topology.LoadOptions{Registry: linearRegistry()})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return topo
}

func TestLinearDRPCGoChain(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, distinctTopology(t, 30, s.InvocationsAddr()))
	addr := s.HTTPAddr()

	cases := []struct{ args, want string }{
		{"a b a c", "3"},
		{"x", "1"},
		{"", "0"},
		{"the quick brown fox jumps over the lazy dog the end", "9"},
	}
	for _, c := range cases {
		if code, body := post(t, addr, "distinct", c.args); code != http.StatusOK || body != c.want {
			t.Errorf("POST distinct %q = %d %q, want 200 %q", c.args, code, body, c.want)
		}
	}
	// Many at once, each with its own answer: coordination keeps
	// requests apart.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			words := make([]string, 0, i%17+1)
			for j := range i%17 + 1 {
				words = append(words, fmt.Sprintf("w%d", j%(i%7+1)))
			}
			want := strconv.Itoa(min(i%17+1, i%7+1))
			code, body, err := doErr(http.MethodPost, "http://"+addr+"/drpc/distinct", strings.Join(words, " "))
			if err != nil || code != http.StatusOK || body != want {
				t.Errorf("request %d = %d %q (%v), want 200 %q", i, code, body, err, want)
			}
		})
	}
	wg.Wait()

	// A bolt failing a request's tuple fails the request at once.
	if code, body := post(t, addr, "distinct", "fail"); code != http.StatusBadRequest || !strings.Contains(body, "FAILED_REQUEST") {
		t.Errorf("POST distinct fail = %d %q, want 400 FAILED_REQUEST", code, body)
	}
}

func TestLinearDRPCValidation(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       error
		line       int
	}{
		{"no function", "name: x\ndrpc:\n  bolts:\n    - {id: s, go: test.Split}\n", topology.ErrMissingKey, 3},
		{"no bolts", "name: x\ndrpc:\n  function: f\n", topology.ErrMissingKey, 3},
		{"empty chain", "name: x\ndrpc:\n  function: f\n  bolts: []\n", topology.ErrBadValue, 4},
		{"unknown key", "name: x\ndrpc:\n  function: f\n  bolt: []\n", topology.ErrUnknownKey, 4},
		{"last bolt has three fields", "name: x\ndrpc:\n  function: f\n  bolts:\n    - id: p\n      go: squall.PrepareRequest\n", topology.ErrBadStream, 5},
		{"finishBatch on a bolt without FinishBatch", "name: x\ndrpc:\n  function: f\n  bolts:\n    - id: s\n      go: test.Split\n      finishBatch: true\n", topology.ErrBadComponent, 7},
		{"duplicate id", "name: x\ndrpc:\n  function: f\n  bolts:\n    - {id: prepare-request, go: test.Split}\n", topology.ErrDuplicateID, 5},
		{"bad grouping", "name: x\ndrpc:\n  function: f\n  bolts:\n    - {id: s, go: test.Split}\n    - {id: t, go: test.Sum, grouping: {type: FIELDS, args: [nope]}}\n", topology.ErrUnknownField, 6},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := topology.Load([]byte(c.yaml), topology.LoadOptions{Registry: linearRegistry()})
			if !errors.Is(err, c.want) {
				t.Fatalf("Load = %v, want %v", err, c.want)
			}
			var ve *topology.ValidationError
			if errors.As(err, &ve) && c.line > 0 {
				found := false
				for _, e := range ve.Errors {
					found = found || e.Line == c.line
				}
				if !found {
					t.Errorf("Load = %v, want an error at line %d", err, c.line)
				}
			}
		})
	}
}

// distinctAnswer is the number of distinct words of args.
func distinctAnswer(args string) string {
	seen := map[string]bool{}
	for w := range strings.FieldsSeq(args) {
		seen[w] = true
	}
	return strconv.Itoa(len(seen))
}

// TestLinearDRPCTimeout: a tuple of the chain that is never acked times
// out (topology.message.timeout.secs) and fails its request; requests
// after it are answered.
func TestLinearDRPCTimeout(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, distinctTopology(t, 1, s.InvocationsAddr()))
	start := time.Now()
	if code, body := post(t, s.HTTPAddr(), "distinct", "hold this"); code != http.StatusBadRequest || !strings.Contains(body, "FAILED_REQUEST") {
		t.Errorf("POST hold = %d %q, want 400 FAILED_REQUEST", code, body)
	}
	if d := time.Since(start); d > testenv.Patience(20*time.Second) {
		t.Errorf("the held request failed after %v, want about the 1 s tuple timeout", d)
	}
	if code, body := post(t, s.HTTPAddr(), "distinct", "after it after"); code != http.StatusOK || body != "2" {
		t.Errorf("POST after = %d %q, want 200 2", code, body)
	}
}

// TestLinearDRPCTwoServersConcurrent: one coordinated chain serves two
// DRPC servers, 1,000 requests at once, every answer exact.
func TestLinearDRPCTwoServersConcurrent(t *testing.T) {
	a, b := startServer(t, testConfig()), startServer(t, testConfig())
	runTopology(t, distinctTopology(t, 60, a.InvocationsAddr(), b.InvocationsAddr()))
	const n = 1000
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			words := make([]string, 0, 8)
			for j := range i%8 + 1 {
				words = append(words, fmt.Sprintf("w%d", (i*j)%5))
			}
			args := strings.Join(words, " ")
			<-start
			code, body, err := doErr(http.MethodPost, "http://"+s.HTTPAddr()+"/drpc/distinct", args)
			if want := distinctAnswer(args); err != nil || code != http.StatusOK || body != want {
				t.Errorf("request %d %q = %d %q (%v), want 200 %q", i, args, code, body, err, want)
			}
		})
	}
	close(start)
	wg.Wait()
	for _, s := range []*runningServer{a, b} {
		if st := s.Stats(); st.Returned != n/2 || st.Outstanding != 0 {
			t.Errorf("server %s: %+v, want %d returned, nothing outstanding", s.HTTPAddr(), st, n/2)
		}
	}
}

// TestLinearDRPCServerRestart stops the server while requests wait in
// the chain: their clients hear SERVER_SHUTDOWN at once, and the chain
// serves the restarted server.
func TestLinearDRPCServerRestart(t *testing.T) {
	s := startServer(t, testConfig())
	runTopology(t, distinctTopology(t, 300, s.InvocationsAddr()))
	if code, body := post(t, s.HTTPAddr(), "distinct", "warm up"); code != http.StatusOK || body != "2" {
		t.Fatalf("POST warm = %d %q", code, body)
	}
	before := splitHeld.Load()
	const pending = 10
	results := make(chan error, pending)
	for i := range pending {
		go func() {
			code, body, err := doErr(http.MethodPost, "http://"+s.HTTPAddr()+"/drpc/distinct", fmt.Sprintf("hold %d", i))
			if err == nil && (code != http.StatusServiceUnavailable || !strings.Contains(body, "SERVER_SHUTDOWN")) {
				err = fmt.Errorf("POST hold %d = %d %s, want 503 SERVER_SHUTDOWN", i, code, body)
			}
			results <- err
		}()
	}
	testenv.WaitUntil(t, 30*time.Second, "every request held in the chain", func() bool { return splitHeld.Load()-before == pending })
	cfg := testConfig()
	cfg.Port, cfg.InvocationsPort, cfg.HTTPPort = port(t, s.Addr()), port(t, s.InvocationsAddr()), port(t, s.HTTPAddr())
	s.stop()
	ctx, cancel := context.WithTimeout(context.Background(), testenv.Patience(10*time.Second))
	defer cancel()
	for range pending {
		select {
		case err := <-results:
			if err != nil {
				t.Error(err)
			}
		case <-ctx.Done():
			t.Fatal("clients still waiting after the server stopped")
		}
	}
	s2 := startServer(t, cfg)
	if code, body := post(t, s2.HTTPAddr(), "distinct", "a b c a"); code != http.StatusOK || body != "3" {
		t.Errorf("POST after the restart = %d %q, want 200 3", code, body)
	}
}

// TestLinearDRPCBuilder wires the distinct-words chain in Go.
func TestLinearDRPCBuilder(t *testing.T) {
	s := startServer(t, testConfig())
	b := topology.NewLinearDRPCBuilder("distinct-go", "distinct", linearRegistry()).Servers(s.InvocationsAddr())
	b.AddBolt("split", topology.BoltFunc(func() (topology.Bolt, error) { return &splitBolt{}, nil }), 2)
	b.AddBolt("distinct", topology.BoltFunc(func() (topology.Bolt, error) { return &distinctBolt{}, nil }), 3).FieldsGrouping("id", "word")
	b.AddBolt("sum", topology.BoltFunc(func() (topology.Bolt, error) { return &sumBolt{}, nil }), 2).FieldsGrouping("id")
	topo, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if c := topo.Component("sum").Coordination; c == nil || c.IDFrom != topology.PrepareRequestID || !c.FinishBatch {
		t.Errorf("sum's coordination = %+v, want a finishing last bolt waiting for ids", c)
	}
	runTopology(t, topo)
	for args, want := range map[string]string{"a b a c": "3", "": "0", "z z z": "1"} {
		if code, body := post(t, s.HTTPAddr(), "distinct", args); code != http.StatusOK || body != want {
			t.Errorf("POST distinct %q = %d %q, want 200 %q", args, code, body, want)
		}
	}

	// Storm's rule on the last bolt holds in Go too.
	bad := topology.NewLinearDRPCBuilder("bad", "f", linearRegistry())
	bad.AddBolt("p", topology.BoltFunc(func() (topology.Bolt, error) { return &drpc.PrepareRequest{}, nil }), 1)
	if _, err := bad.Build(); !errors.Is(err, topology.ErrBadStream) {
		t.Errorf("Build with a three-stream last bolt = %v, want ErrBadStream", err)
	}
}
