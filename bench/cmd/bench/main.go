// Command bench is the benchmark harness behind `make bench`: it builds the
// streamgate and loadgen binaries, runs the hot path's Go micro-benchmarks
// and the end-to-end scenarios, writes results/runs/<date>-<commit>.json and
// regenerates results/README.md and its charts.
//
//	bench [-short] [-results DIR]
//
// With -short (CI) it runs a reduced set in under three minutes and exits
// non-zero when a gate fails: S1 or S2 under 40 % of the lab's floor (the
// sender straight into the sink, measured first in the same run), the
// breaker not engaging under overload, a PII leak, or a line lost
// uncounted.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"streamgate/bench/harness"
	"streamgate/bench/lab"
	"streamgate/bench/report"
	"streamgate/bench/result"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	short := flag.Bool("short", false, "CI's reduced run (under 3 minutes); exits non-zero when a gate fails")
	results := flag.String("results", "results", "results directory")
	runs := flag.Int("runs", 5, "closed-loop throughput runs per scenario (median reported)")
	lines := flag.Int("lines", 2_000_000, "lines per throughput run")
	conns := flag.Int("conns", 8, "sender connections")
	latencyRate := flag.Int("latency-rate", 100_000, "open-loop rate of the latency phase, lines/s")
	latencyFor := flag.Duration("latency-for", 5*time.Second, "length of the latency phase")
	micro := flag.Bool("micro", true, "run the Go micro-benchmarks")
	save := flag.Bool("save", true, "write the run to the results directory and regenerate its README")
	profiles := flag.String("profiles", "", "directory to keep the raw CPU profiles in (go tool pprof -top DIR/S1_raw.pprof)")
	sgBin := flag.String("streamgate", "", "use this streamgate binary instead of building one (to compare builds)")
	only := flag.String("only", "", "comma-separated scenarios to run (default all), e.g. S2_filter_redact,S2D_filter_redact_disk; a partial run, so only with -save=false")
	diskBacklog := flag.Int64("disk-backlog", 512<<20, "bytes S6D_disk_backlog fills its 1 GiB disk queue with while the destination is down, from 1 MiB to less than 1 GiB")
	flag.Parse()
	if *only != "" && *save {
		return fmt.Errorf("-only runs part of the scenarios: add -save=false (a saved run would stand as the latest in %s)", filepath.Join(*results, "README.md"))
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	root, err := lab.RepoRoot()
	if err != nil {
		return err
	}
	cfg := harness.Config{
		Runs: *runs, Lines: *lines, Conns: *conns,
		LatencyRate: *latencyRate, LatencyFor: *latencyFor,
		OverloadFor: 5 * time.Second, IdleFor: 10 * time.Second,
		DiskBacklog: *diskBacklog,
		ProfileDir:  *profiles,
		Logger:      log,
	}
	if *only != "" {
		cfg.Only = strings.Split(*only, ",")
		*micro = false
	}
	if *short {
		// The median of 3 runs of 1M lines: a single run of 500k lines
		// took a tenth of a second on the floor, too short to gate on.
		cfg.Short, cfg.Runs, cfg.Lines = true, 3, min(*lines, 1_000_000)
		cfg.LatencyFor, cfg.OverloadFor = 2*time.Second, 3*time.Second
		*micro = false
	}
	bin, err := os.MkdirTemp("", "streamgate-bench-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	cfg.StreamGate = filepath.Join(bin, "streamgate")
	cfg.Loadgen = filepath.Join(bin, "loadgen")
	builds := []struct{ out, module, pkg string }{{cfg.Loadgen, "loadgen", "./cmd/loadgen"}}
	if *sgBin != "" {
		cfg.StreamGate = *sgBin
	} else {
		builds = append(builds, struct{ out, module, pkg string }{cfg.StreamGate, "control", "./cmd/streamgate"})
	}
	for _, b := range builds {
		if err := lab.Build(root, b.module, b.pkg, b.out); err != nil {
			return err
		}
	}
	h, err := harness.New(cfg)
	if err != nil {
		return err
	}
	defer h.Close()

	r := &result.Run{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Commit:     lab.Commit(root),
		Short:      *short,
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		CPU:        lab.CPUModel(),
		Cores:      runtime.NumCPU(),
		Command:    strings.Join(append([]string{"bench"}, os.Args[1:]...), " "),
		Notes: []string{
			"S1 and S2 deliver through the tcp output into the load generator's blackhole sink on loopback: the sink counts every line, checks order and PII, and measures end-to-end latency, while writing to a socket costs the proxy what any network output costs. A terminal would measure the terminal. The sink scans every line for leaks (SSNs, card numbers, e-mail addresses), in every scenario and the floor alike.",
			"Throughput is closed loop: the sender pushes " + strconv.Itoa(cfg.Lines) + " lines over " + strconv.Itoa(cfg.Conns) + " TCP connections as fast as the proxy takes them (overflow policy block, so nothing is dropped), from its first line to the last line reaching the sink; the median of " + strconv.Itoa(cfg.Runs) + " runs. The throughput scenarios' runs take turns (run 1 of each, then run 2 of each, …), each data plane idle while another is measured, and a scenario given as a fraction of another (the floor, S1, S2, its in-memory twin) gives the median of the ratios of their runs made in the same round, so that the machine's changes of speed over minutes cancel out. The latency phases follow the last round, one scenario at a time.",
			"Latency is open loop at a fixed rate, measured from each line's scheduled send time to its arrival at the sink, so a stalled proxy cannot hide its latency.",
			"The proxy, the sender and the sink share the machine's cores. The floor, F0_floor, is the sender and the sink alone, with S1's lines and connections: what the lab lets any proxy reach here.",
			"S2D, S3D and S3DA are S2 and S3 with the output's queue on disk (a 1 GiB disk buffer in a temporary -data-dir on the machine's own disk; sync interval, every second, or always, before each batch counts as queued): each is also given as a fraction of its in-memory scenario's throughput in the same run. S6D fills " +
				strconv.FormatInt(cfg.DiskBacklog>>20, 10) + " MiB of such a queue while the destination is down, then delivers it: its peak RSS shows whether memory grows with the queue.",
		},
	}
	if *micro {
		log.Info("micro-benchmarks")
		if r.Micro, err = microBenchmarks(filepath.Join(root, "dataplane")); err != nil {
			return err
		}
		log.Info("detector precision and recall")
		if r.Detectors, err = detectorScores(filepath.Join(root, "dataplane")); err != nil {
			return err
		}
	}
	scenarios, runErr := h.Run(context.Background())
	r.Scenarios = scenarios
	var lags []string
	for _, sc := range scenarios {
		if sc.OpenLoopRate > 0 && sc.P99 > 0 {
			lags = append(lags, fmt.Sprintf("%s %.3f ms", sc.Name, sc.SenderLagP99))
		}
	}
	if len(lags) > 0 {
		r.Notes = append(r.Notes, "The sender's own lag behind its schedule in the latency phases, p99: "+strings.Join(lags, ", ")+
			". It is part of the latency figures (they count from the scheduled time); on a shared 2-core VM it is mostly timer wake-up jitter.")
	}
	printSummary(r)
	if *save {
		path, err := result.Write(filepath.Join(*results, "runs"), r)
		if err != nil {
			return err
		}
		if err := report.RenderDir(*results); err != nil {
			return err
		}
		fmt.Printf("wrote %s and %s\n", path, filepath.Join(*results, "README.md"))
	}
	if runErr != nil {
		return runErr
	}
	for _, sc := range scenarios {
		if !sc.Passed {
			return fmt.Errorf("gate failed: %s: %s", sc.Name, strings.Join(sc.Failures, "; "))
		}
	}
	return nil
}

func printSummary(r *result.Run) {
	fmt.Printf("%-28s %14s %6s %9s %9s %9s %9s %12s %6s %5s\n", "scenario", "lines/s", "floor", "p50 ms", "p99 ms", "p999 ms", "RSS MB", "cpu s/M", "lost", "pii")
	for _, s := range r.Scenarios {
		fmt.Printf("%-28s %14.0f %5.0f%% %9.3f %9.3f %9.3f %9.1f %12.3f %6d %5d", s.Name, s.Throughput, 100*s.FloorFraction, s.P50, s.P99, s.P999, s.PeakRSSMB, s.CPUSPerMillion, s.Lost, s.PIILeaks)
		if s.Name == "S4_overload" {
			fmt.Printf("  breaker opened %d, bypassed %d, dropped %d", s.BreakerOpened, s.BreakerBypassed, s.DroppedCounted)
		}
		if s.Name == "S5_idle" {
			fmt.Printf("  idle cpu %.2f%%", s.IdleCPUPercent)
		}
		if s.MemoryFraction > 0 {
			fmt.Printf("  %.0f%% of %s", 100*s.MemoryFraction, s.MemoryScenario)
		}
		if s.BaseFraction > 0 {
			fmt.Printf("  %.0f%% of %s", 100*s.BaseFraction, s.BaseScenario)
		}
		if s.DiskBacklogBytes > 0 {
			fmt.Printf("  backlog %d MiB on disk, delivered at %.0f lines/s", s.DiskBacklogBytes>>20, s.DrainLinesPerS)
		}
		if !s.Passed {
			fmt.Printf("  FAILED: %s", strings.Join(s.Failures, "; "))
		}
		fmt.Println()
	}
}

// repoRoot finds the directory holding go.work.
var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+(.*)$`)

// parseBench reads a benchmark result line: its name, then value/unit pairs
// in any order (custom metrics such as ns/line come between the standard
// ones).
func parseBench(line string) (result.Micro, bool) {
	m := benchLine.FindStringSubmatch(line)
	if m == nil {
		return result.Micro{}, false
	}
	r := result.Micro{Name: m[1]}
	f := strings.Fields(m[2])
	for i := 0; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return result.Micro{}, false
		}
		switch f[i+1] {
		case "ns/op":
			r.NsPerOp = v
		case "MB/s":
			r.MBPerS = v
		case "B/op":
			r.BytesPerOp = v
		case "allocs/op":
			r.AllocsPerOp = v
		}
	}
	return r, r.NsPerOp > 0
}

// detectorScores runs the detectors' precision and recall test, which
// fails under 0.99, and reads the table it writes.
func detectorScores(dir string) (*result.DetectorScores, error) {
	f, err := os.CreateTemp("", "streamgate-precision-*.json")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestPrecisionRecall$", "./match/", "-args", "-precision-out", f.Name())
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("detector precision and recall: %v\n%s", err, out)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return nil, err
	}
	var ds result.DetectorScores
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("cannot read the precision table: %w", err)
	}
	return &ds, nil
}

// microBenchmarks runs the hot path's Go benchmarks.
func microBenchmarks(dir string) ([]result.Micro, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchtime", "300ms", "-benchmem",
		"./buffer/", "./match/", "./processor/", "./output/", "./ingest/", "./pipeline/")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("micro-benchmarks: %v\n%s", err, out)
	}
	var ms []result.Micro
	for _, l := range strings.Split(string(out), "\n") {
		if r, ok := parseBench(l); ok {
			ms = append(ms, r)
		}
	}
	return ms, nil
}
