package server

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/buildinfo"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/testcert"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/watch"
)

// getStatus fetches /status and checks its content type.
func getStatus(t *testing.T, s *Server) string {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status: %d, Content-Type %q; want 200 application/json\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return string(body)
}

func TestStatusEndpoint(t *testing.T) {
	for _, c := range []struct {
		name   string
		follow bool // following a Redis: /status is the fleet heartbeat
	}{
		{name: "server only"},
		{name: "following redis", follow: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := capture.Unique("status")
			opts := Options{
				HTTPAddr:  "127.0.0.1:0",
				AdminAddr: "127.0.0.1:0",
				Manifest:  mustManifest(t, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`)),
			}
			if c.follow {
				rc := rdb.NewClient(rdb.Options{Addrs: []string{miniredis.RunT(t).Addr()}})
				t.Cleanup(func() { rc.Close() })
				opts.Watch = &watch.Options{Client: rc, ID: "dp-1", Resync: time.Minute}
			}
			s := start(t, opts)
			resp, err := http.Post("http://"+s.HTTPAddr().String()+"/ingest", "text/plain", strings.NewReader("INFO one\nDEBUG two\nINFO three\n"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			waitFor(t, "lines to arrive", func() bool { return capture.Get(sink).Len() == 2 })
			bad := &manifest.Manifest{Version: "2", Pipelines: []manifest.Pipeline{{Name: "p", Outputs: []output.Config{{Type: "http"}}}}}
			if s.Apply(bad) == nil {
				t.Fatal("Apply of an http output without url: got nil error")
			}

			body := getStatus(t, s)
			var got map[string]any
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("GET /status: %v\n%s", err, body)
			}
			lastErr, _ := got["last_error"].(string)
			if !strings.Contains(lastErr, "url") {
				t.Errorf("last_error: got %q; want the rejection's reason", lastErr)
			}
			delete(got, "last_error")
			// The savings: 27 bytes in, the DEBUG line's 9 dropped by
			// drop_debug; the rates and the window depend on the clock.
			sv, _ := got["savings"].(map[string]any)
			delete(got, "savings")
			for _, k := range []string{"bytes_received", "bytes_emitted", "lines_received", "reduction_percent"} {
				if _, ok := sv[k]; !ok {
					t.Errorf("savings.%s: missing in %v", k, sv)
				}
			}
			if sv["bytes_received"] != 27.0 || sv["bytes_emitted"] != 18.0 || sv["reduction_percent"] != 33.3 {
				t.Errorf("savings: got %v; want 27 bytes received, 18 emitted, 33.3 %%", sv)
			}
			if c.follow {
				// The heartbeat adds the instance's identity and Redis state.
				if got["id"] != "dp-1" || got["pid"] != float64(os.Getpid()) || got["tcp_addr"] != s.TCPAddr().String() {
					t.Errorf("GET /status: got id %v, pid %v, tcp_addr %v; want dp-1, %d, %s", got["id"], got["pid"], got["tcp_addr"], os.Getpid(), s.TCPAddr())
				}
				// And where its admin port answers, for the control plane.
				if got["admin_addr"] != s.AdminAddr().String() || got["admin_scheme"] != "http" {
					t.Errorf("GET /status: got admin_addr %v, admin_scheme %v; want %s, http", got["admin_addr"], got["admin_scheme"], s.AdminAddr())
				}
				for _, k := range []string{"id", "host", "pid", "tcp_addr", "admin_addr", "admin_scheme", "started_unix_ms", "updated_unix_ms", "redis_status"} {
					delete(got, k)
				}
			}
			// The latency of the batch delivered depends on the clock.
			if outs, _ := got["outputs"].([]any); len(outs) == 1 {
				o, _ := outs[0].(map[string]any)
				if l, _ := o["latency_seconds"].(float64); !(l > 0) {
					t.Errorf("outputs[0].latency_seconds: got %v; want the last batch's, above 0", o["latency_seconds"])
				}
				// And its percentiles over the batches of the last minute.
				p50, _ := o["latency_p50_seconds"].(float64)
				p99, _ := o["latency_p99_seconds"].(float64)
				if n, _ := o["latency_window_batches"].(float64); !(n >= 1 && p50 > 0 && p99 >= p50) {
					t.Errorf("outputs[0]: latency_window_batches %v, latency_p50_seconds %v, latency_p99_seconds %v; want at least 1 batch, 0 < p50 <= p99",
						o["latency_window_batches"], o["latency_p50_seconds"], o["latency_p99_seconds"])
				}
				for _, k := range []string{"latency_seconds", "latency_p50_seconds", "latency_p99_seconds", "latency_window_batches"} {
					delete(o, k)
				}
			}
			bi := buildinfo.Get()
			want := map[string]any{
				"version": "1", "rejected_version": "2",
				"received": 3.0, "filtered": 1.0, "sampled": 0.0, "emitted": 2.0, "dropped": 0.0, "breaker_open_workers": 0.0, "egress_pii": 0.0,
				"dead_lettered": 0.0, "dead_letter_replayed": 0.0,
				"outputs": []any{map[string]any{"name": "capture:" + sink, "buffer": "memory", "queued_lines": 0.0,
					"memory_bytes": 0.0, "disk_bytes": 0.0, "oldest_line_age_seconds": 0.0, "delivered": 2.0, "dropped": 0.0}},
				"build_version": bi.Version, "build_commit": bi.Commit, "go_version": bi.GoVersion,
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("GET /status: got %v; want %v", got, want)
			}
		})
	}
}

// TestStatusJSONMatchesHeartbeat: a client decoding /status must not care
// whether a watcher supplies it; every field of Status is the field of
// rdb.Heartbeat with the same name, JSON name and type.
func TestStatusJSONMatchesHeartbeat(t *testing.T) {
	st, hb := reflect.TypeFor[Status](), reflect.TypeFor[rdb.Heartbeat]()
	for i := range st.NumField() {
		f := st.Field(i)
		hf, ok := hb.FieldByName(f.Name)
		if !ok {
			t.Errorf("Status.%s: rdb.Heartbeat has no such field", f.Name)
			continue
		}
		if f.Tag.Get("json") != hf.Tag.Get("json") || f.Type != hf.Type {
			t.Errorf("Status.%s: %s `json:%q`; rdb.Heartbeat has %s `json:%q`", f.Name, f.Type, f.Tag.Get("json"), hf.Type, hf.Tag.Get("json"))
		}
	}
}

// metricValue scrapes the admin endpoint for one unlabelled metric.
func metricValue(t *testing.T, s *Server, name string) uint64 {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return n
		}
	}
	t.Fatalf("/metrics lacks %s", name)
	return 0
}

// TestMetricsCountUDPKernelDrops: a UDP reader held up by a blocked output
// lets the kernel drop datagrams; /metrics counts them all, although no
// datagram came after the last of them to report it, so that every datagram
// sent is either a line received or a kernel drop.
func TestMetricsCountUDPKernelDrops(t *testing.T) {
	sink := capture.Unique("udp-kernel-drops")
	gate := make(chan struct{})
	capture.Get(sink).Gate = gate
	release := sync.OnceFunc(func() { close(gate) })
	s := start(t, Options{
		UDPAddr:    "127.0.0.1:0",
		AdminAddr:  "127.0.0.1:0",
		UDPReaders: 1,
		Manifest:   mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}],"batch_size":1}]}`),
		Pipeline:   pipeline.Options{Workers: 1, BufferLines: 16, Overflow: buffer.Block},
	})
	t.Cleanup(release) // before the shutdown: under block it waits for the output
	c, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := 0
	for i := range 50_000 { // tens of MiB of kernel memory: more than any receive buffer
		if _, err := fmt.Fprintf(c, "line %d\n", i); err == nil {
			sent++
		}
	}
	const name = "streamgate_udp_datagrams_dropped_total"
	if n := metricValue(t, s, name); n == 0 {
		t.Fatalf("%s: 0 with the reader blocked and %d datagrams sent", name, sent)
	}
	release()
	m := s.Metrics()
	waitFor(t, "every datagram read or counted", func() bool {
		return m.Received.Get()+metricValue(t, s, name) == uint64(sent)
	})
}

// fetch gets url with client and returns the status and the body.
func fetch(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestAdminPprof: /debug/pprof is 404 unless asked for; when served, the
// command line is the one given (secrets replaced by the caller) or none,
// and no profile or trace lasts longer than MaxProfileSeconds.
func TestAdminPprof(t *testing.T) {
	cmdline := []string{"streamgate", "up", "-api-token", "REDACTED"}
	for _, c := range []struct {
		name    string
		pprof   bool
		cmdline []string
		want    map[string]int    // path: status
		body    map[string]string // path: a substring of the body
	}{
		{
			name: "off", cmdline: cmdline,
			want: map[string]int{
				"/debug/pprof/": 404, "/debug/pprof/cmdline": 404, "/debug/pprof/profile?seconds=1": 404,
				"/debug/pprof/trace?seconds=1": 404, "/debug/pprof/heap": 404, "/debug/pprof/symbol": 404,
				"/healthz": 200,
			},
		},
		{
			name: "on", pprof: true, cmdline: cmdline,
			want: map[string]int{
				"/debug/pprof/": 200, "/debug/pprof/cmdline": 200, "/debug/pprof/heap?debug=1": 200, "/debug/pprof/symbol": 200,
				"/debug/pprof/profile?seconds=61": 400, "/debug/pprof/trace?seconds=60.5": 400, "/debug/pprof/heap?seconds=3600": 400,
				"/debug/pprof/profile?seconds=Inf": 400, "/debug/pprof/profile?seconds=NaN": 400, "/debug/pprof/profile?seconds=many": 400,
			},
			body: map[string]string{
				"/debug/pprof/":                    "goroutine",
				"/debug/pprof/cmdline":             "streamgate\x00up\x00-api-token\x00REDACTED",
				"/debug/pprof/profile?seconds=61":  `seconds: want a number of seconds up to 60; got "61"`,
				"/debug/pprof/trace?seconds=60.5":  `seconds: want a number of seconds up to 60; got "60.5"`,
				"/debug/pprof/profile?seconds=Inf": "up to 60",
			},
		},
		{
			name: "on without a command line", pprof: true,
			want: map[string]int{"/debug/pprof/": 200, "/debug/pprof/cmdline": 404},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := start(t, Options{AdminAddr: "127.0.0.1:0", Pprof: c.pprof, Cmdline: c.cmdline})
			admin := "http://" + s.AdminAddr().String()
			for path, want := range c.want {
				status, body := fetch(t, http.DefaultClient, admin+path)
				if status != want {
					t.Errorf("GET %s: got %d; want %d\n%.300s", path, status, want, body)
				}
				if sub, ok := c.body[path]; ok && !strings.Contains(body, sub) {
					t.Errorf("GET %s: body %.300q; want it to hold %q", path, body, sub)
				}
			}
		})
	}
}

// TestAdminProfileOutlastsWriteTimeout: a CPU profile is served whole
// although it takes longer than the admin server's write timeout, which
// net/http/pprof extends by the profile's duration.
func TestAdminProfileOutlastsWriteTimeout(t *testing.T) {
	defer func(d time.Duration) { adminWriteTimeout = d }(adminWriteTimeout)
	adminWriteTimeout = 300 * time.Millisecond
	s := start(t, Options{AdminAddr: "127.0.0.1:0", Pprof: true})
	status, body := fetch(t, http.DefaultClient, "http://"+s.AdminAddr().String()+"/debug/pprof/profile?seconds=1")
	if status != http.StatusOK {
		t.Fatalf("GET a 1 s profile with a %s write timeout: got %d %.300s; want 200", adminWriteTimeout, status, body)
	}
	// A profile is a gzipped protocol buffer.
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the profile is not gzipped: %v", err)
	}
	if raw, err := io.ReadAll(zr); err != nil || len(raw) == 0 {
		t.Fatalf("the profile: %d bytes, %v; want a whole one", len(raw), err)
	}
}

