// Package layout is the on-disk contract between a supervisor and the
// workers it launches, under storm.local.dir:
//
//	supervisor/node-id                   the supervisor's node id, kept across restarts
//	supervisor/stormdist/<storm-id>/     a topology's unpacked package:
//	    submission.json                  the accepted submission, without its bytes
//	    digest                           the package digest it was downloaded at
//	    resources/                       the unpacked resources archive (components run here)
//	    bin/topology                     the topology's own Go binary, if it has one
//	workers/<worker-id>/                 one worker process:
//	    meta.json                        what the supervisor launched it for (WorkerMeta)
//	    heartbeat                        rewritten every second by the worker (Heartbeat)
//	    pids/                            pid files of its shell children
//	    topology-secret                  the topology's worker secret (0600)
//	logs/<storm-id>/<port>/worker.log    a slot's workers' standard output and error,
//	                                     appended across restarts, kept after they stop
//	                                     until the supervisor prunes them
//	nimbus/packages/<storm-id>/          nimbus's stored packages
//
// Files are JSON and written atomically (temporary file, then rename), so
// a reader never sees half a file.
package layout

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Paths under a local directory.
func NodeIDFile(localDir string) string { return filepath.Join(localDir, "supervisor", "node-id") }
func StormDistRoot(localDir string) string {
	return filepath.Join(localDir, "supervisor", "stormdist")
}
func StormDist(localDir, stormID string) string {
	return filepath.Join(StormDistRoot(localDir), stormID)
}
func SubmissionFile(dist string) string  { return filepath.Join(dist, "submission.json") }
func DigestFile(dist string) string      { return filepath.Join(dist, "digest") }
func ResourcesDir(dist string) string    { return filepath.Join(dist, "resources") }
func GoBinary(dist string) string        { return filepath.Join(dist, "bin", "topology") }
func WorkersRoot(localDir string) string { return filepath.Join(localDir, "workers") }
func WorkerDir(localDir, workerID string) string {
	return filepath.Join(WorkersRoot(localDir), workerID)
}
func MetaFile(workerDir string) string      { return filepath.Join(workerDir, "meta.json") }
func HeartbeatFile(workerDir string) string { return filepath.Join(workerDir, "heartbeat") }
func PidDir(workerDir string) string        { return filepath.Join(workerDir, "pids") }
func SecretFile(workerDir string) string    { return filepath.Join(workerDir, "topology-secret") }
func LogsRoot(localDir string) string       { return filepath.Join(localDir, "logs") }
func WorkerLog(localDir, stormID string, port int) string {
	return filepath.Join(LogsRoot(localDir), stormID, strconv.Itoa(port), "worker.log")
}

// WorkerConfFile is the configuration the supervisor writes for a worker:
// its own, without the daemons' secrets.
func WorkerConfFile(workerDir string) string { return filepath.Join(workerDir, "worker-conf.yaml") }

// EnvsRoot holds the dependency environments built on this node.
func EnvsRoot(localDir string) string { return filepath.Join(localDir, "envs") }

// EnvsDir is the dependency cache of the workers running as uid when
// workers run as their topologies' owners: environments are shared only
// between processes of one user. Without it workers share EnvsRoot.
func EnvsDir(localDir string, uid int) string {
	return filepath.Join(EnvsRoot(localDir), "uid-"+strconv.Itoa(uid))
}

func NimbusPackages(localDir string) string {
	return filepath.Join(localDir, "nimbus", "packages")
}

// Executor is a task range, as in assignments.
type Executor struct {
	Component  string `json:"component"`
	Start, End int
}

// WorkerMeta is what a supervisor launched a worker for, written before
// the launch. After a supervisor restart it tells which running workers
// to adopt.
type WorkerMeta struct {
	WorkerID string `json:"workerId"`
	StormID  string `json:"stormId"`
	NodeID   string `json:"nodeId"`
	Port     int    `json:"port"`
	// Executors are the task ranges the worker runs.
	Executors []Executor `json:"executors"`
	// AssignmentVersion is the version of the assignment it was launched
	// for.
	AssignmentVersion int64 `json:"assignmentVersion"`
	// Pid is the worker's pid (also its process group id); 0 until it
	// started. StartTime tells a reused pid apart: the process's start
	// time as /proc gives it (clock ticks since boot, field 22 of stat).
	Pid       int    `json:"pid"`
	StartTime uint64 `json:"startTime"`
	// Binary is the executable the worker runs.
	Binary     string    `json:"binary"`
	LaunchedAt time.Time `json:"launchedAt"`
}

// Heartbeat is what a worker writes to its heartbeat file every second.
type Heartbeat struct {
	StormID string    `json:"stormId"`
	Port    int       `json:"port"`
	Pid     int       `json:"pid"`
	Time    time.Time `json:"time"`
	// Ready is set once every task of the worker started.
	Ready bool `json:"ready"`
	// MetricsAddr is the loopback host:port where the worker serves
	// /metrics, for its supervisor to gather.
	MetricsAddr string `json:"metricsAddr,omitempty"`
}

// WriteJSON writes v to path atomically.
func WriteJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

// maxJSONBytes bounds a file ReadJSON reads.
const maxJSONBytes = 64 << 20

// ReadFile reads path, which must be a regular file, not a symbolic link,
// of at most limit bytes: a worker directory belongs to the worker's user
// when workers run as their owners, and its files must not make the
// supervisor read anything else, or block on a fifo. It returns the bytes
// with the FileInfo of the file they were read from.
func ReadFile(path string, limit int64) ([]byte, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || fi.Size() > limit {
		return nil, nil, fmt.Errorf("read %s: not a regular file of at most %d bytes", path, limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, nil, fmt.Errorf("read %s: larger than %d bytes", path, limit)
	}
	return data, fi, nil
}

// ReadJSON reads path into v: a file as ReadFile reads it, of at most 64
// MiB.
func ReadJSON(path string, v any) error {
	data, _, err := ReadFile(path, maxJSONBytes)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}
