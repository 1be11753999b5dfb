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
// acts on a value must validate the document first.

import (
	"bytes"
	"strconv"

	"github.com/tidwall/gjson"
)

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

// ValidJSON reports whether line is one valid JSON value.
func ValidJSON(line []byte) bool { return gjson.ValidBytes(line) }

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
