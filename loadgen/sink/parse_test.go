package sink

import (
	"testing"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want Line
		src  string
	}{
		{"text", "ts=17 src=r-0 seq=5 level=INFO msg=x", true, Line{TS: 17, Seq: 5, Body: 20}, "r-0"},
		{"text debug", "ts=17 src=r-0 seq=5 level=DEBUG msg=x", true, Line{TS: 17, Seq: 5, Body: 20, Debug: true}, "r-0"},
		{"text prefix only", "ts=1 src=a seq=2", true, Line{TS: 1, Seq: 2, Body: 16}, "a"},
		{"text after other text", "2025-01-01 host ts=1 src=a seq=2 rest", true, Line{TS: 1, Seq: 2, Body: 33}, "a"},
		{"text seq zero", "ts=1 src=a seq=0 x", false, Line{}, ""},
		{"text missing seq", "ts=1 src=a x", false, Line{}, ""},
		{"text empty src", "ts=1 src= seq=2 x", false, Line{}, ""},
		{"text seq glued", "ts=1 src=a seq=2x", false, Line{}, ""},
		{"text ts overflow", "ts=99999999999999999999 src=a seq=2", false, Line{}, ""},
		{"plain", "hello world", false, Line{}, ""},
		{"json", `{"ts":9,"src":"r-1","seq":3,"severityText":"INFO","body":"x"}`, true, Line{TS: 9, Seq: 3, JSON: true}, "r-1"},
		{"json debug", `{"ts":9,"src":"r-1","seq":3,"severityText":"DEBUG"}`, true, Line{TS: 9, Seq: 3, JSON: true, Debug: true}, "r-1"},
		{"json reordered keys", `{"body":"x","seq": 3,"severityText": "DEBUG","src":"r-1","ts":9}`, true, Line{TS: 9, Seq: 3, JSON: true, Debug: true}, "r-1"},
		{"json missing src", `{"ts":9,"seq":3}`, false, Line{}, ""},
		{"json after other text", `<14>1 - h a - - - {"ts":9,"src":"r-1","seq":3,"severityText":"INFO"}`, true, Line{TS: 9, Seq: 3, JSON: true}, "r-1"},
		{"json after other text, truncated", `<14>1 - h a - - - {"ts":9,"src":"r-1"`, false, Line{}, ""},
		{"json string seq", `{"ts":9,"src":"a","seq":"3"}`, false, Line{}, ""},
		{"json truncated", `{"ts":9,"src":"a`, false, Line{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseLine([]byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("got ok=%v; want %v (%+v)", ok, tt.ok, got)
			}
			if !ok {
				return
			}
			if string(got.Src) != tt.src {
				t.Errorf("got src %q; want %q", got.Src, tt.src)
			}
			if got.TS != tt.want.TS || got.Seq != tt.want.Seq || got.Body != tt.want.Body || got.JSON != tt.want.JSON || got.Debug != tt.want.Debug {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, s := range []string{
		"ts=17 src=r-0 seq=5 level=INFO msg=x ssn=123-45-6789",
		"ts=1 src=a seq=2",
		"ts=",
		"ts=1 src=",
		"x ts=1 src=a seq=",
		`{"ts":9,"src":"r-1","seq":3,"severityText":"DEBUG","e":"a@b.io"}`,
		`{"ts":9,"src":"`,
		`{"seq":`,
		"card=4111 1111 1111 1111",
		"4111-",
		"a@",
	} {
		f.Add([]byte(s))
	}
	s := newBenchSink()
	h := &handler{}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, ok := ParseLine(b)
		if ok {
			if l.Seq == 0 || l.TS < 0 || l.Body > len(b) || len(l.Src) == 0 {
				t.Fatalf("invalid result %+v for %q", l, b)
			}
		}
		ScanLeaks(b)
		ScanLeaks(b[l.Body:])
		s.process(h, b, 1)
	})
}
