package match

import (
	"testing"

	"streamgate/dataplane/internal/linemix"
)

func TestLeadingTimestamp(t *testing.T) {
	tests := []struct {
		line string
		want int // the timestamp's length; 0 for none
	}{
		{"2024-11-22T05:07:33Z GET /", 20},
		{"2024-11-22T05:07:33.123Z INFO", 24},
		{"2024-11-22T05:07:33.123456789Z", 30},
		{"2024-11-22 05:07:33 INFO", 19},
		{"2024-11-22T05:07:33+01:00 x", 25},
		{"2024-11-22T05:07:33-0500 x", 24},
		{"2024-11-22T05:07:33+01 x", 22},
		{"2024-11-22T05:07:33,123+01:00\tx", 29},
		{"[2024-11-22T05:07:33Z] x", 22},
		{"2024-11-22T05:07:33Z", 20},
		{`2024-11-22T05:07:33Z","msg"`, 20},
		{"2024-11-22T05:07:33Z|a", 20},

		{"", 0},
		{"2024-11-22T05:07", 0},                  // no seconds
		{"2024-11-22", 0},                        // a date alone
		{"2024-11-22T05:07:33.1234567890Z x", 0}, // ten fraction digits
		{"2024-11-22T05:07:33. x", 0},            // no fraction digits
		{"2024-11-22T05:07:33+123 x", 0},         // three offset digits
		{"2024-11-22T05:07:33+12345 x", 0},       // five offset digits
		{"2024-11-22T05:07:33x", 0},              // no boundary
		{"2024-11-22T05:07:334111111111111111", 0},
		{"2024-11-22T05:07:33:12 x", 0},
		{"2024-11-22T05:07:33-4111", 24}, // an offset, as the form says
		{"[2024-11-22T05:07:33Z x", 0},   // unclosed bracket
		{"x2024-11-22T05:07:33Z", 0},
		{"2024/11/22 05:07:33 x", 0},
		{"20241122T050733Z x", 0},
	}
	for _, tt := range tests {
		if got := timestampEnd([]byte(tt.line)); got != tt.want {
			t.Errorf("timestampEnd(%q) = %d; want %d", tt.line, got, tt.want)
		}
		// The skip ends with the seconds.
		want := 0
		if tt.want > 0 {
			want = len("2024-11-22T05:07:33")
			if tt.line[0] == '[' {
				want++
			}
		}
		if got := leadingTimestamp([]byte(tt.line)); got != want {
			t.Errorf("leadingTimestamp(%q) = %d; want %d", tt.line, got, want)
		}
	}
}

// timestampForms are the leading timestamps the tests put before lines;
// the last ones end where a fraction or a zone would go on, so that what
// follows may be read as part of the timestamp.
var timestampForms = []string{
	"2024-11-22T05:07:33Z ",
	"2024-11-22T05:07:33.123Z ",
	"2024-11-22 05:07:33,123456 ",
	"[2024-11-22T05:07:33+01:00] ",
	"2024-11-22T05:07:33-0500\t",
	"4111-11-11T11:11:11.111111111Z ",
	"1234-56-78T90:12:34+56 ",
	"2024-11-22T05:07:33Z\"",
	"2024-11-22T05:07:33Z,",
	"2024-11-22 05:07:33,",
	"2024-11-22T05:07:33.",
	"2024-11-22T05:07:33",
	"2024-11-22T05:07:33+",
}

// TestLeadingTimestampHidesNothing checks what the replacers rely on when
// they skip a line's leading timestamp: no detector's Find, which does not
// skip it, starts a finding in one, whatever follows.
func TestLeadingTimestampHidesNothing(t *testing.T) {
	rest := []string{"", " ", "x", "4111 1111 1111 1111", "078-05-1120", "-0500 4111111111111111",
		"943 476 5919", "2345 6789 0124", "536 22 8145", "12345678Z x", "05 4111 1111 1111 1111"}
	for _, l := range buildCorpus() {
		rest = append(rest, l.line)
	}
	for _, d := range Detectors() {
		for _, ex := range d.Examples {
			rest = append(rest, ex.Line)
		}
	}
	rest = append(rest, linemix.Lines()...)
	for _, ts := range timestampForms {
		for _, r := range rest {
			checkTimestampHidesNothing(t, []byte(ts+r))
		}
	}
}

