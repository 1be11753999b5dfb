package sink

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// ScanLeaks reports whether b contains personal data the proxy should have
// redacted. pii is set for an SSN (`ddd-dd-dddd` not adjacent to other
// digits) or a payment card number (13 to 19 digits, optionally grouped by
// single spaces or dashes, with a real issuer prefix and a valid Luhn check
// digit); email is set for an address of the form local@domain.tld.
//
// ScanLeaks does not allocate and does not retain b.
func ScanLeaks(b []byte) (pii, email bool) {
	pii, email, _ = scanLeaks(b)
	return pii, email
}

// scanLeaks is ScanLeaks, and also reports whether b holds a backslash, so
// the caller knows, without another pass, whether to scan b decoded too.
func scanLeaks(b []byte) (pii, email, escaped bool) {
	escaped = bytes.IndexByte(b, '\\') >= 0
	for i := bytes.IndexByte(b, '@'); i >= 0 && !email; {
		email = isEmail(b, i)
		j := bytes.IndexByte(b[i+1:], '@')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	// Eight bytes at a time, it visits only the bytes that start a run of
	// digits, where an SSN or a card number may start.
	var prev uint64 // the top bit of the low byte set when the byte before the word is a digit
	i := 0
	for ; i+8 <= len(b); i += 8 {
		d := digitMask(binary.LittleEndian.Uint64(b[i:]))
		for m := d &^ (d<<8 | prev); m != 0; m &= m - 1 {
			if numberLeakAt(b, i+bits.TrailingZeros64(m)>>3) {
				return true, email, escaped
			}
		}
		prev = d >> 56
	}
	for ; i < len(b); i++ {
		if isDigit(b[i]) && (i == 0 || !isDigit(b[i-1])) && numberLeakAt(b, i) {
			return true, email, escaped
		}
	}
	return false, email, escaped
}

// numberLeakAt reports whether an SSN or a card number starts at b[i], the
// first digit of a run.
func numberLeakAt(b []byte, i int) bool {
	// A card number starts with 2 to 6 (see issued); an SSN with any digit.
	return isSSN(b, i) || b[i]-'2' < 5 && isCard(b, i)
}

const (
	lo7  = 0x7f7f7f7f7f7f7f7f
	hi1  = 0x8080808080808080
	ones = 0x0101010101010101
)

// digitMask returns x with the top bit of each byte that is an ASCII digit
// set, and every other bit clear: bytes in (0x2f, 0x3a), computed per byte
// without carries between bytes; bytes >= 0x80 never match.
func digitMask(x uint64) uint64 {
	y := x & lo7
	return (ones*(127+0x3a) - y) & ^x & (y + ones*(127-0x2f)) & hi1
}

// local and domain mark the bytes allowed in the two parts of an address.
var local, domain = func() (l, d [256]bool) {
	for c := 0; c < 256; c++ {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		l[c] = alnum || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
		d[c] = alnum || c == '.' || c == '-'
	}
	return
}()

func isDigit(c byte) bool { return c-'0' < 10 }

// isSSN reports whether an SSN starts at b[i]; b[i-1] is not a digit.
func isSSN(b []byte, i int) bool {
	if len(b)-i < 11 {
		return false
	}
	s := b[i : i+11]
	if !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || s[3] != '-' ||
		!isDigit(s[4]) || !isDigit(s[5]) || s[6] != '-' ||
		!isDigit(s[7]) || !isDigit(s[8]) || !isDigit(s[9]) || !isDigit(s[10]) {
		return false
	}
	return i+11 == len(b) || !isDigit(b[i+11])
}

// isCard reports whether a card number starts at b[i]; b[i-1] is not a
// digit. Every end of a digit group holding 13..19 digits so far is a
// candidate end, so a card followed by more digit groups is still found.
func isCard(b []byte, i int) bool {
	var d [19]byte
	n := 0
	for i < len(b) {
		c := b[i]
		if isDigit(c) {
			if n == len(d) {
				return false
			}
			d[n] = c - '0'
			n++
			i++
			continue
		}
		if n >= 13 && issued(d[:n]) && luhnValid(d[:n]) {
			return true
		}
		if (c != ' ' && c != '-') || i+1 == len(b) || !isDigit(b[i+1]) {
			return false
		}
		i++
	}
	return n >= 13 && issued(d[:n]) && luhnValid(d[:n])
}

// issued reports whether d starts with the prefix of a major card issuer:
// Visa 4, Mastercard 51-55 and 2221-2720, American Express 34 and 37,
// Discover 6011, 644-649 and 65.
func issued(d []byte) bool {
	switch d[0] {
	case 4:
		return true
	case 5:
		return d[1] >= 1 && d[1] <= 5
	case 3:
		return d[1] == 4 || d[1] == 7
	case 2:
		p := int(d[0])*1000 + int(d[1])*100 + int(d[2])*10 + int(d[3])
		return p >= 2221 && p <= 2720
	case 6:
		return d[1] == 5 || d[1] == 0 && d[2] == 1 && d[3] == 1 || d[1] == 4 && d[2] >= 4
	}
	return false
}

func luhnValid(d []byte) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// isEmail reports whether b[at] == '@' joins a local part and a domain with
// at least one dot followed by a label of two or more letters.
func isEmail(b []byte, at int) bool {
	if at == 0 || !local[b[at-1]] {
		return false
	}
	dotted := false // a dot has been seen after a non-empty label
	tld := 0        // letters in the current label, negative once it has a non-letter
	for j := at + 1; j < len(b) && domain[b[j]]; j++ {
		switch c := b[j]; {
		case c == '.':
			if dotted && tld >= 2 {
				return true
			}
			if j == at+1 || b[j-1] == '.' {
				return false
			}
			dotted, tld = true, 0
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			tld++
		default:
			tld = -1 << 20
		}
	}
	return dotted && tld >= 2
}

// unescape appends line with its JSON escapes undone to dst: \uXXXX of an
// ASCII character, \/, \", \\. Other escapes, which spell nothing a leak
// scan looks for, are kept as they are.
func unescape(dst, line []byte) []byte {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != '\\' || i+1 == len(line) {
			dst = append(dst, c)
			continue
		}
		switch n := line[i+1]; {
		case n == '/' || n == '"' || n == '\\':
			dst = append(dst, n)
			i++
		case n == 'u' && i+6 <= len(line) && line[i+2] == '0' && line[i+3] == '0' && hexVal(line[i+4]) < 8 && hexVal(line[i+5]) < 16:
			dst = append(dst, byte(hexVal(line[i+4])<<4|hexVal(line[i+5])))
			i += 5
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// hexVal is the value of a hex digit, or 16.
func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 16
}
