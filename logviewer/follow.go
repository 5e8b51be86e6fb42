package logviewer

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"time"
)

// Chunk is what /api/v1/follow answers: the complete lines of a log from
// Offset to NextOffset that pass the filters. A client follows a log by
// asking again from NextOffset with the same FileID; a long poll, so it
// works through any proxy and needs no connection held between lines.
type Chunk struct {
	File string `json:"file"`
	// FileID is the identity of the file read; asked with another one (the
	// log was rotated), or an offset past its end (truncated), the follow
	// starts again at 0 and says so in Restarted.
	FileID     string `json:"fileId"`
	Offset     int64  `json:"offset"`
	NextOffset int64  `json:"nextOffset"`
	FileLength int64  `json:"fileLength"`
	Restarted  bool   `json:"restarted,omitempty"`
	// More says there is more to read at once: ask again without waiting.
	More    bool   `json:"more,omitempty"`
	Content string `json:"content"`
}

// follow serves /api/v1/follow?file=&offset=&fileId=&wait=: it answers as
// soon as complete lines past offset pass the filters, or after wait with
// none. Without offset it starts at the end of the file.
func (h *Handler) follow(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	file := q.Get("file")
	dir, err := h.resolve(r, OpRead, file, false)
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
	offset, err := intParam(r, "offset", -1, 0, math.MaxInt64)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	wait, err := durationParam(r, "wait", h.cfg.DefaultFollowWait, h.cfg.MaxFollowWait)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	release, err := acquire(h.followers)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer release()

	c := Chunk{File: file, FileID: q.Get("fileId"), NextOffset: offset}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for first := true; ; first = false {
		done, err := h.readChunk(dir, &c, first, lf)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if done {
			break
		}
		poll := time.NewTimer(h.cfg.FollowPoll)
		select {
		case <-r.Context().Done():
			poll.Stop()
			return
		case <-deadline.C:
			poll.Stop()
			writeJSON(w, http.StatusOK, c)
			return
		case <-poll.C:
		}
	}
	writeJSON(w, http.StatusOK, c)
}

// readChunk reads what the file holds past c.NextOffset (-1: the end of
// the file) into c and reports whether there is something to answer. It
// moves NextOffset past lines the filters drop, so that a waiting follow
// reads them once.
func (h *Handler) readChunk(dir string, c *Chunk, first bool, lf lineFilter) (bool, error) {
	f, fi, err := openLog(dir, c.File)
	if err != nil {
		return false, err
	}
	defer f.Close()
	id, size := fileID(fi), fi.Size()
	restart := c.NextOffset >= 0 && (c.FileID != "" && c.FileID != id || c.NextOffset > size)
	switch {
	case c.NextOffset < 0:
		c.NextOffset = size
	case restart:
		c.NextOffset = 0
		c.Restarted = true
	}
	if first || restart {
		c.Offset = c.NextOffset
	}
	c.FileID, c.FileLength = id, size
	if size == c.NextOffset {
		return c.Restarted, nil
	}
	buf := make([]byte, min(size-c.NextOffset, h.cfg.MaxPageBytes))
	n, err := f.ReadAt(buf, c.NextOffset)
	if err != nil && err != io.EOF {
		return false, fmt.Errorf("read %s: %w", c.File, err)
	}
	buf = buf[:n]
	// Complete lines only: the writer may be in the middle of one. A line
	// longer than a whole chunk goes out cut.
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[:i+1]
	} else if int64(n) < h.cfg.MaxPageBytes {
		return c.Restarted, nil
	}
	c.NextOffset += int64(len(buf))
	c.More = c.NextOffset < size
	c.Content += string(lf.apply(buf))
	return c.Content != "" || c.Restarted || c.More, nil
}