func checkTimestampHidesNothing(t *testing.T, line []byte) {
	t.Helper()
	end := leadingTimestamp(line)
	if end == 0 {
		return
	}
	for _, d := range Detectors() {
		if s, e := d.Find(line, 0); s >= 0 && s < end {
			t.Fatalf("%s finds %q in the leading timestamp of %q", d.Name, line[s:e], line)
		}
	}
}

// FuzzLeadingTimestamp checks TestLeadingTimestampHidesNothing's property on
// any line after a timestamp, and any line that starts with one.
func FuzzLeadingTimestamp(f *testing.F) {
	for _, d := range Detectors() {
		for _, ex := range d.Examples {
			f.Add(uint8(0), ex.Line)
		}
	}
	f.Add(uint8(255), "2024-11-22T05:07:33Z 4111 1111 1111 1111")
	f.Fuzz(func(t *testing.T, form uint8, rest string) {
		line := rest
		if int(form) < len(timestampForms) {
			line = timestampForms[form] + rest
		}
		checkTimestampHidesNothing(t, []byte(line))
		checkRunsHideNothing(t, []byte(rest))
	})
}

// TestEmbeddedTimestampHidesNothing checks what the walks over runs of
// digits rely on when they skip a timestamp inside a line: no detector of
// numbers finds anything from a run of digits in one.
func TestEmbeddedTimestampHidesNothing(t *testing.T) {
	opens := []string{" ", "\t", `{"ts":"`, "ts=", "at:", "a,", "(", "'", "4111 1111 1111 ", "ssn "}
	rest := []string{"", " 078-05-1120", "4111111111111111", " x", ` ","a":1}`}
	for _, d := range Detectors() {
		for _, ex := range d.Examples {
			rest = append(rest, " "+ex.Line)
		}
	}
	for _, o := range opens {
		for _, ts := range timestampForms {
			if ts[0] == '[' {
				continue
			}
			for _, r := range rest {
				checkRunsHideNothing(t, []byte(o+ts+r))
			}
		}
	}
}

// checkRunsHideNothing fails when a detector given by Runs and At finds
// something from a run of digits in a timestamp embeddedTimestamp skips.
func checkRunsHideNothing(t *testing.T, line []byte) {
	t.Helper()
	for i := nextDigit(line, 0); i < len(line); i = nextDigit(line, i) {
		r := govARunEnd(line, i)
		end := embeddedTimestamp(line, i, r)
		if end == 0 {
			i = r
			continue
		}
		for j := nextDigit(line, i); j < end; j = nextDigit(line, j) {
			q := govARunEnd(line, j)
			for _, d := range Detectors() {
				if d.At == nil || d.Runs&runBit(q-j) == 0 {
					continue
				}
				if s, e := d.At(line, j, q); s >= 0 {
					t.Fatalf("%s finds %q in the timestamp of %q", d.Name, line[s:e], line)
				}
			}
			j = q
		}
		i = end
	}
}

// FuzzTimestampCore checks timestampCore against a byte by byte reading.
func FuzzTimestampCore(f *testing.F) {
	f.Add([]byte("2024-11-22T05:07:33"))
	f.Add([]byte("2024-11-22 05:07:3x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 19 {
			return
		}
		b = b[:19]
		want := allDigits(b[0:4]) && b[4] == '-' && allDigits(b[5:7]) && b[7] == '-' && allDigits(b[8:10]) &&
			(b[10] == 'T' || b[10] == ' ' || b[10] == 't') &&
			allDigits(b[11:13]) && b[13] == ':' && allDigits(b[14:16]) && b[16] == ':' && allDigits(b[17:19])
		if got := timestampCore(b); got != want {
			t.Fatalf("timestampCore(%q) = %v; want %v", b, got, want)
		}
	})
}
