package output

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/record"
)

// fastRetries makes retry waits short enough for tests.
var fastRetries = retryTiming{
	backoffBase:   time.Millisecond,
	backoffMax:    10 * time.Millisecond,
	retryAfterMax: maxRetryAfter,
}

// slowRetries makes a backoff outlast any test, so only ctx or Close can end
// it.
var slowRetries = retryTiming{backoffBase: time.Hour, backoffMax: time.Hour, retryAfterMax: time.Hour}

// request is one request a test server received.
type request struct {
	header http.Header
	body   []byte // decompressed if it was gzipped
}

// server is a test HTTP server that records requests and answers the n-th one
// (from 0) as respond says.
type server struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newServer(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(strings.NewReader(string(body))); err == nil {
				body, err = io.ReadAll(zr)
			}
		}
		if err != nil {
			t.Errorf("server: cannot read request body: %v", err)
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		s.mu.Lock()
		n := len(s.reqs)
		s.reqs = append(s.reqs, request{header: r.Header.Clone(), body: body})
		s.mu.Unlock()
		respond(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// statuses answers the n-th request with codes[n], or the last code for the
// requests after len(codes).
func statuses(codes ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(codes[min(n, len(codes)-1)])
	}
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// waitRequests polls until the server has seen n requests.
func (s *server) waitRequests(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.requests()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("server saw %d requests, want %d", len(s.requests()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func newTestHTTP(t *testing.T, c *Config, timing retryTiming) *httpOutput {
	t.Helper()
	c.Type = "http"
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newHTTPOutput(c, timing)
	if err != nil {
		t.Fatalf("newHTTPOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func batchOf(lines ...string) *record.Batch {
	b := record.Get(0)
	for _, l := range lines {
		b.AppendLine([]byte(l))
	}
	return b
}

func intPtr(n int) *int { return &n }

// retriesRun numbers the outputs of TestHTTPRetries.
var retriesRun atomic.Int64

func TestHTTPRetries(t *testing.T) {
	tests := []struct {
		name         string
		codes        []int // answers, the last one repeated
		maxRetries   *int
		wantRequests int
		wantErr      string // "" for success
	}{
		{name: "200", codes: []int{200}, wantRequests: 1},
		{name: "202", codes: []int{202}, wantRequests: 1},
		{name: "500 then 200", codes: []int{500, 200}, wantRequests: 2},
		{name: "502 503 504 then 204", codes: []int{502, 503, 504, 204}, wantRequests: 4},
		{name: "408 then 200", codes: []int{408, 200}, wantRequests: 2},
		{name: "429 without Retry-After then 200", codes: []int{429, 200}, wantRequests: 2},
		{name: "400 is final", codes: []int{400, 200}, wantRequests: 1, wantErr: "status 400 Bad Request, not retried"},
		{name: "401 is final", codes: []int{401, 200}, wantRequests: 1, wantErr: "status 401 Unauthorized, not retried"},
		{name: "413 is final", codes: []int{413, 200}, wantRequests: 1, wantErr: "status 413"},
		{name: "301 is final", codes: []int{301, 200}, wantRequests: 1, wantErr: "status 301"},
		{name: "500 until retries run out", codes: []int{500}, maxRetries: intPtr(2), wantRequests: 3, wantErr: "giving up after 3 attempts: status 500 Internal Server Error"},
		{name: "default max_retries is 5", codes: []int{503}, wantRequests: 6, wantErr: "giving up after 6 attempts: status 503"},
		{name: "max_retries 0", codes: []int{500, 200}, maxRetries: intPtr(0), wantRequests: 1, wantErr: "giving up after 1 attempt: status 500"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, statuses(tt.codes...))
			// The output's series are process-wide and named after its
			// URL: a path of its own keeps an earlier test's output, on a
			// port used again, out of this one's counts.
			url := srv.URL + "/retries/" + strconv.FormatInt(retriesRun.Add(1), 10)
			o := newTestHTTP(t, &Config{URL: url, MaxRetries: tt.maxRetries}, fastRetries)

			err := o.Write(context.Background(), batchOf("a", "b"))

			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Write: %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Write: nil, want an error containing %q", tt.wantErr)
			case tt.wantErr != "":
				want := "cannot post batch to " + url + ": "
				if !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Write: %q, want it to start with %q and contain %q", err, want, tt.wantErr)
				}
			}
			reqs := srv.requests()
			if len(reqs) != tt.wantRequests {
				t.Fatalf("server saw %d requests, want %d", len(reqs), tt.wantRequests)
			}
			// Each request is timed, and each but the first counted as a retry.
			var exp strings.Builder
			WritePrometheus(&exp)
			name := strconv.Quote("http:" + url)
			for _, want := range []string{
				fmt.Sprintf("%s_count{output=%s} %d\n", RequestDuration, name, tt.wantRequests),
				fmt.Sprintf("%s{output=%s} %d\n", OutputRetries, name, tt.wantRequests-1),
			} {
				if !strings.Contains(exp.String(), want) {
					t.Errorf("exposition lacks %q", want)
				}
			}
			for i, r := range reqs {
				if string(r.body) != "a\nb\n" {
					t.Errorf("request %d: body %q, want %q", i, r.body, "a\nb\n")
				}
			}
		})
	}
}

func TestHTTPRetryAfter(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries)

	start := time.Now()
	if err := o.Write(context.Background(), batchOf("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Errorf("Write returned after %v, want at least the 1 s of Retry-After", elapsed)
	}
	if n := len(srv.requests()); n != 2 {
		t.Errorf("server saw %d requests, want 2", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) string { return now.Add(d).Format(http.TimeFormat) }
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"1", time.Second},
		{"30", 30 * time.Second},
		{"31", 30 * time.Second},
		{"99999999999999999999999", 30 * time.Second},
		{"-1", 0},
		{"1.5", 0},
		{"soon", 0},
		{date(5 * time.Second), 5 * time.Second},
		{date(-time.Minute), 0},
		{date(time.Hour), 30 * time.Second},
	}
	o := &httpOutput{retryTiming: retryTiming{retryAfterMax: maxRetryAfter}}
	for _, tt := range tests {
		if got := o.retryAfter([]byte(tt.value), now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestBackoff(t *testing.T) {
	o := &httpOutput{retryTiming: retryTiming{backoffBase: defaultBackoffBase, backoffMax: defaultBackoffMax}}
	for n, want := range []time.Duration{100, 200, 400, 800, 1600, 3200, 5000, 5000} {
		want *= time.Millisecond
		if n == 7 {
			n = 1000 // far past the cap: no overflow
		}
		for range 100 {
			if got := o.backoff(n); got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %v, want within [%v, %v]", n, got, want/2, want)
			}
		}
	}
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select { // stall until the client gives up or the test ends
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for handlers
	o := newTestHTTP(t, &Config{URL: srv.URL, TimeoutMS: 100, MaxRetries: intPtr(2)}, fastRetries)

	start := time.Now()
	err := o.Write(context.Background(), batchOf("x"))
	if err == nil {
		t.Fatal("Write: nil, want a timeout error")
	}
	if want := "giving up after 3 attempts"; !strings.Contains(err.Error(), want) {
		t.Errorf("Write: %q, want it to contain %q", err, want)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Errorf("Write returned after %v, want at least 3 timeouts of 100 ms", elapsed)
	}
	srv.waitRequests(t, 3)
}

func TestHTTPContextDeadlineBoundsRequest(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries) // 10 s request timeout

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := o.Write(ctx, batchOf("x"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write: %v, want context.DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("Write returned after %v, want about the 200 ms of ctx", elapsed)
	}
}

func TestHTTPServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/ingest"
	ln.Close()
	o := newTestHTTP(t, &Config{URL: url, MaxRetries: intPtr(2)}, fastRetries)

	err = o.Write(context.Background(), batchOf("x"))
	if err == nil {
		t.Fatal("Write: nil, want an error")
	}
	if want := "cannot post batch to " + url + ": giving up after 3 attempts: "; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Write: %q, want it to start with %q", err, want)
	}
}

func TestHTTPContextCanceledDuringBackoff(t *testing.T) {
	srv := newServer(t, statuses(http.StatusInternalServerError))
	o := newTestHTTP(t, &Config{URL: srv.URL}, slowRetries)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- o.Write(ctx, batchOf("x")) }()
	srv.waitRequests(t, 1)
	cancel()

	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Write: %v, want context.Canceled", err)
		}
		if want := "after 1 attempt, last: status 500"; err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("Write: %q, want it to contain %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not return after ctx was canceled")
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestHTTPContextDoneBeforeWrite(t *testing.T) {
	srv := newServer(t, statuses(http.StatusOK))
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Write(ctx, batchOf("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write: %v, want context.Canceled", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}
}

func TestHTTPCloseDuringBackoff(t *testing.T) {
	srv := newServer(t, statuses(http.StatusServiceUnavailable))
	o := newTestHTTP(t, &Config{URL: srv.URL}, slowRetries)

	done := make(chan error, 1)
	go func() { done <- o.Write(context.Background(), batchOf("x")) }()
	srv.waitRequests(t, 1)
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Write in flight: %v, want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Write did not return after Close")
	}
	if err := o.Write(context.Background(), batchOf("y")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestHTTPEmptyBatch(t *testing.T) {
	srv := newServer(t, statuses(http.StatusOK))
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries)
	if err := o.Write(context.Background(), batchOf()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("server saw %d requests for an empty batch, want 0", n)
	}
}

func TestHTTPFormats(t *testing.T) {
	wantType := map[string]string{
		"":           "text/plain; charset=utf-8",
		"text":       "text/plain; charset=utf-8",
		"ndjson":     "application/x-ndjson",
		"json_array": "application/json",
		"datadog":    "application/json",
		"splunk_hec": "application/json",
	}
	for _, format := range append([]string{""}, formatNames()...) {
		for _, gz := range []bool{false, true} {
			t.Run("format="+format+"/gzip="+strconv.FormatBool(gz), func(t *testing.T) {
				srv := newServer(t, statuses(http.StatusOK))
				o := newTestHTTP(t, &Config{URL: srv.URL, Format: format, Gzip: gz}, fastRetries)

				if err := o.Write(context.Background(), batchOf(testLines...)); err != nil {
					t.Fatalf("Write: %v", err)
				}
				reqs := srv.requests()
				if len(reqs) != 1 {
					t.Fatalf("server saw %d requests, want 1", len(reqs))
				}
				r := reqs[0]
				if got := r.header.Get("Content-Type"); got != wantType[format] {
					t.Errorf("Content-Type %q, want %q", got, wantType[format])
				}
				wantEncoding := ""
				if gz {
					wantEncoding = "gzip"
				}
				if got := r.header.Get("Content-Encoding"); got != wantEncoding {
					t.Errorf("Content-Encoding %q, want %q", got, wantEncoding)
				}
				got := decodeBody(t, format, r.body)
				if want := wantBody(format); !reflect.DeepEqual(got, want) {
					t.Errorf("body %q\ndecodes to %#v\nwant       %#v", r.body, got, want)
				}
			})
		}
	}
}

func TestHTTPGzipLargeBatches(t *testing.T) {
	srv := newServer(t, statuses(http.StatusOK))
	o := newTestHTTP(t, &Config{URL: srv.URL, Format: "ndjson", Gzip: true}, fastRetries)
	// Several Writes in turn reuse pooled compressors and buffers.
	var want []string
	for i := range 5 {
		b := record.Get(0)
		for j := range 1000 * (i + 1) {
			b.AppendLine([]byte(`{"batch":` + strconv.Itoa(i) + `,"line":` + strconv.Itoa(j) + `}`))
		}
		if err := o.Write(context.Background(), b); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
		want = append(want, string(appendNDJSON(nil, b.Lines)))
		record.Put(b)
	}
	reqs := srv.requests()
	if len(reqs) != len(want) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(want))
	}
	for i, r := range reqs {
		if string(r.body) != want[i] {
			t.Errorf("request %d: body of %d bytes differs from the %d bytes sent", i, len(r.body), len(want[i]))
		}
	}
}

func TestHTTPConcurrentWrites(t *testing.T) {
	// The first attempt of each batch fails, so every Write retries once.
	var srv *server
	srv = newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		reqs := srv.requests()
		for _, r := range reqs[:n] {
			if string(r.body) == string(reqs[n].body) {
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
	})
	o := newTestHTTP(t, &Config{URL: srv.URL, Gzip: true}, fastRetries)
	const writers, perWriter = 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				line := "writer " + strconv.Itoa(w) + " batch " + strconv.Itoa(i)
				if err := o.Write(context.Background(), batchOf(line)); err != nil {
					t.Errorf("Write: %v", err)
				}
			}
		})
	}
	wg.Wait()
	seen := make(map[string]int)
	for _, r := range srv.requests() {
		seen[string(r.body)]++
	}
	if len(seen) != writers*perWriter {
		t.Errorf("server received %d distinct batches, want %d", len(seen), writers*perWriter)
	}
	for body, n := range seen {
		if n != 2 {
			t.Errorf("batch %q was sent %d times, want 2", body, n)
		}
	}
}

