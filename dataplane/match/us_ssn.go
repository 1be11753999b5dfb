package match

import (
	"encoding/binary"
	"math/bits"
)

var usSSN = Detector{
	Name:     "us_ssn",
	Category: CategoryGovernmentID,
	Summary:  "US Social Security number in the issued ranges",
	Doc: "A US Social Security number written ddd-dd-dddd or ddd dd dddd (one kind of separator per " +
		"number), or as nine digits together when a context word (ssn, social security, ss#) stands " +
		"before it. The area (first three digits) is not 000, 666 or 900 to 999, the group (next two) " +
		"not 00 and the serial (last four) not 0000: the Social Security Administration issues none of " +
		"them, and 9xx numbers are ITINs (us_itin). " + govABoundsDoc + " " + contextDoc,
	Context: usSSNContext,
	Runs:    1<<3 | 1<<9,
	Joined:  1 << 3,
	Joins:   "- ",
	At:      usSSNAt,
	Examples: []Example{
		{"applicant ssn=536-22-8145 verified", []string{"536-22-8145"}},
		{"Social Security: 536 22 8145, ss# 536228145", []string{"536 22 8145", "536228145"}},
		{"ssn 000-12-3456 666-12-3456 912-70-1234 536-00-8145", nil},
		{"order 536228145 shipped", nil},
	},
}

var usSSNContext = []string{"ssn", "social security", "ss#"}

// usSSNAt returns the SSN that starts with the run of digits at line[i],
// or -1, -1.
func usSSNAt(line []byte, i, r int) (int, int) {
	if r-i == 3 && !govASepAt(line, r, "- ") {
		return -1, -1
	}
	e, sep, area, group, serial := govAUSNumber(line, i)
	if e < 0 || area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 ||
		sep == 0 && !hasContext(line, i, usSSNContext) {
		return -1, -1
	}
	return i, e
}

// The helpers below are shared by the detectors of governmentIDDetectors:
// national numbers of fixed length, written as one run of digits or in a
// few fixed groupings.

// govABoundsDoc is what the boundary rules of govABounded say, for Doc.
const govABoundsDoc = "It must not touch a letter, digit or '_', nor be joined to one by '.' or '-', " +
	"nor be joined by '/' digit to digit, nor follow a country calling code and a space (+44 ...), as " +
	"phone numbers do."

// govASpacedDoc adds the rule of spaced numbers to govABoundsDoc.
const govASpacedDoc = "Nor may a space join it to a digit, so that it is not taken out of a longer " +
	"chain of digit groups."

// govANextRun returns the index of the first byte of line at or after i
// that starts k ASCII digits in a row, 1 <= k <= 8, or len(line). It
// looks at 9-k bytes at a time, with nextDigit's test: a run of k digits
// that starts within a word of 8 bytes lies within it. Found from a byte
// that is not a digit, the index starts a run of digits.
func govANextRun(line []byte, i, k int) int {
	for ; i+8 <= len(line); i += 9 - k {
		m := digitMask(binary.LittleEndian.Uint64(line[i:]))
		for range k - 1 {
			m &= m >> 8
		}
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i+k <= len(line); i++ {
		if allDigits(line[i : i+k]) {
			return i
		}
	}
	return len(line)
}

// RangeMask returns x with the top bit of each byte in [lo, hi] set, and
// every other bit clear, 0 < lo <= hi < 0x80; see digitMask. It tests
// eight bytes at once for a byte class, as the detectors' walks and the
// syslog input's quick checks do.
func RangeMask(x uint64, lo, hi byte) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	t := x & low7
	return (ones*(0x7f+uint64(hi)+1) - t) & ^x & (t + ones*(0x7f-(uint64(lo)-1))) & high
}

// govARunEnd returns the end of the run of ASCII digits that starts at
// line[i], eight bytes at a time.
func govARunEnd(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		if m := ^digitMask(binary.LittleEndian.Uint64(line[i:])) & 0x8080808080808080; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(line) && isDigit(line[i]) {
		i++
	}
	return i
}

// govAWord reports whether c belongs to the token it stands in: a letter,
// a digit or '_'.
func govAWord(c byte) bool { return isAlnum(c) || c == '_' }

