package match

import (
	"encoding/binary"
	"math/bits"
)

var usABARouting = Detector{
	Name:     "us_aba_routing",
	Category: CategoryPayments,
	Summary:  "US ABA routing transit number next to a banking keyword",
	Doc: "A US ABA routing transit number: nine digits, not preceded or followed by a letter or digit, " +
		"nor joined by '.' or ',' to more digits (as in a decimal number). The first two digits must be " +
		"a Federal Reserve prefix (00 to 12, 21 to 32, 61 to 72, or 80) and the digits must pass the " +
		"3-7-1 check: 3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10. Since one nine-digit " +
		"number in ten passes it, a keyword is always required: routing, aba, rtn, transit, bank or ach " +
		"must start a word within 32 bytes before the number, digits not counted (so one keyword serves " +
		"a list of numbers), compared without case. A word starts after a byte that is not a letter, " +
		"or at an upper-case letter after a lower-case one: bankRouting counts, database does not.",
	Checksum: "ABA 3-7-1",
	Context:  abaContext,
	Find:     findABARouting,
	Runs:     runBit(9),
	At:       abaRoutingAt,
	Examples: []Example{
		{"ach credit routing=021000021 account=****6789", []string{"021000021"}},
		{"aba 011000015 and bank RTN: 322271627", []string{"011000015", "322271627"}},
		{"routing=021000022 route 0210000210", nil},
		{"database shard 021000021", nil},
	},
}

// abaContext are the keywords of which one must precede a routing number.
var abaContext = []string{"routing", "aba", "rtn", "transit", "bank", "ach"}

// findABARouting finds ABA routing numbers; see usABARouting.
func findABARouting(line []byte, from int) (int, int) {
	for i := from; i+9 <= len(line); {
		// A run of nine digits that starts in line[i:i+9] holds
		// line[i+8]: skip nine bytes when that is not a digit.
		if !isDigit(line[i+8]) {
			i += 9
			continue
		}
		s, e := i+8, paymentsRunEnd(line, i+9)
		for s > 0 && isDigit(line[s-1]) {
			s--
		}
		if e-s == 9 && s >= from && paymentsDigitsBounded(line, s, e) && isABARouting(line[s:e]) &&
			hasContext(line, s, abaContext) {
			return s, e
		}
		i = e + 1
	}
	return -1, -1
}

// abaRoutingAt is the At of us_aba_routing: the number that is the run of
// digits line[i:r], or -1, -1.
func abaRoutingAt(line []byte, i, r int) (int, int) {
	if r-i == 9 && paymentsDigitsBounded(line, i, r) && isABARouting(line[i:r]) && hasContext(line, i, abaContext) {
		return i, r
	}
	return -1, -1
}

// isABARouting reports whether the nine ASCII digits d have a Federal
// Reserve prefix and pass the 3-7-1 check.
func isABARouting(d []byte) bool {
	p := int(d[0]-'0')*10 + int(d[1]-'0')
	if !(p <= 12 || p >= 21 && p <= 32 || p >= 61 && p <= 72 || p == 80) {
		return false
	}
	return abaSum(d)%10 == 0
}

// abaSum returns the 3-7-1 weighted sum of the nine ASCII digits d.
func abaSum(d []byte) int {
	sum := 0
	for i := 0; i < 9; i += 3 {
		sum += 3*int(d[i]-'0') + 7*int(d[i+1]-'0') + int(d[i+2]-'0')
	}
	return sum
}

// paymentsRunEnd returns the end of the run of ASCII digits at line[i]:
// the index of the first byte at or after i that is not a digit, or
// len(line). It looks at eight bytes at a time.
func paymentsRunEnd(line []byte, i int) int {
	const high = 0x8080808080808080
	for ; i+8 <= len(line); i += 8 {
		if m := ^digitMask(binary.LittleEndian.Uint64(line[i:])) & high; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(line) && isDigit(line[i]) {
		i++
	}
	return i
}

// paymentsDigitsBounded reports whether the run of digits line[s:e] stands
// alone: not preceded or followed by a letter or digit, nor joined by '.'
// or ',' to more digits.
func paymentsDigitsBounded(line []byte, s, e int) bool {
	if s > 0 {
		c := line[s-1]
		if isAlnum(c) || (c == '.' || c == ',') && s > 1 && isDigit(line[s-2]) {
			return false
		}
	}
	if e < len(line) {
		c := line[e]
		if isAlnum(c) || (c == '.' || c == ',') && e+1 < len(line) && isDigit(line[e+1]) {
			return false
		}
	}
	return true
}
