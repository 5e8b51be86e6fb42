package logviewer

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Storm's search limits and shapes (LogviewerLogSearchHandler).
const (
	// MaxSearchStringBytes bounds a search string.
	MaxSearchStringBytes = 1024
	// searchContext is how much a match shows before and after it.
	searchContext = 128
	// searchChunk is how much a search reads at once.
	searchChunk = 64 << 10
)

// Match is one occurrence of a search string, as Storm's search answers it.
type Match struct {
	ByteOffset   int64  `json:"byteOffset"`
	BeforeString string `json:"beforeString"`
	AfterString  string `json:"afterString"`
	MatchString  string `json:"matchString"`
	// LogviewerURL is the page of the log centred on the match.
	LogviewerURL string `json:"logviewerURL"`
}

// SearchResult is what /api/v1/search answers, and each file's part of a
// deep search.
type SearchResult struct {
	IsDaemon        string  `json:"isDaemon"`
	SearchString    string  `json:"searchString"`
	StartByteOffset int64   `json:"startByteOffset"`
	Matches         []Match `json:"matches"`
	// NextByteOffset is where to search on from, absent when the file has
	// no more to search.
	NextByteOffset *int64 `json:"nextByteOffset,omitempty"`
	// FileName and Port are set in a deep search.
	FileName string `json:"fileName,omitempty"`
	Port     string `json:"port,omitempty"`
}

// searchParams reads search-string and num-matches.
func searchParams(r *http.Request, defMatches int64, maxMatches int) ([]byte, int, error) {
	s := r.URL.Query().Get("search-string")
	if s == "" || len(s) > MaxSearchStringBytes {
		return nil, 0, badRequest("Search substring must be between 1 and %d UTF-8 bytes in size (inclusive)", MaxSearchStringBytes)
	}
	n, err := intParam(r, "num-matches", defMatches, 1, int64(maxMatches))
	return []byte(s), int(n), err
}

