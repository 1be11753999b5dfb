// Command chaos runs the fault drills behind `make chaos`: it builds the
// streamgate and loadgen binaries, drives them with faults injected, writes
// results/chaos/<date>-<commit>.json and regenerates results/README.md.
//
//	chaos [-short] [-only a,b] [-fuzztime 5m] [-results DIR]
//
// It exits non-zero when a drill fails: a line lost uncounted, a crash, or
// a fault not handled as documented.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/report"
	"streamgate/bench/result"
	"streamgate/chaos/drill"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

func run() error {
	short := flag.Bool("short", false, "CI's subset (about 3 minutes): one Redis restart, one sink outage, one Kafka broker restart, one batch of bad input, the slowbody and halflines memory attacks, a SIGKILL with a disk buffer during a short sink outage, a dead-letter storm; with -only, the named drills' short versions")
	only := flag.String("only", "", "comma-separated drills to run (default all): "+strings.Join(drill.Names(), ", "))
	results := flag.String("results", "results", "results directory")
	save := flag.Bool("save", true, "write the run to the results directory and regenerate its README")
	fuzzTime := flag.Duration("fuzztime", 0, "how long each fuzz target runs in the fuzz drill (0: skip it)")
	fuzzParallel := flag.Int("fuzz-parallel", 2, "fuzz targets run at once (each gets GOMAXPROCS/this workers)")
	fuzzTargets := flag.String("fuzz-targets", "", "the fuzz targets, as the Makefile lists them (module/package:FuzzName[:budget] ...)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	root, err := lab.RepoRoot()
	if err != nil {
		return err
	}
	targets, err := drill.ParseFuzzTargets(*fuzzTargets)
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "streamgate-chaos-bin")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	cfg := drill.Config{
		StreamGate: filepath.Join(bin, "streamgate"), Loadgen: filepath.Join(bin, "loadgen"),
		Short: *short, FuzzTime: *fuzzTime, FuzzParallel: *fuzzParallel, FuzzTargets: targets, Repo: root,
		Logger: log,
	}
	if err := lab.Build(root, "control", "./cmd/streamgate", cfg.StreamGate); err != nil {
		return err
	}
	if err := lab.Build(root, "loadgen", "./cmd/loadgen", cfg.Loadgen); err != nil {
		return err
	}
	redisVersion := ""
	if p, err := exec.LookPath("redis-server"); err == nil {
		cfg.RedisServer = p
		if out, err := exec.Command(p, "--version").Output(); err == nil {
			redisVersion = strings.TrimSpace(string(out))
			if i := strings.Index(redisVersion, " sha="); i > 0 {
				redisVersion = redisVersion[:i]
			}
		}
	}
	d, err := drill.New(cfg)
	if err != nil {
		return err
	}
	defer d.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &result.ChaosRun{
		Date:        time.Now().UTC().Format(time.RFC3339),
		Commit:      lab.Commit(root),
		Short:       *short,
		GoVersion:   runtime.Version(),
		CPU:         lab.CPUModel(),
		Cores:       runtime.NumCPU(),
		Command:     strings.Join(append([]string{"chaos"}, os.Args[1:]...), " "),
		RedisServer: redisVersion,
	}
	var names []string
	if *only != "" {
		names = strings.Split(*only, ",")
	}
	scenarios, runErr := d.Run(ctx, names)
	r.Scenarios = scenarios
	printSummary(scenarios)
	if *save && len(scenarios) > 0 {
		path, err := result.WriteChaos(filepath.Join(*results, "chaos"), r)
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
	var failed []string
	for _, sc := range scenarios {
		if !sc.Passed {
			failed = append(failed, sc.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("failed: %s", strings.Join(failed, ", "))
	}
	return nil
}

func printSummary(scs []result.ChaosScenario) {
	fmt.Printf("%-24s %7s %10s %10s %10s %10s %10s %8s %9s  %s\n", "drill", "faults", "load/s", "sent", "delivered", "filtered", "dropped", "lost", "recover", "passed")
	for _, s := range scs {
		fmt.Printf("%-24s %7d %10.0f %10d %10d %10d %10d %8d %8.2fs  %v\n",
			s.Name, s.FaultsInjected, s.LoadLinesPerS, s.Sent, s.Delivered, s.Filtered, s.Dropped, s.LostUncounted, s.RecoveryS, s.Passed)
		for _, f := range s.Faults {
			fmt.Printf("    fault %s\n", f)
		}
		for _, c := range s.Cases {
			mark := "ok  "
			if !c.Passed {
				mark = "FAIL"
			}
			fmt.Printf("    %s %s: %s\n", mark, c.Name, c.Outcome)
		}
		for _, f := range s.Failures {
			fmt.Printf("    FAIL %s\n", f)
		}
	}
}
