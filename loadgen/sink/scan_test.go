package sink

import (
	"strconv"
	"testing"

	"streamgate/loadgen/corpus"
)

func TestScanLeaks(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		pii   bool
		email bool
	}{
		{"empty", "", false, false},
		{"plain", "level=INFO msg=hello status=200 duration_ms=12", false, false},
		{"ssn", "ssn=123-45-6789", true, false},
		{"ssn at end of line", "x 078-05-1120", true, false},
		{"ssn in JSON", `{"ssn":"219-09-9999"}`, true, false},
		{"ssn with leading digit", "1123-45-6789", false, false},
		{"ssn with trailing digit", "123-45-67890", false, false},
		{"ssn short serial", "123-45-678", false, false},
		{"visa spaced", "card=4111 1111 1111 1111", true, false},
		{"mastercard dashed", "card=5500-0055-5555-5559", true, false},
		{"amex", "card=3782 822463 10005", true, false},
		{"discover plain", "card=6011111111111117", true, false},
		{"mastercard 2-series", "c=2221000000000009", true, false},
		{"card followed by digits", "4111 1111 1111 1111 22", true, false},
		{"luhn invalid", "card=4111 1111 1111 1112", false, false},
		{"no issuer", "n=1234567812345670", false, false},
		{"unix nanoseconds", "ts=1700000000000000000", false, false},
		{"too short", "4111 1111 1111", false, false},
		{"double separator", "4111  1111 1111 1111", false, false},
		{"redacted", "ssn=***-**-**** card=**** **** **** 1111", false, false},
		{"email", "email=jane.doe@example.com", false, true},
		{"email in JSON", `{"e":"wei.chen@mail.example.net"}`, false, true},
		{"email trailing dot", "write to a@b.io.", false, true},
		{"at without domain", "user@localhost", false, false},
		{"at with short tld", "a@b.c", false, false},
		{"bare at", "@example.com", false, false},
		{"both", "ssn=123-45-6789 email=a.b@c.org", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pii, email := ScanLeaks([]byte(tt.in))
			if pii != tt.pii || email != tt.email {
				t.Fatalf("ScanLeaks(%q): got pii=%v email=%v; want pii=%v email=%v", tt.in, pii, email, tt.pii, tt.email)
			}
		})
	}
}

// TestScanLeaksCorpus checks that the scanner finds the PII of every
// generated line and reports nothing on lines without PII.
func TestScanLeaksCorpus(t *testing.T) {
	cfgs := map[string]corpus.Config{
		"default": corpus.DefaultConfig(),
		"heavy":   {Seed: 7, Debug: 0.2, SSN: 0.3, Card: 0.3, Email: 0.3, JSON: 0.5, MinSize: 60, MaxSize: 600},
	}
	for name, cfg := range cfgs {
		t.Run(name, func(t *testing.T) {
			g := corpus.New(cfg)
			var line []byte
			var k corpus.Kind
			for seq := uint64(1); seq <= 100_000; seq++ {
				line, k = g.Append(line[:0], "scan-"+strconv.Itoa(int(seq%3)), seq, 1_754_000_000_000_000_000+int64(seq)*7919)
				l, ok := ParseLine(line)
				if !ok {
					t.Fatalf("cannot parse %s", line)
				}
				pii, email := ScanLeaks(line[l.Body:])
				if want := k&(corpus.KindSSN|corpus.KindCard) != 0; pii != want {
					t.Fatalf("got pii=%v; want %v: %s", pii, want, line)
				}
				if want := k&corpus.KindEmail != 0; email != want {
					t.Fatalf("got email=%v; want %v: %s", email, want, line)
				}
				if l.Debug != (k&corpus.KindDebug != 0) || l.JSON != (k&corpus.KindJSON != 0) || l.Seq != seq {
					t.Fatalf("got %+v for kind %b seq %d: %s", l, k, seq, line)
				}
				// Each kind alone is caught, too.
				for _, kk := range []corpus.Kind{corpus.KindSSN, corpus.KindCard} {
					if k&corpus.KindPII == kk {
						if pii, _ := ScanLeaks(line); !pii {
							t.Fatalf("whole-line scan missed %b: %s", kk, line)
						}
					}
				}
			}
		})
	}
}

// TestEscapedLeaksCounted: PII behind JSON escapes, which the receiver
// decodes, is a leak as much as PII in plain bytes.
func TestEscapedLeaksCounted(t *testing.T) {
	h := &handler{}
	for _, l := range []string{
		`{"a":"123\u002d45\u002d6789"}`,
		`{"e":"bob\u0040example.com"}`,
		`{"c":"4111\u00201111\u00201111\u00201111"}`,
		`{"ok":"\"quoted\" path \/a\/b"}`,
	} {
		h.scan([]byte(l))
	}
	if h.st.PIILeaks != 2 || h.st.EmailLeaks != 1 {
		t.Fatalf("got %d PII and %d e-mail leaks; want 2 and 1", h.st.PIILeaks, h.st.EmailLeaks)
	}
}

func TestScanLeaksEscaped(t *testing.T) {
	for _, tt := range []struct {
		in      string
		escaped bool
	}{
		{`plain line 123`, false},
		{`{"msg":"a\u002db"}`, true},
		{`0123456789abcdef\`, true}, // in the tail, past the last full word
		{`\0123456789abcdef`, true}, // in the first word
		{`0123456789abcdef`, false},
	} {
		if _, _, got := scanLeaks([]byte(tt.in)); got != tt.escaped {
			t.Errorf("scanLeaks(%q): escaped = %v; want %v", tt.in, got, tt.escaped)
		}
	}
}

// scanLeaksRef is scanLeaks one byte at a time.
func scanLeaksRef(b []byte) (pii, email, escaped bool) {
	for i, c := range b {
		switch {
		case c == '\\':
			escaped = true
		case c == '@':
			email = email || isEmail(b, i)
		case isDigit(c) && (i == 0 || !isDigit(b[i-1])):
			pii = pii || numberLeakAt(b, i)
		}
	}
	return pii, email, escaped
}

// FuzzScanLeaks checks the scan that skips eight bytes at a time against
// scanLeaksRef, on lines received from the proxy.
func FuzzScanLeaks(f *testing.F) {
	for _, s := range []string{
		"ssn=123-45-6789", "card 4111 1111 1111 1111 to a@b.io", `{"e":"x\u0040y.com"}`,
		"01234567 123-45-6789@", "@@a@b.co 5500-0000-0000-0004",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := []byte(s)
		p, e, x := scanLeaks(b)
		rp, re, rx := scanLeaksRef(b)
		if p != rp || e != re || x != rx {
			t.Fatalf("scanLeaks(%q) = %v, %v, %v; the reference says %v, %v, %v", s, p, e, x, rp, re, rx)
		}
	})
}