// search serves /api/v1/search: the first num-matches (default 10)
// occurrences of search-string in a file from start-byte-offset.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	daemon := q.Get("is-daemon") == "yes"
	file := q.Get("file")
	dir, err := h.resolve(r, OpSearch, file, daemon)
	if err == nil {
		err = readable(file)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	needle, n, err := searchParams(r, 10, h.cfg.MaxMatches)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	from, err := intParam(r, "start-byte-offset", 0, 0, math.MaxInt64)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	release, err := acquire(h.searches)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer release()
	f, fi, err := openLog(dir, file)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	if from > fi.Size() {
		h.fail(w, r, badRequest("Cannot search past the end of the file"))
		return
	}
	budget := h.cfg.MaxSearchBytes
	res, err := h.searchFile(r, f, fi.Size(), file, daemon, needle, from, n, &budget)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// searchFile finds up to n occurrences of needle in f from offset from,
// reading at most *budget bytes (and taking them off it).
func (h *Handler) searchFile(r *http.Request, f io.ReaderAt, size int64, file string, daemon bool, needle []byte, from int64, n int, budget *int64) (SearchResult, error) {
	res := SearchResult{IsDaemon: "no", SearchString: string(needle), StartByteOffset: from, Matches: []Match{}}
	if daemon {
		res.IsDaemon = "yes"
	}
	buf := make([]byte, 0, searchContext+searchChunk+len(needle)+searchContext)
	pos := from
	for pos < size && len(res.Matches) < n {
		if *budget <= 0 {
			res.NextByteOffset = &pos
			return res, nil
		}
		end := min(pos+searchChunk, size)
		// Read the chunk with the context around it and the tail of a
		// match that starts in it.
		lo, hi := max(pos-searchContext, 0), min(end+int64(len(needle))-1+searchContext, size)
		buf = buf[:hi-lo]
		if _, err := f.ReadAt(buf, lo); err != nil && err != io.EOF {
			return res, fmt.Errorf("search %s: %w", file, err)
		}
		*budget -= end - pos
		for i := pos - lo; ; {
			k := bytes.Index(buf[i:], needle)
			if k < 0 || lo+i+int64(k) >= end {
				break
			}
			at := i + int64(k)
			res.Matches = append(res.Matches, Match{
				ByteOffset:   lo + at,
				BeforeString: string(buf[max(at-searchContext, 0):at]),
				AfterString:  string(buf[at+int64(len(needle)) : min(at+int64(len(needle))+searchContext, int64(len(buf)))]),
				MatchString:  string(needle),
				LogviewerURL: h.pageURL(r, file, daemon, lo+at, len(needle)),
			})
			if len(res.Matches) == n {
				break
			}
			i = at + 1
		}
		pos = end
	}
	if len(res.Matches) == n {
		// As Storm: go on after the last match, if the file has more.
		next := res.Matches[n-1].ByteOffset + int64(len(needle))
		if next < size {
			res.NextByteOffset = &next
		}
	}
	return res, nil
}

// pageURL is the logviewer page of file centred on a match, as Storm
// links it.
func (h *Handler) pageURL(r *http.Request, file string, daemon bool, offset int64, needle int) string {
	page := h.cfg.DefaultPageBytes
	start := max(offset-page/2+int64(needle)/2, 0)
	p := "/api/v1/log"
	if daemon {
		p = "/api/v1/daemonlog"
	}
	q := url.Values{"file": {file}, "start": {strconv.FormatInt(start, 10)}, "length": {strconv.FormatInt(page, 10)}}
	return (&url.URL{Scheme: "http", Host: r.Host, Path: p, RawQuery: q.Encode()}).String()
}

// Matched is one slot's part of a deep search, as Storm answers it: the
// files with matches, and the index of the file to go on from.
type Matched struct {
	FileOffset   int            `json:"fileOffset"`
	SearchString string         `json:"searchString"`
	Matches      []SearchResult `json:"matches"`
}

// deepSearch serves /api/v1/deepSearch/{topoId}: a search through the
// worker logs of a topology's slots on this node, num-matches (default 1)
// per slot. With port (not "*") it searches one slot, from
// start-file-offset and start-byte-offset, and answers one Matched;
// otherwise every slot, and a list. search-archived=true searches the
// rotated logs too, not only the newest.
func (h *Handler) deepSearch(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topology := r.PathValue("topoId")
	if err := checkElement(topology); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := h.authorize(r, Access{Op: OpDeepSearch, Topology: topology}); err != nil {
		h.fail(w, r, err)
		return
	}
	needle, n, err := searchParams(r, 1, h.cfg.MaxMatches)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	port := 0
	if s := q.Get("port"); s != "" && s != "*" {
		if port, err = parsePort(s); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	fileOffset, err := intParam(r, "start-file-offset", 0, 0, math.MaxInt32)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	byteOffset, err := intParam(r, "start-byte-offset", 0, 0, math.MaxInt64)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	archived := q.Get("search-archived") == "true"
	release, err := acquire(h.searches)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer release()

	files, err := listLogs(h.cfg.LogRoot, topology, port, func(string) bool { return true }, h.cfg.MaxListEntries)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	bySlot := map[string][]logFile{}
	var slots []string
	for _, f := range files {
		slot := path.Dir(f.name)
		if _, ok := bySlot[slot]; !ok {
			slots = append(slots, slot)
		}
		bySlot[slot] = append(bySlot[slot], f)
	}
	budget := h.cfg.MaxSearchBytes
	if port != 0 {
		logs := workerLogs(bySlot[path.Join(topology, strconv.Itoa(port))])
		if !archived {
			logs, fileOffset = logs[:min(len(logs), 1)], 0
		}
		m, err := h.searchSlot(r, logs, int(fileOffset), byteOffset, needle, n, &budget)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	out := []Matched{}
	for _, slot := range slots {
		logs := workerLogs(bySlot[slot])
		if !archived {
			logs = logs[:min(len(logs), 1)]
		}
		m, err := h.searchSlot(r, logs, 0, 0, needle, n, &budget)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		out = append(out, m)
	}
	writeJSON(w, http.StatusOK, out)
}

// searchSlot searches a slot's logs from file fileOffset and byte
// byteOffset in it for up to n matches, as Storm's findNMatches: files
// without matches are left out, and FileOffset is the file to go on from.
func (h *Handler) searchSlot(r *http.Request, logs []logFile, fileOffset int, byteOffset int64, needle []byte, n int, budget *int64) (Matched, error) {
	m := Matched{FileOffset: fileOffset, SearchString: string(needle), Matches: []SearchResult{}}
	found := 0
	for i := fileOffset; i < len(logs) && found < n && *budget > 0; i++ {
		name := logs[i].name
		f, fi, err := openLog(h.cfg.LogRoot, name)
		if err != nil {
			m.FileOffset = i + 1 // gone meanwhile
			byteOffset = 0
			continue
		}
		res, err := h.searchFile(r, f, fi.Size(), name, false, needle, min(byteOffset, fi.Size()), n-found, budget)
		f.Close()
		if err != nil {
			return m, err
		}
		byteOffset = 0
		if len(res.Matches) > 0 || res.NextByteOffset != nil && found < n { // matches, or cut short
			res.FileName = name
			res.Port = strings.Split(name, "/")[1]
			m.Matches = append(m.Matches, res)
			found += len(res.Matches)
		}
		m.FileOffset = i
		if found < n && res.NextByteOffset == nil {
			m.FileOffset = i + 1
		}
	}
	return m, nil
}

// list serves /api/v1/listLogs?topoId=&port=: the worker log files on
// this node, "<topology>/<port>/<file>", of topologies the request may
// read.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	topology := q.Get("topoId")
	if topology != "" {
		if err := checkElement(topology); err != nil {
			h.fail(w, r, err)
			return
		}
		if err := h.authorize(r, Access{Op: OpList, Topology: topology}); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	port := 0
	if s := q.Get("port"); s != "" {
		var err error
		if port, err = parsePort(s); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	files, err := listLogs(h.cfg.LogRoot, topology, port, h.allowed(r, OpList), h.cfg.MaxListEntries)
	if err != nil && files == nil {
		h.fail(w, r, err)
		return
	}
	if err != nil {
		w.Header().Set("X-Log-Truncated", "true")
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	writeJSON(w, http.StatusOK, names)
}
