package e2e_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/squallstream/squall/internal/procgroup"
	"github.com/squallstream/squall/internal/procstat"
	"github.com/squallstream/squall/internal/testenv"
)

// The window over which BenchmarkClusterVsLocal fits split's rate, in
// seconds after the start: past the children's start and the workers'
// warm-up, and long enough to span several of a grown-up worker's 3 s
// heartbeats.
const (
	cvlFrom = 12.0
	cvlTo   = 52.0
	// cvlRun is how long each mode runs: the window and a little more.
	cvlRun = 55 * time.Second
)

// BenchmarkClusterVsLocal compares examples/wordcount (a Go spout, the
// Python split bolt at parallelism 2, the Go count) in `squall local`
// with the same topology on a `squall dev-cluster` with two workers
// (topology.workers=2), the cluster's slots on this machine:
//
//	go test -run '^$' -bench ClusterVsLocal -benchtime 4x ./internal/e2e
//
// One dev-cluster serves the whole benchmark; each of b.N rounds runs
// local mode, then the cluster, for 55 s each. The rate of a run is the
// least-squares slope of split's executed tuples over time between 12 s
// and 52 s after the start (local mode: the process's start, reading its
// progress lines every second; cluster: `squall submit` returning, reading
// GET /api/v1/topology/{id} every second and timing a value when it is
// first seen, as workers send their statistics every 0.5 s while young
// and every 3 s after). The CPU time of the worker processes (local
// mode's one process; the cluster's workers) and of their descendants
// (the Python children) is read with each count, and its slope over the
// same window, divided by split's rate, is their CPU per sentence. It
// reports the medians of the rates (local-sentences/s,
// cluster-sentences/s), of the rounds' cluster/local ratios (cluster-%)
// and of the CPU per sentence in microseconds (local-worker-us/sentence,
// cluster-workers-us/sentence, and the children's), and logs each round
// with the load average. It needs ZooKeeper and python3, and fails
// without them.
func BenchmarkClusterVsLocal(b *testing.B) {
	if _, err := exec.LookPath("python3"); err != nil {
		b.Fatalf("python3 runs examples/wordcount's split bolt: %v", err)
	}
	wordcount, err := filepath.Abs(filepath.Join("..", "..", "examples", "wordcount"))
	if err != nil {
		b.Fatal(err)
	}
	d := startDevCluster(b, testenv.FreePorts(b, 2)...)
	var locals, clusters []wordCountRun
	var ratios []float64
	for b.Loop() {
		localLoad := loadAverage()
		local := localWordCount(b, wordcount)
		clusterLoad := loadAverage()
		cluster := clusterWordCount(b, d, wordcount)
		locals = append(locals, local)
		clusters = append(clusters, cluster)
		ratios = append(ratios, 100*cluster.rate/local.rate)
		b.Logf("round %d: local %v (load %s), cluster %v (load %s): %.0f%%",
			len(ratios), local, localLoad, cluster, clusterLoad, 100*cluster.rate/local.rate)
	}
	b.ReportMetric(0, "ns/op") // a round's time says nothing
	b.ReportMetric(medianOf(locals, wordCountRun.sentencesPerSec), "local-sentences/s")
	b.ReportMetric(medianOf(clusters, wordCountRun.sentencesPerSec), "cluster-sentences/s")
	b.ReportMetric(median(ratios), "cluster-%")
	b.ReportMetric(medianOf(locals, wordCountRun.workerMicros), "local-worker-us/sentence")
	b.ReportMetric(medianOf(clusters, wordCountRun.workerMicros), "cluster-workers-us/sentence")
	b.ReportMetric(medianOf(locals, wordCountRun.childMicros), "local-children-us/sentence")
	b.ReportMetric(medianOf(clusters, wordCountRun.childMicros), "cluster-children-us/sentence")
}

// wordCountRun is what one run of the word count measured: split's rate
// in sentences per second, and the CPU time per sentence, in
// microseconds, of the worker processes and of their children.
type wordCountRun struct {
	rate, worker, children float64
}

func (r wordCountRun) sentencesPerSec() float64 { return r.rate }
func (r wordCountRun) workerMicros() float64    { return r.worker }
func (r wordCountRun) childMicros() float64     { return r.children }

func (r wordCountRun) String() string {
	return fmt.Sprintf("%.0f sentences/s, workers %.1f us/sentence, children %.1f us/sentence", r.rate, r.worker, r.children)
}

func medianOf(runs []wordCountRun, f func(wordCountRun) float64) float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	return median(xs)
}

// cpuMeter samples the CPU time used so far by some processes and, apart,
// by their descendants, in microseconds, to fit its rates with slope.
type cpuMeter struct {
	own, descendants []sample
}

