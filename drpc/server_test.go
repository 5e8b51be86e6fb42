package drpc

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/squallstream/squall/api/drpcpb"
)

func newTestServer(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	cfg := DefaultConfig()
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExecuteTimesOut: a request waits exactly drpc.request.timeout.secs,
// then fails with SERVER_TIMEOUT and leaves nothing behind.
func TestExecuteTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestServer(t, nil)
		errc := make(chan error, 1)
		go func() {
			_, err := s.Execute(context.Background(), "f", "x")
			errc <- err
		}()
		time.Sleep(DefaultRequestTimeout - time.Second)
		synctest.Wait()
		select {
		case err := <-errc:
			t.Fatalf("Execute returned %v before the timeout", err)
		default:
		}
		time.Sleep(time.Second)
		synctest.Wait()
		err := <-errc
		var ee *ExecutionError
		if !errors.Is(err, ErrTimeout) || !errors.As(err, &ee) || ee.Msg != msgTimedOut {
			t.Errorf("Execute = %v, want SERVER_TIMEOUT %q", err, msgTimedOut)
		}
		if st := s.Stats(); st.Outstanding != 0 || st.QueuedBytes != 0 || st.TimedOut != 1 {
			t.Errorf("stats = %+v", st)
		}
	})
}

// TestExecuteResult: a result settles the waiting Execute; a client that
// leaves takes its request with it.
func TestExecuteResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newTestServer(t, nil)
		type res struct {
			v   string
			err error
		}
		resc := make(chan res, 1)
		go func() {
			v, err := s.Execute(context.Background(), "f", "x")
			resc <- res{v, err}
		}()
		synctest.Wait()
		s.table.subscribe("f")
		got, _, _ := s.table.take("f", "", 1, nil)
		if len(got) != 1 || got[0].args != "x" {
			t.Fatalf("take = %+v", got)
		}
		time.Sleep(time.Minute)
		if reason := s.settle(context.Background(), &drpcpb.Outcome{RequestId: got[0].id, Outcome: &drpcpb.Outcome_Result{Result: "y"}}); reason != "" {
			t.Fatalf("settle refused: %s", reason)
		}
		if r := <-resc; r.v != "y" || r.err != nil {
			t.Errorf("Execute = %q, %v; want y", r.v, r.err)
		}

		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			v, err := s.Execute(ctx, "f", "x")
			resc <- res{v, err}
		}()
		synctest.Wait()
		cancel()
		if r := <-resc; !errors.Is(r.err, context.Canceled) {
			t.Errorf("Execute after cancel = %v, want context.Canceled", r.err)
		}
		if st := s.Stats(); st.Outstanding != 0 || st.Queued != 0 {
			t.Errorf("stats = %+v", st)
		}
	})
}

func TestSettleOutcomes(t *testing.T) {
	s := newTestServer(t, func(c *Config) { c.MaxBufferSize = 100 })
	tests := []struct {
		name    string
		outcome func(id string) *drpcpb.Outcome
		want    error
		wantMsg string
	}{
		{"result", func(id string) *drpcpb.Outcome {
			return &drpcpb.Outcome{RequestId: id, Outcome: &drpcpb.Outcome_Result{Result: "ok"}}
		}, nil, ""},
		{"failure with a message", func(id string) *drpcpb.Outcome {
			return &drpcpb.Outcome{RequestId: id, Outcome: &drpcpb.Outcome_Failure{Failure: "bolt said no"}}
		}, ErrFailed, "bolt said no"},
		{"failure without one is Storm's", func(id string) *drpcpb.Outcome {
			return &drpcpb.Outcome{RequestId: id, Outcome: &drpcpb.Outcome_Failure{}}
		}, ErrFailed, msgFailed},
		{"result too large", func(id string) *drpcpb.Outcome {
			return &drpcpb.Outcome{RequestId: id, Outcome: &drpcpb.Outcome_Result{Result: strings.Repeat("x", 101)}}
		}, ErrInternal, "exceeds drpc.max_buffer_size (100 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := s.table.add("f", "")
			if err != nil {
				t.Fatal(err)
			}
			if reason := s.settle(context.Background(), tt.outcome(r.id)); reason != "" {
				t.Fatalf("refused: %s", reason)
			}
			o := <-r.done
			if !errorIs(o.err, tt.want) || (o.err != nil && !strings.Contains(o.err.Error(), tt.wantMsg)) {
				t.Errorf("outcome error = %v, want %v with %q", o.err, tt.want, tt.wantMsg)
			}
		})
	}
	if reason := s.settle(context.Background(), &drpcpb.Outcome{RequestId: "x"}); reason == "" {
		t.Error("an empty outcome was accepted")
	}
}