// TestHTTPMaxInFlight: however many Writes run at once, no more than
// max_in_flight requests reach the server at once.
func TestHTTPMaxInFlight(t *testing.T) {
	for _, limit := range []int{1, 3} {
		var cur, peak atomic.Int32
		srv := newServer(t, func(int, http.ResponseWriter, *http.Request) {
			n := cur.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			cur.Add(-1)
		})
		o := newTestHTTP(t, &Config{URL: srv.URL, MaxInFlight: intPtr(limit)}, fastRetries)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 5 {
					if err := o.Write(context.Background(), batchOf(fmt.Sprint(w, i))); err != nil {
						t.Errorf("Write: %v", err)
					}
				}
			})
		}
		wg.Wait()
		if got := peak.Load(); got > int32(limit) || got < 1 {
			t.Errorf("max_in_flight %d: got %d requests at once", limit, got)
		}
		if limit > 1 && peak.Load() < 2 {
			t.Errorf("max_in_flight %d: never more than one request at once, from 8 writers", limit)
		}
	}
}

func TestHTTPHeaders(t *testing.T) {
	srv := newServer(t, statuses(http.StatusOK))
	o := newTestHTTP(t, &Config{
		URL: srv.URL,
		Headers: map[string]string{
			"DD-API-KEY":    "secret-key",
			"Authorization": "Splunk 1234",
			"X-Empty":       "",
			"Content-Type":  "application/vnd.custom",
		},
	}, fastRetries)
	for range 2 { // headers are on every request, not only the first
		if err := o.Write(context.Background(), batchOf("x")); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	want := map[string]string{
		"Dd-Api-Key":    "secret-key",
		"Authorization": "Splunk 1234",
		"Content-Type":  "application/vnd.custom",
		"User-Agent":    "streamgate",
	}
	for i, r := range srv.requests() {
		for name, value := range want {
			if got := r.header.Get(name); got != value {
				t.Errorf("request %d: header %s = %q, want %q", i, name, got, value)
			}
		}
		if _, ok := r.header["X-Empty"]; !ok {
			t.Errorf("request %d: header X-Empty missing", i)
		}
	}
}

// TestHTTPStaleConnection checks that a keep-alive connection the server
// closed is replaced at once, without a backoff.
func TestHTTPStaleConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var mu sync.Mutex
	requests := 0
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			// Answer one request, without "Connection: close", and hang up.
			br := bufio.NewReader(c)
			if req, err := http.ReadRequest(br); err == nil {
				io.Copy(io.Discard, req.Body)
				mu.Lock()
				requests++
				mu.Unlock()
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			}
			c.Close()
		}
	}()
	o := newTestHTTP(t, &Config{URL: "http://" + ln.Addr().String()}, slowRetries)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 3 {
		if err := o.Write(ctx, batchOf("x")); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if requests != 3 {
		t.Errorf("server answered %d requests, want 3", requests)
	}
}

