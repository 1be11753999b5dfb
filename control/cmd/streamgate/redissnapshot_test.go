package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/alicebob/miniredis/v2"

	"streamgate/control/snapshot"
)

var dataplaneVersionRE = regexp.MustCompile(`data plane running.* manifest="version (\S+) from redis`)

// TestUpKeepsStateAcrossRestart: `up` with its embedded Redis, stopped by
// Ctrl-C right after a publish and a change of the draft, comes back with
// the same -data-dir holding the draft, the history and the published
// manifest, and its data plane runs the published rules on the first line
// it takes. Killed outright, it loses nothing the API answered for.
func TestUpKeepsStateAcrossRestart(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}
	args := append([]string{"up", "-api-port", "0", "-data-dir", dataDir}, onFreePorts...)

	up := startProc(t, env, args...)
	api := up.waitLog(apiRE)[1]
	post(t, api+"/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
	post(t, api+"/rules", `{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}`)
	v1 := publishVersion(t, api)
	// In the draft only: kept, and not run.
	post(t, api+"/rules", `{"id": "drop_info", "type": "filter", "params": {"value": "INFO"}}`)
	up.stopWith(syscall.SIGINT)

	path := filepath.Join(dataDir, snapshot.FileName)
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dataDir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatalf("after the first run: %v", err)
		}
		if fi.Mode().Perm() != c.mode {
			t.Errorf("%s: mode %v; want %v", c.path, fi.Mode().Perm(), c.mode)
		}
	}

	up = startProc(t, env, args...)
	api = up.waitLog(apiRE)[1]
	if got := up.waitLog(dataplaneVersionRE)[1]; got != v1 {
		t.Fatalf("restarted data plane runs version %s; want %s, the one published before the restart", got, v1)
	}
	tcp, admin := up.waitLog(tcpAddrRE)[1], up.waitLog(adminAddrRE)[1]
	up.waitLog(regexp.MustCompile(`embedded redis: snapshot loaded.* path=` + regexp.QuoteMeta(path)))

	var rules []struct {
		ID string `json:"id"`
	}
	getJSON(t, api+"/rules", &rules)
	var ids []string
	for _, r := range rules {
		ids = append(ids, r.ID)
	}
	if want := []string{"drop_debug", "redact_ssn", "drop_info"}; !slices.Equal(ids, want) {
		t.Errorf("draft after restart: rules %q; want %q", ids, want)
	}
	var history []struct {
		Version string `json:"version"`
	}
	getJSON(t, api+"/manifests", &history)
	if len(history) != 1 || history[0].Version != v1 {
		t.Errorf("history after restart: %+v; want version %s alone", history, v1)
	}

	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "DEBUG dropped\nINFO kept ssn=123-45-6789\n")
	conn.Close()
	want := "INFO kept ssn=[REDACTED]"
	waitUntil(t, "the data plane to print "+want, func() bool { return slices.Contains(up.Stdout(), want) })
	if out := up.Stdout(); len(out) != 1 {
		t.Errorf("stdout %q; want %q alone: DEBUG filtered", out, want)
	}
	_, metrics := get(t, http.DefaultClient, "http://"+admin+"/metrics")
	for _, want := range []string{`streamgate_lines_filtered_total{rule="drop_debug"} 1`, "streamgate_redis_snapshot_writes_total 0", "streamgate_redis_snapshot_errors_total 0"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, metrics)
		}
	}
	// The version counter came back too: the next publish is the next version.
	v2 := publishVersion(t, api)
	if v2 == v1 {
		t.Errorf("publish after restart: version %s again; want a new one", v2)
	}

	// Killed outright, with no chance to save at exit: what the API
	// answered for is on disk all the same.
	post(t, api+"/rules", `{"id": "drop_trace", "type": "filter", "params": {"value": "TRACE"}}`)
	up.cmd.Process.Kill()
	up.cmd.Wait()
	up = startProc(t, env, args...)
	api = up.waitLog(apiRE)[1]
	if got := up.waitLog(dataplaneVersionRE)[1]; got != v2 {
		t.Errorf("after SIGKILL, the data plane runs version %s; want %s", got, v2)
	}
	getJSON(t, api+"/rules", &rules)
	if len(rules) != 4 || rules[3].ID != "drop_trace" {
		t.Errorf("draft after SIGKILL: %+v; want drop_trace last of 4", rules)
	}
	up.stop()
}

