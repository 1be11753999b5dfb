package processor

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// A detector finds personal data in a line without a regular expression.
//
// It returns the bounds of the first finding that starts at or after from,
// or -1, -1 if there is none. Bytes before from are the end of an earlier
// finding: a detector may look at them to check a boundary but never starts
// a finding there, so findings do not overlap.
type detector func(line []byte, from int) (start, end int)

// detectors are the detectors a redact rule can name.
//
//   - ssn: a US Social Security number written ddd-dd-dddd, not preceded or
//     followed by a digit. Every such number is a finding, including the
//     never-issued areas 000, 666 and 9xx: 9xx is the range of ITINs, which
//     are personal data too, and placeholders such as 000-00-0000 cost
//     nothing to hide. So after redaction no digit-bounded ddd-dd-dddd is
//     left.
//   - credit_card: a payment card number of 13 to 19 digits, written either
//     without separators or in groups joined by single spaces or by single
//     dashes (one kind per number), not preceded or followed by a letter or
//     digit. It must pass the Luhn check and fall in the number range and
//     length of a known issuer (see cardIssuers), so that timestamps and
//     other long numbers are left alone.
//   - email: local@domain, where the local part is a run of
//     [A-Za-z0-9._%+-] and the domain a run of [A-Za-z0-9.-] with at least
//     two non-empty labels, the last of them two or more letters. A dot or
//     dash ending the domain is taken as punctuation and kept.
//   - ipv4: four decimal octets 0 to 255 of one to three digits, separated
//     by dots. The run of digits and dots must be exactly those four parts:
//     version strings and OIDs such as 10.0.0.1.2 or 1.3.6.1.4.1 are not
//     addresses. The address must not touch a letter or digit, nor a dot on
//     its left or a dot followed by a letter or digit on its right (as in
//     host.10.0.0.1 or 10.0.0.1.example); a sentence-ending dot is fine.
var detectors = map[string]detector{
	"ssn":         findSSN,
	"credit_card": findCard,
	"email":       findEmail,
	"ipv4":        findIPv4,
}

func isDigit(c byte) bool { return c-'0' < 10 }

func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }

func isAlnum(c byte) bool { return isDigit(c) || isLetter(c) }

// allDigits reports whether b is made of ASCII digits only.
func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// findSSN finds ddd-dd-dddd bounded by non-digits.
func findSSN(line []byte, from int) (int, int) {
	const n = len("123-45-6789")
	// h is where to look for the first dash, three bytes into a candidate.
	for h := from + 3; h+n-3 <= len(line); h++ {
		d := bytes.IndexByte(line[h:len(line)-n+4], '-')
		if d < 0 {
			break
		}
		h += d
		s, e := h-3, h-3+n
		if line[h+3] == '-' &&
			allDigits(line[s:h]) && allDigits(line[h+1:h+3]) && allDigits(line[h+4:e]) &&
			(s == 0 || !isDigit(line[s-1])) && (e == len(line) || !isDigit(line[e])) {
			return s, e
		}
	}
	return -1, -1
}

const (
	minCardDigits = 13
	maxCardDigits = 19
)

// cardIssuers are the issuer identification number ranges of the card
// networks, with the number lengths each issues. A number belongs to an
// entry if the number formed by its first k digits lies in [lo, hi].
var cardIssuers = [...]struct {
	k, lo, hi int
	lengths   uint32 // bit n is set if n digits is a valid length
}{
	{1, 4, 4, 1<<13 | 1<<16 | 1<<19},     // Visa
	{2, 51, 55, 1 << 16},                 // Mastercard
	{4, 2221, 2720, 1 << 16},             // Mastercard
	{2, 34, 34, 1 << 15},                 // American Express
	{2, 37, 37, 1 << 15},                 // American Express
	{4, 6011, 6011, lengthRange(16, 19)}, // Discover
	{3, 644, 649, lengthRange(16, 19)},   // Discover
	{2, 65, 65, lengthRange(16, 19)},     // Discover
	{4, 3528, 3589, lengthRange(16, 19)}, // JCB
	{3, 300, 305, lengthRange(14, 19)},   // Diners Club
	{2, 36, 36, lengthRange(14, 19)},     // Diners Club
	{2, 38, 39, lengthRange(14, 19)},     // Diners Club
	{2, 62, 62, lengthRange(16, 19)},     // UnionPay
}

// lengthRange returns the set of lengths from min to max digits, in the
// form of cardIssuers.
func lengthRange(min, max int) uint32 {
	return 1<<(max+1) - 1<<min
}

// isCard reports whether digits (values 0-9, not ASCII) form a card number
// of a known issuer that passes the Luhn check.
func isCard(digits []byte) bool {
	if !knownIssuer(digits) {
		return false
	}
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i])
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

// knownIssuer reports whether digits lie in an entry of cardIssuers with a
// length valid for it. len(digits) is at least minCardDigits.
func knownIssuer(digits []byte) bool {
	var prefix [5]int // prefix[k] is the number formed by the first k digits
	for k := 1; k < len(prefix); k++ {
		prefix[k] = prefix[k-1]*10 + int(digits[k-1])
	}
	for _, iss := range cardIssuers {
		if iss.lengths&(1<<len(digits)) != 0 && prefix[iss.k] >= iss.lo && prefix[iss.k] <= iss.hi {
			return true
		}
	}
	return false
}

