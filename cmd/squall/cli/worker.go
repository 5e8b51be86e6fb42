package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/squallstream/squall/internal/buildinfo"
	"github.com/squallstream/squall/topology"
	"github.com/squallstream/squall/workerd"
)

type workerOptions struct {
	configFlags
	stormID, node, workerID, localDir, logLevel string
	logFile                                     string
	port                                        int
}

// newWorkerCmd is the worker process a supervisor launches for one slot.
func newWorkerCmd(deps *Options) *cobra.Command {
	var o workerOptions
	cmd := &cobra.Command{
		Use:    "worker",
		Short:  "Run one worker of a topology (launched by a supervisor)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := o.load()
			if err != nil {
				return err
			}
			var logTo io.Writer = os.Stderr
			if o.logFile != "" {
				w, restore, err := captureOutput(o.logFile, conf)
				if err != nil {
					return err
				}
				defer restore()
				logTo = w
			}
			// Worker logs are in logline's format, so that the
			// logviewer and squall logs filter them by component and task.
			log, level, err := loglineLoggerTo(logTo, o.logLevel)
			if err != nil {
				return err
			}
			if o.stormID == "" || o.node == "" || o.workerID == "" || o.port <= 0 {
				return errors.New("worker needs --storm-id, --node, --port and --worker-id")
			}
			localDir := o.localDir
			if localDir == "" {
				localDir = conf.String(topology.KeyLocalDir, "squall-local")
			}
			log = log.With("worker", o.workerID)
			log.Info("worker process", "version", buildinfo.String(), "topology", o.stormID, "node", o.node, "port", o.port)
			state, err := workerZooKeeperState(conf, log)
			if err != nil {
				return err
			}
			defer state.Close()
			err = workerd.RunProcess(cmd.Context(), workerd.ProcessConfig{
				StormID: o.stormID, NodeID: o.node, Port: o.port, WorkerID: o.workerID, LocalDir: localDir,
				Conf: conf, Registry: deps.Registry, State: state, Host: hostname(conf), Logger: log, Level: level,
				EventLog: eventLogBeside(o.logFile),
			})
			if errors.Is(err, workerd.ErrReassigned) {
				log.Info("worker stopping", "reason", err)
				return nil // the supervisor starts what the new assignment needs
			}
			if err != nil {
				return fmt.Errorf("worker %s: %w", o.workerID, err)
			}
			log.Info("worker stopped")
			return nil
		},
	}
	f := cmd.Flags()
	o.configFlags.register(f)
	f.StringVar(&o.stormID, "storm-id", "", "id of the topology")
	f.StringVar(&o.node, "node", "", "id of the supervisor's node")
	f.IntVar(&o.port, "port", 0, "the slot's port, where the other workers send tuples")
	f.StringVar(&o.workerID, "worker-id", "", "id of this worker (its directory under storm.local.dir/workers)")
	f.StringVar(&o.localDir, "local-dir", "", "storm.local.dir (default from the configuration)")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.logFile, "log-file", "", "write all output to this file, rotated by size (squall.log.max.size.mb, squall.log.max.backups)")
	return cmd
}

// eventLogBeside returns the path of the worker's event log, beside its
// log file as Storm keeps it; "" without a log file.
func eventLogBeside(logFile string) string {
	if logFile == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(logFile), workerd.EventLogName)
}
