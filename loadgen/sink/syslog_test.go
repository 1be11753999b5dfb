package sink

import (
	"strconv"
	"testing"

	"streamgate/loadgen/corpus"
)

const testSyslogHead = "<14>1 2026-12-07T07:45:38.123456Z loadgen-host loadgen - - - "

func TestSyslogHead(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{testSyslogHead + "ts=1 src=a seq=1", syslogHeadLen},
		{testSyslogHead, syslogHeadLen},
		{testSyslogHead[:len(testSyslogHead)-1], 0},
		{"<14>1 2026-12-07T07:45:38.12345xZ loadgen-host loadgen - - - x", 0},
		{"<14>1 2026-12-07 07:45:38.123456Z loadgen-host loadgen - - - x", 0},
		{"<14>1 2026-12-07T07:45:38.123456Z loadgen-host loadgen - - x x", 0},
		{"<13>1 2026-12-07T07:45:38.123456Z loadgen-host loadgen - - - x", 0},
		{"<14>1 123-45-6789 loadgen-host loadgen - - - x", 0},
		{"ts=1 src=a seq=1", 0},
	} {
		if got := syslogHead([]byte(tc.in)); got != tc.want {
			t.Errorf("%q: %d; want %d", tc.in, got, tc.want)
		}
	}
}

// TestSyslogLinesCountAlike: lines behind the lab's syslog header are
// counted as the same lines without it: parsed, DEBUG and leaks alike.
func TestSyslogLinesCountAlike(t *testing.T) {
	cfg := corpus.DefaultConfig()
	cfg.SSN, cfg.Card, cfg.Email, cfg.Escaped = 0.2, 0.2, 0.2, 0.5
	g := corpus.New(cfg)
	var plain, framed []byte
	for i := range 2000 {
		line := g.AppendLine(nil, "s-"+strconv.Itoa(i%3), uint64(i/3+1), 1_754_000_000_000_000_000)
		plain = append(append(plain, line...), '\n')
		framed = append(append(append(framed, testSyslogHead...), line...), '\n')
	}
	count := func(data []byte) Stats {
		s := newBenchSink()
		s.process(&handler{}, data, 1_754_000_000_001_000_000)
		st := s.st
		st.Bytes, st.FirstNS, st.LastNS = 0, 0, 0
		return st
	}
	p, f := count(plain), count(framed)
	if p.PIILeaks == 0 || p.EmailLeaks == 0 || p.DebugLines == 0 {
		t.Fatalf("the plain lines have no leaks or DEBUG lines to compare: %+v", p)
	}
	if p != f {
		t.Fatalf("with the syslog header: %+v; without: %+v", f, p)
	}
}