// read samples the CPU time of roots and their descendants, at seconds
// after the run's start.
func (m *cpuMeter) read(at float64, roots []int) {
	own, desc := treeCPU(roots)
	m.own = append(m.own, sample{at, own.Microseconds()})
	m.descendants = append(m.descendants, sample{at, desc.Microseconds()})
}

// run returns rate with the CPU time per sentence in the window.
func (m *cpuMeter) run(rate float64) wordCountRun {
	own, _ := slope(m.own, cvlFrom, cvlTo)
	desc, _ := slope(m.descendants, cvlFrom, cvlTo)
	return wordCountRun{rate: rate, worker: own / rate, children: desc / rate}
}

// treeCPU returns the CPU time used so far by the processes roots, and
// by all their descendants together. A process that ended between the
// reads counts nothing.
func treeCPU(roots []int) (own, descendants time.Duration) {
	parent, _ := processParents()
	isRoot := map[int]bool{}
	for _, pid := range roots {
		isRoot[pid] = true
	}
	descends := func(pid int) bool {
		for p := parent[pid]; p > 1; p = parent[p] {
			if isRoot[p] {
				return true
			}
		}
		return false
	}
	for pid := range parent {
		switch {
		case isRoot[pid]:
			if s, err := procstat.Read(pid); err == nil {
				own += s.CPU
			}
		case descends(pid):
			if s, err := procstat.Read(pid); err == nil {
				descendants += s.CPU
			}
		}
	}
	return own, descendants
}

// sample is a reading of a counter, at seconds after a run's start.
type sample struct {
	at    float64
	count int64
}

// splitProgress matches split's line in `squall local`'s progress:
// "12s split bolt emitted=... executed=N ...".
var splitProgress = regexp.MustCompile(`^\S+ split bolt .*\bexecuted=(\d+)\b`)

// localWordCount runs `squall local` on the word count for cvlRun and
// returns split's rate in the window, and the CPU the process and its
// children spent per sentence.
func localWordCount(b *testing.B, wordcount string) wordCountRun {
	b.Helper()
	dir := b.TempDir()
	// The progress lines go to stderr, the end's summary to stdout.
	logPath := filepath.Join(dir, "stdout.log")
	stdout, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer stdout.Close()
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(squallBin, "local", "--duration", cvlRun.String(), "--interval", "1s", wordcount)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, w
	start := time.Now()
	proc, err := procgroup.Start(cmd)
	w.Close()
	if err != nil {
		b.Fatal(err)
	}
	defer proc.Stop(testenv.Patience(10 * time.Second))

	// The reader times each progress line as it arrives; it ends when the
	// process's stderr does.
	var samples []sample
	var cpu cpuMeter
	var output []string
	read := make(chan error, 1)
	go func() {
		s := bufio.NewScanner(r)
		for s.Scan() {
			at := time.Since(start).Seconds()
			output = append(output, s.Text())
			if m := splitProgress.FindStringSubmatch(s.Text()); m != nil {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				samples = append(samples, sample{at, n})
				cpu.read(at, []int{proc.Pid()})
			}
		}
		read <- s.Err()
	}()
	select {
	case <-proc.Done():
	case <-time.After(cvlRun + testenv.Patience(60*time.Second)):
		b.Fatalf("squall local did not stop %v after its --duration %v", time.Since(start)-cvlRun, cvlRun)
	}
	select {
	case err := <-read:
		if err != nil {
			b.Fatalf("reading squall local's stderr: %v", err)
		}
	case <-time.After(testenv.Patience(30 * time.Second)):
		// A child of it still holds its stderr open.
		b.Fatalf("squall local exited but its stderr did not end")
	}
	if st := proc.Status(); !st.Success() {
		b.Fatalf("squall local: %v\n%s\n%s", st, strings.Join(lastN(output, 20), "\n"), tail(logPath, 40))
	}
	rate, n := slope(samples, cvlFrom, cvlTo)
	if n < 5 {
		b.Fatalf("squall local printed split's progress %d times between %vs and %vs, want 5 or more:\n%s",
			n, cvlFrom, cvlTo, strings.Join(lastN(output, 40), "\n"))
	}
	return cpu.run(rate)
}