// TestAdminTimeouts: the admin server bounds every phase of a connection.
func TestAdminTimeouts(t *testing.T) {
	srv := newAdminServer(http.NewServeMux(), Options{})
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s: %v; want a bound", name, d)
		}
	}
}

// TestAdminTLS: with AdminTLS the admin server speaks HTTPS only: a client
// trusting the CA is served, a plain HTTP request and a client that does not
// trust the certificate are not.
func TestAdminTLS(t *testing.T) {
	cert := testcert.New(t)
	s := start(t, Options{AdminAddr: "127.0.0.1:0", AdminTLS: cert.ServerConfig(t)})
	addr := s.AdminAddr().String()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: cert.ClientConfig()}}
	defer client.CloseIdleConnections()
	if status, body := fetch(t, client, "https://"+addr+"/healthz"); status != http.StatusOK || body != "ok\n" {
		t.Fatalf("GET https /healthz with the CA: got %d %q; want 200 ok", status, body)
	}
	if status, body := fetch(t, http.DefaultClient, "http://"+addr+"/metrics"); status != http.StatusBadRequest || strings.Contains(body, "streamgate_") {
		t.Fatalf("GET http /metrics from a TLS admin server: got %d %.200q; want 400 and no metrics", status, body)
	}
	if _, err := http.Get("https://" + addr + "/healthz"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("GET https without the CA: got %v; want a certificate error", err)
	}
}
