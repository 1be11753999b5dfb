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
			if _, _, ok := newSyslogParser().parse([]byte(tc.msg)); !ok {
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
		for at := range min(len(msg), 8) {
			if dt := msg[at:]; len(dt) >= dateTimeLen {
				if got, want := dateTimeShape(dt[:dateTimeLen]), dateTimeShapeBytes(dt[:dateTimeLen]); got != want {
					t.Fatalf("%q at %d: dateTimeShape %v; byte by byte %v", msg, at, got, want)
				}
			}
			gotEnd, gotOK := skipField(msg, at, 12)
			if wantEnd, wantOK := skipFieldBytes(msg, at, 12); gotEnd != wantEnd || gotOK != wantOK {
				t.Fatalf("%q at %d: skipField %d, %v; byte by byte %d, %v", msg, at, gotEnd, gotOK, wantEnd, wantOK)
			}
		}
		if !wellFormed5424(msg) {
			return
		}
		if _, _, ok := p.parse(msg); !ok {
			t.Fatalf("%q: taken, but the parser refuses it", msg)
		}
	})
}

// TestDateTimeShape changes each byte of a date and time in turn: the
// word checks of dateTimeShape agree with a check of one byte at a time.
func TestDateTimeShape(t *testing.T) {
	for _, ts := range []string{"2003-10-11T22:14:15", "2026-12-06T23:00:00", "1999-01-01T00:00:00"} {
		for i := range len(ts) {
			for _, c := range []byte{'0', '9', '/', ':', '-', 'T', 'Z', ' ', '.', 0xb0, 0xba, 'a'} {
				dt := []byte(ts)
				dt[i] = c
				if got, want := dateTimeShape(dt), dateTimeShapeBytes(dt); got != want {
					t.Errorf("%q: dateTimeShape %v; byte by byte %v", dt, got, want)
				}
			}
		}
	}
}

// dateTimeShapeBytes is dateTimeShape one byte at a time.
func dateTimeShapeBytes(t []byte) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	for i := range len(layout) {
		if layout[i] == 'd' && !isDigit(t[i]) || layout[i] != 'd' && t[i] != layout[i] {
			return false
		}
	}
	return true
}

// TestSkipField puts each kind of byte at each place of a field: the word
// walk of skipField agrees with a walk of one byte at a time.
func TestSkipField(t *testing.T) {
	for _, field := range []string{"h ", "loadgen-host ", "mymachine.example.com x", "abcdefghijklmnopq", strings.Repeat("a", 40) + " "} {
		for i := range len(field) {
			for _, c := range []byte{'!', '~', ' ', 0x7f, 0x20, 0x1f, 0x00, 0x80, 0xa1, 0xfe, 0xff, 'a'} {
				msg := []byte(field)
				msg[i] = c
				for _, maxLen := range []int{1, 12, 32} {
					gotEnd, gotOK := skipField(msg, 0, maxLen)
					if wantEnd, wantOK := skipFieldBytes(msg, 0, maxLen); gotEnd != wantEnd || gotOK != wantOK {
						t.Errorf("%q, %d: skipField %d, %v; byte by byte %d, %v", msg, maxLen, gotEnd, gotOK, wantEnd, wantOK)
					}
				}
			}
		}
	}
}

// skipFieldBytes is skipField one byte at a time.
func skipFieldBytes(msg []byte, p, maxLen int) (int, bool) {
	start := p
	for p < len(msg) && msg[p] >= '!' && msg[p] <= '~' {
		p++
	}
	if n := p - start; n < 1 || n > maxLen || p >= len(msg) || msg[p] != ' ' {
		return 0, false
	}
	return p + 1, true
}
