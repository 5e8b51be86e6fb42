package drpc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"google.golang.org/grpc"

	"github.com/squallstream/squall/api/drpcpb"
	"github.com/squallstream/squall/topology"
)

// maxReturnServers bounds the DRPC servers one ReturnResults task talks
// to.
const maxReturnServers = 64

// errBadReturnInput is the cause of a tuple ReturnResults cannot return.
var errBadReturnInput = errors.New("ReturnResults needs tuples of [result, return-info]")

// ReturnResults is Storm's ReturnResults bolt. For each tuple [result,
// return-info] (by position, as in Storm; return-info as DRPCSpout emitted
// it) it sends the result to the DRPC server the request came from. It
// acks the tuple once the server has the result, and fails it when the
// server cannot be reached, which fails the request through the spout. A
// result that is not a string is sent as JSON; bytes that are not UTF-8
// become U+FFFD.
type ReturnResults struct {
	creds     Credentials
	opts      []grpc.DialOption
	out       topology.BoltCollector
	log       *slog.Logger
	maxResult int
	// returners are the servers' returners by address; used from the
	// executor's goroutine only.
	returners map[string]*returner
}

// ReturnResultsConfig configures a ReturnResults bolt.
type ReturnResultsConfig struct {
	// Credentials, if set, gives the options for dialling the servers.
	Credentials Credentials
}

// NewReturnResults returns a ReturnResults bolt.
func NewReturnResults(c ReturnResultsConfig) *ReturnResults {
	return &ReturnResults{creds: c.Credentials}
}

// Prepare reads drpc.max_buffer_size, the largest result a server takes.
func (b *ReturnResults) Prepare(ctx *topology.TaskContext, out topology.BoltCollector) error {
	b.out = out
	b.log = ctx.Logger
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	r := confReader{conf: ctx.Config}
	b.maxResult = r.int(KeyMaxBufferSize, DefaultMaxBufferSize)
	if r.err != nil {
		return fmt.Errorf("drpc return results: %w", r.err)
	}
	var err error
	if b.opts, err = b.creds.dialOptions(ctx.Config); err != nil {
		return fmt.Errorf("drpc return results: credentials: %w", err)
	}
	b.returners = map[string]*returner{}
	return nil
}

// Execute returns one result.
func (b *ReturnResults) Execute(t topology.Tuple) {
	if t.IsTick() {
		return
	}
	if t.Len() < 2 {
		b.reject(t, fmt.Errorf("%w: got %d values", errBadReturnInput, t.Len()))
		return
	}
	info, err := parseReturnInfo(t.Value(1))
	if err != nil {
		b.reject(t, err)
		return
	}
	result, err := resultString(t.Value(0))
	if err != nil {
		b.reject(t, err)
		return
	}
	o := &drpcpb.Outcome{RequestId: info.ID, Outcome: &drpcpb.Outcome_Result{Result: result}}
	if len(result) > b.maxResult {
		// The request fails with the reason, rather than never hearing.
		o.Outcome = &drpcpb.Outcome_Failure{Failure: fmt.Sprintf(
			"the topology's result of %d bytes exceeds %s (%d bytes)", len(result), KeyMaxBufferSize, b.maxResult)}
	}
	r, err := b.returner(info.addr())
	if err != nil {
		b.reject(t, err)
		return
	}
	r.send(o, func(err error) {
		if err != nil {
			b.out.ReportError(err)
			b.out.Fail(t)
			return
		}
		b.out.Ack(t)
	})
}

// reject fails a tuple that cannot be returned, saying why.
func (b *ReturnResults) reject(t topology.Tuple, err error) {
	b.out.ReportError(fmt.Errorf("drpc return results: %w", err))
	b.out.Fail(t)
}

func (b *ReturnResults) returner(addr string) (*returner, error) {
	if r := b.returners[addr]; r != nil {
		return r, nil
	}
	if len(b.returners) >= maxReturnServers {
		return nil, fmt.Errorf("return-info names a %dth DRPC server (%s); one task returns to at most %d", len(b.returners)+1, addr, maxReturnServers)
	}
	r, err := newReturner(addr, b.log, b.opts...)
	if err != nil {
		return nil, err
	}
	b.returners[addr] = r
	return r, nil
}

// Cleanup delivers what waits and closes the connections.
func (b *ReturnResults) Cleanup() {
	for _, r := range b.returners {
		r.close()
	}
	b.returners = nil
}

// returnInfo is Storm's return-info: the request and the server it came
// from.
type returnInfo struct {
	ID   string `json:"id"`
	Host string `json:"host"`
	Port int    `json:"port"`
}

func (i returnInfo) addr() string { return net.JoinHostPort(i.Host, strconv.Itoa(i.Port)) }

// parseReturnInfo reads a return-info: the JSON string DRPCSpout emits, or
// the same as a map (a component that decoded it).
func parseReturnInfo(v any) (returnInfo, error) {
	var info returnInfo
	switch x := v.(type) {
	case string:
		if err := json.Unmarshal([]byte(x), &info); err != nil {
			return info, fmt.Errorf("%w: return-info %.100q is not DRPCSpout's JSON: %v", errBadReturnInput, x, err)
		}
	case map[string]any:
		id, _ := x["id"].(string)
		host, _ := x["host"].(string)
		info = returnInfo{ID: id, Host: host}
		switch p := x["port"].(type) {
		case float64:
			info.Port = int(p)
		case int64:
			info.Port = int(p)
		case int:
			info.Port = p
		case uint64:
			info.Port = int(min(p, 1<<16))
		}
	default:
		return info, fmt.Errorf("%w: return-info is %T, not DRPCSpout's JSON string", errBadReturnInput, v)
	}
	if info.ID == "" || info.Host == "" || info.Port < 1 || info.Port > 65535 {
		return info, fmt.Errorf("%w: return-info %+v lacks an id, host or port", errBadReturnInput, info)
	}
	return info, nil
}

// resultString returns a result as the string a client gets.
func resultString(v any) (string, error) {
	switch x := v.(type) {
	case string:
		// A Go bolt may emit any bytes; the API carries UTF-8, as a
		// multilang child's strings are.
		return strings.ToValidUTF8(x, "\uFFFD"), nil
	case []byte:
		return strings.ToValidUTF8(string(x), "\uFFFD"), nil
	case nil:
		return "", nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%w: the result %T cannot be written as JSON: %v", errBadReturnInput, v, err)
	}
	return string(data), nil
}
