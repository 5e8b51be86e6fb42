package drpcload

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRunRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{
		{URL: "http://127.0.0.1:1", Function: "f", Requests: 1},
		{URL: "http://127.0.0.1:1", Function: "f", Clients: 1},
		{URL: "http://127.0.0.1:1", Clients: 1, Requests: 1},
		{URL: "127.0.0.1:1", Function: "f", Clients: 1, Requests: 1},
	} {
		if _, err := Run(t.Context(), c); err == nil {
			t.Errorf("Run(%+v) accepted", c)
		}
	}
}

// TestRunCountsAnswers: every request is made, and wrong answers and
// errors count as errors.
func TestRunCountsAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := make([]byte, 16)
		n, _ := r.Body.Read(body)
		switch string(body[:n]) {
		case "fail":
			http.Error(w, `{"error":"FAILED_REQUEST"}`, http.StatusBadRequest)
		default:
			w.Write([]byte(strings.TrimPrefix(r.URL.Path, "/drpc/") + ":" + string(body[:n])))
		}
	}))
	defer srv.Close()
	tests := []struct {
		args, want string
		errors     int
	}{
		{"a", "f:a", 0},
		{"a", "f:b", 30},
		{"fail", "", 30},
	}
	for _, tt := range tests {
		r, err := Run(context.Background(), Config{URL: srv.URL, Function: "f", Args: tt.args, Want: tt.want, Clients: 3, Requests: 30})
		if err != nil || r.Requests != 30 || r.Errors != tt.errors {
			t.Errorf("Run(args %q, want %q) = %v, %v; want 30 requests, %d errors", tt.args, tt.want, r, err, tt.errors)
		}
	}
	r, err := Run(context.Background(), Config{URL: srv.URL, Function: "f", Clients: 2, Duration: 200 * time.Millisecond})
	if err != nil || r.Requests == 0 || r.Errors != 0 || r.P50 <= 0 || r.PerSecond <= 0 {
		t.Errorf("Run for a duration = %v, %v", r, err)
	}
}
