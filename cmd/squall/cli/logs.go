package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/api"
	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/logviewer"
	"github.com/squallstream/squall/workerd"
)

type logsOptions struct {
	clientFlags
	follow bool
	task   int
	grep   string
	since  time.Duration
	file   string
	events bool
}

// newLogsCmd prints and follows the logs of a topology's workers through
// the logviewers of their nodes, as streamparse's sparse tail.
func newLogsCmd() *cobra.Command {
	var o logsOptions
	cmd := &cobra.Command{
		Use:   "logs TOPOLOGY_NAME [COMPONENT|TASK]",
		Short: "Print (and follow) the logs of a topology's workers, from every node",
		Long: `Print the recent lines of the logs of every worker of a topology, read
through the logviewer of each worker's node (logviewer.port), in order of
time; with -f, go on printing lines as they are written, until Ctrl-C.
Each line is prefixed with the component and task it comes from, or with
the worker (host:port) for the worker's own lines.

--events reads the workers' event logs instead: the tuples sampled while
debug is on (POST /api/v1/topology/ID/debug/enable/PERCENT, Storm's
event logger).

A component or a task id narrows the lines to that component's or task's.
--file reads one log file of this machine instead, such as what
squall local --log-file writes.`,
		Example: `  squall logs wordcount
  squall logs wordcount split -f
  squall logs wordcount 5 --grep 'Traceback|ERROR' --since 10m
  squall logs --file run.log -f split
  squall logs wordcount split --events -f`,
		Args: cobra.RangeArgs(0, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args)
		},
	}
	o.register(cmd.Flags())
	f := cmd.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "go on printing lines as they are written")
	f.IntVar(&o.task, "task", -2, "only the lines of this task id")
	f.StringVar(&o.grep, "grep", "", "only the lines matching this regular expression (RE2)")
	f.DurationVar(&o.since, "since", 0, "only the lines of the last `duration` (10m, 1h)")
	f.StringVar(&o.file, "file", "", "read this log file of this machine instead of a topology's")
	f.BoolVar(&o.events, "events", false, "read the event logs instead (events.log beside each log: the tuples sampled under debug)")
	return cmd
}

// logQuery is what selects the lines, as the logviewer's filters take it.
type logQuery struct {
	component string
	task      int
	hasTask   bool
	regex     string
	since     time.Time
}

func (q logQuery) params(v url.Values) url.Values {
	if q.component != "" {
		v.Set("component", q.component)
	}
	if q.hasTask {
		v.Set("task", strconv.Itoa(q.task))
	}
	if q.regex != "" {
		v.Set("regex", q.regex)
	}
	if !q.since.IsZero() {
		v.Set("since", q.since.UTC().Format(time.RFC3339))
	}
	return v
}

func (o *logsOptions) query(args []string) (logQuery, error) {
	q := logQuery{task: o.task, hasTask: o.task != -2, regex: o.grep}
	if len(args) > 0 {
		if n, err := strconv.Atoi(args[0]); err == nil {
			if q.hasTask && q.task != n {
				return q, fmt.Errorf("task %d and --task %d: give one", n, q.task)
			}
			q.task, q.hasTask = n, true
		} else {
			q.component = args[0]
		}
	}
	if q.regex != "" {
		if len(q.regex) > logviewer.MaxRegexBytes {
			return q, fmt.Errorf("--grep: longer than %d bytes", logviewer.MaxRegexBytes)
		}
		if _, err := regexp.Compile(q.regex); err != nil {
			return q, fmt.Errorf("--grep: %w", err)
		}
	}
	if o.since < 0 {
		return q, fmt.Errorf("--since %v: want a positive duration", o.since)
	}
	if o.since > 0 {
		q.since = time.Now().Add(-o.since)
	}
	return q, nil
}

func (o *logsOptions) run(cmd *cobra.Command, args []string) error {
	if o.file != "" {
		q, err := o.query(args)
		if err != nil {
			return err
		}
		file := o.file
		if o.events {
			file = filepath.Join(filepath.Dir(file), eventLogName)
		}
		return tailFile(cmd.Context(), cmd.OutOrStdout(), file, q, o.follow)
	}
	if len(args) == 0 {
		return errors.New("logs needs a TOPOLOGY_NAME, or --file")
	}
	q, err := o.query(args[1:])
	if err != nil {
		return err
	}
	conf, err := o.clientConfig()
	if err != nil {
		return err
	}
	var topo *api.GetTopologyResponse
	err = o.call(cmd.Context(), conf, func(ctx context.Context, c api.NimbusClient) error {
		var err error
		topo, err = c.GetTopology(ctx, &api.GetTopologyRequest{Name: args[0]})
		return err
	})
	if err != nil {
		return err
	}
	var sources []logSource
	for _, w := range topo.GetWorkers() {
		if w.GetWorkerLogLink() == "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "squall logs: the node of worker %s:%d serves no logviewer (logviewer.port); its log is not shown\n", w.GetHost(), w.GetPort())
			continue
		}
		s, err := sourceOf(w.GetWorkerLogLink(), fmt.Sprintf("%s:%d", w.GetHost(), w.GetPort()))
		if err != nil {
			return err
		}
		if o.events {
			s.file = path.Join(path.Dir(s.file), eventLogName)
		}
		sources = append(sources, s)
	}
	if len(sources) == 0 {
		return fmt.Errorf("topology %s has no worker whose log can be read", args[0])
	}
	return followLogs(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), http.DefaultClient, sources, q, o.follow)
}

// logSource is one worker's log on its node's logviewer.
type logSource struct {
	base, file, worker string
}

