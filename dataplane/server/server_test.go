package server

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/pipeline"
)

func init() { capture.Register() }

func mustManifest(t testing.TB, js string) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

// filterRedact is the seed README's pair of rules, sending to outputs.
func filterRedact(outputs string) string {
	return `{"version": "1", "pipelines": [{"name": "default_pipeline",
		"processors": [
			{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
			{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}
		],
		"outputs": ` + outputs + `, "batch_size": 100}]}`
}

func start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TCPAddr == "" {
		opts.TCPAddr = "127.0.0.1:0"
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		// Bounded, so that a test failing with an output held up cannot
		// hang the suite; a test that shut s down already made this a no-op.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s
}

func shutdown(t testing.TB, s *Server, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// hasSSN reports whether line holds ddd-dd-dddd anywhere.
func hasSSN(line []byte) bool {
	digits := func(b []byte) bool {
		for _, c := range b {
			if c < '0' || c > '9' {
				return false
			}
		}
		return true
	}
	for i := 0; i+11 <= len(line); i++ {
		w := line[i : i+11]
		if w[3] == '-' && w[6] == '-' && digits(w[:3]) && digits(w[4:6]) && digits(w[7:]) {
			return true
		}
	}
	return false
}

// streamChecker verifies lines of the form "<src> s=<seq> ...": per source,
// sequence numbers strictly increase (in order, no duplicate) and the count
// of each source is what was kept.
type streamChecker struct {
	t        testing.TB
	last     map[string]int
	count    map[string]int
	total    atomic.Int64
	udp      atomic.Int64 // lines from the source "udp"
	failures int
}

func newStreamChecker(t testing.TB) *streamChecker {
	return &streamChecker{t: t, last: map[string]int{}, count: map[string]int{}}
}

// line runs under the capture sink's lock.
func (c *streamChecker) line(l []byte) {
	c.total.Add(1)
	fail := func(format string, args ...any) {
		if c.failures++; c.failures <= 5 {
			c.t.Errorf(format, args...)
		}
	}
	if bytes.Contains(l, []byte("DEBUG")) {
		fail("DEBUG line delivered: %q", l)
	}
	if hasSSN(l) {
		fail("unredacted SSN delivered: %q", l)
	}
	src, rest, _ := bytes.Cut(l, []byte(" s="))
	seqText, _, _ := bytes.Cut(rest, []byte(" "))
	seq, err := strconv.Atoi(string(seqText))
	if err != nil {
		fail("line without sequence number: %q", l)
		return
	}
	key := string(src)
	if prev, ok := c.last[key]; ok && seq <= prev {
		fail("source %s: seq %d after %d (reordered or duplicated)", key, seq, prev)
	}
	c.last[key] = seq
	c.count[key]++
	if key == "udp" {
		c.udp.Add(1)
	}
}

// logLine is a realistic line: every 10th is DEBUG, every 4th has an SSN.
func logLine(dst []byte, src string, seq int) []byte {
	level := "INFO"
	if seq%10 == 3 {
		level = "DEBUG"
	}
	dst = fmt.Appendf(dst, "%s s=%d %s service=checkout user=u%d", src, seq, level, seq%977)
	if seq%4 == 1 {
		dst = fmt.Appendf(dst, " ssn=%03d-%02d-%04d", seq%1000, seq%100, seq%10000)
	}
	return append(dst, " msg=request handled in 12ms\n"...)
}

func kept(seq int) bool { return seq%10 != 3 }

// TestEndToEnd sends 1,000,000 lines over 8 TCP connections and 10,000 UDP
// datagrams through filter+redact into a capturing output.
func TestEndToEnd(t *testing.T) {
	const conns, perConn = 8, 125_000
	const datagrams, perDatagram = 10_000, 3
	sink := capture.Unique("e2e")
	check := newStreamChecker(t)
	capture.Get(sink).OnLine(check.line)

	s := start(t, Options{
		UDPAddr:  "127.0.0.1:0",
		Manifest: mustManifest(t, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`)),
		Pipeline: pipeline.Options{Overflow: buffer.Block},
	})
	wantKept := 0

	var wg sync.WaitGroup
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			w := bufio.NewWriterSize(conn, 48<<10) // writes cut lines at arbitrary points
			var line []byte
			for i := 0; i < perConn; i++ {
				line = logLine(line[:0], fmt.Sprintf("tcp%d", c), i)
				if i == perConn-1 {
					line = line[:len(line)-1] // last line without newline, kept at EOF
				}
				if _, err := w.Write(line); err != nil {
					t.Error(err)
					return
				}
			}
			if err := w.Flush(); err != nil {
				t.Error(err)
			}
		}()
	}
	for i := 0; i < perConn; i++ {
		if kept(i) {
			wantKept += conns
		}
	}

	// UDP: one peer, three lines per datagram, paced so the kernel's socket
	// buffer never overflows (a datagram lost there never reached us).
	udp, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	var dgram []byte
	udpKept := 0
	for d := 0; d < datagrams; d++ {
		dgram = dgram[:0]
		for j := 0; j < perDatagram; j++ {
			seq := d*perDatagram + j
			dgram = logLine(dgram, "udp", seq)
			if kept(seq) {
				udpKept++
			}
		}
		if _, err := udp.Write(dgram[:len(dgram)-1]); err != nil { // last line unterminated
			t.Fatal(err)
		}
		if d%500 == 499 {
			waitFor(t, "udp lines to be delivered", func() bool { return int(check.udp.Load()) >= udpKept-1000 })
		}
	}
	wantKept += udpKept
	wg.Wait()

	m := s.Metrics()
	total := conns*perConn + datagrams*perDatagram
	waitFor(t, "every line to be received", func() bool { return m.Received.Get() == uint64(total) })
	waitFor(t, "every kept line to be delivered", func() bool { return check.total.Load() >= int64(wantKept) })
	shutdown(t, s, 30*time.Second)

	for c := 0; c < conns; c++ {
		src := fmt.Sprintf("tcp%d", c)
		if got, want := check.count[src], countKept(perConn); got != want {
			t.Errorf("%s: delivered %d lines; want %d", src, got, want)
		}
		if got := check.last[src]; got != perConn-1 {
			t.Errorf("%s: last delivered seq %d; want %d (the unterminated last line)", src, got, perConn-1)
		}
	}
	if got := check.count["udp"]; got != udpKept {
		t.Errorf("udp: delivered %d lines; want %d", got, udpKept)
	}
	if got := check.total.Load(); got != int64(wantKept) {
		t.Errorf("delivered %d lines in all; want %d", got, wantKept)
	}
	assertAccounting(t, s, "capture:"+sink)
	if got, want := m.FilteredTotal(), uint64(total-wantKept); got != want {
		t.Errorf("filtered: got %d; want %d", got, want)
	}
	if got := m.DroppedTotal(); got != 0 {
		t.Errorf("dropped: got %d; want 0", got)
	}
}

func countKept(n int) int {
	k := 0
	for i := 0; i < n; i++ {
		if kept(i) {
			k++
		}
	}
	return k
}

// assertAccounting checks, once the server is shut down, that every line
// received is delivered, filtered, dropped with a reason or kept as a dead
// letter, for each output: emitted + replayed = delivered + dropped +
// dead-lettered.
func assertAccounting(t testing.TB, s *Server, outputs ...string) {
	t.Helper()
	m := s.Metrics()
	recv, filt, drop, emit := m.Received.Get(), m.FilteredTotal(), m.DroppedTotal(), m.Emitted.Get()
	if recv != filt+drop+emit {
		t.Errorf("received %d != filtered %d + dropped %d + emitted %d", recv, filt, drop, emit)
	}
	if n := s.Pipeline().InPipeline(); n != 0 {
		t.Errorf("in pipeline after shutdown: %d; want 0", n)
	}
	for _, o := range outputs {
		del := m.Delivered(o).Get()
		var odrop uint64
		for _, r := range []string{metrics.ReasonOutputFailed, metrics.ReasonQueueFull, metrics.ReasonShutdown,
			metrics.ReasonRejected, metrics.ReasonDeadLetterFull} {
			odrop += m.OutputDropped(o, r).Get()
		}
		dead, replayed := m.DeadLettered(o).Get(), m.DeadLetterReplayed(o).Get()
		if del+odrop+dead != emit+replayed {
			t.Errorf("output %s: delivered %d + dropped %d + dead-lettered %d != emitted %d + replayed %d", o, del, odrop, dead, emit, replayed)
		}
	}
}

// TestShutdownDelivers checks that with a healthy output, every line the data
// plane accepted before shutdown is delivered.
func TestShutdownDelivers(t *testing.T) {
	sink := capture.Unique("shutdown")
	s := start(t, Options{
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}],"batch_size":10000}]}`),
		// No overflow however small the reads: all 50,000 lines fit in the
		// one worker's ring their connection goes to.
		Pipeline: pipeline.Options{BufferBytes: 256 << 20, BufferLines: 1 << 20},
	})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 50_000
	w := bufio.NewWriter(conn)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "line %d\n", i)
	}
	w.Flush()
	m := s.Metrics()
	waitFor(t, "all lines to be read", func() bool { return m.Received.Get() == n })
	if d := m.DroppedTotal(); d != 0 {
		t.Fatalf("%d lines dropped before the shutdown; the test needs a buffer that holds them all", d)
	}
	// batch_size 10000 and a 100 ms flush: lines are still pending now.
	shutdown(t, s, 10*time.Second)
	conn.Close()
	if got := capture.Get(sink).Len(); got != n {
		t.Fatalf("delivered %d of %d accepted lines", got, n)
	}
	assertAccounting(t, s, "capture:"+sink)
}

