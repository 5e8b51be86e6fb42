package drpcload

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, in string
		code     int
		body     string
		keep     bool
		err      error
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", 200, "hello", true, nil},
		{"header case and spaces", "HTTP/1.1 200 OK\r\ncontent-length:   2  \r\n\r\nhi", 200, "hi", true, nil},
		{"bare LF", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", 200, "hi", true, nil},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: t\r\n\r\n", 200, "hello", true, nil},
		{"connection close", "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbusy", 503, "busy", false, nil},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 200, "x", false, nil},
		{"body to the end", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "all of it", false, nil},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, "", true, nil},
		{"short body", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", 0, "", false, io.ErrUnexpectedEOF},
		{"nothing", "", 0, "", false, io.EOF},
		{"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", 0, "", false, errResponse},
		{"bad status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, "", false, errResponse},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, "", false, errResponse},
		{"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n", 0, "", false, errResponse},
		{"header without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", 0, "", false, errResponse},
		{"long line", "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxLineBytes) + "\r\n\r\n", 0, "", false, errResponse},
		{"too many headers", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: "+strings.Repeat("a", 1000)+"\r\n", 70) + "\r\n", 0, "", false, errResponse},
		{"gzip encoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, "", false, errResponse},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, "", false, errResponse},
		{"huge chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffff\r\n", 0, "", false, errResponse},
		{"chunk without CRLF", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhiXX\r\n0\r\n\r\n", 0, "", false, errResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, keep, err := readResponse(bufio.NewReaderSize(strings.NewReader(tt.in), maxLineBytes))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Errorf("readResponse() error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || code != tt.code || string(body) != tt.body || keep != tt.keep {
				t.Errorf("readResponse() = %d %q keep %v, %v; want %d %q keep %v", code, body, keep, err, tt.code, tt.body, tt.keep)
			}
		})
	}
}

// FuzzReadResponse: any input is read or refused, never more than the
// bounds.
func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n0\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		_, body, _, err := readResponse(bufio.NewReaderSize(strings.NewReader(in), maxLineBytes))
		if err == nil && len(body) > maxBodyBytes {
			t.Errorf("a body of %d bytes", len(body))
		}
	})
}

// TestPlainClientAgainstNetHTTP: the plain client reads what Go's server
// writes (short answers, chunked ones, errors), keeps its connection,
// opens another after the server said close, and makes a request again
// when the server closed the idle connection under it.
func TestPlainClientAgainstNetHTTP(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch string(body) {
		case "chunked":
			w.Write([]byte("part one, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		case "close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("closing"))
		case "fail":
			http.Error(w, "no", http.StatusBadRequest)
		default:
			w.Write([]byte(r.URL.Path + ":" + string(body)))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	target, err := url.Parse(srv.URL + "/prefix/drpc/f%20g")
	if err != nil {
		t.Fatal(err)
	}
	calls := func(args string, n int, code int, body string) {
		t.Helper()
		c := newPlainClient(target, args)
		defer c.close()
		for i := range n {
			if i == 1 && args == "again" {
				srv.CloseClientConnections()
			}
			gotCode, gotBody, err := c.call(t.Context())
			if err != nil || gotCode != code || string(gotBody) != body {
				t.Errorf("call %d of %q = %d %q, %v; want %d %q", i, args, gotCode, gotBody, err, code, body)
			}
		}
	}
	for _, tt := range []struct {
		args      string
		n, code   int
		body      string
		moreConns int32
	}{
		{"a", 3, 200, "/prefix/drpc/f g:a", 1},
		{"chunked", 2, 200, "part one, part two", 1},
		{"fail", 2, 400, "no\n", 1},
		{"close", 3, 200, "closing", 3},
		{"again", 2, 200, "/prefix/drpc/f g:again", 2},
	} {
		before := conns.Load()
		calls(tt.args, tt.n, tt.code, tt.body)
		if got := conns.Load() - before; got != tt.moreConns {
			t.Errorf("%q: %d connections for %d calls, want %d", tt.args, got, tt.n, tt.moreConns)
		}
	}
}

// TestPlainClientStopsWithTheRun: a call waiting for an answer ends when
// the run's context does.
func TestPlainClientStopsWithTheRun(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	target, _ := url.Parse(srv.URL + "/drpc/f")
	c := newPlainClient(target, "x")
	defer c.close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	if _, _, err := c.call(ctx); err == nil {
		t.Errorf("call() answered after its context ended")
	}
}
