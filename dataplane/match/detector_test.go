package match

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// findings returns every finding of find in line, in order.
func findings(find func([]byte, int) (int, int), line string) []string {
	var out []string
	for s, e := find([]byte(line), 0); s >= 0; s, e = find([]byte(line), e) {
		out = append(out, line[s:e])
	}
	return out
}

// detectorTest is a line and what a detector must find in it.
type detectorTest = Example

// runDetectorTests checks the findings of the detector, and that its
// Replacer replaces exactly them.
func runDetectorTests(t *testing.T, name string, tests []detectorTest) {
	t.Helper()
	d, ok := LookupDetector(name)
	if !ok {
		t.Fatalf("LookupDetector(%q): got none; want the detector", name)
	}
	r := d.Replacer("[REDACTED]")
	for _, tt := range tests {
		if got := findings(d.Find, tt.Line); !slices.Equal(got, tt.Want) {
			t.Errorf("%s in %q: got %q; want %q", name, tt.Line, got, tt.Want)
		}
		want := tt.Line
		for _, w := range tt.Want {
			want = strings.Replace(want, w, "[REDACTED]", 1)
		}
		if got := replace(r, []byte(tt.Line)); got != want {
			t.Errorf("%s replaced in %q: got %q; want %q", name, tt.Line, got, want)
		}
	}
}

// TestDetectorRegistry checks what the reference relies on: every detector
// is complete, has examples of a finding and of a line left alone, and
// finds exactly what its examples say.
func TestDetectorRegistry(t *testing.T) {
	ds := Detectors()
	if len(ds) != len(registry) {
		t.Fatalf("Detectors(): got %d; want %d", len(ds), len(registry))
	}
	for i, d := range ds {
		if i > 0 && ds[i-1].Name >= d.Name {
			t.Errorf("Detectors(): %q after %q; want sorted, unique names", d.Name, ds[i-1].Name)
		}
		if d.Name == "" || d.Category == "" || d.Summary == "" || d.Doc == "" || d.Find == nil {
			t.Errorf("detector %q: got an empty Name, Category, Summary, Doc or Find; want all set", d.Name)
		}
		if got, ok := LookupDetector(d.Name); !ok || got != d {
			t.Errorf("LookupDetector(%q): got %v, %v; want the detector", d.Name, got, ok)
		}
		var pos, neg int
		for _, ex := range d.Examples {
			if len(ex.Want) > 0 {
				pos++
			} else {
				neg++
			}
		}
		if pos == 0 || neg == 0 {
			t.Errorf("detector %q: got %d examples with findings and %d without; want at least one of each", d.Name, pos, neg)
		}
		runDetectorTests(t, d.Name, d.Examples)
	}
	if _, ok := LookupDetector("nope"); ok {
		t.Errorf(`LookupDetector("nope"): got a detector; want none`)
	}
}

func TestFindSSN(t *testing.T) {
	runDetectorTests(t, "ssn", []detectorTest{
		{"SSN: 123-45-6789", []string{"123-45-6789"}},
		{"123-45-6789", []string{"123-45-6789"}},
		{"a123-45-6789b", []string{"123-45-6789"}},
		{"ssn=123-45-6789,456-78-9012.", []string{"123-45-6789", "456-78-9012"}},
		{"123-45-6789-12-3456", []string{"123-45-6789"}},
		// Never-issued areas are redacted too: see detectors.
		{"000-00-0000 666-12-3456 912-70-1234", []string{"000-00-0000", "666-12-3456", "912-70-1234"}},
		{"1123-45-6789", nil},
		{"123-45-67890", nil},
		{"123-456-7890", nil},
		{"12-345-6789", nil},
		{"123 45 6789", nil},
		{"123-45-678", nil},
		{"--------------", nil},
		{"", nil},
	})
}