// sourceOf reads a workerLogLink: http://host:port/api/v1/log?file=F.
func sourceOf(link, worker string) (logSource, error) {
	u, err := url.Parse(link)
	if err != nil || u.Host == "" || u.Query().Get("file") == "" {
		return logSource{}, fmt.Errorf("worker %s: log link %q is not a logviewer's", worker, link)
	}
	return logSource{base: u.Scheme + "://" + u.Host, file: u.Query().Get("file"), worker: worker}, nil
}

// logLine is a line to print, with the time that orders it.
type logLine struct {
	at   time.Time
	text string
}

// linesOf splits content into lines prefixed with where they come from;
// lines of another format take the time and prefix of the line before.
func linesOf(content, worker string) []logLine {
	var out []logLine
	var at time.Time
	prefix := worker
	for line := range strings.Lines(content) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			continue
		}
		if r, ok := logline.Parse([]byte(line)); ok {
			at, prefix = r.Time, worker
			if r.Component != "" {
				prefix = r.Component
				if r.HasTask {
					prefix += ":" + strconv.Itoa(r.Task)
				}
			}
		}
		out = append(out, logLine{at: at, text: prefix + " | " + line})
	}
	return out
}

// printSorted writes lines in order of time (stable, so a worker's lines
// keep their order).
func printSorted(w io.Writer, lines []logLine) {
	slices.SortStableFunc(lines, func(a, b logLine) int { return a.at.Compare(b.at) })
	bw := bufio.NewWriter(w)
	for _, l := range lines {
		bw.WriteString(l.text)
		bw.WriteByte('\n')
	}
	bw.Flush()
}

// followLogs prints the last page of every source's log, interleaved by
// time, then with follow the lines written after it, each batch in order
// of time, until ctx ends.
func followLogs(ctx context.Context, out, errOut io.Writer, client *http.Client, sources []logSource, q logQuery, follow bool) error {
	type start struct {
		offset int64
		fileID string
	}
	starts := make([]start, len(sources))
	var first []logLine
	for i, s := range sources {
		var p logviewer.Page
		v := q.params(url.Values{"file": {s.file}})
		if err := getJSON(ctx, client, s.base+"/api/v1/log?"+v.Encode(), &p); err != nil {
			return fmt.Errorf("log of worker %s: %w", s.worker, err)
		}
		starts[i] = start{offset: p.Start + p.Length, fileID: p.FileID}
		first = append(first, linesOf(p.Content, s.worker)...)
	}
	printSorted(out, first)
	if !follow {
		return nil
	}
	lines := make(chan []logLine, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			offset, fileID := starts[i].offset, starts[i].fileID
			for ctx.Err() == nil {
				var c logviewer.Chunk
				v := q.params(url.Values{"file": {s.file}, "offset": {strconv.FormatInt(offset, 10)}, "fileId": {fileID}})
				if err := getJSON(ctx, client, s.base+"/api/v1/follow?"+v.Encode(), &c); err != nil {
					if ctx.Err() != nil {
						return
					}
					fmt.Fprintf(errOut, "squall logs: worker %s: %v; trying again\n", s.worker, err)
					select {
					case <-ctx.Done():
						return
					case <-time.After(2 * time.Second):
					}
					continue
				}
				if c.Restarted {
					fmt.Fprintf(errOut, "squall logs: the log of worker %s was rotated or truncated; reading it from the start\n", s.worker)
				}
				offset, fileID = c.NextOffset, c.FileID
				if ls := linesOf(c.Content, s.worker); len(ls) > 0 {
					select {
					case lines <- ls:
					case <-ctx.Done():
						return
					}
				}
			}
		})
	}
	go func() {
		wg.Wait()
		close(lines)
	}()
	// Lines of several workers are held for a moment, to print them in
	// order of time.
	const hold = 200 * time.Millisecond
	var pending []logLine
	tick := time.NewTicker(hold)
	defer tick.Stop()
	for {
		select {
		case ls, ok := <-lines:
			if !ok {
				printSorted(out, pending)
				return nil
			}
			pending = append(pending, ls...)
		case <-tick.C:
			if len(pending) > 0 {
				printSorted(out, pending)
				pending = pending[:0]
			}
		}
	}
}

// maxLogAnswerBytes bounds an answer of a logviewer: a page or a follow
// chunk is at most 10 MiB, in JSON.
const maxLogAnswerBytes = 64 << 20

// getJSON GETs url and decodes its JSON answer into v; a Storm error
// answer becomes an error saying it.
func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a follow waits up to a minute
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLogAnswerBytes))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"errorMessage"`
		}
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s: %s", resp.Status, e.Message)
		}
		return fmt.Errorf("%s", resp.Status)
	}
	return json.Unmarshal(body, v)
}

// tailFile prints the lines of a local log file that q selects and, with
// follow, those written to it later, until ctx ends.
func tailFile(ctx context.Context, out io.Writer, path string, q logQuery, follow bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	filter := logline.Filter{Component: q.component, Task: q.task, HasTask: q.hasTask, Since: q.since}
	if q.regex != "" {
		filter.Grep = regexp.MustCompile(q.regex) // checked by query
	}
	m := logline.NewMatcher(filter)
	r := bufio.NewReaderSize(f, 64<<10)
	var partial []byte
	for {
		chunk, err := r.ReadBytes('\n')
		partial = append(partial, chunk...)
		if err == nil {
			line := bytes.TrimRight(partial, "\n")
			if m.Match(line) {
				for _, l := range linesOf(string(line), "-") {
					fmt.Fprintln(out, l.text)
				}
			}
			partial = partial[:0]
			continue
		}
		if !errors.Is(err, io.EOF) {
			return err
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// eventLogName is a worker's event log, beside its log (workerd.EventLogName).
const eventLogName = workerd.EventLogName
