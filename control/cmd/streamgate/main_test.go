package main

import (
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"streamgate/dataplane/match"
)

var tcpAddrRE = regexp.MustCompile(`tcp=(127\.0\.0\.1:\d+)`)

// TestDataplaneConsole runs `streamgate dataplane` with a manifest file: send
// lines over TCP, see the kept ones on stdout, DEBUG filtered and the SSN
// redacted; SIGTERM exits cleanly after flushing.
func TestDataplaneConsole(t *testing.T) {
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "default_pipeline",
		"processors": [
			{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
			{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}
		]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "0",
		"-http-port", "off", "-admin-port", "0", "-manifest", manifestPath)
	tcp := p.waitLog(tcpAddrRE)[1]
	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "DEBUG: user login attempt\nINFO: payment processed\nSSN: 123-45-6789\n")
	conn.Close()
	want := []string{"INFO: payment processed", "SSN: XXX-XX-XXXX"}
	waitUntil(t, "two lines on stdout", func() bool { return len(p.Stdout()) >= 2 })
	p.stop()
	if got := p.Stdout(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stdout: got %q; want %q", got, want)
	}
	logs := strings.Join(p.Logs(), "\n")
	for _, want := range []string{"shutting down", "received=3", "filtered=1"} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
}

func TestValidateCommand(t *testing.T) {
	bin := binary(t)
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

	// JSON that does not decode: the line and column; a missing file:
	// cannot open, not an invalid manifest; -h: the usage.
	syntax := filepath.Join(dir, "syntax.json")
	os.WriteFile(syntax, []byte("{\"version\": \"1\",\n \"pipelines\": [\n  {\"name\": \"p\",, }\n ]}"), 0o644)
	// Unknown fields and a value of the wrong type: all of them, each with
	// its line, column and path, as the README shows.
	typo := filepath.Join(dir, "typo.json")
	os.WriteFile(typo, []byte(`{"version": "1",
 "pipelines": [{"name": "p", "batch_size": "100",
   "processors": [{"id": "f", "type": "filter", "parms": {"value": "DEBUG"}}],
   "outputs": [{"type": "http", "ulr": "http://localhost:9000"}]}]}
`), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{syntax}, 1, "line 3, column 16: invalid character ','"},
		{[]string{typo}, 1, "manifest is invalid:\n" +
			"  line 2, column 44: pipelines[0].batch_size: want integer; got string\n" +
			"  line 3, column 49: pipelines[0].processors[0].parms: unknown field\n" +
			"  line 4, column 33: pipelines[0].outputs[0].ulr: unknown field\n"},
		{[]string{filepath.Join(dir, "missing.json")}, 1, "cannot open " + filepath.Join(dir, "missing.json") + ": no such file or directory"},
		{[]string{"-h"}, 0, "usage: streamgate validate FILE"},
	} {
		out, err := exec.Command(bin, append([]string{"validate"}, c.args...)...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != c.code || !strings.Contains(string(out), c.want) || c.code == 1 && strings.Contains(c.want, "cannot open") && strings.Contains(string(out), "invalid") {
			t.Errorf("validate %q: exit %d, %s; want exit %d and %q", c.args, code, out, c.code, c.want)
		}
	}

	// Valid and unsafe: a redact rule skipped under overload.
	unsafe := filepath.Join(dir, "unsafe.json")
	os.WriteFile(unsafe, []byte(`{"version":"1","pipelines":[{"name":"p","processors":[{"id":"ssn","type":"redact","params":{"detector":"ssn","on_overload":"skip"}}]}]}`), 0o644)
	cmd = exec.Command(bin, "validate", unsafe)
	stderr.Reset()
	cmd.Stderr = &stderr
	out, err = cmd.Output()
	want := `warnings:
  pipelines[0].processors[0] (id "ssn").on_overload: "skip" lets lines leave unredacted while the overload breaker is open
`
	if err != nil || !strings.Contains(string(out), "is valid: 1 processors") || stderr.String() != want {
		t.Errorf("validate unsafe: got %v, stdout %q, stderr %q; want it valid, warned about on stderr:\n%s", err, out, stderr.String(), want)
	}
}

func TestControlNeedsRedis(t *testing.T) {
	cmd := exec.Command(binary(t), "control")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "REDIS_ADDR") {
		t.Fatalf("control without Redis: got %v\n%s; want an error naming REDIS_ADDR", err, out)
	}
}

func TestSetMemoryLimit(t *testing.T) {
	if os.Getenv("GOMEMLIMIT") != "" {
		t.Skip("GOMEMLIMIT is set: the flag defers to it")
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	for _, c := range []struct {
		in   string
		want int64 // -1: unchanged
		err  bool
	}{
		{"48MiB", 48 << 20, false}, {"1GiB", 1 << 30, false}, {"off", -1, false},
		{"48MB", -1, true}, {"-1MiB", -1, true}, {"lots", -1, true},
	} {
		debug.SetMemoryLimit(math.MaxInt64)
		err := setMemoryLimit(c.in)
		if (err != nil) != c.err {
			t.Errorf("%q: got error %v; want error %v", c.in, err, c.err)
		}
		got := debug.SetMemoryLimit(-1)
		if c.want == -1 && got != math.MaxInt64 || c.want != -1 && got != c.want {
			t.Errorf("%q: limit %d; want %d", c.in, got, c.want)
		}
	}
}

// TestVersionCommand: every spelling prints the version, the commit the
// binary was built from and the Go version.
func TestVersionCommand(t *testing.T) {
	bin := binary(t)
	want := regexp.MustCompile(`^streamgate \S+ \(commit ([0-9a-f]{12}(-dirty)?|unknown)(, \S+)?, go1\.\d+\S*\)\n$`)
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	// go build stamps the commit only in a main checkout, whose .git is a
	// directory; a linked worktree's is a file, and its binaries say
	// "unknown".
	inRepo := err == nil
	// The go command stamps no commit in a linked git worktree, whose .git
	// is a file: there the binary says unknown.
	if dirs, err := exec.Command("git", "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir").Output(); err == nil {
		if d := strings.Fields(string(dirs)); len(d) == 2 && d[0] != d[1] {
			inRepo = false
		}
	}
	var first string
	for _, arg := range []string{"version", "-version", "--version"} {
		out, err := exec.Command(bin, arg).CombinedOutput()
		m := want.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			t.Fatalf("streamgate %s: got %v %q; want a line like %q", arg, err, out, "streamgate devel (commit 0123456789ab, go1.26.0)")
		}
		if inRepo && !strings.HasPrefix(string(head), strings.TrimSuffix(m[1], "-dirty")) {
			t.Errorf("streamgate %s: got commit %s; want the checkout's %s", arg, m[1], head)
		}
		if first == "" {
			first = string(out)
		} else if string(out) != first {
			t.Errorf("streamgate %s: got %q; want what streamgate version prints, %q", arg, out, first)
		}
	}
}

// TestDetectorsCommand: every registered detector is listed, with its
// category.
func TestDetectorsCommand(t *testing.T) {
	var b strings.Builder
	if err := runDetectors(&b, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, d := range match.Detectors() {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(d.Name) + `\s+` + regexp.QuoteMeta(d.Category) + `\s`).MatchString(out) {
			t.Errorf("streamgate detectors lacks %s (%s):\n%s", d.Name, d.Category, out)
		}
	}
	if err := runDetectors(&b, []string{"x"}); err == nil {
		t.Error("streamgate detectors x: got nil; want a usage error")
	}
}
