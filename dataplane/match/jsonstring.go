package match

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// This file writes JSON strings, for the outputs' JSON body formats and for
// redaction that re-encodes the strings it rewrote.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special returns a word whose lowest set bit is the top bit of the first
// byte (in memory order, read little-endian) of w that is a control character,
// '"', '\\' or not ASCII, and 0 if there is none. Bits above the lowest may be
// spurious.
func special(w uint64) uint64 {
	ctl := (w - lsb*0x20) &^ w // top bit of bytes below 0x20
	q := w ^ (lsb * '"')
	q = (q - lsb) &^ q // top bit of bytes equal to '"'
	bs := w ^ (lsb * '\\')
	bs = (bs - lsb) &^ bs // top bit of bytes equal to '\\'
	return (ctl | q | bs | w) & msb
}

// plain[c] is true for bytes that stand for themselves inside a JSON string.
var plain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// PlainJSONPrefix returns the length of the longest prefix of s made of
// bytes that stand for themselves inside a JSON string. It looks at 8 bytes
// at a time.
func PlainJSONPrefix(s []byte) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		if m := special(binary.LittleEndian.Uint64(s[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(s) && plain[s[i]]; i++ {
	}
	return i
}

const hexDigits = "0123456789abcdef"

// shortEscape[c] is the letter of the two-character escape of c, or 0 if c
// has none and needs \u00XX.
var shortEscape = [utf8.RuneSelf]byte{'"': '"', '\\': '\\', '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f'}

// AppendJSONString appends s to dst as a quoted JSON string. Quotes,
// backslashes and control characters are escaped; each run of bytes that is not
// valid UTF-8 becomes one U+FFFD, as strings.ToValidUTF8 does. Everything else,
// '<', '>', '&', U+2028 and U+2029 included, is copied as is.
func AppendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0       // s[start:i] is pending, to be copied as is
	invalid := false // s[i-1] ended a run of invalid UTF-8
	for i := 0; ; {
		if n := PlainJSONPrefix(s[i:]); n > 0 {
			i += n
			invalid = false
		}
		if i == len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			if e := shortEscape[c]; e != 0 {
				dst = append(dst, '\\', e)
			} else {
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			invalid = false
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			if !invalid {
				dst = append(dst, "\uFFFD"...)
				invalid = true
			}
			i++
			start = i
			continue
		}
		i += size
		invalid = false
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
