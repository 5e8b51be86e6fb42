package cli

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/squallstream/squall/auth/redact"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/workerd"
)

// localLogFile opens squall local's --log-file: the worker's log in the
// line format a cluster's workers write (so squall logs --file filters it
// by component and task), rotated as squall.log.max.size.mb and
// squall.log.max.backups say, and its event log beside it. It returns the
// loggers and what closes both files.
func localLogFile(path string, conf topology.Config, stormID string, level slog.Level) (log, events *slog.Logger, closeAll func(), err error) {
	rot, err := logfile.RotationOf(conf)
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := logfile.Open(path, rot)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	// The worker names its topology on every line itself.
	log = slog.New(logline.NewHandler(f, &slog.HandlerOptions{Level: level, ReplaceAttr: redact.Attr}))
	events, ef, err := workerd.OpenEventLog(filepath.Join(filepath.Dir(path), workerd.EventLogName), conf, stormID, 0)
	if err != nil {
		f.Close()
		return nil, nil, nil, fmt.Errorf("--log-file: %w", err)
	}
	return log, events, func() { ef.Close(); f.Close() }, nil
}
