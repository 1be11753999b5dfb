package drill

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"streamgate/bench/result"
)

// FuzzTarget is a fuzz target: the package directory relative to the
// repository root, e.g. "dataplane/ingest", and the function name.
type FuzzTarget struct{ Pkg, Name string }

// ParseFuzzTargets parses the Makefile's list: "pkg:Name[:budget]" words.
func ParseFuzzTargets(s string) ([]FuzzTarget, error) {
	var out []FuzzTarget
	for _, w := range strings.Fields(s) {
		parts := strings.Split(w, ":")
		if len(parts) < 2 || parts[0] == "" || !strings.HasPrefix(parts[1], "Fuzz") || !strings.Contains(parts[0], "/") {
			return nil, fmt.Errorf("fuzz target %q: want module/package:FuzzName[:budget]", w)
		}
		out = append(out, FuzzTarget{Pkg: parts[0], Name: parts[1]})
	}
	return out, nil
}

// fuzz runs every target for FuzzTime, FuzzParallel targets at a time, and
// copies the inputs each run found into the package's testdata/fuzz, where
// `go test` replays them from then on (a crasher is written there by go
// test itself).
func (d *Drills) fuzz(ctx context.Context, sc *result.ChaosScenario) error {
	if len(d.cfg.FuzzTargets) == 0 {
		return fmt.Errorf("no fuzz targets given")
	}
	cache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return fmt.Errorf("go env GOCACHE: %w", err)
	}
	workers := max(1, runtime.GOMAXPROCS(0)/d.cfg.FuzzParallel)
	sem := make(chan struct{}, d.cfg.FuzzParallel)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range d.cfg.FuzzTargets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			outcome, ok := d.fuzzOne(ctx, t, workers, strings.TrimSpace(string(cache)))
			mu.Lock()
			defer mu.Unlock()
			fault(sc, "%s fuzzed for %s", t.Name, d.cfg.FuzzTime)
			check(sc, t.Pkg+" "+t.Name, ok, "%s", outcome)
		}()
	}
	wg.Wait()
	return nil
}

var execsRe = regexp.MustCompile(`execs: (\d+)`)

// fuzzOne runs one target and returns what happened.
func (d *Drills) fuzzOne(ctx context.Context, t FuzzTarget, workers int, cache string) (string, bool) {
	mod, rel, _ := strings.Cut(t.Pkg, "/")
	corpus := filepath.Join(cache, "fuzz", "streamgate", t.Pkg, t.Name)
	before := listDir(corpus)
	cmd := exec.CommandContext(ctx, "go", "test", "-run=^$", "-fuzz=^"+t.Name+"$",
		"-fuzztime="+d.cfg.FuzzTime.String(), fmt.Sprintf("-parallel=%d", workers), "./"+rel)
	cmd.Dir = filepath.Join(d.cfg.Repo, mod)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	execs := "?"
	if m := execsRe.FindAllSubmatch(out, -1); len(m) > 0 {
		execs = string(m[len(m)-1][1])
	}
	crashed := bytes.Contains(out, []byte("Failing input written to"))
	note := ""
	if err != nil && !crashed && took >= d.cfg.FuzzTime && bytes.Contains(out, []byte("context deadline exceeded")) {
		// Go 1.26's coordinator can report its own deadline as an error
		// when a duration ends mid-execution (golang/go#75804): no input
		// failed.
		err, note = nil, " (the spurious end-of-run deadline error of golang/go#75804 ignored)"
	}
	kept, kerr := keepCorpus(corpus, before, filepath.Join(d.cfg.Repo, t.Pkg, "testdata", "fuzz", t.Name))
	if err != nil {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		where := ""
		if crashed {
			where = "; go test wrote the failing input to testdata/fuzz/" + t.Name
		}
		return fmt.Sprintf("failed after %s (%v)%s: %s", took.Round(time.Second), err, where, tail), false
	}
	if kerr != nil {
		return fmt.Sprintf("ran %s, %s executions, no crash; cannot keep its inputs: %v", took.Round(time.Second), execs, kerr), false
	}
	return fmt.Sprintf("ran %s, %s executions, no crash%s; %d new inputs kept in testdata/fuzz/%s", took.Round(time.Second), execs, note, kept, t.Name), true
}

// listDir returns the names of the files in dir (none when it is missing).
func listDir(dir string) map[string]bool {
	names := map[string]bool{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names[e.Name()] = true
	}
	return names
}

// keepCorpus copies the corpus files of from that were not there before the
// run, and that to lacks, into to; it returns how many it copied.
func keepCorpus(from string, before map[string]bool, to string) (int, error) {
	entries, err := os.ReadDir(from)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || before[e.Name()] {
			continue
		}
		if err := os.MkdirAll(to, 0o755); err != nil {
			return n, err
		}
		dst := filepath.Join(to, e.Name())
		if _, err := os.Stat(dst); err == nil {
			continue
		}
		if err := copyFile(filepath.Join(from, e.Name()), dst); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
