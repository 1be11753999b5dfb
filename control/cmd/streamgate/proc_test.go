package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds the streamgate binary once for the test run.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "streamgate-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "streamgate")
		out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			builtBin = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v\n%s", buildErr, builtBin)
	}
	return builtBin
}

// proc is a running streamgate process whose stdout and stderr are collected.
type proc struct {
	t    *testing.T
	cmd  *exec.Cmd
	dir  string // its working directory, where up writes the Redis password
	mu   sync.Mutex
	out  []string // stdout lines
	logs []string // stderr lines
	done chan struct{}
}

// startProc runs the binary with args and env (added to a clean copy of the
// environment without REDIS_* variables), in a new temporary directory.
func startProc(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, "REDIS_", "STREAMGATE_", "LISTEN_HOST=", "CONTROL_", "ADMIN_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, dir: cmd.Dir, done: make(chan struct{})}
	var wg sync.WaitGroup
	collect := func(r io.Reader, dst *[]string) {
		defer wg.Done()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			*dst = append(*dst, sc.Text())
			p.mu.Unlock()
		}
	}
	wg.Add(2)
	go collect(stdout, &p.out)
	go collect(stderr, &p.logs)
	go func() { wg.Wait(); close(p.done) }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", args[0], strings.Join(p.Logs(), "\n"))
		}
	})
	return p
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Stdout returns the lines printed so far.
func (p *proc) Stdout() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.out...)
}

// StdoutLen is the number of lines printed so far.
func (p *proc) StdoutLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.out)
}

// Logs returns the diagnostics printed so far.
func (p *proc) Logs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logs...)
}

// waitLog waits for a log line matching re and returns its submatches.
func (p *proc) waitLog(re *regexp.Regexp) []string {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range p.Logs() {
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		select {
		case <-p.done:
			p.t.Fatalf("process exited before logging %s", re)
		case <-time.After(10 * time.Millisecond):
		}
	}
	p.t.Fatalf("no log line matching %s", re)
	return nil
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop() {
	p.t.Helper()
	p.stopWith(syscall.SIGTERM)
}

// stopWith sends sig and waits for a clean exit.
func (p *proc) stopWith(sig os.Signal) {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		p.t.Fatalf("exit after %v: %v", sig, err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