// luhnComplete returns digits followed by the check digit that makes them
// pass the Luhn check.
func luhnComplete(digits string) string {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 { // doubled once the check digit is appended
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

// luhnValid reports whether the digits pass the Luhn check.
func luhnValid(digits string) bool {
	return luhnComplete(digits[:len(digits)-1]) == digits
}

func TestFindCard(t *testing.T) {
	// A 13-digit millisecond timestamp that passes the Luhn check: it is
	// kept only because no issuer's numbers start with 1.
	ts := luhnComplete("173226240012")
	if !luhnValid(ts) || len(ts) != 13 {
		t.Fatalf("luhnComplete: got %s; want 13 digits passing Luhn", ts)
	}
	runDetectorTests(t, "credit_card", []detectorTest{
		{"card 4111 1111 1111 1111 ok", []string{"4111 1111 1111 1111"}},
		{"card=4111-1111-1111-1111;", []string{"4111-1111-1111-1111"}},
		{"4111111111111111", []string{"4111111111111111"}},
		{"mc 5500005555555559", []string{"5500005555555559"}},
		{"mc2 " + luhnComplete("222300312200322"), []string{luhnComplete("222300312200322")}},
		{"amex 378282246310005", []string{"378282246310005"}},
		{"amex 3782 822463 10005", []string{"3782 822463 10005"}},
		{"discover 6011111111111117", []string{"6011111111111117"}},
		{"discover " + luhnComplete("644564456445644"), []string{luhnComplete("644564456445644")}},
		{"jcb 3530111333300000", []string{"3530111333300000"}},
		{"diners 30569309025904", []string{"30569309025904"}},
		{"unionpay " + luhnComplete("620000000000000"), []string{luhnComplete("620000000000000")}},
		{"visa13 4222222222222", []string{"4222222222222"}},
		{"visa19 " + luhnComplete("411111111111111111"), []string{luhnComplete("411111111111111111")}},
		{"two 4111111111111111,5500005555555559", []string{"4111111111111111", "5500005555555559"}},
		// The card is found within a longer chain of groups.
		{"order 12 4111 1111 1111 1111 done", []string{"4111 1111 1111 1111"}},
		{"4111111111111111 12 34", []string{"4111111111111111"}},
		{"4111 1111 1111 1111 1234", []string{"4111 1111 1111 1111"}},

		{"bad luhn 4111111111111112", nil},
		{"ts=1700000000000", nil},
		{"ts=1732262400123", nil},
		{"ts=" + ts, nil},
		{"amex of 16 digits " + luhnComplete("378282246310005"), nil},
		{"visa of 14 digits " + luhnComplete("4111111111111"), nil},
		{"too long 41111111111111111111", nil},
		{"x4111111111111111", nil},
		{"4111111111111111x", nil},
		{"mixed 4111 1111-1111 1111", nil},
		{"double  4111  1111  1111  1111", nil},
		{"2024-11-22 05:27:33.123", nil},
		{"", nil},
	})
}

func TestFindEmail(t *testing.T) {
	runDetectorTests(t, "email", []detectorTest{
		{"contact john.doe+tag@example.co.uk now", []string{"john.doe+tag@example.co.uk"}},
		{"mail a@b.com.", []string{"a@b.com"}},
		{"<first_last%x@mail-server.example.org>", []string{"first_last%x@mail-server.example.org"}},
		{"a@b.com,c@d.io", []string{"a@b.com", "c@d.io"}},
		{"a@b.co@c.io", []string{"a@b.co"}},
		{"a@b@c.com", []string{"b@c.com"}},
		{"USER@EXAMPLE.COM", []string{"USER@EXAMPLE.COM"}},
		{"user@localhost", nil},
		{"x@y.c", nil},
		{"@example.com", nil},
		{"a@.example.com", nil},
		{"a@b..com", nil},
		{"a@b.com1", nil},
		{"a @b.com", nil},
		{"", nil},
	})
}

func TestFindIPv4(t *testing.T) {
	runDetectorTests(t, "ipv4", []detectorTest{
		{"from 192.168.1.10:8080", []string{"192.168.1.10"}},
		{"0.0.0.0 and 255.255.255.255", []string{"0.0.0.0", "255.255.255.255"}},
		{"(8.8.8.8)", []string{"8.8.8.8"}},
		{"ip=10.0.0.1.", []string{"10.0.0.1"}},
		{"net 10.0.0.0/8", []string{"10.0.0.0"}},
		{"::ffff:10.1.2.3", []string{"10.1.2.3"}},
		{"1.2.3.4.5", nil},
		{"version 10.0.0.1.2", nil},
		{"oid 1.3.6.1.4.1.2021", nil},
		{"256.1.1.1", nil},
		{"1234.1.1.1", nil},
		{"v1.2.3.4", nil},
		{"1.2.3.4x", nil},
		{"host.10.0.0.1", nil},
		{"10.0.0.1.example", nil},
		{"version 1.2.3", nil},
		{"1..2.3.4", nil},
		{"", nil},
	})
}

// TestDigitMask checks the word-at-a-time digit test against the byte test
// for every byte value in every position of the word.
func TestDigitMask(t *testing.T) {
	for pos := range 8 {
		for c := range 256 {
			var w [8]byte
			for i := range w {
				w[i] = 'x'
			}
			w[pos] = byte(c)
			got := digitMask(binary.LittleEndian.Uint64(w[:]))
			var want uint64
			if isDigit(byte(c)) {
				want = 0x80 << (8 * pos)
			}
			if got != want {
				t.Fatalf("byte %#x at %d: mask %#x, want %#x", c, pos, got, want)
			}
		}
	}
}

func TestNextDigit(t *testing.T) {
	tests := []struct {
		line string
		from int
		want int
	}{
		{"", 0, 0},
		{"abc", 0, 3},
		{"7", 0, 0},
		{"abcdefgh7", 0, 8},
		{"abcdefghijklmnop", 0, 16},
		{"abcdefghijklmno9", 0, 15},
		{"1bcdefghijklmno9", 1, 15},
		{"\xb0\xb9\xff/:9", 0, 5},
		{"é€ 2026", 0, 6},
	}
	for _, tt := range tests {
		if got := nextDigit([]byte(tt.line), tt.from); got != tt.want {
			t.Errorf("nextDigit(%q, %d) = %d, want %d", tt.line, tt.from, got, tt.want)
		}
	}
}
