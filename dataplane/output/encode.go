package output

import (
	"slices"
	"sort"
	"unicode/utf8"

	"streamgate/dataplane/match"
)

// bodyFormat is one way of turning a batch into an HTTP request body.
type bodyFormat struct {
	contentType string
	// overhead is a guess of the bytes added per line, used to size the body
	// buffer up front.
	overhead int
	// append appends the body for lines to dst and returns the extended slice.
	append func(dst []byte, lines [][]byte) []byte
}

// formats maps the format names accepted in a manifest to their encoders. The
// empty name is the default.
var formats = map[string]*bodyFormat{
	"":           &formatText,
	"text":       &formatText,
	"ndjson":     {contentType: "application/x-ndjson", overhead: 16, append: appendNDJSON},
	"json_array": {contentType: "application/json", overhead: 16, append: appendJSONArray},
	"datadog":    {contentType: "application/json", overhead: 16, append: appendDatadog},
	"splunk_hec": {contentType: "application/json", overhead: 14, append: appendSplunkHEC},
}

var formatText = bodyFormat{contentType: "text/plain; charset=utf-8", overhead: 1, append: appendText}

// formatNames lists the named formats, sorted, for error messages.
func formatNames() []string {
	names := make([]string, 0, len(formats))
	for n := range formats {
		if n != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// appendBody appends the body of lines in format f to dst, growing dst once
// up front from an estimate of the encoded size.
func (f *bodyFormat) appendBody(dst []byte, lines [][]byte) []byte {
	n := 2
	for _, l := range lines {
		n += len(l) + f.overhead
	}
	return f.append(slices.Grow(dst, n), lines)
}

// appendText appends lines, each terminated by '\n'.
func appendText(dst []byte, lines [][]byte) []byte {
	for _, l := range lines {
		dst = append(dst, l...)
		dst = append(dst, '\n')
	}
	return dst
}

// appendNDJSON appends one JSON object per line, each terminated by '\n'. A
// line that is a JSON object already is passed through; any other line becomes
// {"message":"<line>"}.
func appendNDJSON(dst []byte, lines [][]byte) []byte {
	for _, l := range lines {
		if obj, ok := jsonObject(l); ok {
			dst = append(dst, obj...)
		} else {
			dst = appendMessage(dst, l)
		}
		dst = append(dst, '\n')
	}
	return dst
}

// appendJSONArray appends a JSON array holding the objects appendNDJSON would
// write.
func appendJSONArray(dst []byte, lines [][]byte) []byte {
	dst = append(dst, '[')
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, ',')
		}
		if obj, ok := jsonObject(l); ok {
			dst = append(dst, obj...)
		} else {
			dst = appendMessage(dst, l)
		}
	}
	return append(dst, ']')
}

// appendDatadog appends the body of the Datadog logs intake (v2): a JSON array
// of {"message":"<line>"} objects. Lines are always sent as strings: the
// intake parses a message that holds JSON into attributes by itself.
func appendDatadog(dst []byte, lines [][]byte) []byte {
	dst = append(dst, '[')
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMessage(dst, l)
	}
	return append(dst, ']')
}

// appendSplunkHEC appends the body of the Splunk HTTP Event Collector event
// endpoint: one {"event":"<line>"} object per line, separated by '\n'.
func appendSplunkHEC(dst []byte, lines [][]byte) []byte {
	for i, l := range lines {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(dst, `{"event":`...)
		dst = appendJSONString(dst, l)
		dst = append(dst, '}')
	}
	return dst
}

// appendMessage appends {"message":"<line>"}.
func appendMessage(dst, line []byte) []byte {
	dst = append(dst, `{"message":`...)
	dst = appendJSONString(dst, line)
	return append(dst, '}')
}

// appendJSONString appends s to dst as a quoted JSON string; see
// match.AppendJSONString.
func appendJSONString(dst, s []byte) []byte { return match.AppendJSONString(dst, s) }