// govAJoins reports whether sep, between the edge byte x of a value and
// the byte o outside it, makes both one token: '.' and '-' join letters,
// digits and '_' (versions, dashed identifiers, UUIDs); '/' joins digits
// (dates, fractions); and, where spaced, so does ' ' (a chain of digit
// groups). The test looks at both sides alike, so that of two values
// joined by sep either both stand alone or neither does.
func govAJoins(sep, x, o byte, spaced bool) bool {
	switch sep {
	case '.', '-':
		return govAWord(x) && govAWord(o)
	case '/':
		return isDigit(x) && isDigit(o)
	case ' ':
		return spaced && isDigit(x) && isDigit(o)
	}
	return false
}

// govABounded reports whether line[s:e] stands alone: it touches no
// letter, digit or '_', no separator joins it to the byte beyond, as
// govAJoins says, and it does not follow a country calling code. The
// rules are the same on both sides, so that replacing a finding never
// makes a value next to it stand alone; a calling code is too short to
// be a finding.
func govABounded(line []byte, s, e int, spaced bool) bool {
	return govAStarts(line, s, spaced) && govAEnds(line, e, spaced)
}

// govAStarts reports whether a value that starts at line[s] stands alone
// on its left; see govABounded.
func govAStarts(line []byte, s int, spaced bool) bool {
	if s == 0 {
		return true
	}
	c := line[s-1]
	return !govAWord(c) && !(s > 1 && govAJoins(c, line[s], line[s-2], spaced)) &&
		!(c == ' ' && govACallingCode(line, s-1))
}

// govAEnds reports whether a value that ends at line[e] stands alone on
// its right; see govABounded.
func govAEnds(line []byte, e int, spaced bool) bool {
	if e == len(line) {
		return true
	}
	c := line[e]
	return !govAWord(c) && !(e+1 < len(line) && govAJoins(c, line[e-1], line[e+1], spaced))
}

// govACallingCode reports whether line[:i] ends with a country calling
// code: '+' and one to three digits.
func govACallingCode(line []byte, i int) bool {
	j := i
	for j > 0 && i-j < 4 && isDigit(line[j-1]) {
		j--
	}
	return j < i && i-j <= 3 && j > 0 && line[j-1] == '+'
}

// govAGroups reads a number of digit groups of the given sizes that starts
// at line[s]: written together, or with every two groups joined by the
// same one byte of seps (one or two bytes). It stores the values of the
// digits in dst and returns the number's end and its separator (0 when
// none), or -1, 0. The caller checks what follows the number.
func govAGroups(line []byte, s int, sizes []int, seps string, dst []byte) (int, byte) {
	i, n := s, 0
	var sep byte
	for g, size := range sizes {
		if g == 1 && govASepAt(line, i, seps) {
			sep = line[i]
		}
		if g > 0 && sep != 0 {
			if i >= len(line) || line[i] != sep {
				return -1, 0
			}
			i++
		}
		if i+size > len(line) {
			return -1, 0
		}
		for _, c := range line[i : i+size] {
			if !isDigit(c) {
				return -1, 0
			}
			dst[n] = c - '0'
			n++
		}
		i += size
	}
	return i, sep
}

// govASepAt reports whether line[i] is one of seps, one or two bytes.
func govASepAt(line []byte, i int, seps string) bool {
	return i < len(line) && (line[i] == seps[0] || line[i] == seps[len(seps)-1])
}

// govAUSGroups are the groups of SSNs and ITINs: area, group, serial.
var govAUSGroups = [...]int{3, 2, 4}

// govAUSNumber reads the number written ddd-dd-dddd, ddd dd dddd or
// ddddddddd that starts at line[s] and stands alone, as SSNs and ITINs
// are. It returns its end, its separator (0 when none), and its area,
// group and serial; or -1 for the end.
func govAUSNumber(line []byte, s int) (end int, sep byte, area, group, serial int) {
	var d [9]byte
	end, sep = govAGroups(line, s, govAUSGroups[:], "- ", d[:])
	if end < 0 || !govABounded(line, s, end, false) {
		return -1, 0, 0, 0, 0
	}
	return end, sep, govANumber(d[0:3]), govANumber(d[3:5]), govANumber(d[5:9])
}

// govANumber returns the number the digit values d spell.
func govANumber(d []byte) int {
	n := 0
	for _, v := range d {
		n = n*10 + int(v)
	}
	return n
}
