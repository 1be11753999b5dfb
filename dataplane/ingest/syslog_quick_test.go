package ingest

import (
	"strings"
	"testing"
)

// TestWellFormed5424: the common shapes are taken without parsing; others
// are left to the parser, which must agree on every one taken.
func TestWellFormed5424(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"<14>1 2026-12-06T23:00:00.000000Z host app - - - ts=1 src=a seq=1 hello", true},
		{"<0>1 - - - - - -", true},
		{"<191>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 -", true},
		{"<34>1 2003-10-11T22:14:15+05:30 h a p m - text", true},
		{"<34>1 2003-10-11T22:14:15-23:59 h a p m - ", true},
		{"<34>1 2003-02-28T22:14:15Z h a p m - x", true},
		{"<34>1 2003-02-29T22:14:15Z h a p m - x", false},              // day 29: the parser decides
		{"<34>1 2003-10-11T22:14:15Z h a p m [sd@1 k=\"v\"] x", false}, // structured data: the parser
		{"<192>1 - - - - - -", false},
		{"<01>1 - - - - - -", false},
		{"<>1 - - - - - -", false},
		{"<34>2 - - - - - -", false},
		{"<34>1 2003-13-11T22:14:15Z h a p m - x", false},
		{"<34>1 2003-10-11T24:14:15Z h a p m - x", false},
		{"<34>1 2003-10-11T22:14:15.1234567Z h a p m - x", false},
		{"<34>1 2003-10-11T22:14:15. h a p m - x", false},
		{"<34>1 2003-10-11T22:14:15 h a p m - x", false},
		{"<34>1 - h a p m -x", false},
		{"<34>1 - h a p", false},
		{"<34>1 - " + strings.Repeat("h", 256) + " a p m - x", false},
		{"<34>1 - h " + strings.Repeat("a", 49) + " p m - x", false},
		{"<34>1 - h a p " + strings.Repeat("m", 33) + " - x", false},
		{"<34>1 - h\x7f a p m - x", false},
		{"<34>Oct 11 22:14:15 mymachine su: 'su root' failed", false},
	} {
		if got := wellFormed5424([]byte(tc.msg)); got != tc.want {
			t.Errorf("%q: got %v; want %v", tc.msg, got, tc.want)
		}
		if tc.want {
			if _, ok := newSyslogParser().parse([]byte(tc.msg)); !ok {
				t.Errorf("%q: taken, but the parser refuses it", tc.msg)
			}
		}
	}
}

// FuzzWellFormed5424: every message wellFormed5424 takes, the parser
// takes too.
func FuzzWellFormed5424(f *testing.F) {
	for _, s := range []string{
		"<14>1 2026-12-06T23:00:00.000000Z host app - - - hello",
		"<0>1 - - - - - -",
		"<34>1 2003-10-11T22:14:15+05:30 h a p m - text",
		"<191>1 2003-02-28T22:14:15.1Z h a p m -",
	} {
		f.Add([]byte(s))
	}
	p := newSyslogParser()
	f.Fuzz(func(t *testing.T, msg []byte) {
		if !wellFormed5424(msg) {
			return
		}
		if _, ok := p.parse(msg); !ok {
			t.Fatalf("%q: taken, but the parser refuses it", msg)
		}
	})
}
