package output

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkJSONString checks that appendJSONString(s) is a JSON string that
// encoding/json decodes to s, with each run of invalid UTF-8 replaced by
// U+FFFD.
func checkJSONString(t *testing.T, s []byte) {
	t.Helper()
	prefix := []byte("x")
	out := appendJSONString(prefix, s)
	if !bytes.HasPrefix(out, prefix) {
		t.Fatalf("appendJSONString(%q) dropped dst: got %q", s, out)
	}
	out = out[len(prefix):]
	if !utf8.Valid(out) {
		t.Fatalf("appendJSONString(%q) = %q: not valid UTF-8", s, out)
	}
	var got string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("appendJSONString(%q) = %q: cannot decode: %v", s, out, err)
	}
	if want := strings.ToValidUTF8(string(s), "\uFFFD"); got != want {
		t.Fatalf("appendJSONString(%q) = %q, decodes to %q, want %q", s, out, got, want)
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // exact output; "" to check only by decoding
	}{
		{name: "empty", in: "", want: `""`},
		{name: "plain", in: "GET /index.html 200", want: `"GET /index.html 200"`},
		{name: "quote and backslash", in: `say "hi" \o/`, want: `"say \"hi\" \\o/"`},
		{name: "short escapes", in: "a\nb\rc\td\be\ff", want: `"a\nb\rc\td\be\ff"`},
		{name: "other controls", in: "\x00\x01\x1f\x7f", want: `"\u0000\u0001\u001f` + "\x7f" + `"`},
		{name: "html stays", in: "<a href='x'>&</a>", want: `"<a href='x'>&</a>"`},
		{name: "utf8", in: "héllo wörld ✓ 😀 \u2028", want: "\"héllo wörld ✓ 😀 \u2028\""},
		{name: "invalid byte", in: "a\xffb", want: "\"a\uFFFDb\""},
		{name: "invalid run", in: "a\xff\xfe\xfdb", want: "\"a\uFFFDb\""},
		{name: "truncated rune at end", in: "ab\xe2\x9c", want: "\"ab\uFFFD\""},
		{name: "surrogate half", in: "\xed\xa0\x80", want: "\"\uFFFD\""},
		{name: "overlong", in: "\xc0\xaf", want: "\"\uFFFD\""},
		{name: "valid FFFD then invalid", in: "\uFFFD\xff", want: "\"\uFFFD\uFFFD\""},
		{name: "invalid, escape, invalid", in: "\xff\n\xff", want: "\"\uFFFD\\n\uFFFD\""},
		{name: "special at each offset of a word", in: "0123456\"89abcdef\\", want: `"0123456\"89abcdef\\"`},
		{name: "long plain", in: strings.Repeat("abcdefgh", 20) + "!", want: `"` + strings.Repeat("abcdefgh", 20) + `!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkJSONString(t, []byte(tt.in))
			if tt.want == "" {
				return
			}
			if got := string(appendJSONString(nil, []byte(tt.in))); got != tt.want {
				t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

// TestAppendJSONStringRandom checks the escaper on random inputs made mostly
// of the bytes it treats specially, at every alignment.
func TestAppendJSONStringRandom(t *testing.T) {
	alphabet := []byte("ab\"\\\n\x00\x1f\x7f\x80\xbf\xc3\xa9\xe2\x9c\x93\xf0\x9f\x98\x80\xed\xff")
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 80)
	for range 50000 {
		buf = buf[:0]
		for n := rng.IntN(80); len(buf) < n; {
			if rng.IntN(4) == 0 {
				buf = append(buf, byte(rng.IntN(256)))
			} else {
				buf = append(buf, alphabet[rng.IntN(len(alphabet))])
			}
		}
		checkJSONString(t, buf)
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\n\x1f", "\xff\xfe", "é✓😀", "\uFFFD\xff", "0123456\"89"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		checkJSONString(t, s)
	})
}

// jsonObjectRef is what jsonObject should report, from encoding/json.
func jsonObjectRef(line []byte) bool {
	b := bytes.Trim(line, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b) && utf8.Valid(b) &&
		bytes.IndexByte(b, '\n') < 0 && nesting(b) <= maxObjectDepth
}

// nesting returns the deepest nesting of containers in the valid JSON b.
func nesting(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

func TestJSONObject(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{`{}`, true},
		{` {"a":1} `, true},
		{"\t{\"a\":1}\r\n", true},
		{`{"a":[1,-2.5e+3,0,true,false,null,"s",{"b":{}}],"c":""}`, true},
		{`{"esc":"\"\\\/\b\f\n\r\t\u00e9"}`, true},
		{`{ "a" : 1 , "b" : [ ] }`, true},
		{`{"a":"é✓😀"}`, true},
		{`{"a":1}{"b":2}`, false},
		{`{"a":1,}`, false},
		{`{"a"}`, false},
		{`{a:1}`, false},
		{`{"a":01}`, false},
		{`{"a":1.}`, false},
		{`{"a":.5}`, false},
		{`{"a":1e}`, false},
		{`{"a":-}`, false},
		{`{"a":tru}`, false},
		{`{"a":"\x"}`, false},
		{`{"a":"\u12"}`, false},
		{"{\"a\":\"\x01\"}", false},
		{"{\"a\":\"\xff\"}", false},
		{"{\"a\":\n1}", false},
		{`{"a":[1}`, false},
		{`{"a":{]}`, false},
		{`{not json}`, false},
		{`[{"a":1}]`, false},
		{`"{}"`, false},
		{`{`, false},
		{`plain text`, false},
		{strings.Repeat(`{"a":`, maxObjectDepth-1) + "{}" + strings.Repeat("}", maxObjectDepth-1), true},
		{strings.Repeat(`{"a":`, maxObjectDepth) + "{}" + strings.Repeat("}", maxObjectDepth), false},
		{`{"a":` + strings.Repeat("[", maxObjectDepth-1) + strings.Repeat("]", maxObjectDepth-1) + "}", true},
	}
	for _, tt := range tests {
		obj, got := jsonObject([]byte(tt.in))
		if got != tt.want {
			t.Errorf("jsonObject(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if ref := jsonObjectRef([]byte(tt.in)); ref != tt.want {
			t.Errorf("reference for %q = %v, want %v", tt.in, ref, tt.want)
		}
		if got && string(obj) != strings.Trim(tt.in, " \t\r\n") {
			t.Errorf("jsonObject(%q) returned %q, want the trimmed line", tt.in, obj)
		}
	}
}

func FuzzJSONObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,2.5e3,true,null,"x\u00e9"]}`, `{"a":}`, "{\"a\":\"\xff\"}", `{"a":{"b":[{}]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if _, got := jsonObject(line); got != jsonObjectRef(line) {
			t.Fatalf("jsonObject(%q) = %v, encoding/json says %v", line, got, !got)
		}
	})
}

// testLines covers plain text, JSON objects, and lines that only look like
// objects.
var testLines = []string{
	`127.0.0.1 - - [01/May/2024:12:00:00 +0000] "GET /a?q=\"x\" HTTP/1.1" 200 512`,
	`{"level":"info","msg":"order placed","id":42}`,
	`  {"padded":true}  `,
	`{not json}`,
	"tab\tand control \x01 and bad utf8 \xff\xfe end",
	"héllo ✓",
	"",
}

func testLineBytes() [][]byte {
	lines := make([][]byte, len(testLines))
	for i, l := range testLines {
		lines[i] = []byte(l)
	}
	return lines
}

// wantObjects is what the JSON formats should carry for testLines, decoded:
// JSON objects as they are if pass is set, every other line as {key: line}.
func wantObjects(key string, pass bool) []any {
	var out []any
	for _, l := range testLines {
		if _, ok := jsonObject([]byte(l)); ok && pass {
			var v any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				panic(err)
			}
			out = append(out, v)
			continue
		}
		out = append(out, map[string]any{key: strings.ToValidUTF8(l, "\uFFFD")})
	}
	return out
}

// decodeBody parses a body in format into comparable values: a string for
// text, a slice of decoded JSON values otherwise.
func decodeBody(t *testing.T, format string, body []byte) any {
	t.Helper()
	switch format {
	case "", "text":
		return string(body)
	case "ndjson":
		if !bytes.HasSuffix(body, []byte("\n")) {
			t.Fatalf("ndjson body does not end in a newline: %q", body)
		}
		var out []any
		for _, l := range bytes.Split(body[:len(body)-1], []byte("\n")) {
			var v any
			if err := json.Unmarshal(l, &v); err != nil {
				t.Fatalf("ndjson line %q: %v", l, err)
			}
			out = append(out, v)
		}
		return out
	case "json_array", "datadog":
		var out []any
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s body %q: %v", format, body, err)
		}
		return out
	case "splunk_hec":
		var out []any
		d := json.NewDecoder(bytes.NewReader(body))
		for d.More() {
			var v any
			if err := d.Decode(&v); err != nil {
				t.Fatalf("splunk_hec body %q: %v", body, err)
			}
			out = append(out, v)
		}
		return out
	}
	t.Fatalf("unknown format %q", format)
	return nil
}

// wantBody is what decodeBody should return for testLines in format.
func wantBody(format string) any {
	switch format {
	case "ndjson", "json_array":
		return wantObjects("message", true)
	case "datadog":
		return wantObjects("message", false)
	case "splunk_hec":
		return wantObjects("event", false)
	}
	return strings.Join(testLines, "\n") + "\n"
}

func TestAppendBody(t *testing.T) {
	for _, name := range append([]string{""}, formatNames()...) {
		t.Run("format="+name, func(t *testing.T) {
			f := formats[name]
			body := f.appendBody([]byte("keep"), testLineBytes())
			if !bytes.HasPrefix(body, []byte("keep")) {
				t.Fatalf("appendBody dropped dst: %q", body)
			}
			got := decodeBody(t, name, body[4:])
			if want := wantBody(name); !reflect.DeepEqual(got, want) {
				t.Errorf("body %q\ndecodes to %#v\nwant       %#v", body[4:], got, want)
			}
		})
	}
}

func TestAppendBodyEmpty(t *testing.T) {
	want := map[string]string{"": "", "text": "", "ndjson": "", "json_array": "[]", "datadog": "[]", "splunk_hec": ""}
	for name, f := range formats {
		if got := string(f.appendBody(nil, nil)); got != want[name] {
			t.Errorf("format %q: empty batch encodes to %q, want %q", name, got, want[name])
		}
	}
}

func TestAppendBodyDoesNotAllocate(t *testing.T) {
	lines := testLineBytes()
	for name, f := range formats {
		dst := f.appendBody(nil, lines)
		if n := testing.AllocsPerRun(100, func() { dst = f.appendBody(dst[:0], lines) }); n != 0 {
			t.Errorf("format %q: %v allocations per body with a reused buffer, want 0", name, n)
		}
	}
}