func TestOversizeLines(t *testing.T) {
	sink := capture.Unique("oversize")
	s := start(t, Options{
		MaxLine:  1024,
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}]}]}`),
	})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "before\n%s\nafter\n%s", strings.Repeat("x", 100_000), strings.Repeat("y", 2000))
	conn.Close()
	m := s.Metrics()
	waitFor(t, "lines to be read", func() bool { return m.Received.Get() == 4 })
	shutdown(t, s, 10*time.Second)
	if got, want := capture.Get(sink).Lines(), []string{"before", "after"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("delivered %q; want %q", got, want)
	}
	if got := m.Dropped(metrics.ReasonOversize).Get(); got != 2 {
		t.Fatalf("oversize drops: got %d; want 2", got)
	}
	assertAccounting(t, s, "capture:"+sink)
}

func TestAdminAndHTTPIngest(t *testing.T) {
	sink := capture.Unique("admin")
	s := start(t, Options{
		HTTPAddr:  "127.0.0.1:0",
		AdminAddr: "127.0.0.1:0",
		Manifest:  mustManifest(t, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`)),
	})
	ingest := "http://" + s.HTTPAddr().String() + "/ingest"
	resp, err := http.Post(ingest, "text/plain", strings.NewReader("INFO one ssn=123-45-6789\nDEBUG two\nINFO three"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.Contains(string(body), `"accepted":3`) {
		t.Fatalf("POST: got %d %s; want 202 with accepted 3", resp.StatusCode, body)
	}
	waitFor(t, "lines to arrive", func() bool { return capture.Get(sink).Len() == 2 })
	if got := strings.Join(capture.Get(sink).Lines(), "|"); got != "INFO one ssn=XXX-XX-XXXX|INFO three" {
		t.Fatalf("delivered %q", got)
	}
	if resp, err := http.Get(ingest); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET ingest: got %v %v; want 405", resp.StatusCode, err)
	}

	admin := "http://" + s.AdminAddr().String()
	for path, want := range map[string]string{
		"/healthz": "ok",
		"/readyz":  "ready",
		"/metrics": `streamgate_lines_filtered_total{rule="drop_debug"} 1`,
	} {
		resp, err := http.Get(admin + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: got %d, body without %q:\n%.500s", path, resp.StatusCode, want, body)
		}
	}
	resp, _ = http.Get(admin + "/metrics")
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"streamgate_lines_received_total 3", "streamgate_output_lines_delivered_total{output=\"capture:" + sink + "\"} 2", "process_resident_memory_bytes"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestApplyRejectsInvalidManifest checks the seam the watcher uses: an
// invalid manifest changes nothing, is counted, and is logged at error level
// with the version and the field at fault.
func TestApplyRejectsInvalidManifest(t *testing.T) {
	for _, c := range []struct {
		name    string
		apply   func(s *Server) error
		version string // as logged
		field   string // the error names it
	}{
		{
			name: "invalid",
			apply: func(s *Server) error {
				return s.Apply(&manifest.Manifest{Version: "2", Pipelines: []manifest.Pipeline{{Name: "p", Outputs: []output.Config{{Type: "http"}}}}})
			},
			version: "2", field: "pipelines[0].outputs[0].url: required for http output",
		},
		{
			name: "invalid json",
			apply: func(s *Server) error {
				return s.ApplyJSON([]byte(`{"version":"3","pipelines":[{"name":"p","processors":[{"id":"f","type":"filter","params":{"valu":"x"}}]}]}`))
			},
			version: "3", field: `pipelines[0].processors[0] (id \"f\").params: unknown field \"valu\"`,
		},
		{
			name:    "undecodable",
			apply:   func(s *Server) error { return s.ApplyJSON([]byte(`{"version":"4","pipelnes":[]}`)) },
			version: "4", field: `line 1, column 16: pipelnes: unknown field`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := capture.Unique("apply")
			logs := &logbuf.Buffer{}
			s := start(t, Options{Logger: logs.Logger(), Manifest: mustManifest(t, filterRedact(`[{"type":"capture","url":"`+sink+`"}]`))})
			if err := c.apply(s); err == nil {
				t.Fatal("Apply: got nil error; want the manifest rejected")
			}
			if got := s.Applied().Version; got != "1" {
				t.Fatalf("applied version: got %q; want 1", got)
			}
			if s.LastError() == "" || s.Metrics().ReloadErrors.Get() != 1 {
				t.Fatalf("rejection not recorded: last error %q, reload errors %d", s.LastError(), s.Metrics().ReloadErrors.Get())
			}
			line := logs.LineWith(`msg="manifest rejected; previous config keeps running"`)
			for _, want := range []string{"level=ERROR", " version=" + c.version + " ", c.field} {
				if !strings.Contains(line, want) {
					t.Errorf("rejection log line %q; want it to hold %q\nlog:\n%s", line, want, logs)
				}
			}
			conn, _ := net.Dial("tcp", s.TCPAddr().String())
			fmt.Fprint(conn, "DEBUG x\nINFO y\n")
			conn.Close()
			waitFor(t, "the old chain to deliver", func() bool { return capture.Get(sink).Len() == 1 })
		})
	}
}

