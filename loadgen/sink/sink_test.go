package sink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestSink(t *testing.T) *Sink {
	t.Helper()
	s, err := New(Config{TCPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", StatsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("cannot start sink: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func textLine(src string, seq uint64, rest string) string {
	return fmt.Sprintf("ts=%d src=%s seq=%d %s\n", time.Now().UnixNano(), src, seq, rest)
}

func TestSinkAccounting(t *testing.T) {
	tests := []struct {
		name  string
		input []string // one element per TCP write
		want  Stats
	}{
		{
			name: "in order",
			input: []string{
				textLine("a-0", 1, "level=INFO") + textLine("a-0", 2, "level=DEBUG") + textLine("a-0", 3, "level=INFO"),
			},
			want: Stats{Lines: 3, Sources: 1, DebugLines: 1},
		},
		{
			name: "gaps duplicates reorders across writes",
			input: []string{
				textLine("a-0", 1, "x") + textLine("a-0", 4, "x"),
				textLine("a-0", 4, "x") + textLine("a-0", 2, "x"),
				textLine("b-0", 3, "x"),
			},
			want: Stats{Lines: 5, Sources: 2, Gaps: 1 + 2, Duplicated: 1, Reordered: 1},
		},
		{
			name: "line split across writes and CRLF",
			input: []string{
				"ts=1 src=a-0 seq=1 ssn=123-4",
				"5-6789\r\n",
				"\n",
				`{"ts":1,"src":"a-0","seq":2,"severityText":"DEBUG","body":"DEBUG x","e":"jane@example.com"}` + "\n",
			},
			want: Stats{Lines: 2, Sources: 1, PIILeaks: 1, EmailLeaks: 1, DebugLines: 1},
		},
		{
			name:  "PII before the prefix is a leak too",
			input: []string{"ssn=123-45-6789 card=4111111111111111 ts=1 src=a-0 seq=1 level=INFO\n"},
			want:  Stats{Lines: 1, Sources: 1, PIILeaks: 1},
		},
		{
			name:  "unparsed and unterminated last line",
			input: []string{"garbage\nts=1 src=a-0 seq=1 x\nts=1 src=a-0 seq=2"},
			want:  Stats{Lines: 3, Unparsed: 1, Sources: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestSink(t)
			c, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				t.Fatalf("cannot dial: %v", err)
			}
			var size int64
			for _, in := range tt.input {
				if _, err := c.Write([]byte(in)); err != nil {
					t.Fatalf("cannot write: %v", err)
				}
				size += int64(len(in))
			}
			_ = c.Close()
			waitFor(t, "lines", func() bool { return s.Snapshot().Lines == tt.want.Lines })
			got := s.Snapshot()
			if got.Bytes == 0 || got.Bytes > size+1 {
				t.Errorf("got bytes %d; want 1..%d", got.Bytes, size+1)
			}
			if got.Latency.Count != got.Lines-got.Unparsed {
				t.Errorf("got latency count %d; want %d", got.Latency.Count, got.Lines-got.Unparsed)
			}
			if got.LeakChecked != got.Lines {
				t.Errorf("got %d lines scanned for leaks; want all %d", got.LeakChecked, got.Lines)
			}
			got.Bytes, got.FirstNS, got.LastNS, got.LinesPerSec, got.Latency, got.LeakChecked = 0, 0, 0, 0, Latency{}, 0
			if got != tt.want {
				t.Fatalf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestSinkHTTP(t *testing.T) {
	s := newTestSink(t)
	base := "http://" + s.HTTPAddr().String()
	body := textLine("h-0", 1, "level=DEBUG") + textLine("h-0", 2, "card=4111-1111-1111-1111")
	resp, err := http.Post(base+"/any/path", "text/plain", strings.NewReader(body))
	if err != nil {
		t.Fatalf("cannot post: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d; want 200", resp.StatusCode)
	}

	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	_, _ = zw.Write([]byte(textLine("h-0", 4, "x")))
	_ = zw.Close()
	req, _ := http.NewRequest(http.MethodPost, base+"/", &zbuf)
	req.Header.Set("Content-Encoding", "gzip")
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatalf("cannot post gzip: %v", err)
	}
	_ = resp.Body.Close()

	got := s.Snapshot()
	if got.Lines != 3 || got.Gaps != 1 || got.DebugLines != 1 || got.PIILeaks != 1 {
		t.Fatalf("got %+v; want 3 lines, 1 gap, 1 DEBUG, 1 PII leak", got)
	}

	stats := getStats(t, http.MethodGet, "http://"+s.StatsAddr().String()+"/stats")
	if stats.Lines != 3 || stats.Latency.Count != 3 {
		t.Fatalf("got /stats %+v; want 3 lines", stats)
	}
	if before := getStats(t, http.MethodPost, "http://"+s.StatsAddr().String()+"/reset"); before.Lines != 3 {
		t.Fatalf("got /reset %+v; want the stats before the reset", before)
	}
	if after := s.Snapshot(); after != (Stats{}) {
		t.Fatalf("got %+v after reset; want zero", after)
	}
}

func getStats(t *testing.T, method, url string) Stats {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("cannot %s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("cannot decode stats: %v", err)
	}
	return st
}

func TestSinkLatency(t *testing.T) {
	s := newTestSink(t)
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatalf("cannot dial: %v", err)
	}
	defer c.Close()
	sent := time.Now().Add(-250 * time.Millisecond).UnixNano()
	fmt.Fprintf(c, "ts=%d src=l-0 seq=1 x\n", sent)
	waitFor(t, "line", func() bool { return s.Snapshot().Lines == 1 })
	if got := s.Snapshot().Latency; got.P99 < 250 || got.Max > 10_000 {
		t.Fatalf("got latency %+v; want p99 >= 250 ms", got)
	}
}

func TestSinkManyConnections(t *testing.T) {
	s := newTestSink(t)
	const conns, perConn = 8, 5000
	errs := make(chan error, conns)
	for c := range conns {
		go func() {
			conn, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			var b []byte
			for i := uint64(1); i <= perConn; i++ {
				b = fmt.Appendf(b, "ts=%d src=m-%d seq=%d level=INFO\n", time.Now().UnixNano(), c, i)
			}
			_, err = conn.Write(b)
			errs <- err
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatalf("cannot send: %v", err)
		}
	}
	waitFor(t, "all lines", func() bool { return s.Snapshot().Lines == conns*perConn })
	got := s.Snapshot()
	if got.Sources != conns || got.Gaps != 0 || got.Duplicated != 0 || got.Reordered != 0 || got.Unparsed != 0 {
		t.Fatalf("got %+v; want %d clean sources", got, conns)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatalf("got no error for a config without listeners")
	}
	s := newTestSink(t)
	if _, err := New(Config{TCPAddr: s.TCPAddr().String()}); err == nil {
		t.Fatalf("got no error for a busy port")
	}
}

// TestSinkLeakEvery: with LeakEvery, one line in N is scanned for leaks,
// and said to be; every line is still parsed and its order checked.
func TestSinkLeakEvery(t *testing.T) {
	s, err := New(Config{TCPAddr: "127.0.0.1:0", LeakEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i := uint64(1); i <= 100; i++ {
		seq := i
		if i == 50 {
			seq = 51 // a gap and a duplicate: checked on every line
		}
		b.WriteString(textLine("a-0", seq, "ssn=123-45-6789"))
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitFor(t, "lines", func() bool { return s.Snapshot().Lines == 100 })
	got := s.Snapshot()
	if got.LeakChecked != 10 || got.PIILeaks != 10 || got.Gaps != 1 || got.Duplicated != 1 {
		t.Fatalf("got %+v; want 10 lines scanned, 10 leaks, 1 gap and 1 duplicate", got)
	}
}