// TestUpSnapshotAtStart: what `up` does with the -data-dir's snapshot, or
// without one, at start.
func TestUpSnapshotAtStart(t *testing.T) {
	for _, c := range []struct {
		name    string
		file    string // the snapshot before the start; "" for none
		env     []string
		args    []string
		exit    bool   // up refuses to start
		log     string // in its log
		written bool   // a snapshot is there after a rule was added, and after the stop
	}{
		{
			name: "corrupt",
			file: `{"format":"streamgate-redis-snapshot","version":1,"keys":[{"key":`,
			log:  `level=ERROR msg="the redis snapshot cannot be loaded: moved aside, and the embedded redis starts empty" path=DATA/redis-snapshot.json moved_to=DATA/redis-snapshot.json.corrupt-`, written: true,
		},
		{
			name: "newer format",
			file: `{"format":"streamgate-redis-snapshot","version":99,"keys":[]}`,
			exit: true,
			log:  "streamgate up: -data-dir: cannot load the redis snapshot DATA/redis-snapshot.json: format version 99, and this build reads version 1 at most",
		},
		{
			name: "snapshot off",
			args: []string{"-redis-snapshot=false"},
			log:  "embedded redis running (in memory only, -redis-snapshot=false, password required)",
		},
		{
			name: "external redis: no snapshot",
			env:  []string{"REDIS_ADDR=" + miniredis.RunT(t).Addr()},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			path := filepath.Join(dataDir, snapshot.FileName)
			if c.file != "" {
				if err := os.MkdirAll(dataDir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(c.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := append([]string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, c.env...)
			up := startProc(t, env, append(append([]string{"up", "-api-port", "0", "-data-dir", dataDir}, onFreePorts...), c.args...)...)
			wantLog := strings.ReplaceAll(c.log, "DATA", dataDir)
			if c.exit {
				<-up.done
				if ee, ok := up.cmd.Wait().(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("exit: got %v; want status 1", up.cmd.ProcessState)
				}
				if logs := strings.Join(up.Logs(), "\n"); !strings.Contains(logs, wantLog) || strings.Contains(logs, "running") {
					t.Errorf("log:\n%s\nwant %q, and nothing started", logs, wantLog)
				}
				if got, _ := os.ReadFile(path); string(got) != c.file {
					t.Errorf("snapshot after the refusal: %q; want it untouched", got)
				}
				return
			}
			api := up.waitLog(apiRE)[1]
			up.waitLog(regexp.MustCompile(`data plane running`))
			if wantLog != "" {
				up.waitLog(regexp.MustCompile(regexp.QuoteMeta(wantLog)))
			}
			var rules []any
			getJSON(t, api+"/rules", &rules)
			if len(rules) != 0 {
				t.Errorf("rules at start: %v; want none", rules)
			}
			post(t, api+"/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
			_, err := os.Stat(path)
			if c.written != (err == nil) {
				t.Errorf("snapshot after a change: %v; want one written: %v", err, c.written)
			}
			up.stop()
			if _, err := os.Stat(path); c.written != (err == nil) {
				t.Errorf("snapshot after the stop: %v; want one written: %v", err, c.written)
			}
			if c.file != "" {
				aside, _ := filepath.Glob(path + ".corrupt-*")
				if len(aside) != 1 {
					t.Fatalf("moved aside: %q; want one file", aside)
				}
				if got, _ := os.ReadFile(aside[0]); string(got) != c.file {
					t.Errorf("%s holds %q; want the corrupt snapshot as it was", aside[0], got)
				}
			}
		})
	}
}