// clusterWordCount submits the word count to d with two workers, reads
// split's rate in the window and the CPU its workers and their children
// spent per sentence, then kills the topology and waits until its workers
// are gone.
func clusterWordCount(b *testing.B, d *devCluster, wordcount string) wordCountRun {
	b.Helper()
	submit := d.command("submit", "-c", "topology.workers=2", wordcount)
	var stderr strings.Builder
	submit.Stderr = &stderr
	out, err := submit.Output()
	start := time.Now()
	if err != nil {
		b.Fatalf("submit: %v\n%s%s", err, out, stderr.String())
	}
	var id string
	if _, err := fmt.Sscanf(string(out), "Submitted topology wordcount as %s", &id); err != nil {
		b.Fatalf("submit printed %q: %v", out, err)
	}

	var samples []sample
	var cpu cpuMeter
	var errs []string
	last := int64(-1)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for time.Since(start) < time.Duration(cvlTo+1)*time.Second {
		<-tick.C
		d.checkRunning()
		cpu.read(time.Since(start).Seconds(), d.workerPids())
		var page topologyPage
		asked := time.Now()
		err := d.get("/api/v1/topology/"+id, 5*time.Second, &page)
		// The answer is as of some instant between the question and the
		// answer: take the middle.
		at := (asked.Sub(start) + time.Since(asked)/2).Seconds()
		if err != nil {
			errs = append(errs, fmt.Sprintf("%.1fs: %v", at, err))
			continue
		}
		for _, bolt := range page.Bolts {
			// A heartbeat brings a new value: time it when first seen.
			if bolt.ID == "split" && bolt.Executed != last {
				samples = append(samples, sample{at, bolt.Executed})
				last = bolt.Executed
			}
		}
	}
	if len(errs) > 0 {
		b.Logf("%d REST readings of %s failed; the first: %s", len(errs), id, errs[0])
	}

	kill := d.command("kill", "-w", "0", "wordcount")
	if out, err := kill.CombinedOutput(); err != nil {
		b.Fatalf("kill: %v\n%s", err, out)
	}
	// The next round starts on a cluster at rest.
	testenv.WaitUntil(b, 60*time.Second, "the word count to be gone from the cluster", func() bool {
		d.checkRunning()
		var summary struct {
			Topologies []struct{ ID string } `json:"topologies"`
		}
		return d.get("/api/v1/topology/summary", 5*time.Second, &summary) == nil &&
			len(summary.Topologies) == 0 && len(d.workerPids()) == 0
	})

	rate, n := slope(samples, cvlFrom, cvlTo)
	if n < 5 {
		b.Fatalf("split's executed changed %d times in REST between %vs and %vs, want 5 or more: %v",
			n, cvlFrom, cvlTo, samples)
	}
	return cpu.run(rate)
}

// slope returns the least-squares slope of count over time of the samples
// taken from from to to seconds, and how many there were; NaN for fewer
// than two at distinct times.
func slope(samples []sample, from, to float64) (float64, int) {
	var in []sample
	for _, s := range samples {
		if s.at >= from && s.at <= to {
			in = append(in, s)
		}
	}
	var meanT, meanC float64
	for _, s := range in {
		meanT += s.at
		meanC += float64(s.count)
	}
	meanT /= float64(len(in))
	meanC /= float64(len(in))
	var cov, vari float64
	for _, s := range in {
		cov += (s.at - meanT) * (float64(s.count) - meanC)
		vari += (s.at - meanT) * (s.at - meanT)
	}
	return cov / vari, len(in)
}

// median returns the median of xs (NaN for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func lastN(lines []string, n int) []string {
	return lines[max(0, len(lines)-n):]
}

func TestSlope(t *testing.T) {
	line := func(at ...float64) []sample {
		var s []sample
		for _, a := range at {
			s = append(s, sample{a, int64(100 + 20000*a)})
		}
		return s
	}
	tests := []struct {
		name    string
		samples []sample
		want    float64
		wantN   int
	}{
		{"a line", line(12, 13, 14.5, 20, 52), 20000, 5},
		{"samples outside the window do not count", append(line(13, 20, 30), sample{5, 0}, sample{53, 0}), 20000, 3},
		// Readings equally late in the middle shift the line, not its slope.
		{"a late middle", []sample{{12, 100}, {22, 1100 - 10}, {32, 2100 - 10}, {42, 3100}}, 100, 4},
		// Times -12, -4, 4, 12 around their mean, counts -200, -200,
		// -200, 600 around theirs: 9600 / 320.
		{"a step late in the window", []sample{{12, 0}, {20, 0}, {28, 0}, {36, 800}}, 30, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := slope(tt.samples, cvlFrom, cvlTo)
			if math.Abs(got-tt.want) > 1e-6*math.Abs(tt.want) || n != tt.wantN {
				t.Errorf("slope(%v) = %v, %d, want %v, %d", tt.samples, got, n, tt.want, tt.wantN)
			}
		})
	}
	if got, n := slope(line(1, 2, 60), cvlFrom, cvlTo); !math.IsNaN(got) || n != 0 {
		t.Errorf("slope of no samples in the window = %v, %d, want NaN, 0", got, n)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.want)
		}
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Errorf("median(nil) = %v, want NaN", got)
	}
}
