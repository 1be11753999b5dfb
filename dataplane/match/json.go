package match

// This file reads single members out of JSON objects without decoding them.
//
// gjson could do the lookups, but its path syntax needs the dots in keys
// such as "service.name" escaped, and it allocates to unescape such a path
// component whenever a lookup reaches the object that would hold it; its
// GetBytes also copies what it finds. Walking literal keys directly costs
// no allocation and gives no character of a key a special meaning.
//
// The scan trusts its input: on malformed JSON it may find a value or not,
// but it always terminates and never reads out of bounds, so a caller that
// acts on a value must validate the document first (ValidJSON). Neither
// recurses: a line's nesting costs no stack, and each is one pass over the
// bytes it reads.

import (
	"bytes"
	"strconv"
	"sync/atomic"

	"github.com/tidwall/gjson"
)

// MaxJSONDepth bounds the nesting of a line read as JSON: a line with more
// than 128 objects and arrays open at once is treated as not JSON by every
// JSON lookup (ValidJSON) and by redaction (JSONAware), and counted in
// JSONTooDeep. No log format nests that deep; a line that does is an
// attack on the parser or a broken producer.
const MaxJSONDepth = 128

// maxJSONDepth is MaxJSONDepth, for the bounds of the scanners' arrays.
const maxJSONDepth = MaxJSONDepth

// jsonTooDeep counts lines nested deeper than maxJSONDepth.
var jsonTooDeep atomic.Uint64

// JSONTooDeep is the number of times a line that looked like JSON was
// treated as not JSON because it was nested deeper than MaxJSONDepth:
// by a JSON lookup (attribute_filter, ValidJSON) or by redaction, which
// then scans it as bytes and leniently unescaped. A line met by two rules
// counts twice. It counts for the whole process.
func JSONTooDeep() uint64 { return jsonTooDeep.Load() }