func TestNewHTTPThroughRegistry(t *testing.T) {
	srv := newServer(t, statuses(http.StatusOK))
	out, err := New(&Config{Type: "http", URL: srv.URL, Format: "datadog"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer out.Close()
	if err := out.Write(context.Background(), batchOf("hello")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := srv.requests(); len(got) != 1 || string(got[0].body) != `[{"message":"hello"}]` {
		t.Errorf("server saw %v, want one request with body %q", got, `[{"message":"hello"}]`)
	}
}

const secret = "s3cr3t-api-key-value"

func TestValidateHTTP(t *testing.T) {
	tests := []struct {
		name    string
		c       Config
		wantErr string // prefix; "" for valid
	}{
		{name: "minimal", c: Config{URL: "http://localhost:8080/logs"}},
		{name: "full", c: Config{URL: "https://http-intake.logs.example.com/api/v2/logs", Format: "datadog",
			TimeoutMS: 5000, MaxRetries: intPtr(100), Gzip: true, Headers: map[string]string{"DD-API-KEY": secret}}},
		{name: "every format", c: Config{URL: "http://h", Format: "splunk_hec"}},
		{name: "ipv6 host", c: Config{URL: "http://[::1]:9000/"}},
		{name: "missing url", c: Config{}, wantErr: "url: required for http output"},
		{name: "bad scheme", c: Config{URL: "ftp://host/x"}, wantErr: `url: scheme must be http or https, got "ftp"`},
		{name: "no scheme", c: Config{URL: "host:9000"}, wantErr: "url: scheme must be http or https"},
		{name: "no host", c: Config{URL: "http:///path"}, wantErr: "url: host is missing"},
		{name: "unparsable url", c: Config{URL: "http://user:" + secret + "@host:port/"}, wantErr: "url: cannot parse: "},
		{name: "bad format", c: Config{URL: "http://h", Format: "xml"}, wantErr: `format: unknown format "xml" (known: datadog, json_array, ndjson, splunk_hec, text)`},
		{name: "negative timeout", c: Config{URL: "http://h", TimeoutMS: -1}, wantErr: "timeout_ms: "},
		{name: "negative retries", c: Config{URL: "http://h", MaxRetries: intPtr(-1)}, wantErr: "max_retries: "},
		{name: "too many retries", c: Config{URL: "http://h", MaxRetries: intPtr(101)}, wantErr: "max_retries: "},
		{name: "negative linger", c: Config{URL: "http://h", LingerMS: intPtr(-1)}, wantErr: "linger_ms: "},
		{name: "linger over a second", c: Config{URL: "http://h", LingerMS: intPtr(1001)}, wantErr: "linger_ms: "},
		{name: "no request in flight", c: Config{URL: "http://h", MaxInFlight: intPtr(0)}, wantErr: "max_in_flight: "},
		{name: "too many in flight", c: Config{URL: "http://h", MaxInFlight: intPtr(65)}, wantErr: "max_in_flight: "},
		{name: "empty header name", c: Config{URL: "http://h", Headers: map[string]string{"": secret}}, wantErr: `headers[""]: name is empty`},
		{name: "bad header name", c: Config{URL: "http://h", Headers: map[string]string{"X Key": secret}}, wantErr: `headers["X Key"]: name has invalid character ' '`},
		{name: "header name with colon", c: Config{URL: "http://h", Headers: map[string]string{"X-Key:": secret}}, wantErr: `headers["X-Key:"]: `},
		{name: "header value with newline", c: Config{URL: "http://h", Headers: map[string]string{"X-Key": secret + "\r\nX-Evil: 1"}}, wantErr: `headers["X-Key"]: value has a control character`},
		{name: "content-length header", c: Config{URL: "http://h", Headers: map[string]string{"content-length": "1"}}, wantErr: `headers["content-length"]: set by the output`},
		{name: "content-encoding header", c: Config{URL: "http://h", Headers: map[string]string{"Content-Encoding": "gzip"}}, wantErr: `headers["Content-Encoding"]: set by the output`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Type = "http"
			err := Validate(&c)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v, want nil", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("Validate: nil, want %q", tt.wantErr)
			case err != nil && !strings.HasPrefix(err.Error(), tt.wantErr):
				t.Fatalf("Validate: %q, want prefix %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), secret):
				t.Fatalf("Validate: %q holds a secret", err)
			}
		})
	}
}

// TestHTTPErrorsHideSecrets checks the errors of Write for header values,
// URL passwords and query values.
func TestHTTPErrorsHideSecrets(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		// Echo the credentials, as some servers do in error responses.
		w.Header().Set("X-Echo", r.Header.Get("X-Api-Key"))
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "bad key "+r.Header.Get("X-Api-Key"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	for _, url := range []string{
		srv.URL,
		strings.Replace(srv.URL, "http://", "http://user:"+secret+"@", 1),
		srv.URL + "/push?token=" + secret,
		"http://" + down,
		"http://user:" + secret + "@" + down,
		"http://" + down + "/push?api_key=" + secret + "&" + secret,
	} {
		o := newTestHTTP(t, &Config{URL: url, MaxRetries: intPtr(1), Headers: map[string]string{"X-Api-Key": secret}}, fastRetries)
		err := o.Write(context.Background(), batchOf("x"))
		if err == nil {
			t.Fatalf("Write to %s: nil, want an error", url)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Write: %q holds a secret", err)
		}
		if !strings.HasPrefix(err.Error(), "cannot post batch to http://") {
			t.Errorf("Write: %q, want it to name the URL", err)
		}
	}
}

// TestHTTPErrorKeepsLastStatus checks that an error ending in a connection
// failure still reports the last status received.
func TestHTTPErrorKeepsLastStatus(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		c, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("cannot hijack: %v", err)
			return
		}
		c.Close() // hang up without an answer
	})
	o := newTestHTTP(t, &Config{URL: srv.URL, MaxRetries: intPtr(1)}, fastRetries)

	err := o.Write(context.Background(), batchOf("x"))
	if err == nil {
		t.Fatal("Write: nil, want an error")
	}
	if want := "(last status 502)"; !strings.HasSuffix(err.Error(), want) {
		t.Errorf("Write: %q, want it to end in %q", err, want)
	}
}

// TestHTTPLargeResponse checks that a success whose body is over the limit
// still counts as delivered.
func TestHTTPLargeResponse(t *testing.T) {
	srv := newServer(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Write(make([]byte, 2*maxResponseBody))
	})
	o := newTestHTTP(t, &Config{URL: srv.URL}, fastRetries)
	if err := o.Write(context.Background(), batchOf("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := len(srv.requests()); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}
