package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/logviewer"
)

func TestLogsQuery(t *testing.T) {
	tests := []struct {
		name    string
		o       logsOptions
		args    []string
		want    logQuery
		wantErr bool
	}{
		{"none", logsOptions{task: -2}, nil, logQuery{task: -2}, false},
		{"component", logsOptions{task: -2}, []string{"split"}, logQuery{component: "split", task: -2}, false},
		{"task", logsOptions{task: -2}, []string{"5"}, logQuery{task: 5, hasTask: true}, false},
		{"--task", logsOptions{task: -1}, nil, logQuery{task: -1, hasTask: true}, false},
		{"two tasks", logsOptions{task: 3}, []string{"5"}, logQuery{}, true},
		{"grep", logsOptions{task: -2, grep: "ERROR|WARN"}, nil, logQuery{task: -2, regex: "ERROR|WARN"}, false},
		{"bad grep", logsOptions{task: -2, grep: "("}, nil, logQuery{}, true},
		{"long grep", logsOptions{task: -2, grep: strings.Repeat("a", logviewer.MaxRegexBytes+1)}, nil, logQuery{}, true},
		{"negative since", logsOptions{task: -2, since: -time.Minute}, nil, logQuery{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.o.query(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("query(%q) error = %v, want error %v", tt.args, err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("query(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestFollowLogs reads two workers' logs through real logviewers: the
// last pages interleaved by time, filtered by component, then the lines
// appended later.
func TestFollowLogs(t *testing.T) {
	var sources []logSource
	var files []string
	for i, content := range []string{
		"time=2026-12-07T10:00:01.000000Z level=INFO msg=a topology=t-1-1 port=6700 component=split task=5\n" +
			"time=2026-12-07T10:00:03.000000Z level=INFO msg=c topology=t-1-1 port=6700 component=count task=2\n",
		"time=2026-12-07T10:00:02.000000Z level=INFO msg=b topology=t-1-1 port=6701 component=split task=6\n" +
			"Traceback (most recent call last):\n",
	} {
		root := t.TempDir()
		port := []string{"6700", "6701"}[i]
		file := filepath.Join(root, "t-1-1", port, "worker.log")
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := logviewer.DefaultConfig()
		cfg.LogRoot, cfg.FollowPoll, cfg.DefaultFollowWait = root, 10*time.Millisecond, time.Second
		h, err := logviewer.NewHandler(cfg)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		s, err := sourceOf(srv.URL+"/api/v1/log?file=t-1-1%2F"+port+"%2Fworker.log", "host:"+port)
		if err != nil {
			t.Fatal(err)
		}
		sources, files = append(sources, s), append(files, file)
	}

	var out bytes.Buffer
	if err := followLogs(t.Context(), &out, &out, http.DefaultClient, sources, logQuery{component: "split", task: -2}, false); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "split:5 | ") || !strings.HasPrefix(lines[1], "split:6 | ") ||
		!strings.HasPrefix(lines[2], "split:6 | Traceback") {
		t.Fatalf("split's lines =\n%s\nwant a (task 5), b and its traceback (task 6), in order of time", out.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- followLogs(ctx, w, w, http.DefaultClient, sources, logQuery{task: -2}, true) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(w.String(), "msg=c") {
		if time.Now().After(deadline) {
			t.Fatalf("no first page: %q", w.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	f, err := os.OpenFile(files[1], os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("time=2026-12-07T10:00:04.000000Z level=WARN msg=later topology=t-1-1 port=6701 component=count task=3\n")
	f.Close()
	for !strings.Contains(w.String(), "count:3 | time=2026-12-07T10:00:04.000000Z level=WARN msg=later") {
		if time.Now().After(deadline) {
			t.Fatalf("the appended line did not follow: %q", w.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("followLogs = %v after Ctrl-C, want nil", err)
	}
}

// TestTailFile filters a local log, as squall logs --file does.
func TestTailFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "run.log")
	os.WriteFile(file, []byte("time=2026-12-07T10:00:01.000000Z level=INFO msg=a component=split task=5\n"+
		"time=2026-12-07T10:00:02.000000Z level=INFO msg=b component=count task=2\n"), 0o644)
	var out bytes.Buffer
	if err := tailFile(t.Context(), &out, file, logQuery{component: "count", task: -2}, false); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "count:2 | time=2026-12-07T10:00:02.000000Z level=INFO msg=b component=count task=2\n" {
		t.Errorf("tailFile = %q", got)
	}
}

func TestParseLogLevels(t *testing.T) {
	tests := []struct {
		set, reset []string
		want       map[string][2]any // target, timeout
		wantErr    bool
	}{
		{[]string{"ROOT=debug:30"}, nil, map[string][2]any{"ROOT": {"DEBUG", int32(30)}}, false},
		{[]string{"ROOT=WARN"}, nil, map[string][2]any{"ROOT": {"WARN", int32(0)}}, false},
		{nil, []string{"ROOT"}, map[string][2]any{"ROOT": {"CLEAR", int32(0)}}, false},
		{nil, nil, nil, true},
		{[]string{"ROOT"}, nil, nil, true},
		{[]string{"=DEBUG"}, nil, nil, true},
		{[]string{"ROOT=DEBUG:soon"}, nil, nil, true},
		{[]string{"ROOT=DEBUG:-5"}, nil, nil, true},
		{[]string{"ROOT=DEBUG"}, []string{"ROOT"}, nil, true},
	}
	for _, tt := range tests {
		got, err := parseLogLevels(tt.set, tt.reset)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseLogLevels(%q, %q) error = %v, want error %v", tt.set, tt.reset, err, tt.wantErr)
			continue
		}
		for name, w := range tt.want {
			if l := got[name]; l.GetTargetLevel() != w[0] || l.GetTimeout() != w[1] {
				t.Errorf("parseLogLevels(%q, %q)[%s] = %v, want %v", tt.set, tt.reset, name, l, w)
			}
		}
		if err == nil && len(got) != len(tt.want) {
			t.Errorf("parseLogLevels(%q, %q) = %v, want %d loggers", tt.set, tt.reset, got, len(tt.want))
		}
	}
}
