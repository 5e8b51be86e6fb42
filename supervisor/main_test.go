package supervisor

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/layout"
	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/zktest"
)

// The test binary doubles as the worker the supervisor launches: run as
// `<test binary> worker --storm-id … [config flags]`, TestMain plays a
// worker following the contract (heartbeats in its worker directory,
// clean exit on SIGTERM), misbehaving as the test's control directory
// tells it. It also plays a worker's shell child left behind.
const (
	// controlEnv names the test's control directory, where fake workers
	// read their mode and record what they are.
	controlEnv = "SUPERVISOR_TEST_CONTROL"
	// leftoverEnv makes the test binary a shell child that records its pid
	// in the pid directory named by the variable and ignores SIGTERM.
	leftoverEnv = "SUPERVISOR_TEST_LEFTOVER"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(fakeWorker(os.Args[2:]))
	}
	if dir := os.Getenv(leftoverEnv); dir != "" {
		os.Exit(leftover(dir))
	}
	os.Exit(zktest.Main(m))
}

// workerMode is how a fake worker behaves, read at its start from
// <control>/mode-<storm-id>.json; without the file it behaves.
type workerMode struct {
	// BeatEvery is the heartbeat period; default 50ms.
	BeatEvery time.Duration `json:"beatEvery"`
	// ExitAfter makes it exit with status 3 after this long.
	ExitAfter time.Duration `json:"exitAfter"`
	// StopBeatAfter makes it stop heartbeating after this long.
	StopBeatAfter time.Duration `json:"stopBeatAfter"`
	// NoBeat: never heartbeat.
	NoBeat bool `json:"noBeat"`
	// IgnoreTerm: ignore SIGTERM.
	IgnoreTerm bool `json:"ignoreTerm"`
	// Leftover: start a child in its own process group that records its
	// pid in the pid directory and ignores SIGTERM, as a shell child the
	// worker fails to stop.
	Leftover bool `json:"leftover"`
}

// launchRecord is what a fake worker records about how it was started,
// in <control>/launches/<pid>.json.
type launchRecord struct {
	Pid   int      `json:"pid"`
	Exe   string   `json:"exe"`
	Args  []string `json:"args"`
	Dir   string   `json:"dir"`
	Start uint64   `json:"start"`
	// Time is when it started.
	Time time.Time `json:"time"`
	// MaxProcsEnv is its GOMAXPROCS variable, MaxProcs what its runtime
	// made of it.
	MaxProcsEnv string `json:"maxProcsEnv"`
	MaxProcs    int    `json:"maxProcs"`
}

func fakeWorker(args []string) int {
	control := os.Getenv(controlEnv)
	if control == "" {
		fmt.Fprintln(os.Stderr, "fake worker: no", controlEnv)
		return 2
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	stormID := fs.String("storm-id", "", "")
	node := fs.String("node", "", "")
	port := fs.Int("port", 0, "")
	workerID := fs.String("worker-id", "", "")
	localDir := fs.String("local-dir", "", "")
	fs.String("config", "", "")
	fs.String("log-file", "", "")
	fs.Func("c", "", func(string) error { return nil })
	if err := fs.Parse(args); err != nil || *stormID == "" || *node == "" || *port == 0 || *workerID == "" || *localDir == "" {
		fmt.Fprintln(os.Stderr, "fake worker: bad arguments", args, err)
		return 2
	}
	if err := registerProc(control); err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 2
	}
	var mode workerMode
	if err := layout.ReadJSON(filepath.Join(control, "mode-"+*stormID+".json"), &mode); err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 2
	}
	// Recorded once the mode is read: a test seeing the record may change
	// the mode for the next launches.
	exe, _ := os.Executable()
	wd, _ := os.Getwd()
	start, _ := procgroup.StartTime(os.Getpid())
	rec := launchRecord{Pid: os.Getpid(), Exe: exe, Args: os.Args[1:], Dir: wd, Start: start, Time: time.Now(),
		MaxProcsEnv: os.Getenv("GOMAXPROCS"), MaxProcs: runtime.GOMAXPROCS(0)}
	if err := layout.WriteJSON(filepath.Join(control, "launches", strconv.Itoa(os.Getpid())+".json"), rec); err != nil {
		fmt.Fprintln(os.Stderr, "fake worker:", err)
		return 2
	}
	if mode.BeatEvery == 0 {
		mode.BeatEvery = 50 * time.Millisecond
	}
	fmt.Println("fake worker started", *stormID, *port)

	term := make(chan os.Signal, 1)
	if mode.IgnoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(term, syscall.SIGTERM)
	}
	dir := layout.WorkerDir(*localDir, *workerID)
	if mode.Leftover {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), leftoverEnv+"="+layout.PidDir(dir))
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fake worker:", err)
			return 2
		}
		go cmd.Wait()
	}
	beat := func() {
		hb := layout.Heartbeat{StormID: *stormID, Port: *port, Pid: os.Getpid(), Time: time.Now(), Ready: true}
		if err := layout.WriteJSON(layout.HeartbeatFile(dir), hb); err != nil {
			fmt.Fprintln(os.Stderr, "fake worker:", err)
		}
	}
	beating := !mode.NoBeat
	if beating {
		beat()
	}
	tick := time.NewTicker(mode.BeatEvery)
	var exit, stopBeat <-chan time.Time
	if mode.ExitAfter > 0 {
		exit = time.After(mode.ExitAfter)
	}
	if mode.StopBeatAfter > 0 {
		stopBeat = time.After(mode.StopBeatAfter)
	}
	for {
		select {
		case <-term:
			fmt.Println("fake worker stopping")
			return 0
		case <-exit:
			fmt.Println("fake worker failing")
			return 3
		case <-stopBeat:
			beating = false
		case <-tick.C:
			if beating {
				beat()
			}
		}
	}
}

// leftover plays a shell child that a worker leaves behind.
func leftover(pidDir string) int {
	signal.Ignore(syscall.SIGTERM)
	if err := registerProc(os.Getenv(controlEnv)); err != nil {
		return 2
	}
	if err := os.WriteFile(filepath.Join(pidDir, strconv.Itoa(os.Getpid())), nil, 0o644); err != nil {
		return 2
	}
	time.Sleep(time.Hour)
	return 0
}

// registerProc records the calling process in <control>/procs, so that the
// test kills it whatever happens.
func registerProc(control string) error {
	start, err := procgroup.StartTime(os.Getpid())
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(control, "procs", strconv.Itoa(os.Getpid())), []byte(strconv.FormatUint(start, 10)), 0o644)
}

// writeMode sets the behaviour of the fake workers of a topology started
// from now on.
func writeMode(t *testing.T, control, stormID string, m workerMode) {
	t.Helper()
	if err := layout.WriteJSON(filepath.Join(control, "mode-"+stormID+".json"), m); err != nil {
		t.Fatal(err)
	}
}

// launches returns the fake workers started so far, oldest first.
func launches(t *testing.T, control string) []launchRecord {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(control, "launches"))
	if err != nil {
		t.Fatal(err)
	}
	var out []launchRecord
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".json" {
			continue // a temporary file being written
		}
		var r launchRecord
		data, err := os.ReadFile(filepath.Join(control, "launches", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	sortByTime(out)
	return out
}
