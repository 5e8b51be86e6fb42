package drpc_test

import (
	"context"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/squallstream/squall/cmd/squall/cli"
	"github.com/squallstream/squall/internal/testenv"
)

// lockedBuffer collects a command's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPythonBoltOverHTTP runs a YAML topology with a Python bolt between
// squall.DRPCSpout and squall.ReturnResults in local mode, as a user would
// with `squall local`, and calls it over HTTP.
func TestPythonBoltOverHTTP(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		if testenv.CI() {
			t.Fatalf("python3 is required: %v", err)
		}
		t.Skipf("python3 not found: %v", err)
	}
	s := startServer(t, testConfig())
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, []string{"local",
			"-c", "drpc.servers=[127.0.0.1]",
			"-c", "drpc.invocations.port=" + strconv.Itoa(port(t, s.InvocationsAddr())),
			"testdata/exclaim-python"}, &stdout, &stderr)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("squall local exited with %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
			}
		case <-time.After(testenv.Patience(60 * time.Second)):
			t.Errorf("squall local did not stop\nstderr:\n%s", stderr.String())
		}
	}
	t.Cleanup(stop)

	// Requests made before the topology is up wait for it.
	tests := []struct {
		method, args, want string
		code               int
	}{
		{http.MethodPost, "hello", "hello!", 200},
		{http.MethodGet, "aaa", "aaa!", 200},
		{http.MethodGet, "", "!", 200},
		{http.MethodPost, "snow white ☃\nand the \"seven\" dwarfs", "snow white ☃\nand the \"seven\" dwarfs!", 200},
		{http.MethodPost, "fail", `{"error":"FAILED_REQUEST",`, 400},
	}
	for _, tt := range tests {
		var code int
		var body string
		if tt.method == http.MethodPost {
			code, body = post(t, s.HTTPAddr(), "exclamation", tt.args)
		} else {
			code, body = get(t, s.HTTPAddr(), "exclamation", tt.args)
		}
		if code != tt.code || !(body == tt.want || (code != 200 && strings.HasPrefix(body, tt.want))) {
			t.Errorf("%s exclamation %q = %d %q, want %d %q\nstderr:\n%s", tt.method, tt.args, code, body, tt.code, tt.want, stderr.String())
		}
	}
	// Many at once, each answered exactly.
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			args := "call " + strconv.Itoa(i)
			if code, body := post(t, s.HTTPAddr(), "exclamation", args); code != 200 || body != args+"!" {
				t.Errorf("POST %q = %d %q", args, code, body)
			}
		})
	}
	wg.Wait()
	stop()
	if st := s.Stats(); st.Outstanding != 0 || st.Returned != 204 || st.Failed != 1 {
		t.Errorf("server stats = %+v, want 204 returned and 1 failed", st)
	}
}
