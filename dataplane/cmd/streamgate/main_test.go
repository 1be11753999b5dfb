package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds the streamgate binary once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "streamgate")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var tcpAddrRE = regexp.MustCompile(`tcp=(127\.0\.0\.1:\d+)`)

// TestBinaryConsole runs the real binary as the README does: send a line over
// TCP, see it on stdout; the DEBUG line is filtered and the SSN redacted by
// the manifest; SIGTERM exits cleanly after flushing.
func TestBinaryConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "default_pipeline",
		"processors": [
			{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
			{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}
		]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "0",
		"-http-port", "off", "-admin-port", "0", "-manifest", manifestPath)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	addr := make(chan string, 1)
	var logs strings.Builder
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.WriteString(sc.Text() + "\n")
			if m := tcpAddrRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	var tcp string
	select {
	case tcp = <-addr:
	case <-time.After(30 * time.Second):
		t.Fatal("the data plane did not report its TCP address")
	}

	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "DEBUG: user login attempt\nINFO: payment processed\nSSN: 123-45-6789\n")
	conn.Close()

	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for _, want := range []string{"INFO: payment processed", "SSN: XXX-XX-XXXX"} {
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("stdout line: got %q; want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no stdout line; want %q", want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	<-logsDone
	if extra, ok := <-lines; ok {
		t.Fatalf("unexpected stdout line %q (DEBUG must be filtered)", extra)
	}
	for _, want := range []string{"shutting down", "received=3", "filtered=1"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestValidateCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"version":"1","pipelines":[{"name":"p","processors":[{"id":"f","type":"filter","params":{"value":"DEBUG"}}]}]}`), 0o644)
	os.WriteFile(bad, []byte(`{"version":"1","pipelines":[{"name":"p","batch_size":0,"processors":[{"id":"r","type":"redact","params":{"pattern":"("}}]}]}`), 0o644)

	out, err := exec.Command(bin, "validate", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "is valid: 1 processors") {
		t.Fatalf("validate good: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "validate", bad)
	cmd.Stdout = io.Discard
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("validate bad: got %v; want exit status 1", err)
	}
	for _, want := range []string{"pipelines[0].batch_size", `processors[0] (id "r").params.pattern`} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("validate bad: stderr lacks %q:\n%s", want, stderr.String())
		}
	}
}
