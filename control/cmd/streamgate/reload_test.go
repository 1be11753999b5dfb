package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// TestManifestFileReload runs a data plane on a manifest file and changes
// it: a rename into place is applied on its own, SIGHUP applies a write, a
// file that does not validate or cannot be read is rejected and counted
// while the running configuration keeps running, and the process lives
// through every SIGHUP.
func TestManifestFileReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	manifest := func(version, keyword string) string {
		return fmt.Sprintf(`{"version": %q, "pipelines": [{"name": "p", "processors": [
			{"id": "drop", "type": "filter", "params": {"value": %q}}]}]}`, version, keyword)
	}
	if err := os.WriteFile(path, []byte(manifest("1", "DEBUG")), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0", "-manifest", path)
	tcp, admin := p.waitLog(tcpAddrRE)[1], p.waitLog(adminAddrRE)[1]
	send := func(lines ...string) {
		conn, err := net.Dial("tcp", tcp)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(conn, strings.Join(lines, "\n")+"\n")
		conn.Close()
	}
	metric := func(name string) string {
		resp, err := http.Get("http://" + admin + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\d+)$`).FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("/metrics has no %s", name)
		}
		return m[1]
	}
	hup := func() {
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}

	// A new file renamed into place, as deploy tools write one.
	tmp := filepath.Join(dir, "manifest.json.tmp")
	os.WriteFile(tmp, []byte(manifest("2", "TRACE")), 0o644)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	p.waitLog(regexp.MustCompile(`msg="manifest reloaded" .*version=2 why="file changed"`))
	send("DEBUG a", "TRACE b", "INFO c")
	waitUntil(t, "two lines on stdout", func() bool { return len(p.Stdout()) >= 2 })

	// An invalid file: rejected, counted, version 2 keeps running.
	os.WriteFile(path, []byte(`{"version": "3", "pipelines": [{"name": "p", "batch_size": -1}]}`), 0o644)
	p.waitLog(regexp.MustCompile(`msg="manifest rejected; previous config keeps running" version=3`))
	if got := metric("streamgate_config_reload_errors_total"); got != "1" {
		t.Errorf("reload errors after an invalid file: %s; want 1", got)
	}

	// SIGHUP with the file gone: rejected and counted; the process lives.
	os.Remove(path)
	hup()
	p.waitLog(regexp.MustCompile(`msg="manifest rejected; previous config keeps running" version="" err=".*no such file`))

	// SIGHUP after a write in place.
	os.WriteFile(path, []byte(manifest("4", "INFO")), 0o644)
	hup()
	p.waitLog(regexp.MustCompile(`msg="manifest reloaded" .*version=4`))
	send("DEBUG d", "TRACE e", "INFO f")
	waitUntil(t, "four lines on stdout", func() bool { return len(p.Stdout()) >= 4 })
	p.stop()
	if got, want := p.Stdout(), []string{"DEBUG a", "INFO c", "DEBUG d", "TRACE e"}; !slices.Equal(got, want) {
		t.Errorf("stdout %q; want %q", got, want)
	}
}

// TestSIGHUPWithoutFile: a data plane with no manifest file, or one that
// follows Redis, logs SIGHUP and keeps running.
func TestSIGHUPWithoutFile(t *testing.T) {
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0")
	p.waitLog(tcpAddrRE)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitLog(regexp.MustCompile(`msg="SIGHUP: no -manifest file to reload"`))
	p.stop()
}
