package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/tap"
)

// TestTapCommand taps a running data plane with streamgate tap: it prints
// each line redacted, and a dropped line as its rule; with the tap off it
// says so and exits 1.
func TestTapCommand(t *testing.T) {
	dir := t.TempDir()
	manifestPath := filepath.Join(dir, "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "p", "batch_size": 10, "outputs": [{"type": "console"}],
		"processors": [{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
		               {"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0", "-workers", "1", "-data-dir", filepath.Join(dir, "data"), "-manifest", manifestPath)
	tcp, admin := p.waitLog(tcpAddrRE)[1], "http://"+p.waitLog(adminAddrRE)[1]

	cmd := exec.Command(binary(t), "tap", "-admin", admin, "-n", "3")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The tap attaches in its own time: send until it has its 3 lines.
	deadline := time.Now().Add(30 * time.Second)
	for sent := false; !sent; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("streamgate tap: %v\n%s", err, stderr.String())
			}
			sent = true
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("streamgate tap did not end; stdout %q stderr %q", stdout.String(), stderr.String())
			}
			conn, err := net.Dial("tcp", tcp)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(conn, "DEBUG: cache warm\nssn=123-45-6789 user=bob\nINFO: ok\n")
			conn.Close()
		}
	}
	out := stdout.String()
	if strings.Contains(out, "123-45-6789") {
		t.Fatalf("streamgate tap shows the SSN:\n%s", out)
	}
	want := regexp.MustCompile(`^(\d\d:\d\d:\d\d\.\d{3}  (dropped by drop_debug|ssn=\[REDACTED\] user=bob  \[redact_ssn\]|INFO: ok)\n){3}$`)
	if !want.MatchString(out) || !strings.Contains(out, "[redact_ssn]") {
		t.Errorf("streamgate tap printed:\n%s\nwant 3 lines matching %s", out, want)
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tap", "-admin", admin, "-rule", "nope"}, `400 Bad Request: rule: no rule "nope" runs here (running: drop_debug, redact_ssn)`},
		{[]string{"tap", "-admin", admin, "-n", "0"}, "-n: want at least 1"},
		{[]string{"tap", "-admin", "http://127.0.0.1:1"}, "cannot reach the data plane's admin API"},
	} {
		code, out, errOut := runCLI(t, c.args...)
		if code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d\n%s%s\nwant exit 1 and %q", c.args, code, out, errOut, c.want)
		}
	}

	off := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0", "-data-dir", filepath.Join(dir, "data2"), "-tap=false")
	code, _, errOut := runCLI(t, "tap", "-admin", "http://"+off.waitLog(adminAddrRE)[1])
	if code != 1 || !strings.Contains(errOut, "404 Not Found: the tap is off on this data plane (-tap=false)") {
		t.Errorf("tap of a data plane with -tap=false: exit %d: %s", code, errOut)
	}
}

func TestTapFlags(t *testing.T) {
	for _, c := range []struct {
		f    tapFlags
		want string
	}{
		{tapFlags{on: true, rate: 100, maxTaps: 4, maxLines: 10}, ""},
		{tapFlags{on: true, rate: 0, maxTaps: 4, maxLines: 10}, "-tap-rate: want"},
		{tapFlags{on: true, rate: 100, maxTaps: 0, maxLines: 10}, "-max-taps: want at least 1"},
		{tapFlags{on: true, rate: 100, maxTaps: 1, maxLines: 0}, "-tap-max-lines: want at least 1"},
	} {
		_, err := c.f.options()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.f, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: got %v; want an error with %q", c.f, err, c.want)
		}
	}
}

func TestTapLine(t *testing.T) {
	at := time.Date(2026, 12, 6, 23, 41, 7, 120e6, time.UTC)
	line := "a\tb"
	for _, c := range []struct {
		r    tap.Record
		want string
	}{
		{tap.Record{Time: at, Line: &line}, "23:41:07.120  a\\tb\n"},
		{tap.Record{Time: at, Line: &line, Rules: []string{"x", "y"}}, "23:41:07.120  a\\tb  [x, y]\n"},
		{tap.Record{Time: at, DroppedBy: "d", Rules: []string{"d"}}, "23:41:07.120  dropped by d\n"},
		{tap.Record{Time: at, DroppedBy: "d", Rules: []string{"x", "d"}, Bypassed: true}, "23:41:07.120  dropped by d (after x)  (breaker open: rules skipped)\n"},
	} {
		if got := tapLine(&c.r); got != c.want {
			t.Errorf("got %q; want %q", got, c.want)
		}
	}
}
