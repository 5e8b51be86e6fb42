package logviewer

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSearch(t *testing.T) {
	f := newFixture(t, nil)
	var res SearchResult
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "snow").decode(t, &res)
	first := int64(strings.Index(workerLog, "snow"))
	second := int64(strings.LastIndex(workerLog, "snow"))
	if res.IsDaemon != "no" || res.SearchString != "snow" || res.StartByteOffset != 0 || len(res.Matches) != 2 || res.NextByteOffset != nil {
		t.Fatalf("search %+v", res)
	}
	m := res.Matches[0]
	if m.ByteOffset != first || m.MatchString != "snow" || m.BeforeString != workerLog[first-searchContext:first] ||
		m.AfterString != workerLog[first+4:first+4+searchContext] {
		t.Errorf("first match %+v", m)
	}
	if res.Matches[1].ByteOffset != second || res.Matches[1].AfterString != "\n" {
		t.Errorf("second match %+v", res.Matches[1])
	}
	u, err := url.Parse(m.LogviewerURL)
	if err != nil || u.Path != "/api/v1/log" || u.Query().Get("file") != "wc-1-1/6700/worker.log" || u.Query().Get("length") != "51200" || u.Query().Get("start") != "0" {
		t.Errorf("logviewerURL %q", m.LogviewerURL)
	}

	// One match at a time, going on from nextByteOffset.
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "snow", "num-matches", "1").decode(t, &res)
	if len(res.Matches) != 1 || res.NextByteOffset == nil || *res.NextByteOffset != first+4 {
		t.Fatalf("first of one: %+v", res)
	}
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "snow", "num-matches", "1",
		"start-byte-offset", "210").decode(t, &res)
	// As Storm: enough matches, and the file goes on (with a newline).
	if len(res.Matches) != 1 || res.Matches[0].ByteOffset != second || res.StartByteOffset != 210 || res.NextByteOffset == nil || *res.NextByteOffset != second+4 {
		t.Errorf("from 210: %+v", res)
	}

	f.get(t, "/api/v1/search", "file", "supervisor.log", "is-daemon", "yes", "search-string", "started").decode(t, &res)
	if res.IsDaemon != "yes" || len(res.Matches) != 1 || !strings.Contains(res.Matches[0].LogviewerURL, "/api/v1/daemonlog") {
		t.Errorf("daemon search %+v", res)
	}
}

// TestSearchAcrossChunks finds matches that straddle the reads, with
// their context, in a file larger than one read.
func TestSearchAcrossChunks(t *testing.T) {
	f := newFixture(t, nil)
	var b strings.Builder
	var want []int64
	for b.Len() < 3*searchChunk {
		b.WriteString(strings.Repeat("x", 997))
		want = append(want, int64(b.Len()))
		b.WriteString("needle")
	}
	f.write(t, "logs/wc-1-1/6700/worker.log", b.String())
	var res SearchResult
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "needle", "num-matches", "1000").decode(t, &res)
	if len(res.Matches) != len(want) {
		t.Fatalf("%d matches, want %d", len(res.Matches), len(want))
	}
	for i, m := range res.Matches {
		if m.ByteOffset != want[i] || len(m.BeforeString) != searchContext || m.BeforeString != strings.Repeat("x", searchContext) {
			t.Fatalf("match %d = offset %d before %q, want offset %d", i, m.ByteOffset, m.BeforeString, want[i])
		}
	}
}

func TestSearchBudget(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxSearchBytes = searchChunk })
	f.write(t, "logs/wc-1-1/6700/worker.log", strings.Repeat("x", 3*searchChunk)+"needle")
	var res SearchResult
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "needle").decode(t, &res)
	if len(res.Matches) != 0 || res.NextByteOffset == nil || *res.NextByteOffset != searchChunk {
		t.Fatalf("budget-bound search %+v, want no match and to go on from %d", res, searchChunk)
	}
	for next := *res.NextByteOffset; len(res.Matches) == 0; next = *res.NextByteOffset {
		f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "needle", "start-byte-offset", itoa(next)).decode(t, &res)
	}
	if res.Matches[0].ByteOffset != 3*searchChunk {
		t.Errorf("found at %d, want %d", res.Matches[0].ByteOffset, 3*searchChunk)
	}
}

func TestSearchRefuses(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxMatches = 50 })
	file := []string{"file", "wc-1-1/6700/worker.log"}
	for _, params := range [][]string{
		{"search-string", ""},
		{"search-string", strings.Repeat("a", MaxSearchStringBytes+1)},
		{"search-string", "x", "num-matches", "0"},
		{"search-string", "x", "num-matches", "51"},
		{"search-string", "x", "start-byte-offset", "-1"},
		{"search-string", "x", "start-byte-offset", "100000"},
	} {
		f.get(t, "/api/v1/search", append(file, params...)...).stormError(t, http.StatusBadRequest)
	}
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/nope", "search-string", "x").stormError(t, http.StatusNotFound)
}

func TestDeepSearch(t *testing.T) {
	f := newFixture(t, nil)
	f.write(t, "logs/wc-1-1/6700/worker.log.1", "old snow\n")
	old := time.Now().Add(-time.Hour)
	must(t, osChtimes(f.logs+"/wc-1-1/6700/worker.log.1", old))

	// Every slot, newest logs only, one match each.
	var all []Matched
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "snow").decode(t, &all)
	if len(all) != 2 {
		t.Fatalf("%d slots, want 2: %+v", len(all), all)
	}
	for i, port := range []string{"6700", "6701"} {
		m := all[i]
		if m.SearchString != "snow" || len(m.Matches) != 1 || m.Matches[0].Port != port ||
			m.Matches[0].FileName != "wc-1-1/"+port+"/worker.log" || len(m.Matches[0].Matches) != 1 {
			t.Errorf("slot %s: %+v", port, m)
		}
	}

	// One slot, the archived log too, as many matches as there are.
	var one Matched
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "snow", "port", "6700", "num-matches", "10", "search-archived", "true").decode(t, &one)
	if len(one.Matches) != 2 || one.Matches[0].FileName != "wc-1-1/6700/worker.log" || one.Matches[1].FileName != "wc-1-1/6700/worker.log.1" ||
		len(one.Matches[0].Matches) != 2 || len(one.Matches[1].Matches) != 1 || one.FileOffset != 2 {
		t.Errorf("archived search %+v", one)
	}
	// Going on from a file and byte: the second match of the newest log.
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "snow", "port", "6700", "num-matches", "1",
		"search-archived", "true", "start-file-offset", "0", "start-byte-offset", "210").decode(t, &one)
	if len(one.Matches) != 1 || one.Matches[0].Matches[0].ByteOffset != int64(strings.LastIndex(workerLog, "snow")) || one.FileOffset != 0 {
		t.Errorf("continued search %+v", one)
	}
	// No such slot.
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "snow", "port", "6799").decode(t, &one)
	if len(one.Matches) != 0 {
		t.Errorf("search of a missing slot %+v", one)
	}
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "snow", "port", "x").stormError(t, http.StatusBadRequest)
}

func TestSearchesBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxSearches = 1 })
	release, err := acquire(f.h.searches) // one search running
	if err != nil {
		t.Fatal(err)
	}
	f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "x").stormError(t, http.StatusServiceUnavailable)
	f.get(t, "/api/v1/deepSearch/wc-1-1", "search-string", "x").stormError(t, http.StatusServiceUnavailable)
	release()
	if r := f.get(t, "/api/v1/search", "file", "wc-1-1/6700/worker.log", "search-string", "x"); r.status != http.StatusOK {
		t.Errorf("after the other search: %d", r.status)
	}
}
