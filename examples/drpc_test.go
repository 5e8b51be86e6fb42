package examples_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/cmd/squall/cli"
)

// runDRPC runs `squall local --drpc` on an example until the test ends
// and returns the base URL of its DRPC HTTP server; extra are more flags.
func runDRPC(t *testing.T, example string, extra ...string) (base, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errw := &watchWriter{}, &watchWriter{}
	done := make(chan int, 1)
	go func() {
		args := append([]string{"local", "--drpc", "--drpc-http-port", "0", "--interval", "1s", "--log-level", "info"}, extra...)
		done <- cli.Main(ctx, append(args, example), out, errw)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("squall local --drpc %s exited with %d\nstderr:\n%s", example, code, errw)
			} else if t.Failed() {
				t.Logf("squall local --drpc %s\nstdout:\n%s\nstderr:\n%s", example, out, errw)
			}
		case <-time.After(patience()):
			t.Errorf("squall local --drpc %s did not stop", example)
		}
	})
	re := regexp.MustCompile(`drpc (http://[^/\s]+)/drpc/FUNCTION/ARGS`)
	deadline := time.Now().Add(patience())
	for {
		if m := re.FindStringSubmatch(errw.String()); m != nil {
			return m[1], errw.String()
		}
		select {
		case code := <-done:
			done <- code
			t.Fatalf("squall local --drpc %s exited with %d before serving\nstderr:\n%s", example, code, errw)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no drpc line from squall local --drpc %s within %v\nstderr:\n%s", example, patience(), errw)
		}
	}
}

// warmUp calls url until it answers want: requests that arrive while the
// shell children still start wait in the topology, and under a heavy load
// the children may take longer than the tuple timeout to come up (the
// spouts start at once), failing those first requests.
func warmUp(t *testing.T, url, want string) {
	t.Helper()
	deadline := time.Now().Add(patience())
	for {
		code, body, err := callErr(http.MethodGet, url, "")
		if err == nil && code == http.StatusOK && body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s never answered %q: last %d %q (%v)", url, want, code, body, err)
		}
	}
}

// call makes one HTTP DRPC call and returns its status and body.
func call(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	code, data, err := callErr(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, data
}

// callErr is call for goroutines other than the test's.
func callErr(method, url, body string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), patience())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, url, err)
	}
	return resp.StatusCode, string(data), nil
}

// The reach of a URL is the number of distinct followers of the people
// who tweeted it, from resources/tweeters.json and followers.json:
//
//	squall.dev/blog/1: ana, ben, cleo -> ben fay gus hal ian jo kai = 7
//	squall.dev/blog/2: ben, dan -> fay ian jo lee max = 5
//	squall.dev/blog/3: all five -> ben fay gus hal ian jo kai lee max = 9
//	example.org/post/7: eve, who has no followers = 0
func TestReachPython(t *testing.T) {
	needPython(t)
	base, _ := runDRPC(t, "../examples/reach-python")
	warmUp(t, base+"/drpc/reach/squall.dev/blog/1", "7")
	cases := []struct{ url, want string }{
		{"squall.dev/blog/1", "7"},
		{"squall.dev/blog/2", "5"},
		{"squall.dev/blog/3", "9"},
		{"example.org/post/7", "0"},
		{"nobody.tweeted/this", "0"},
	}
	for _, c := range cases {
		if code, body := call(t, http.MethodGet, base+"/drpc/reach/"+c.url, ""); code != http.StatusOK || body != c.want {
			t.Errorf("GET /drpc/reach/%s = %d %q, want 200 %q", c.url, code, body, c.want)
		}
		if code, body := call(t, http.MethodPost, base+"/drpc/reach", c.url); code != http.StatusOK || body != c.want {
			t.Errorf("POST /drpc/reach %q = %d %q, want 200 %q", c.url, code, body, c.want)
		}
	}
	// Concurrent requests keep their answers apart.
	errs := make(chan string, 40)
	for i := range 40 {
		go func() {
			c := cases[i%len(cases)]
			code, body, err := callErr(http.MethodGet, base+"/drpc/reach/"+c.url, "")
			if err != nil || code != http.StatusOK || body != c.want {
				errs <- fmt.Sprintf("%s = %d %q (%v), want %q", c.url, code, body, err, c.want)
				return
			}
			errs <- ""
		}()
	}
	for range 40 {
		if e := <-errs; e != "" {
			t.Errorf("concurrent reach: %s", e)
		}
	}
}

func TestExclamationNode(t *testing.T) {
	needInterpreter(t, "node")
	base, stderr := runDRPC(t, "../examples/exclamation-node", "--drpc-port", "0")
	warmUp(t, base+"/drpc/exclamation/warm", "warm!")
	if code, body := call(t, http.MethodGet, base+"/drpc/exclamation/hello", ""); code != http.StatusOK || body != "hello!" {
		t.Errorf("GET /drpc/exclamation/hello = %d %q, want 200 %q", code, body, "hello!")
	}
	if code, body := call(t, http.MethodPost, base+"/drpc/exclamation", "with spaces"); code != http.StatusOK || body != "with spaces!" {
		t.Errorf("POST /drpc/exclamation = %d %q, want 200 %q", code, body, "with spaces!")
	}
	if code, body := call(t, http.MethodGet, base+"/drpc/exclamation", ""); code != http.StatusOK || body != "!" {
		t.Errorf("GET /drpc/exclamation = %d %q, want 200 %q", code, body, "!")
	}
	if code, body := call(t, http.MethodGet, base+"/drpc/exclamation/fail", ""); code != http.StatusBadRequest || !strings.Contains(body, "FAILED_REQUEST") {
		t.Errorf("GET /drpc/exclamation/fail = %d %q, want 400 FAILED_REQUEST", code, body)
	}
	// With --drpc-port, squall drpc-client calls it too, as the banner says.
	m := regexp.MustCompile(`drpc client=\S+: squall drpc-client -c '(drpc.servers=\[[^]]*\])' -c (drpc.port=\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no drpc client line:\n%s", stderr)
	}
	out, errw := &watchWriter{}, &watchWriter{}
	if code := cli.Main(t.Context(), []string{"drpc-client", "-c", m[1], "-c", m[2], "exclamation", "hi"}, out, errw); code != 0 {
		t.Fatalf("drpc-client exited with %d: %s", code, errw)
	}
	if got, want := out.String(), "exclamation \"hi\" => \"hi!\"\n"; got != want {
		t.Errorf("drpc-client printed %q, want %q", got, want)
	}
}
