package cli

import (
	"github.com/squallstream/squall/auth/redact"

	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"

	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/topology"
)

// logFlags say where a daemon logs: stderr, where a service manager
// (systemd's journal) bounds it, or a file of its own, rotated by size
// (squall.log.max.size.mb, squall.log.max.backups).
type logFlags struct {
	level string
	file  string
}

func (f *logFlags) register(fs *pflag.FlagSet, levelUsage string) {
	fs.StringVar(&f.level, "log-level", "info", levelUsage)
	fs.StringVar(&f.file, "log-file", "", "log to this `file`, rotated by size (squall.log.max.size.mb, squall.log.max.backups), instead of stderr")
}

// open returns the daemon's logger and what closes its file.
func (f *logFlags) open(conf topology.Config) (*slog.Logger, func(), error) {
	l, err := parseLogLevel(f.level)
	if err != nil {
		return nil, nil, err
	}
	var w io.Writer = os.Stderr
	closeLog := func() {}
	if f.file != "" {
		rot, err := logfile.RotationOf(conf)
		if err != nil {
			return nil, nil, err
		}
		lf, err := logfile.Open(f.file, rot)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		w, closeLog = lf, func() { lf.Close() }
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l, ReplaceAttr: redact.Attr})), closeLog, nil
}

// captureOutput sends everything the process writes to its standard
// output and error into the rotated log file at path: what its Go
// components print, and what else writes there. It returns the log's
// writer, for the process's logger (its children's stderr arrives there),
// and what restores them; crash reports still reach the original stderr.
func captureOutput(path string, conf topology.Config) (io.Writer, func(), error) {
	rot, err := logfile.RotationOf(conf)
	if err != nil {
		return nil, nil, err
	}
	w, stop, err := logfile.Capture(path, rot)
	if err != nil {
		return nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	return w, func() { stop() }, nil
}

// loglineLoggerTo returns a logger writing lines of internal/logline's
// format to w at the named level, and the level, which may change.
func loglineLoggerTo(w io.Writer, level string) (*slog.Logger, *slog.LevelVar, error) {
	l, err := parseLogLevel(level)
	if err != nil {
		return nil, nil, err
	}
	lv := new(slog.LevelVar)
	lv.Set(l)
	return slog.New(logline.NewHandler(w, &slog.HandlerOptions{Level: lv, ReplaceAttr: redact.Attr})), lv, nil
}

// parseLogLevel reads a --log-level value.
func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
