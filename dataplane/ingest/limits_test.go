package ingest

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/dataplane/internal/testcert"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// orderSink records the lines pushed to it, in order.
type orderSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *orderSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	for _, l := range b.Lines {
		s.lines = append(s.lines, string(l))
	}
	s.mu.Unlock()
	record.Put(b)
	return nil
}

func (s *orderSink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// waitFor polls cond until it holds, and fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitClosed reads c until the server closes it, and fails the test if
// that takes 10 s.
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("the server did not close the connection within 10 s")
	}
}

func dial(t *testing.T, addr net.Addr) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("cannot write: %v", err)
	}
}

// startTCP starts a TCP listener with limits lim and TLS cfg (nil: plain);
// the test's cleanup stops it.
func startTCP(t *testing.T, lim Limits, cfg *tls.Config) (*TCP, *orderSink, *metrics.Metrics) {
	t.Helper()
	sink, m := &orderSink{}, metrics.New()
	tcp, err := ListenTCP("127.0.0.1:0", Config{Sink: sink, Metrics: m, Limits: lim, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	go tcp.Serve()
	t.Cleanup(func() { tcp.Shutdown(context.Background()) })
	return tcp, sink, m
}

// startHTTP starts an HTTP listener with limits lim and TLS cfg (nil:
// plain); the test's cleanup stops it.
func startHTTP(t *testing.T, lim Limits, cfg *tls.Config) (*HTTP, *orderSink, *metrics.Metrics) {
	t.Helper()
	sink, m := &orderSink{}, metrics.New()
	h, err := ListenHTTP("127.0.0.1:0", Config{Sink: sink, Metrics: m, Limits: lim, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve()
	t.Cleanup(func() { h.Shutdown(context.Background()) })
	return h, sink, m
}

func TestTCPMaxConnections(t *testing.T) {
	tcp, sink, m := startTCP(t, Limits{MaxConns: 2}, nil)
	a, b := dial(t, tcp.Addr()), dial(t, tcp.Addr())
	write(t, a, "a\n")
	write(t, b, "b\n")
	waitFor(t, "the lines of the two connections", func() bool { return len(sink.Lines()) == 2 })

	c := dial(t, tcp.Addr())
	io.WriteString(c, "c\n") // may fail: the connection is closed at once
	waitClosed(t, c)
	if got := m.IngestRefused("tcp", metrics.RefusedMaxConnections).Get(); got != 1 {
		t.Errorf("refused: got %d; want 1", got)
	}

	a.Close()
	waitFor(t, "the closed connection's slot", func() bool { return tcp.lim.open.Load() == 1 })
	d := dial(t, tcp.Addr())
	write(t, d, "d\n")
	waitFor(t, "the line of a connection within the limit again", func() bool { return len(sink.Lines()) == 3 })
	if got, want := slices.Sorted(slices.Values(sink.Lines())), []string{"a", "b", "d"}; !slices.Equal(got, want) {
		t.Errorf("lines: got %q; want %q", got, want)
	}
}

func TestTCPIdleTimeout(t *testing.T) {
	tcp, sink, m := startTCP(t, Limits{IdleTimeout: 50 * time.Millisecond}, nil)
	c := dial(t, tcp.Addr())
	write(t, c, "whole\ncard=4111 1111")
	waitClosed(t, c)
	waitFor(t, "the idle close to be counted", func() bool {
		return m.IngestClosed("tcp", metrics.ClosedIdleTimeout).Get() == 1
	})
	waitFor(t, "the connection to be gone", func() bool { return tcp.lim.open.Load() == 0 })
	if got, want := sink.Lines(), []string{"whole"}; !slices.Equal(got, want) {
		t.Errorf("lines: got %q; want %q", got, want)
	}
	if got := m.Dropped(metrics.ReasonTruncated).Get(); got != 1 {
		t.Errorf("truncated: got %d; want 1 (the unfinished line)", got)
	}
	if got := m.Received.Get(); got != 2 {
		t.Errorf("received: got %d; want 2", got)
	}
}

// TestTCPLineBudget: when the unfinished lines of all connections go over
// the budget, the connection holding the most is closed and its line
// dropped and counted; the others keep their lines.
//
// The buffer a line grows into depends on how the kernel splits the reads,
// so the sizes hold whatever the reads: the big line alone (400 KiB, in a
// buffer of at most -max-line plus a read, 484 KiB) stays within the budget,
// the small one (120 KiB, in at most 2*122+64 KiB) always holds less than
// the big one, and the two together are over.
func TestTCPLineBudget(t *testing.T) {
	sink, m := &orderSink{}, metrics.New()
	tcp, err := ListenTCP("127.0.0.1:0", Config{Sink: sink, Metrics: m, MaxLine: 420 << 10, Limits: Limits{LineBudget: 512 << 10}})
	if err != nil {
		t.Fatal(err)
	}
	go tcp.Serve()
	t.Cleanup(func() { tcp.Shutdown(context.Background()) })
	big := dial(t, tcp.Addr())
	write(t, big, "big-first\n"+strings.Repeat("a", 400<<10))
	waitFor(t, "the big line to be held", func() bool { return tcp.held.Load() >= 400<<10 })
	small := dial(t, tcp.Addr())
	write(t, small, strings.Repeat("b", 120<<10)) // together over the budget
	waitClosed(t, big)
	if got := m.IngestClosed("tcp", metrics.ClosedLineBudget).Get(); got != 1 {
		t.Errorf("closed over the line budget: got %d; want 1", got)
	}
	write(t, small, "\n")
	small.Close()
	waitFor(t, "the smaller line", func() bool { return len(sink.Lines()) == 2 })
	lines := sink.Lines()
	if lines[0] != "big-first" || lines[1] != strings.Repeat("b", 120<<10) {
		t.Errorf("lines: got %d lines starting %.20q, %.20q; want big-first and the 120 KiB line", len(lines), lines[0], lines[1])
	}
	waitFor(t, "both connections to be gone", func() bool { return tcp.lim.open.Load() == 0 })
	if got := m.Dropped(metrics.ReasonTruncated).Get(); got != 1 {
		t.Errorf("truncated: got %d; want 1 (the big unfinished line)", got)
	}
	if got := tcp.held.Load(); got != 0 {
		t.Errorf("unfinished-line bytes with no connection left: got %d; want 0", got)
	}
}

// tlsClients are the ways a test client connects to a TLS listener.
type tlsClient int

const (
	plainClient tlsClient = iota // no TLS at all
	anonClient                   // TLS without a client certificate
	certClient                   // TLS with the client certificate
)

// tlsCases are the TLS test cases: a listener with or without a client CA,
// and a client of each kind.
var tlsCases = []struct {
	name     string
	mutual   bool // the listener requires a client certificate
	client   tlsClient
	accepted bool
}{
	{"tls, plain client", false, plainClient, false},
	{"tls, client without certificate", false, anonClient, true},
	{"tls, client with certificate", false, certClient, true},
	{"mutual tls, plain client", true, plainClient, false},
	{"mutual tls, client without certificate", true, anonClient, false},
	{"mutual tls, client with certificate", true, certClient, true},
}

// tlsConfigs returns the listener's and the client's TLS configurations.
func tlsConfigs(t *testing.T, mutual bool, client tlsClient) (server, cli *tls.Config) {
	t.Helper()
	set := testcert.New(t)
	ca := ""
	if mutual {
		ca = set.CAFile
	}
	server, err := LoadTLS(set.CertFile, set.KeyFile, ca)
	if err != nil {
		t.Fatal(err)
	}
	if client == plainClient {
		return server, nil
	}
	cli = &tls.Config{RootCAs: set.CAPool, ServerName: "127.0.0.1"}
	if client == certClient {
		cert, err := tls.LoadX509KeyPair(set.ClientCertFile, set.ClientKeyFile)
		if err != nil {
			t.Fatal(err)
		}
		cli.Certificates = []tls.Certificate{cert}
	}
	return server, cli
}

func TestTCPTLS(t *testing.T) {
	for _, c := range tlsCases {
		t.Run(c.name, func(t *testing.T) {
			server, cli := tlsConfigs(t, c.mutual, c.client)
			tcp, sink, m := startTCP(t, Limits{}, server)
			conn := dial(t, tcp.Addr())
			if cli != nil {
				conn = tls.Client(conn, cli)
			}
			io.WriteString(conn, "hello over tls\n") // fails when the server refuses the handshake
			if c.accepted {
				waitFor(t, "the line", func() bool { return len(sink.Lines()) == 1 })
				if got := sink.Lines()[0]; got != "hello over tls" {
					t.Errorf("line: got %q; want %q", got, "hello over tls")
				}
				return
			}
			waitFor(t, "the refused handshake to be counted", func() bool {
				return m.IngestRefused("tcp", metrics.RefusedTLSHandshake).Get() == 1
			})
			waitFor(t, "the connection to be gone", func() bool { return tcp.lim.open.Load() == 0 })
			if got := m.Received.Get(); got != 0 {
				t.Errorf("received %d lines from a refused client; want 0", got)
			}
		})
	}
}

// request writes an HTTP request's headers, and body when it is not empty,
// on a new connection.
func request(t *testing.T, addr net.Addr, headers, body string) net.Conn {
	t.Helper()
	c := dial(t, addr)
	write(t, c, "POST /ingest HTTP/1.1\r\nHost: x\r\n"+headers+"\r\n"+body)
	return c
}

// response reads the answer to the request on c.
func response(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// post sends body to the listener as a client would, and returns the
// status.
func post(t *testing.T, h *HTTP, body string) int {
	t.Helper()
	resp, err := http.Post("http://"+h.Addr().String()+"/ingest", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// checkRefused checks a 429 answer.
func checkRefused(t *testing.T, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !resp.Close {
		t.Errorf("got %s %q, Retry-After %q, close %v; want 429 with Retry-After, closing the connection",
			resp.Status, body, resp.Header.Get("Retry-After"), resp.Close)
	}
}

func TestHTTPMaxConnections(t *testing.T) {
	h, sink, m := startHTTP(t, Limits{MaxConns: 2}, nil)
	a := dial(t, h.Addr())
	dial(t, h.Addr())
	waitFor(t, "two connections", func() bool { return h.lim.open.Load() == 2 })
	c := dial(t, h.Addr())
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnot\n")
	waitClosed(t, c)
	if got := m.IngestRefused("http", metrics.RefusedMaxConnections).Get(); got != 1 {
		t.Errorf("refused: got %d; want 1", got)
	}
	a.Close()
	waitFor(t, "the closed connection's slot", func() bool { return h.lim.open.Load() == 1 })
	if got := post(t, h, "within the limit again\n"); got != http.StatusAccepted {
		t.Errorf("status: got %d; want 202", got)
	}
	if got, want := sink.Lines(), []string{"within the limit again"}; !slices.Equal(got, want) {
		t.Errorf("lines: got %q; want %q", got, want)
	}
}

func TestHTTPTimeouts(t *testing.T) {
	const short = 100 * time.Millisecond
	for _, c := range []struct {
		name   string
		lim    Limits
		send   func(t *testing.T, h *HTTP) net.Conn
		reason string
	}{
		{"kept-alive connection idle", Limits{IdleTimeout: short}, func(t *testing.T, h *HTTP) net.Conn {
			c := request(t, h.Addr(), "Content-Length: 4\r\n", "one\n")
			if resp, body := response(t, c); resp.StatusCode != http.StatusAccepted {
				t.Fatalf("got %s %q; want 202", resp.Status, body)
			}
			return c
		}, metrics.ClosedIdleTimeout},
		{"new connection silent", Limits{HTTPReadTimeout: short}, func(t *testing.T, h *HTTP) net.Conn {
			return dial(t, h.Addr())
		}, metrics.ClosedIdleTimeout},
		{"headers unfinished", Limits{HTTPReadTimeout: short}, func(t *testing.T, h *HTTP) net.Conn {
			c := dial(t, h.Addr())
			write(t, c, "POST /ingest HTTP/1.1\r\nHost: x\r\n")
			return c
		}, metrics.ClosedReadTimeout},
		{"body unfinished", Limits{HTTPReadTimeout: short}, func(t *testing.T, h *HTTP) net.Conn {
			c := request(t, h.Addr(), "Content-Length: 100\r\n", "one\ntw")
			if resp, body := response(t, c); resp.StatusCode != http.StatusRequestTimeout {
				t.Errorf("got %s %q; want 408", resp.Status, body)
			}
			return c
		}, metrics.ClosedReadTimeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, _, m := startHTTP(t, c.lim, nil)
			waitClosed(t, c.send(t, h))
			waitFor(t, "the close to be counted as "+c.reason, func() bool { return m.IngestClosed("http", c.reason).Get() == 1 })
			for _, r := range []string{metrics.ClosedIdleTimeout, metrics.ClosedReadTimeout} {
				if got := m.IngestClosed("http", r).Get(); r != c.reason && got != 0 {
					t.Errorf("closed as %s: got %d; want 0", r, got)
				}
			}
			if got := m.Received.Get(); got != 0 && c.reason != metrics.ClosedIdleTimeout {
				t.Errorf("received %d lines of an unfinished request; want 0", got)
			}
		})
	}
}

// TestHTTPBodyBudget: a request whose body would take the bodies in flight
// over their budget is answered 429 from its headers, before its client
// sends any of the body; once the budget has room, requests are taken
// again.
func TestHTTPBodyBudget(t *testing.T) {
	h, sink, m := startHTTP(t, Limits{HTTPMaxBody: 64 << 10, HTTPBodyBudget: 64 << 10}, nil)
	body := strings.Repeat(strings.Repeat("x", 99)+"\n", 600) // 60,000 bytes
	slow := request(t, h.Addr(), fmt.Sprintf("Content-Length: %d\r\n", len(body)), body[:1000])
	waitFor(t, "the slow body's reservation", func() bool { return h.inflight.Load() == int64(len(body)) })

	for _, c := range []struct{ name, headers string }{
		{"content length", "Content-Length: 10000\r\n"},
		{"chunked", "Transfer-Encoding: chunked\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Only the headers are sent: the answer must not wait for a body.
			resp, text := response(t, request(t, h.Addr(), c.headers, ""))
			checkRefused(t, resp, text)
		})
	}
	if got := m.IngestRefused("http", metrics.RefusedBodyBudget).Get(); got != 2 {
		t.Errorf("refused over the body budget: got %d; want 2", got)
	}
	if got := m.Received.Get(); got != 0 {
		t.Errorf("received %d lines; want 0", got)
	}

	write(t, slow, body[1000:])
	if resp, text := response(t, slow); resp.StatusCode != http.StatusAccepted || !strings.Contains(text, `"accepted":600`) {
		t.Fatalf("slow request: got %s %q; want 202 with 600 lines accepted", resp.Status, text)
	}
	if got := h.inflight.Load(); got != 0 {
		t.Errorf("body bytes in flight after the requests: got %d; want 0", got)
	}
	if got := post(t, h, body[:10000]); got != http.StatusAccepted {
		t.Errorf("status once the budget has room: got %d; want 202", got)
	}
	// A body of no announced length (the client sends it chunked: it
	// cannot tell the length of a MultiReader) reserves as it is read.
	resp, err := http.Post("http://"+h.Addr().String()+"/ingest", "text/plain", io.MultiReader(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("chunked body: got %s; want 202", resp.Status)
	}
	if got := len(sink.Lines()); got != 1300 {
		t.Errorf("lines: got %d; want 1300", got)
	}
	if got := h.inflight.Load(); got != 0 {
		t.Errorf("body bytes in flight after the chunked request: got %d; want 0", got)
	}
}

func TestHTTPMaxRequests(t *testing.T) {
	h, sink, m := startHTTP(t, Limits{HTTPMaxRequests: 1}, nil)
	slow := request(t, h.Addr(), "Content-Length: 10\r\n", "first")
	waitFor(t, "the slow request", func() bool { return h.requests.Load() == 1 })
	resp, text := response(t, request(t, h.Addr(), "Content-Length: 7\r\n", "second\n"))
	checkRefused(t, resp, text)
	if got := m.IngestRefused("http", metrics.RefusedMaxRequests).Get(); got != 1 {
		t.Errorf("refused: got %d; want 1", got)
	}
	write(t, slow, " one\n")
	if resp, text := response(t, slow); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("slow request: got %s %q; want 202", resp.Status, text)
	}
	if got := post(t, h, "third\n"); got != http.StatusAccepted {
		t.Errorf("status once a request has ended: got %d; want 202", got)
	}
	if got, want := sink.Lines(), []string{"first one", "third"}; !slices.Equal(got, want) {
		t.Errorf("lines: got %q; want %q", got, want)
	}
}

func TestHTTPTLS(t *testing.T) {
	for _, c := range tlsCases {
		t.Run(c.name, func(t *testing.T) {
			server, cli := tlsConfigs(t, c.mutual, c.client)
			h, sink, m := startHTTP(t, Limits{}, server)
			scheme, tr := "https", &http.Transport{TLSClientConfig: cli}
			if cli == nil {
				scheme = "http"
			}
			t.Cleanup(tr.CloseIdleConnections)
			resp, err := (&http.Client{Transport: tr}).Post(scheme+"://"+h.Addr().String()+"/ingest", "text/plain", strings.NewReader("hello over tls\n"))
			if c.accepted {
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted || !slices.Equal(sink.Lines(), []string{"hello over tls"}) {
					t.Errorf("got %s and lines %q; want 202 and the line", resp.Status, sink.Lines())
				}
				return
			}
			// A plain HTTP request is told it needs TLS.
			if err == nil {
				resp.Body.Close()
				if c.client != plainClient || resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("a refused client got %s; want an error", resp.Status)
				}
			}
			waitFor(t, "the refused handshake to be counted", func() bool {
				return m.IngestRefused("http", metrics.RefusedTLSHandshake).Get() == 1
			})
			if got := m.Received.Get(); got != 0 {
				t.Errorf("received %d lines from a refused client; want 0", got)
			}
		})
	}
}

// TestHTTPChunkedBodyTooLarge: a body of no announced length is cut off at
// the limit as it is read, and nothing of it is taken.
func TestHTTPChunkedBodyTooLarge(t *testing.T) {
	h, _, m := startHTTP(t, Limits{HTTPMaxBody: 1000, HTTPBodyBudget: 1000}, nil)
	resp, err := http.Post("http://"+h.Addr().String()+"/ingest", "text/plain",
		io.MultiReader(strings.NewReader(strings.Repeat("twenty bytes a line\n", 100))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("status: got %s; want 413", resp.Status)
	}
	if got := m.IngestRefused("http", metrics.RefusedBodyTooLarge).Get(); got != 1 {
		t.Errorf("refused as too large: got %d; want 1", got)
	}
	if got := m.Received.Get(); got != 0 {
		t.Errorf("received %d lines of a refused body; want 0", got)
	}
	if got := h.inflight.Load(); got != 0 {
		t.Errorf("body bytes in flight after the request: got %d; want 0", got)
	}
}
