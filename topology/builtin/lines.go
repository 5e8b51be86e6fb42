package builtin

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/squallstream/squall/topology"
)

// LinesConfig configures a LineSpout.
type LinesConfig struct {
	// Path is the file to read, "-" for standard input. A relative path
	// is resolved against the topology's resources directory.
	Path string
	// Field names the single output field; default "line".
	Field string
	// Input, if set, is read instead of Path (for tests and embedding).
	Input io.Reader
}

// Lines returns a factory of LineSpouts for the Builder.
func Lines(c LinesConfig) topology.SpoutFunc {
	return func() (topology.Spout, error) { return spout(NewLineSpout(c)) }
}

// LineSpout emits the lines of a file or of standard input, one per Next,
// without their line endings. It is reliable: each line's message id is
// its 1-based line number (an int), and a failed line is emitted again
// until it is acked. At end of input it stops emitting.
//
// Reading standard input blocks the task until a line arrives; a file is
// read without blocking for long. Its methods other than Done must be
// called from the task's goroutine.
type LineSpout struct {
	cfg    LinesConfig
	out    topology.SpoutCollector
	r      *bufio.Reader
	closer io.Closer
	line   int
	// pending holds emitted lines not yet acked, by line number.
	pending map[int]string
	replay  []int
	eof     bool

	// done is set once input is exhausted and every line is acked.
	done atomic.Bool
}

// NewLineSpout returns a LineSpout; it opens nothing until Open.
func NewLineSpout(c LinesConfig) (*LineSpout, error) {
	if c.Path == "" && c.Input == nil {
		return nil, fmt.Errorf("%w: path is required (\"-\" for standard input)", topology.ErrBadArgs)
	}
	if c.Field == "" {
		c.Field = "line"
	}
	return &LineSpout{cfg: c, pending: make(map[int]string)}, nil
}

// DeclareOutputs declares the default stream with one field.
func (s *LineSpout) DeclareOutputs() []topology.Stream {
	return []topology.Stream{{ID: topology.DefaultStream, Fields: []string{s.cfg.Field}}}
}

// Check checks, before the topology runs, that a relative path names a
// file of the resources directory. Absolute paths and standard input are
// the running machine's business.
func (s *LineSpout) Check(ctx *topology.CheckContext) error {
	p := s.cfg.Path
	if s.cfg.Input != nil || p == "-" || filepath.IsAbs(p) || ctx.Resources == nil {
		return nil
	}
	rel := path.Clean(filepath.ToSlash(p))
	fi, err := fs.Stat(ctx.Resources, rel)
	switch {
	case err != nil && (rel == ".." || strings.HasPrefix(rel, "../")):
		return fmt.Errorf("%w: lines spout: %q is outside the resources directory, and only that directory travels with the topology", topology.ErrMissingResource, p)
	case err != nil:
		return fmt.Errorf("%w: lines spout: %q is not in the resources directory%s", topology.ErrMissingResource, p, suggestFile(ctx.Resources, rel))
	case fi.IsDir():
		return fmt.Errorf("%w: lines spout: %q is a directory", topology.ErrMissingResource, p)
	}
	return nil
}

// suggestFile returns ` (did you mean "x"?)` for a file of fsys in name's
// directory whose name is close to name's, else "".
func suggestFile(fsys fs.FS, name string) string {
	dir, base := path.Split(name)
	entries, err := fs.ReadDir(fsys, path.Clean("./"+dir))
	if err != nil {
		return ""
	}
	best, bestDist := "", 3
	for _, e := range entries {
		if d := editDistance(base, e.Name()); !e.IsDir() && d < bestDist {
			best, bestDist = dir+e.Name(), d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Open opens the input.
func (s *LineSpout) Open(ctx *topology.TaskContext, out topology.SpoutCollector) error {
	s.out = out
	switch {
	case s.cfg.Input != nil:
		s.r = bufio.NewReader(s.cfg.Input)
	case s.cfg.Path == "-":
		s.r = bufio.NewReader(os.Stdin)
	default:
		path := s.cfg.Path
		if !filepath.IsAbs(path) && ctx != nil && ctx.ResourcesDir != "" {
			path = filepath.Join(ctx.ResourcesDir, path)
		}
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("lines spout: %w", err)
		}
		s.r, s.closer = bufio.NewReader(f), f
	}
	return nil
}

// Next emits a failed line again if there is one, else the next line.
func (s *LineSpout) Next() {
	if n := len(s.replay); n > 0 {
		id := s.replay[n-1]
		s.replay = s.replay[:n-1]
		if text, ok := s.pending[id]; ok {
			s.out.Emit(topology.DefaultStream, []any{text}, id)
		}
		return
	}
	if s.eof {
		return
	}
	text, err := s.r.ReadString('\n')
	if text != "" {
		s.line++
		text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		s.pending[s.line] = text
		s.out.Emit(topology.DefaultStream, []any{text}, s.line)
	}
	if err != nil {
		s.eof = true
		if !errors.Is(err, io.EOF) {
			s.out.ReportError(fmt.Errorf("lines spout: read %s: %w", s.cfg.Path, err))
		}
		s.done.Store(len(s.pending) == 0)
	}
}

// Ack forgets an acked line.
func (s *LineSpout) Ack(msgID any) {
	if id, ok := msgID.(int); ok {
		delete(s.pending, id)
	}
	if s.eof && len(s.pending) == 0 {
		s.done.Store(true)
	}
}

// Fail queues a failed line for replay.
func (s *LineSpout) Fail(msgID any) {
	if id, ok := msgID.(int); ok {
		if _, pending := s.pending[id]; pending {
			s.replay = append(s.replay, id)
		}
	}
}

// Close closes the file (never standard input).
func (s *LineSpout) Close() {
	if s.closer != nil {
		s.closer.Close()
		s.closer = nil
	}
}

// Done reports whether the whole input has been read and every line
// acked. It is safe to call from any goroutine.
func (s *LineSpout) Done() bool { return s.done.Load() }

// spout turns a constructor's concrete result into a factory's, keeping a
// nil instance out of the interface on error.
func spout[T topology.Spout](s T, err error) (topology.Spout, error) {
	if err != nil {
		return nil, err
	}
	return s, nil
}
