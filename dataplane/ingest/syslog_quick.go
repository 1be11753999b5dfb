package ingest

import (
	"encoding/binary"
	"math/bits"

	"streamgate/dataplane/match"
)

// wellFormed5424 reports whether msg is an RFC 5424 message of the shape
// most senders write, checked without parsing it into fields: a priority
// from 0 to 191, version 1, a timestamp (NILVALUE, or a date whose day is
// at most 28, so that it exists in every month, and a time with an
// optional fraction of 1 to 6 digits and Z or a numeric offset), the four
// header fields of printable ASCII within their lengths, no structured
// data (NILVALUE) and any message.
//
// Every message it accepts, the RFC 5424 parser accepts too (see
// FuzzWellFormed5424); a false answer says nothing: the parser decides. So
// the text format, which only counts malformed messages, parses none of
// these.
func wellFormed5424(msg []byte) bool {
	p, ok := skipPriority(msg)
	if !ok || p+2 > len(msg) || msg[p] != '1' || msg[p+1] != ' ' {
		return false
	}
	p += 2
	if p, ok = skipTimestamp(msg, p); !ok {
		return false
	}
	for _, maxLen := range [4]int{255, 48, 128, 32} { // hostname, app name, proc id, msg id
		if p, ok = skipField(msg, p, maxLen); !ok {
			return false
		}
	}
	// No structured data, then the end or a space and any message.
	if p >= len(msg) || msg[p] != '-' {
		return false
	}
	p++
	return p == len(msg) || msg[p] == ' '
}

// skipPriority reads "<PRI>" at the start of msg, PRI 0 or 1 to 191
// without a leading zero, and returns where it ends.
func skipPriority(msg []byte) (int, bool) {
	if len(msg) < 3 || msg[0] != '<' {
		return 0, false
	}
	n, i := 0, 1
	for ; i < len(msg) && i <= 3 && isDigit(msg[i]); i++ {
		n = n*10 + int(msg[i]-'0')
	}
	digits := i - 1
	if digits == 0 || i >= len(msg) || msg[i] != '>' || n > 191 || digits > 1 && msg[1] == '0' {
		return 0, false
	}
	return i + 1, true
}

// skipTimestamp reads the timestamp at msg[p:] and the space after it.
func skipTimestamp(msg []byte, p int) (int, bool) {
	if p+1 < len(msg) && msg[p] == '-' && msg[p+1] == ' ' {
		return p + 2, true
	}
	if p+dateTimeLen > len(msg) || !dateTimeShape(msg[p:p+dateTimeLen]) {
		return 0, false
	}
	t := msg[p : p+dateTimeLen]
	month, day := num2(t[5:]), num2(t[8:])
	hour, minute, second := num2(t[11:]), num2(t[14:]), num2(t[17:])
	if month < 1 || month > 12 || day < 1 || day > 28 || hour > 23 || minute > 59 || second > 59 {
		return 0, false
	}
	p += dateTimeLen
	if p < len(msg) && msg[p] == '.' {
		p++
		start := p
		for p < len(msg) && p-start < 7 && isDigit(msg[p]) {
			p++
		}
		if d := p - start; d < 1 || d > 6 {
			return 0, false
		}
	}
	switch {
	case p < len(msg) && msg[p] == 'Z':
		p++
	case p+6 <= len(msg) && (msg[p] == '+' || msg[p] == '-') && msg[p+3] == ':' &&
		isDigit(msg[p+1]) && isDigit(msg[p+2]) && isDigit(msg[p+4]) && isDigit(msg[p+5]) &&
		num2(msg[p+1:]) <= 23 && num2(msg[p+4:]) <= 59:
		p += 6
	default:
		return 0, false
	}
	if p >= len(msg) || msg[p] != ' ' {
		return 0, false
	}
	return p + 1, true
}

// dateTimeLen is the length of a timestamp's date and time to the second.
const dateTimeLen = len("2006-01-02T15:04:05")

// dateTimeShape reports whether t, dateTimeLen bytes, is shaped
// YYYY-MM-DDThh:mm:ss: digits and separators in their places, whatever
// the numbers. It reads t as two 8-byte words and three bytes: the
// separators by comparison, the digits by one mask per word.
func dateTimeShape(t []byte) bool {
	const (
		// "YYYY-MM-", little-endian: '-' in bytes 4 and 7, digits elsewhere.
		seps0, sepMask0, digits0 = '-'<<32 | '-'<<56, 0xff<<32 | 0xff<<56, 0x0080_8000_8080_8080
		// "DDThh:mm": 'T' in byte 2, ':' in byte 5, digits elsewhere.
		seps1, sepMask1, digits1 = 'T'<<16 | ':'<<40, 0xff<<16 | 0xff<<40, 0x8080_0080_8000_8080
	)
	w0, w1 := binary.LittleEndian.Uint64(t), binary.LittleEndian.Uint64(t[8:])
	return w0&sepMask0 == seps0 && w1&sepMask1 == seps1 && t[16] == ':' &&
		match.RangeMask(w0, '0', '9')&digits0 == digits0 && match.RangeMask(w1, '0', '9')&digits1 == digits1 &&
		isDigit(t[17]) && isDigit(t[18])
}

// skipField reads a header field of 1 to maxLen printable ASCII characters
// at msg[p:] and the space after it.
func skipField(msg []byte, p, maxLen int) (int, bool) {
	start := p
	p = printableEnd(msg, p)
	if n := p - start; n < 1 || n > maxLen || p >= len(msg) || msg[p] != ' ' {
		return 0, false
	}
	return p + 1, true
}

// printableEnd returns the end of the run of printable ASCII ('!' to '~')
// at msg[p:], eight bytes at a time.
func printableEnd(msg []byte, p int) int {
	for ; p+8 <= len(msg); p += 8 {
		if m := ^match.RangeMask(binary.LittleEndian.Uint64(msg[p:]), '!', '~') & 0x8080808080808080; m != 0 {
			return p + bits.TrailingZeros64(m)>>3
		}
	}
	for p < len(msg) && msg[p] >= '!' && msg[p] <= '~' {
		p++
	}
	return p
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// num2 is the number of the two digits at the start of b.
func num2(b []byte) int { return int(b[0]-'0')*10 + int(b[1]-'0') }
