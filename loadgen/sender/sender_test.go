package sender

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/loadgen/corpus"
	"streamgate/loadgen/sink"
)

func newSink(t *testing.T) *sink.Sink {
	t.Helper()
	s, err := sink.New(sink.Config{TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("cannot start sink: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func run(t *testing.T, c Config) Summary {
	t.Helper()
	s, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("cannot run sender: %v", err)
	}
	return s
}

func TestEndToEnd(t *testing.T) {
	snk := newSink(t)
	tcp := "tcp://" + snk.TCPAddr().String()
	http := "http://" + snk.HTTPAddr().String() + "/ingest"
	tests := []struct {
		name string
		cfg  Config
	}{
		{"tcp closed", Config{Target: tcp, Conns: 3, Lines: 30_000}},
		{"tcp closed batch", Config{Target: tcp, Conns: 2, Lines: 5_001, Batch: 7}},
		{"tcp open", Config{Target: tcp, Conns: 2, Rate: 20_000, Lines: 4_000}},
		{"http closed", Config{Target: http, Conns: 2, Lines: 10_000}},
		{"http open", Config{Target: http, Conns: 2, Rate: 20_000, Lines: 4_000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snk.Reset()
			tt.cfg.Corpus = corpus.DefaultConfig()
			tt.cfg.Run = "e2e"
			got := run(t, tt.cfg)
			if got.Sent != tt.cfg.Lines || got.Errors != 0 {
				t.Fatalf("got sent=%d errors=%d; want %d, 0", got.Sent, got.Errors, tt.cfg.Lines)
			}
			waitFor(t, "all lines at the sink", func() bool { return snk.Snapshot().Lines >= got.Sent })
			st := snk.Snapshot()
			if st.Lines != got.Sent || st.Bytes != got.Bytes || st.Unparsed != 0 || st.Gaps != 0 ||
				st.Duplicated != 0 || st.Reordered != 0 || st.Sources != int64(tt.cfg.Conns) || st.DebugLines != got.DebugLines {
				t.Fatalf("got sink %+v; want it to match sender %+v", st, got)
			}
			if st.PIILeaks+st.EmailLeaks < got.PIILines || st.PIILeaks > got.PIILines {
				t.Fatalf("got %d PII and %d email leaks; want them to cover %d PII lines", st.PIILeaks, st.EmailLeaks, got.PIILines)
			}
			want := "closed"
			if tt.cfg.Rate > 0 {
				want = "open"
			}
			if got.Mode != want {
				t.Fatalf("got mode %q; want %q", got.Mode, want)
			}
		})
	}
}

// udpCounter counts the lines of the datagrams it receives.
type udpCounter struct {
	conn    *net.UDPConn
	lines   atomic.Int64
	maxSize atomic.Int64
	mu      sync.Mutex
	ts      map[string][]int64 // per source, ts in arrival order
}

func newUDPCounter(t *testing.T) *udpCounter {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	_ = conn.SetReadBuffer(8 << 20)
	u := &udpCounter{conn: conn, ts: map[string][]int64{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			u.maxSize.Store(max(u.maxSize.Load(), int64(n)))
			for line := range bytes.Lines(buf[:n]) {
				l, ok := sink.ParseLine(bytes.TrimSuffix(line, []byte("\n")))
				if !ok {
					continue
				}
				u.mu.Lock()
				u.ts[string(l.Src)] = append(u.ts[string(l.Src)], l.TS)
				u.mu.Unlock()
				u.lines.Add(1)
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-done })
	return u
}

func TestUDP(t *testing.T) {
	u := newUDPCounter(t)
	const rate, conns = 20_000, 2
	got := run(t, Config{Target: "udp://" + u.conn.LocalAddr().String(), Conns: conns, Rate: rate, Lines: 6_000, Run: "udp"})
	if got.Sent != 6_000 || got.Errors != 0 {
		t.Fatalf("got sent=%d errors=%d; want 6000, 0", got.Sent, got.Errors)
	}
	waitFor(t, "all datagrams", func() bool { return u.lines.Load() == got.Sent })
	if size := u.maxSize.Load(); size > datagramBytes {
		t.Fatalf("got a datagram of %d bytes; want at most %d", size, datagramBytes)
	}
	// Lines carry their scheduled time: per source, consecutive lines are
	// exactly conns/rate apart, however the writes were grouped.
	u.mu.Lock()
	defer u.mu.Unlock()
	want := float64(conns) * 1e9 / rate
	for src, ts := range u.ts {
		for i := 1; i < len(ts); i++ {
			if d := float64(ts[i] - ts[i-1]); math.Abs(d-want) > 1 {
				t.Fatalf("%s: got %v ns between lines %d and %d; want %v", src, d, i, i+1, want)
			}
		}
	}
}

func TestOpenLoopPacing(t *testing.T) {
	snk := newSink(t)
	const rate, d = 5_000, 2 * time.Second
	got := run(t, Config{Target: "tcp://" + snk.TCPAddr().String(), Conns: 2, Rate: rate, Duration: d, Run: "pace"})
	want := rate * d.Seconds()
	if math.Abs(float64(got.Sent)-want) > want*0.1 {
		t.Fatalf("got %d lines; want %v ± 10%%", got.Sent, want)
	}
	waitFor(t, "all lines", func() bool { return snk.Snapshot().Lines == got.Sent })
	// Paced, not a burst: lines kept arriving over most of the duration.
	st := snk.Snapshot()
	if span := time.Duration(st.LastNS - st.FirstNS); span < d*8/10 {
		t.Fatalf("got lines over %v; want over at least %v", span, d*8/10)
	}
}

// TestLatencyFromSchedule stalls delivery and checks that the sink sees the
// stall in the latency of lines scheduled during it.
func TestLatencyFromSchedule(t *testing.T) {
	snk := newSink(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	defer ln.Close()
	const stall = 500 * time.Millisecond
	go func() {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		defer in.Close()
		out, err := net.Dial("tcp", snk.TCPAddr().String())
		if err != nil {
			return
		}
		defer out.Close()
		time.Sleep(stall) // the stalled proxy
		_, _ = io.Copy(out, in)
	}()
	got := run(t, Config{Target: "tcp://" + ln.Addr().String(), Conns: 1, Rate: 10_000, Duration: time.Second, Run: "stall"})
	waitFor(t, "all lines", func() bool { return snk.Snapshot().Lines == got.Sent })
	if lat := snk.Snapshot().Latency; lat.P99 < 200 {
		t.Fatalf("got latency %+v; want p99 >= 200 ms", lat)
	}
}

func TestCannotConnect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	for _, target := range []string{"tcp://" + addr, "http://" + addr + "/"} {
		_, err := Run(context.Background(), Config{Target: target, Lines: 10})
		if err == nil || !strings.Contains(err.Error(), "cannot connect") {
			t.Fatalf("%s: got error %v; want cannot connect", target, err)
		}
	}
}

func TestWriteFailureIsFatalWhenRedialFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("cannot listen: %v", err)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = ln.Close()
		_, _ = bufio.NewReader(c).ReadString('\n')
		_ = c.(*net.TCPConn).SetLinger(0)
		_ = c.Close()
	}()
	s, err := Run(context.Background(), Config{Target: "tcp://" + ln.Addr().String(), Conns: 1, Run: "fail", Duration: 10 * time.Second})
	if err == nil || s.Errors == 0 {
		t.Fatalf("got error %v with %d write errors; want a fatal error", err, s.Errors)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no target", Config{}, "cannot parse target"},
		{"bad scheme", Config{Target: "ftp://127.0.0.1:1"}, "unsupported scheme"},
		{"no port", Config{Target: "tcp://127.0.0.1"}, "cannot parse target"},
		{"negative rate", Config{Target: "tcp://127.0.0.1:1", Rate: -1}, "rate"},
		{"bad run", Config{Target: "tcp://127.0.0.1:1", Run: "a b"}, "invalid run id"},
		{"bad share", Config{Target: "tcp://127.0.0.1:1", Corpus: corpus.Config{SSN: 2}}, "ssn share"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v; want one containing %q", err, tt.want)
			}
		})
	}
}