// TestHTTPRefusals checks the requests refused at the door and their
// statuses.
func TestHTTPRefusals(t *testing.T) {
	s := newTestServer(t, func(c *Config) {
		c.MaxBufferSize = 200
		c.Authorize = func(principal string, op Operation, function string) bool { return function != "secret" }
	})
	// Fill the buffer: three waiting requests of "busy" (each counts its
	// overhead too).
	for range 2 {
		if _, err := s.table.add("busy", strings.Repeat("b", 20)); err != nil {
			t.Fatal(err)
		}
	}
	h := s.HTTPHandler()
	tests := []struct {
		name, method, path, body string
		code                     int
		errorField               string
	}{
		{"control character in the name", "GET", "/drpc/a%0Ab", "", 400, "400 Bad Request"},
		{"name too long", "GET", "/drpc/" + strings.Repeat("n", MaxFunctionLen+1), "", 400, "400 Bad Request"},
		{"arguments not UTF-8", "POST", "/drpc/f", "\xff\xfe", 400, "400 Bad Request"},
		{"path arguments not UTF-8", "GET", "/drpc/f/%ff", "", 400, "400 Bad Request"},
		{"body too large", "POST", "/drpc/f", strings.Repeat("x", 201), 413, "413 Request Entity Too Large"},
		{"arguments too large with overhead", "POST", "/drpc/f", strings.Repeat("x", 190), 413, "413 Request Entity Too Large"},
		{"buffer full", "POST", "/drpc/busy", strings.Repeat("x", 60), 503, "503 Service Unavailable"},
		{"denied", "GET", "/drpc/secret/x", "", 403, "403 Forbidden"},
		{"no function", "GET", "/drpc/", "", 404, ""},
		{"wrong method", "PUT", "/drpc/f", "", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body)))
			if rec.Code != tt.code {
				t.Fatalf("%s %s = %d %s, want %d", tt.method, tt.path, rec.Code, rec.Body, tt.code)
			}
			if tt.errorField == "" {
				return
			}
			var body httpErrorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != tt.errorField || body.ErrorMessage == "" {
				t.Errorf("body = %s (%v), want error %q and a message", rec.Body, err, tt.errorField)
			}
			if tt.code == 503 && rec.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	if st := s.Stats(); st.Outstanding != 2 || st.Refused != 1 {
		t.Errorf("stats = %+v: refusals left requests behind", st)
	}
}

// TestHTTPErrorStatuses maps every error of Execute, Storm's where Storm
// documents one (DRPCExceptionMapper).
func TestHTTPErrorStatuses(t *testing.T) {
	tests := []struct {
		err   error
		code  int
		field string
	}{
		{executionError(drpcpb.ErrorType_FAILED_REQUEST, msgFailed), 400, "FAILED_REQUEST"},
		{executionError(drpcpb.ErrorType_SERVER_SHUTDOWN, msgShutdown), 503, "SERVER_SHUTDOWN"},
		{executionError(drpcpb.ErrorType_SERVER_TIMEOUT, msgTimedOut), 504, "SERVER_TIMEOUT"},
		{executionError(drpcpb.ErrorType_INTERNAL_ERROR, "x"), 500, "INTERNAL_ERROR"},
		{ErrBadRequest, 400, "400 Bad Request"},
		{ErrTooLarge, 413, "413 Request Entity Too Large"},
		{ErrBusy, 503, "503 Service Unavailable"},
		{ErrDenied, 403, "403 Forbidden"},
		{ErrUnauthenticated, 401, "401 Unauthorized"},
		{errors.New("other"), 500, "500 Internal Server Error"},
	}
	for _, tt := range tests {
		code, body := httpError(tt.err)
		if code != tt.code || body.Error != tt.field {
			t.Errorf("httpError(%v) = %d %q, want %d %q", tt.err, code, body.Error, tt.code, tt.field)
		}
	}
}

// TestStatusRoundTrip: what the server answers over gRPC, the client turns
// back into the same errors.
func TestStatusRoundTrip(t *testing.T) {
	for _, err := range []error{
		executionError(drpcpb.ErrorType_FAILED_REQUEST, "no"),
		executionError(drpcpb.ErrorType_SERVER_SHUTDOWN, msgShutdown),
		executionError(drpcpb.ErrorType_SERVER_TIMEOUT, msgTimedOut),
		executionError(drpcpb.ErrorType_INTERNAL_ERROR, "x"),
		ErrBadRequest, ErrTooLarge, ErrBusy, ErrDenied, ErrUnauthenticated,
		context.Canceled,
	} {
		got := fromStatus(toStatus(err))
		want := err
		if errors.Is(err, ErrTooLarge) {
			want = ErrBadRequest // InvalidArgument over gRPC
		}
		var ee, gotEE *ExecutionError
		switch {
		case errors.As(err, &ee):
			if !errors.As(got, &gotEE) || *gotEE != *ee {
				t.Errorf("round trip of %v = %v", err, got)
			}
		case !errors.Is(got, want):
			t.Errorf("round trip of %v = %v, want errors.Is %v", err, got, want)
		}
	}
}

// FuzzHTTP throws requests at the HTTP forms: every answer is a defined
// status with a JSON error body, never a 500 or a panic, and nothing stays
// behind.
func FuzzHTTP(f *testing.F) {
	f.Add("GET", "/drpc/f/x", "")
	f.Add("POST", "/drpc/f", "args")
	f.Add("POST", "/drpc/%ff", "\xff")
	f.Add("GET", "/drpc/"+strings.Repeat("a", 300), "")
	f.Add("GET", "/drpc//", "")
	f.Fuzz(func(t *testing.T, method, path, body string) {
		s := newTestServer(t, func(c *Config) {
			c.MaxBufferSize = 512
			c.RequestTimeout = time.Millisecond
		})
		req, err := http.NewRequest(method, "http://drpc"+path, strings.NewReader(body))
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
			return
		}
		rec := httptest.NewRecorder()
		s.HTTPHandler().ServeHTTP(rec, req)
		switch rec.Code {
		case 404, 405, 301, 307, 308:
		case 400, 413, 503, 504:
			var b httpErrorBody
			data, _ := io.ReadAll(rec.Body)
			if err := json.Unmarshal(data, &b); err != nil || b.Error == "" {
				t.Errorf("%s %q: %d with body %q", method, path, rec.Code, data)
			}
		default:
			t.Errorf("%s %q: status %d %s", method, path, rec.Code, rec.Body)
		}
		if st := s.Stats(); st.Outstanding != 0 || st.QueuedBytes != 0 {
			t.Errorf("%s %q left %+v", method, path, st)
		}
	})
}