// maxObjectDepth bounds the nesting of a line passed through as a JSON object;
// deeper lines are sent as strings.
const maxObjectDepth = 64

// jsonObject reports whether line, with surrounding whitespace removed, is one
// JSON object that can be sent as is in a newline-delimited body, and returns
// it trimmed. That is: valid JSON (RFC 8259), valid UTF-8, no '\n' even as
// whitespace, and nested at most maxObjectDepth deep.
func jsonObject(line []byte) ([]byte, bool) {
	b := trimSpace(line)
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	if !validObject(b) {
		return nil, false
	}
	return b, true
}

// trimSpace removes JSON whitespace from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Parser states of validObject: what may come next.
const (
	stValue        = iota // a value
	stValueOrClose        // a value or ']', after '['
	stKey                 // a key, after ',' in an object
	stKeyOrClose          // a key or '}', after '{'
	stColon               // ':', after a key
	stNext                // ',' or the closing bracket, after a value
)

// validObject reports whether b, which starts with '{' and has no surrounding
// whitespace, is exactly one JSON object as jsonObject describes. It does not
// recurse: open containers are a stack of bits, 1 for an array.
func validObject(b []byte) bool {
	var stack uint64
	depth := 0
	state := stValue
	for i := 0; ; {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
		if i == len(b) {
			return false
		}
		c := b[i]
		switch state {
		case stValueOrClose, stValue:
			if state == stValueOrClose && c == ']' {
				i++
				stack >>= 1
				depth--
				state = stNext
				break
			}
			switch {
			case c == '{' || c == '[':
				if depth == maxObjectDepth {
					return false
				}
				depth++
				stack <<= 1
				state = stKeyOrClose
				if c == '[' {
					stack |= 1
					state = stValueOrClose
				}
				i++
				continue // a container's end is checked when it closes
			case c == '"':
				var ok bool
				if i, ok = scanString(b, i+1); !ok {
					return false
				}
			case c == '-' || c >= '0' && c <= '9':
				var ok bool
				if i, ok = scanNumber(b, i); !ok {
					return false
				}
			case c == 't':
				if !hasPrefix(b[i:], "true") {
					return false
				}
				i += 4
			case c == 'f':
				if !hasPrefix(b[i:], "false") {
					return false
				}
				i += 5
			case c == 'n':
				if !hasPrefix(b[i:], "null") {
					return false
				}
				i += 4
			default:
				return false
			}
			state = stNext
		case stKeyOrClose, stKey:
			if state == stKeyOrClose && c == '}' {
				i++
				stack >>= 1
				depth--
				state = stNext
				break
			}
			if c != '"' {
				return false
			}
			var ok bool
			if i, ok = scanString(b, i+1); !ok {
				return false
			}
			state = stColon
			continue
		case stColon:
			if c != ':' {
				return false
			}
			i++
			state = stValue
			continue
		case stNext:
			switch {
			case c == ',':
				state = stKey
				if stack&1 == 1 {
					state = stValue
				}
				i++
				continue
			case c == '}' && stack&1 == 0, c == ']' && stack&1 == 1:
				i++
				stack >>= 1
				depth--
			default:
				return false
			}
		}
		// A value just ended: at depth 0 it was the whole object.
		if depth == 0 {
			return i == len(b)
		}
	}
}

// scanString checks the JSON string whose contents start at b[i] and returns
// the index after its closing quote.
func scanString(b []byte, i int) (int, bool) {
	for {
		i += match.PlainJSONPrefix(b[i:])
		if i == len(b) {
			return i, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 == len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					return i, false
				}
				i += 6
			default:
				return i, false
			}
		case c < utf8.RuneSelf: // a control character
			return i, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, false
			}
			i += size
		}
	}
}

// scanNumber checks the JSON number that starts at b[i] and returns the index
// after it.
func scanNumber(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return i, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return i, false
		}
		i = j
	}
	return i, true
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}
