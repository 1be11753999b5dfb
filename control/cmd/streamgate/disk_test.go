package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

var httpAddrRE = regexp.MustCompile(`http=(127\.0\.0\.1:\d+)`)

// TestDiskBufferSurvivesSIGKILL: with a disk buffer, every line an
// acknowledged HTTP request got 202 for is delivered, though the vendor
// was down and the data plane was killed (SIGKILL) before it came back: the
// next start on the same -data-dir restores and delivers them, each at
// least once. While the vendor is down, an acknowledgement comes as soon
// as the lines are on disk.
func TestDiskBufferSurvivesSIGKILL(t *testing.T) {
	var up atomic.Bool
	var mu sync.Mutex
	took := make(map[string]int)
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		for _, l := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
			took[l]++
		}
		mu.Unlock()
	}))
	defer vendor.Close()

	dir := t.TempDir()
	manifestPath := filepath.Join(dir, "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "p", "batch_size": 50,
		"processors": [{"id": "no_debug", "type": "filter", "params": {"value": "DEBUG"}}],
		"outputs": [{"type": "http", "url": "`+vendor.URL+`/logs", "max_retries": 0,
			"buffer": {"type": "disk", "sync": "interval", "sync_interval_ms": 50}}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "data")
	args := []string{"dataplane", "-host", "127.0.0.1", "-tcp-port", "off", "-udp-port", "off",
		"-http-port", "0", "-admin-port", "0", "-data-dir", dataDir, "-manifest", manifestPath}
	p := startProc(t, nil, args...)
	ingest := "http://" + p.waitLog(httpAddrRE)[1] + "/ingest?ack=durable"

	var want []string
	for r := range 20 {
		var body strings.Builder
		for i := range 50 {
			line := fmt.Sprintf("INFO request %d line %d", r, i)
			if i%5 == 0 {
				line = fmt.Sprintf("DEBUG request %d line %d", r, i)
			} else {
				want = append(want, line)
			}
			body.WriteString(line + "\n")
		}
		resp, err := http.Post(ingest, "text/plain", strings.NewReader(body.String()))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(got), `"durable":true`) {
			t.Fatalf("request %d while the vendor is down: %d %s; want 202, durable", r, resp.StatusCode, got)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()

	up.Store(true)
	p = startProc(t, nil, args...)
	admin := "http://" + p.waitLog(adminAddrRE)[1]
	waitUntil(t, "every acknowledged line delivered", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, l := range want {
			if took[l] == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	for l := range took {
		if strings.HasPrefix(l, "DEBUG") {
			t.Errorf("a filtered line was delivered: %q", l)
		}
	}
	mu.Unlock()
	resp, err := http.Get(admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`streamgate_output_restored_lines_total\{output="[^"]+"\} (\d+)`).FindSubmatch(metrics)
	if m == nil || string(m[1]) == "0" {
		t.Errorf("restored lines: %q; want the lines found on disk counted", m)
	}
	p.stop()
}