// TestOutputURLSecretsHidden runs an http output whose URL holds a password
// and a token, towards a port where nothing listens: the metrics and every
// log line name the output with both masked, and apart from any other.
func TestOutputURLSecretsHidden(t *testing.T) {
	const password, token = "pw-SECRET", "TOK-SECRET"
	url := "http://user:" + password + "@127.0.0.1:1/push?token=" + token
	name := "http:http://" + output.Mask + "@127.0.0.1:1/push?token=" + output.Mask
	logs := &logbuf.Buffer{}
	s := start(t, Options{
		AdminAddr: "127.0.0.1:0",
		Logger:    logs.Logger(),
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":10,
			"outputs":[{"type":"capture","url":"`+capture.Unique("secrets")+`"},{"type":"http","url":"`+url+`","max_retries":0}]}]}`),
	})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := range n {
		fmt.Fprintf(conn, "INFO s=%d\n", i)
	}
	conn.Close()
	m := s.Metrics()
	waitFor(t, "the batch to fail", func() bool { return m.OutputDroppedTotal() == n })
	waitFor(t, "the failure to be logged", func() bool { return logs.LineWith(`msg="output dropped a batch"`) != "" })

	resp, err := http.Get("http://" + s.AdminAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf("streamgate_output_lines_dropped_total{output=%q,reason=%q} %d", name, metrics.ReasonOutputFailed, n),
		fmt.Sprintf("streamgate_output_lines_delivered_total{output=%q} 0", name),
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The final accounting (the "data plane stopped" line) lists outputs
	// by these names.
	var names []string
	for _, o := range m.Outputs() {
		names = append(names, o.Name)
	}
	if len(names) != 2 || !slices.Contains(names, name) {
		t.Errorf("outputs in the accounting: %q; want two, one of them %q", names, name)
	}
	line := logs.LineWith(`msg="output dropped a batch"`)
	for _, want := range []string{"level=ERROR", "output=" + strconv.Quote(name), "cannot post batch to http://" + output.Mask + "@127.0.0.1:1/push?token=" + output.Mask} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q; want it to hold %q", line, want)
		}
	}
	shutdown(t, s, 10*time.Second)
	for _, secret := range []string{password, token} {
		if strings.Contains(string(body), secret) {
			t.Errorf("/metrics holds %q:\n%s", secret, body)
		}
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs)
		}
	}
}

// countingWriter stands in for stdout and counts lines.
type countingWriter struct{ lines atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines.Add(int64(bytes.Count(p, []byte("\n"))))
	return len(p), nil
}

// TestSlowHTTPOutputDoesNotSlowConsole fans out to the console and to an HTTP
// server that takes 200 ms per request: the console gets every line while the
// HTTP output is still far behind; at shutdown, what the HTTP output could not
// deliver in time is counted.
func TestSlowHTTPOutputDoesNotSlowConsole(t *testing.T) {
	var posted atomic.Int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		time.Sleep(200 * time.Millisecond)
		posted.Add(int64(bytes.Count(body, []byte("\n"))))
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	stdout := &countingWriter{}
	defer func(old io.Writer) { output.Stdout = old }(output.Stdout)
	output.Stdout = stdout
	httpURL := "http://" + ln.Addr().String() + "/logs"
	s := start(t, Options{
		Manifest: mustManifest(t, filterRedact(`[{"type":"console"},{"type":"http","url":"`+httpURL+`","max_retries":0}]`)),
		// Room for every line even when a loaded machine cuts the stream
		// into many small reads: this test is about the outputs, not the
		// buffer's overflow.
		Pipeline: pipeline.Options{BufferBytes: 256 << 20, BufferLines: 1 << 20},
	})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	w := bufio.NewWriter(conn)
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "INFO s=%d\n", i)
	}
	w.Flush()
	conn.Close()
	waitFor(t, "the console to print every line", func() bool {
		if d := s.Metrics().DroppedTotal(); d > 0 {
			t.Fatalf("%d lines dropped before the outputs; want none", d)
		}
		return stdout.lines.Load() == n
	})
	if got := posted.Load(); got > n/2 {
		t.Fatalf("the slow HTTP server already has %d of %d lines; the test needs it behind", got, n)
	}
	// The HTTP output cannot catch up within a short deadline: its queued
	// batches are counted as dropped, not lost.
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	s.Shutdown(ctx)
	assertAccounting(t, s, "console", "http:"+httpURL)
}

// TestHTTPOutputDownCountsDrops sends to an HTTP output whose server is gone:
// the batches are dropped after their retries and counted, while the console
// output delivers everything.
func TestHTTPOutputDownCountsDrops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + ln.Addr().String() + "/logs"
	ln.Close() // nothing listens there any more

	stdout := &countingWriter{}
	defer func(old io.Writer) { output.Stdout = old }(output.Stdout)
	output.Stdout = stdout
	s := start(t, Options{
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":10,
			"outputs":[{"type":"console"},{"type":"http","url":"`+deadURL+`","max_retries":1}]}]}`),
	})
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	for i := 0; i < n; i++ {
		fmt.Fprintf(conn, "INFO s=%d\n", i)
	}
	conn.Close()
	m := s.Metrics()
	failed := m.OutputDropped("http:"+deadURL, metrics.ReasonOutputFailed)
	waitFor(t, "the dead output's drops to be counted", func() bool { return failed.Get() == n })
	if got := stdout.lines.Load(); got != n {
		t.Fatalf("console printed %d lines; want %d", got, n)
	}
	shutdown(t, s, 10*time.Second)
	if got := m.Delivered("http:" + deadURL).Get(); got != 0 {
		t.Fatalf("dead output delivered %d; want 0", got)
	}
	assertAccounting(t, s, "console", "http:"+deadURL)
}
