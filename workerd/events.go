package workerd

import (
	"io"
	"log/slog"

	"github.com/squallstream/squall/cluster"
	"github.com/squallstream/squall/internal/logfile"
	"github.com/squallstream/squall/internal/logline"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/worker"
)

// Storm's keys bounding a worker's event log: its size before it is
// rotated, and how many files (itself included) are kept.
const (
	KeyEventLogRotationMB = "topology.eventlogger.rotation.size.mb"
	KeyEventLogRetained   = "topology.eventlogger.max.retained.files"
)

// EventLogName is the worker's event log's name, beside worker.log, as
// Storm names it.
const EventLogName = "events.log"

// OpenEventLog opens the event log at path, rotated as conf says (Storm's
// defaults: 100 MB files, 5 kept), and returns a logger writing lines of
// the worker log's format there, for the logviewer and squall logs.
func OpenEventLog(path string, conf topology.Config, stormID string, port int) (*slog.Logger, io.Closer, error) {
	rot := logfile.Rotation{
		MaxSizeMB:  max(conf.Int(KeyEventLogRotationMB, 100), 1),
		MaxBackups: max(conf.Int(KeyEventLogRetained, 5)-1, 0),
	}
	f, err := logfile.Open(path, rot)
	if err != nil {
		return nil, nil, err
	}
	l := slog.New(logline.NewHandler(f, nil)).With(logline.KeyTopology, stormID, logline.KeyPort, port)
	return l, f, nil
}

// debugOptions converts the record's debug options for the worker.
func debugOptions(rec cluster.TopologyRecord) map[string]worker.DebugOption {
	out := make(map[string]worker.DebugOption, len(rec.Debug))
	for comp, o := range rec.Debug {
		out[comp] = worker.DebugOption{Enable: o.Enable, SamplingPct: o.SamplingPct}
	}
	return out
}
