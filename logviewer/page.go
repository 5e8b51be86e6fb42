package logviewer

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"math"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/squallstream/squall/internal/logline"
)

// MaxRegexBytes bounds a regular expression in a request.
const MaxRegexBytes = 1024

// Page is a page of a log, as /api/v1/log answers it to a client that
// accepts JSON (others get Content as text/plain, the rest in X-Log-*
// headers).
type Page struct {
	File string `json:"file"`
	// Start and Length are the bytes of the file the page covers, before
	// any filter.
	Start  int64 `json:"start"`
	Length int64 `json:"length"`
	// FileLength is the file's size when it was read.
	FileLength int64 `json:"fileLength"`
	// FileID tells the file apart from a later one of the same name (after
	// rotation), for /api/v1/follow.
	FileID  string `json:"fileId"`
	Content string `json:"content"`
}

// lineFilter is what pages and follows filter lines by.
type lineFilter struct {
	substring string         // Storm's grep
	regex     *regexp.Regexp // squall's regex
	f         logline.Filter // component and task
}

func (lf lineFilter) empty() bool {
	return lf.substring == "" && lf.regex == nil && !lf.f.Selective()
}

// filterParams reads grep (a substring, as Storm's), regex, component,
// task and since (RFC 3339).
func filterParams(r *http.Request) (lineFilter, error) {
	q := r.URL.Query()
	lf := lineFilter{substring: q.Get("grep")}
	if len(lf.substring) > MaxRegexBytes {
		return lf, badRequest("grep: longer than %d bytes", MaxRegexBytes)
	}
	if s := q.Get("regex"); s != "" {
		if len(s) > MaxRegexBytes {
			return lf, badRequest("regex: longer than %d bytes", MaxRegexBytes)
		}
		re, err := regexp.Compile(s)
		if err != nil {
			return lf, badRequest("regex: %v", err)
		}
		lf.regex = re
	}
	lf.f.Component = q.Get("component")
	if s := q.Get("task"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return lf, badRequest("task %q: want a task id", truncate(s, 40))
		}
		lf.f.Task, lf.f.HasTask = n, true
	}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return lf, badRequest("since %q: want a time such as 2026-12-07T10:00:00Z", truncate(s, 40))
		}
		lf.f.Since = t
	}
	return lf, nil
}

// apply returns the lines of b that the filter selects.
func (lf lineFilter) apply(b []byte) []byte {
	if lf.empty() {
		return b
	}
	m := logline.NewMatcher(lf.f)
	var out bytes.Buffer
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i+1], b[i+1:]
		} else {
			b = nil
		}
		content := bytes.TrimSuffix(line, []byte("\n"))
		if m.Match(content) && (lf.substring == "" || bytes.Contains(content, []byte(lf.substring))) &&
			(lf.regex == nil || lf.regex.Match(content)) {
			out.Write(line)
		}
	}
	return out.Bytes()
}

// page serves /api/v1/log and /api/v1/daemonlog: length bytes from start
// (by default the last page), as Storm's logviewer pages a log.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, daemon bool) {
	file := r.URL.Query().Get("file")
	dir, err := h.resolve(r, OpRead, file, daemon)
	if err == nil {
		err = readable(file)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lf, err := filterParams(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// As Storm: a length past the bound is cut to it, not refused.
	length, err := intParam(r, "length", h.cfg.DefaultPageBytes, 1, math.MaxInt64)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	length = min(length, h.cfg.MaxPageBytes)
	f, fi, err := openLog(dir, file)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	size := fi.Size()
	start, err := intParam(r, "start", max(size-length, 0), 0, math.MaxInt64)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if start > size {
		h.fail(w, r, badRequest("start %d: the file has %d bytes", start, size))
		return
	}
	buf := make([]byte, min(length, size-start))
	n, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		h.fail(w, r, fmt.Errorf("read %s: %w", file, err))
		return
	}
	p := Page{File: file, Start: start, Length: int64(n), FileLength: size, FileID: fileID(fi), Content: string(lf.apply(buf[:n]))}
	if acceptsJSON(r) {
		writeJSON(w, http.StatusOK, p)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("X-Log-Start", strconv.FormatInt(p.Start, 10))
	hd.Set("X-Log-Length", strconv.FormatInt(p.Length, 10))
	hd.Set("X-Log-File-Length", strconv.FormatInt(p.FileLength, 10))
	hd.Set("X-Log-File-Id", p.FileID)
	io.WriteString(w, p.Content)
}

// download serves /api/v1/download and /api/v1/daemondownload: the whole
// file, with ranges.
func (h *Handler) download(w http.ResponseWriter, r *http.Request, daemon bool) {
	file := r.URL.Query().Get("file")
	dir, err := h.resolve(r, OpDownload, file, daemon)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, fi, err := openLog(dir, file)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	name := path.Base(file)
	if !daemon {
		// Storm names a download after its topology and port too.
		name = strings.ReplaceAll(file, "/", "-")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// acceptsJSON reports whether the client asked for JSON.
func acceptsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "application/json" {
			return true
		}
	}
	return false
}

// fileID identifies a file: its device and inode.
func fileID(fi fs.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return strconv.FormatUint(uint64(st.Dev), 16) + "-" + strconv.FormatUint(st.Ino, 16)
	}
	return ""
}