// LookupJSON returns the raw JSON value found by following keys from the
// object doc, and whether it exists. The value is a slice of doc. The scan
// trusts doc (see the top of this file): validate it with ValidJSON before
// acting on what it finds.
func LookupJSON(doc []byte, keys []string) ([]byte, bool) {
	v := doc
	for _, k := range keys {
		var ok bool
		if v, ok = jsonMember(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonMember returns the raw value of the first member named key of the
// object that starts obj (after optional whitespace).
func jsonMember(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 0)
	if i == len(obj) || obj[i] != '{' {
		return nil, false
	}
	i = skipSpace(obj, i+1)
	for i < len(obj) && obj[i] == '"' {
		ke, esc := skipString(obj, i)
		if ke < 0 {
			return nil, false
		}
		k := obj[i:ke]
		i = skipSpace(obj, ke)
		if i == len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		ve := skipValue(obj, i)
		if ve < 0 {
			return nil, false
		}
		if keyIs(k, esc, key) {
			return obj[i:ve], true
		}
		i = skipSpace(obj, ve)
		if i == len(obj) || obj[i] != ',' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
	}
	return nil, false
}

// keyIs reports whether the quoted JSON string k, which contains escapes if
// esc is set, is key. It does not allocate for a key of up to 128 bytes.
func keyIs(k []byte, esc bool, key string) bool {
	body := k[1 : len(k)-1]
	if !esc {
		return string(body) == key
	}
	// Unescaping a valid string never makes it longer.
	if len(body) < len(key) {
		return false
	}
	var buf [128]byte
	if len(body) > len(buf) {
		return jsonString(k) == key
	}
	return string(unescapeJSON(buf[:0], body)) == key
}

// jsonString returns the contents of the quoted JSON string s, unescaped.
// It allocates if s contains escapes.
func jsonString(s []byte) string {
	return gjson.ParseBytes(s).Str
}

// JSONText returns the text a JSON value compares by, the text gjson's
// Result.String gives it: the contents of a string; an integer as
// written; any other number in its shortest decimal form, so 500.0 and 5e2
// are "500"; "" for null; the JSON text of anything else. Only strings with
// escapes and non-integer numbers allocate.
func JSONText(v []byte) []byte {
	switch c := v[0]; {
	case c == '"':
		if s := v[1 : len(v)-1]; bytes.IndexByte(s, '\\') < 0 {
			return s
		}
		return []byte(jsonString(v))
	case c == '-' || isDigit(c):
		digits := v
		if c == '-' {
			digits = v[1:]
		}
		if allDigits(digits) {
			return v
		}
		return strconv.AppendFloat(nil, gjson.ParseBytes(v).Num, 'f', -1, 64)
	case c == 'n':
		return nil
	}
	return v
}

// IsJSONObject reports whether line starts, after optional whitespace, with
// '{': whether it may be a JSON object.
func IsJSONObject(line []byte) bool {
	i := skipSpace(line, 0)
	return i < len(line) && line[i] == '{'
}

// ValidJSON reports whether line is one valid JSON value (RFC 8259, as
// gjson's validator reads it: the bytes of strings are not checked to be
// UTF-8) nested at most MaxJSONDepth deep. A deeper line is reported
// invalid, treated as not JSON, and counted in JSONTooDeep.
//
// It makes one pass over line, without recursion and without allocating,
// and stops at the first container past the limit: a 1 MiB line of
// brackets costs 129 bytes of scanning, not a stack a million frames deep.
func ValidJSON(line []byte) bool {
	switch validJSON(line) {
	case jsonOK:
		return true
	case jsonTooDeep_:
		jsonTooDeep.Add(1)
	}
	return false
}

// validJSON returns jsonOK if s is one valid JSON value nested at most
// maxJSONDepth deep, jsonTooDeep_ if a container opens deeper than that
// before s is found malformed, and jsonMalformed otherwise.
func validJSON(s []byte) int {
	var arrays [maxJSONDepth / 64]uint64 // bit d: the container at depth d is an array
	depth := 0
	i := 0
value: // a value starts at or after s[i]
	for {
		i = skipSpace(s, i)
		if i == len(s) {
			return jsonMalformed
		}
		switch c := s[i]; c {
		case '{', '[':
			if depth == maxJSONDepth {
				return jsonTooDeep_
			}
			w, bit := depth/64, uint64(1)<<(depth%64)
			if c == '[' {
				arrays[w] |= bit
			} else {
				arrays[w] &^= bit
			}
			depth++
			i = skipSpace(s, i+1)
			if i < len(s) && s[i] == c+2 { // '{'+2 is '}', '['+2 is ']'
				i++
				depth--
				break
			}
			if c == '{' {
				if i = validKey(s, i); i < 0 {
					return jsonMalformed
				}
			}
			continue value
		case '"':
			if i = validString(s, i); i < 0 {
				return jsonMalformed
			}
		case 't':
			if i = validLiteral(s, i, "true"); i < 0 {
				return jsonMalformed
			}
		case 'f':
			if i = validLiteral(s, i, "false"); i < 0 {
				return jsonMalformed
			}
		case 'n':
			if i = validLiteral(s, i, "null"); i < 0 {
				return jsonMalformed
			}
		default:
			if i = validNumber(s, i); i < 0 {
				return jsonMalformed
			}
		}
		// A value ended at s[i]: close containers until a ',' starts the
		// next value, or the line ends.
		for {
			i = skipSpace(s, i)
			if depth == 0 {
				if i == len(s) {
					return jsonOK
				}
				return jsonMalformed
			}
			if i == len(s) {
				return jsonMalformed
			}
			d := depth - 1
			inArray := arrays[d/64]&(1<<(d%64)) != 0
			switch {
			case s[i] == ',':
				i++
				if !inArray {
					if i = validKey(s, skipSpace(s, i)); i < 0 {
						return jsonMalformed
					}
				}
				continue value
			case inArray && s[i] == ']', !inArray && s[i] == '}':
				i++
				depth--
			default:
				return jsonMalformed
			}
		}
	}
}

// validKey returns the index just past the ':' of the member that starts
// at s[i] with its key, or -1 if there is no valid key and colon there.
func validKey(s []byte, i int) int {
	if i == len(s) || s[i] != '"' {
		return -1
	}
	if i = validString(s, i); i < 0 {
		return -1
	}
	i = skipSpace(s, i)
	if i == len(s) || s[i] != ':' {
		return -1
	}
	return i + 1
}

// validString returns the index just past the valid JSON string whose
// opening quote is at s[i], or -1: a string ends at its closing quote, holds
// no byte below 0x20 and only the escapes \", \\, \/, \b, \f, \n, \r, \t
// and \u with four hex digits.
func validString(s []byte, i int) int {
	for i++; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		switch {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		default: // '\\'
			i++
			if i == len(s) {
				return -1
			}
			switch s[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(s) || !isHexDigit(s[i+1]) || !isHexDigit(s[i+2]) || !isHexDigit(s[i+3]) || !isHexDigit(s[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		}
	}
	return -1
}

// validLiteral returns the index just past lit if s holds it at s[i], or -1.
func validLiteral(s []byte, i int, lit string) int {
	if !bytes.HasPrefix(s[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}

// validNumber returns the index just past the JSON number that starts at
// s[i], or -1 if none does: an optional minus, 0 or digits not starting
// with 0, an optional fraction and an optional exponent.
func validNumber(s []byte, i int) int {
	if s[i] == '-' {
		i++
	}
	switch {
	case i == len(s) || !isDigit(s[i]):
		return -1
	case s[i] == '0':
		i++
	default:
		i = skipDigits(s, i)
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || !isDigit(s[i]) {
			return -1
		}
		i = skipDigits(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return -1
		}
		i = skipDigits(s, i)
	}
	return i
}

// skipDigits returns the index of the first byte at or after i that is not
// a decimal digit.
func skipDigits(s []byte, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(s []byte, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string whose opening quote is
// at s[i], or -1 if it is not terminated, and whether it contains escapes.
func skipString(s []byte, i int) (end int, esc bool) {
	for i++; i < len(s); i++ {
		switch s[i] {
		case '"':
			return i + 1, esc
		case '\\':
			esc = true
			i++
		}
	}
	return -1, esc
}

// skipValue returns the index just past the value that starts at s[i], or -1
// if there is none. It checks no more than it needs to find the end.
func skipValue(s []byte, i int) int {
	if i == len(s) {
		return -1
	}
	switch s[i] {
	case '"':
		end, _ := skipString(s, i)
		return end
	case '{', '[':
		depth := 0
		for i < len(s) {
			switch s[i] {
			case '"':
				end, _ := skipString(s, i)
				if end < 0 {
					return -1
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	case ',', '}', ']', ':':
		return -1
	}
	// A number, true, false or null runs to the next delimiter.
	j := i
	for j < len(s) && s[j] > ' ' && s[j] != ',' && s[j] != '}' && s[j] != ']' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}