func TestLimitSplitsLines(t *testing.T) {
	tests := []struct {
		lines int64
		conns int
		want  []int64
	}{
		{10, 4, []int64{3, 3, 2, 2}},
		{2, 4, []int64{1, 1, 0, 0}},
		{0, 2, []int64{-1, -1}},
	}
	for _, tt := range tests {
		var got []int64
		c := Config{Lines: tt.lines, Conns: tt.conns, Run: "x"}
		for i := range tt.conns {
			got = append(got, newWorker(&c, target{scheme: "tcp"}, i, nil).limit())
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("lines=%d conns=%d: got %v; want %v", tt.lines, tt.conns, got, tt.want)
		}
	}
}

// TestOpenLoopReportsUnsent: a target that stops reading for longer than
// the run leaves scheduled lines unwritten; the summary says how many.
func TestOpenLoopReportsUnsent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { time.Sleep(4 * time.Second); io.Copy(io.Discard, c) }()
		}
	}()
	s, err := Run(context.Background(), Config{Target: "tcp://" + ln.Addr().String(), Conns: 1, Rate: 200000, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if s.Due < 190000 || s.Due > 200000 {
		t.Fatalf("due: got %d; want about 200000 (1 s at 200k/s)", s.Due)
	}
	if s.Unsent == 0 || s.Sent+s.Unsent != s.Due {
		t.Fatalf("sent %d, unsent %d, due %d; want unsent > 0 and sent + unsent = due", s.Sent, s.Unsent, s.Due)
	}
}

// cutTransport cuts its first write short after half the bytes and fails;
// it cannot reconnect.
type cutTransport struct{ writes int }

func (t *cutTransport) write(_ context.Context, buf []byte) (int, error) {
	t.writes++
	return len(buf) / 2, errors.New("connection reset")
}
func (t *cutTransport) redial(context.Context) error { return errors.New("refused") }
func (t *cutTransport) abort()                       {}
func (t *cutTransport) close() error                 { return nil }

// A write cut short counts the lines it finished as sent and the one it cut
// as cut, so a receiver's count can be checked against the sender's.
func TestFlushCutShort(t *testing.T) {
	c := Config{Target: "tcp://127.0.0.1:1", Conns: 1, Batch: 100, Corpus: corpus.DefaultConfig()}
	tr := &cutTransport{}
	w := newWorker(&c, target{scheme: "tcp"}, 0, tr)
	for j := range 10 {
		w.add(context.Background(), uint64(j+1), 1, 1)
	}
	buf := append([]byte(nil), w.buf...)
	if w.flush(context.Background()) {
		t.Fatal("flush after a failed write and reconnect: want false")
	}
	half := buf[:len(buf)/2]
	want := int64(bytes.Count(half, []byte{'\n'}))
	if w.sent != want || w.bytes != int64(len(half)) {
		t.Fatalf("sent %d lines, %d bytes; want %d, %d", w.sent, w.bytes, want, len(half))
	}
	wantCut := int64(0)
	if half[len(half)-1] != '\n' {
		wantCut = 1
	}
	if w.cut != wantCut || w.errors != 1 {
		t.Fatalf("cut %d, errors %d; want %d, 1", w.cut, w.errors, wantCut)
	}
}

// TestCyclePeriod: the tables of a run's connections stay within
// cycleLines lines (up to 1024 connections) and cycleBytes bytes.
func TestCyclePeriod(t *testing.T) {
	for _, tc := range []struct{ conns, maxSize, want int }{
		{1, 0, 4096},
		{8, 300, 4096},
		{16, 300, 4096},
		{32, 300, 2048},
		{1024, 300, 64},
		{5000, 300, 44}, // 64 MiB over 5000 connections of 300-byte lines
		{8, 65536, 128},
		{8, 1 << 20, 8},
		{8, 1 << 30, 1},
	} {
		if got := cyclePeriod(tc.conns, tc.maxSize); got != tc.want {
			t.Errorf("cyclePeriod(%d, %d) = %d; want %d", tc.conns, tc.maxSize, got, tc.want)
		}
	}
}