// findCard finds card numbers; see detectors.
func findCard(line []byte, from int) (int, int) {
	for i := nextDigit(line, from); i < len(line); i = nextDigit(line, i) {
		if i > 0 && isAlnum(line[i-1]) {
			// Part of a word such as an identifier or a hex string.
			for i < len(line) && isDigit(line[i]) {
				i++
			}
			continue
		}
		// i starts a chain of digit groups joined by single separators.
		// Any group of a chain long enough may start a card number; only
		// 2 to 6 start the number range of an issuer.
		end, n := cardChain(line, i)
		for n >= minCardDigits && i < end {
			if c := line[i]; c >= '2' && c <= '6' {
				if e := cardAt(line, i); e > 0 {
					return i, e
				}
			}
			for i < end && isDigit(line[i]) {
				i++
				n--
			}
			i++ // the separator
		}
		i = end
	}
	return -1, -1
}

// nextDigit returns the index of the first ASCII digit of line at or after
// i, or len(line). Most of a log line is not digits: it skips them eight
// bytes at a time.
func nextDigit(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		if m := digitMask(binary.LittleEndian.Uint64(line[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(line) && !isDigit(line[i]) {
		i++
	}
	return i
}

// digitMask returns x with the top bit of each byte that is an ASCII digit
// set, and every other bit clear. Per byte c, with t = c&0x7f: 185-t has its
// top bit set when c <= '9', t+80 when c >= '0', and ^c when c < 0x80. No
// byte's sum or difference carries into its neighbour, so the test is exact
// for every byte.
func digitMask(x uint64) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	t := x & low7
	return (ones*(0x7f+'9'+1) - t) & ^x & (t + ones*(0x7f-('0'-1))) & high
}

// cardChain returns the end of the chain of digit groups joined by single
// separators that starts at line[i], and the number of digits in it.
func cardChain(line []byte, i int) (end, digits int) {
	for {
		for i < len(line) && isDigit(line[i]) {
			i++
			digits++
		}
		if i+1 < len(line) && isCardSep(line[i]) && isDigit(line[i+1]) {
			i++
			continue
		}
		return i, digits
	}
}

func isCardSep(c byte) bool { return c == ' ' || c == '-' }

// cardAt returns the end of the longest card number that starts at line[s],
// or -1. The caller has checked what precedes s.
func cardAt(line []byte, s int) int {
	var digits [maxCardDigits]byte
	// ends[n] is where the number ends if it ends after n digits, or 0 if
	// no group ends there.
	var ends [maxCardDigits + 1]int
	n := 0
	var sep byte
	i := s
groups:
	for {
		for i < len(line) && isDigit(line[i]) {
			if n == maxCardDigits {
				break groups // this group makes the number too long
			}
			digits[n] = line[i] - '0'
			n++
			i++
		}
		ends[n] = i
		if i+1 < len(line) && isCardSep(line[i]) && isDigit(line[i+1]) && (sep == 0 || line[i] == sep) {
			sep = line[i]
			i++
			continue
		}
		break
	}
	for n := maxCardDigits; n >= minCardDigits; n-- {
		e := ends[n]
		if e == 0 || e < len(line) && isAlnum(line[e]) {
			continue
		}
		if isCard(digits[:n]) {
			return e
		}
	}
	return -1
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isEmailDomain(c byte) bool {
	return isAlnum(c) || c == '.' || c == '-'
}

// findEmail finds email addresses; see detectors.
func findEmail(line []byte, from int) (int, int) {
	for i := from; i < len(line); {
		at := bytes.IndexByte(line[i:], '@')
		if at < 0 {
			break
		}
		at += i
		s := at
		for s > from && isEmailLocal(line[s-1]) {
			s--
		}
		if s < at {
			if e := emailDomainEnd(line, at+1); e > 0 {
				return s, e
			}
		}
		i = at + 1
	}
	return -1, -1
}

// emailDomainEnd returns the end of the email domain that starts at line[i],
// or -1 if there is none.
func emailDomainEnd(line []byte, i int) int {
	e := i
	for e < len(line) && isEmailDomain(line[e]) {
		e++
	}
	for e > i && (line[e-1] == '.' || line[e-1] == '-') {
		e--
	}
	dom := line[i:e]
	dot := bytes.LastIndexByte(dom, '.')
	if dot <= 0 || dom[0] == '.' || bytes.Contains(dom, []byte("..")) {
		return -1
	}
	tld := dom[dot+1:]
	if len(tld) < 2 {
		return -1
	}
	for _, c := range tld {
		if !isLetter(c) {
			return -1
		}
	}
	return e
}

// findIPv4 finds IPv4 addresses; see detectors.
func findIPv4(line []byte, from int) (int, int) {
	for i := from; ; {
		// Every address has a dot after its first group of digits.
		d := bytes.IndexByte(line[i:], '.')
		if d < 0 {
			return -1, -1
		}
		dot := i + d
		s := dot
		for s > i && isDigit(line[s-1]) {
			s--
		}
		if s == dot || dot+1 == len(line) || !isDigit(line[dot+1]) {
			i = dot + 1
			continue
		}
		// Scan the whole run of digit groups joined by single dots.
		i = s
		parts, ok := 0, true
		for {
			v, n := 0, 0
			for ; i < len(line) && isDigit(line[i]); i++ {
				if n < 4 {
					v = v*10 + int(line[i]-'0')
				}
				n++
			}
			if n > 3 || v > 255 {
				ok = false
			}
			parts++
			if i+1 < len(line) && line[i] == '.' && isDigit(line[i+1]) {
				i++
				continue
			}
			break
		}
		if !ok || parts != 4 {
			continue
		}
		if s > 0 && (isAlnum(line[s-1]) || line[s-1] == '.') {
			continue
		}
		if i < len(line) && (isAlnum(line[i]) || line[i] == '.' && i+1 < len(line) && isAlnum(line[i+1])) {
			continue
		}
		return s, i
	}
}
