package ingest

import (
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

// FuzzKafkaRecordLines: a record's value becomes the lines a split on
// '\n' gives, each without a trailing '\r', the empty ones left out and
// those longer than the bound counted instead; in order, byte for byte.
func FuzzKafkaRecordLines(f *testing.F) {
	for _, s := range []string{
		"one line",
		"a\nb\r\n\r\n\nc\r",
		"\r\r\n\n",
		"way too long for the bound\nshort\n",
		"\x00\xff\n\xfe",
	} {
		f.Add([]byte(s), uint8(8))
	}
	f.Fuzz(func(t *testing.T, v []byte, maxLine uint8) {
		var want []string
		wantOver := 0
		for _, l := range strings.Split(string(v), "\n") {
			l = strings.TrimSuffix(l, "\r")
			switch {
			case l == "":
			case len(l) > int(maxLine):
				wantOver++
			default:
				want = append(want, l)
			}
		}
		b := record.Get(0)
		defer record.Put(b)
		b.AppendLine([]byte("before"))
		over := appendRecordLines(b, v, int(maxLine))
		if over != wantOver {
			t.Errorf("oversize %d; want %d", over, wantOver)
		}
		if len(b.Lines) != len(want)+1 || string(b.Lines[0]) != "before" {
			t.Fatalf("lines %q; want %q after \"before\"", b.Lines, want)
		}
		for i, l := range want {
			if string(b.Lines[i+1]) != l {
				t.Fatalf("line %d %q; want %q", i, b.Lines[i+1], l)
			}
		}
	})
}
