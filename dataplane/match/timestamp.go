package match

import "encoding/binary"

// Most log lines start with a timestamp, and its runs of digits are where
// the detectors of numbers would spend their time: seven runs in
// 2024-11-22T05:07:33.123Z, each tried as the start of a card, an SSN, a
// NIR and a dozen others. The replacer of a detector of numbers, or of a
// set that has some, skips a line's leading timestamp instead (for other
// detectors, reading it costs more than scanning it): no finding of any
// built-in detector starts in one
// (TestLeadingTimestampHidesNothing and FuzzLeadingTimestamp check it),
// and the detectors that look back for context or a boundary still may.

// leadingTimestamp returns the end of the seconds of the RFC 3339 or ISO
// 8601 timestamp the line starts with (timestampEnd), or 0 if it starts
// with none. What follows the seconds, a fraction or a zone, is scanned:
// in 2024-11-22 05:07:33,4111 1111 1111 1111 a reading of the timestamp
// takes 4111 for milliseconds, and a card starts there.
func leadingTimestamp(line []byte) int {
	if timestampEnd(line) == 0 {
		return 0
	}
	if line[0] == '[' {
		return 1 + len("yyyy-mm-ddThh:mm:ss")
	}
	return len("yyyy-mm-ddThh:mm:ss")
}

// timestampEnd returns the end of the RFC 3339 or ISO 8601 timestamp the
// line starts with, in brackets or not, or 0 if it starts with none:
//
//	2024-11-22T05:07:33Z  2024-11-22 05:07:33.123456  [2024-11-22T05:07:33,123+01:00]
//
// Date and time are given in full, to the second, and the fraction has at
// most nine digits; the zone is Z, or an offset as +hh:mm, +hhmm or +hh.
// The timestamp must end the line or be followed by a space, a tab, or one
// of " , ; |, so that it is a token of its own.
func timestampEnd(line []byte) int {
	i := 0
	if len(line) > 0 && line[0] == '[' {
		i = 1
	}
	// yyyy-mm-ddThh:mm:ss: 19 bytes.
	if len(line) < i+19 {
		return 0
	}
	if !timestampCore(line[i : i+19]) {
		return 0
	}
	i += 19
	if i < len(line) && (line[i] == '.' || line[i] == ',') {
		n := govARunEnd(line, i+1) - (i + 1)
		if n == 0 || n > 9 {
			return 0
		}
		i += 1 + n
	}
	if i < len(line) {
		switch line[i] {
		case 'Z', 'z':
			i++
		case '+', '-':
			n := zoneOffset(line[i+1:])
			if n == 0 {
				return 0
			}
			i += 1 + n
		}
	}
	if line[0] == '[' {
		if i >= len(line) || line[i] != ']' {
			return 0
		}
		i++
	}
	if i < len(line) {
		switch line[i] {
		case ' ', '\t', '"', ',', ';', '|':
		default:
			return 0
		}
	}
	return i
}

// embeddedTimestamp returns the end of the seconds of the timestamp that
// the run of digits line[i:r] starts, as leadingTimestamp reads one, when
// it stands where a value begins (after a space, a tab, a quote, '=', ':',
// ',' or '('), as in {"ts":"2024-11-22T05:07:33Z"}; or 0. The walks over
// runs of digits skip it: no detector of numbers finds anything in one.
func embeddedTimestamp(line []byte, i, r int) int {
	if r-i != 4 || r == len(line) || line[r] != '-' || i > 0 && !timestampOpens(line[i-1]) {
		return 0
	}
	if n := leadingTimestamp(line[i:]); n > 0 {
		return i + n
	}
	return 0
}

// timestampOpens reports whether c may stand before an embedded timestamp.
func timestampOpens(c byte) bool {
	switch c {
	case ' ', '\t', '"', '\'', '=', ':', ',', '(':
		return true
	}
	return false
}

// timestampCore reports whether t, 19 bytes, is yyyy-mm-ddThh:mm:ss (or
// with a space or t for the T), testing eight bytes at a time: most lines
// that start with a digit fail on the first word.
func timestampCore(t []byte) bool {
	const (
		// Top bits of the bytes that must be digits: 0-3, 5, 6 of the
		// first word; 0, 1, 3, 4, 6, 7 of the second.
		digits0 = 0x0080_8000_8080_8080
		digits1 = 0x8080_0080_8000_8080
		// The separators: '-' at 4 and 7; ':' at 5 of the second word.
		seps0     = 0xff00_00ff_0000_0000
		dashes    = uint64('-')<<56 | uint64('-')<<32
		colon1    = 0x0000_ff00_0000_0000
		colonAt13 = uint64(':') << 40
	)
	w0, w1 := binary.LittleEndian.Uint64(t), binary.LittleEndian.Uint64(t[8:])
	if digitMask(w0)&digits0 != digits0 || w0&seps0 != dashes ||
		digitMask(w1)&digits1 != digits1 || w1&colon1 != colonAt13 {
		return false
	}
	switch t[10] {
	case 'T', 't', ' ':
	default:
		return false
	}
	return t[16] == ':' && isDigit(t[17]) && isDigit(t[18])
}

// zoneOffset returns the length of the hh:mm, hhmm or hh that b starts
// with, or 0.
func zoneOffset(b []byte) int {
	switch {
	case len(b) >= 5 && allDigits(b[0:2]) && b[2] == ':' && allDigits(b[3:5]):
		return 5
	case len(b) >= 4 && allDigits(b[0:4]):
		if len(b) > 4 && isDigit(b[4]) {
			return 0
		}
		return 4
	case len(b) >= 2 && allDigits(b[0:2]) && (len(b) == 2 || !isDigit(b[2])):
		return 2
	}
	return 0
}
