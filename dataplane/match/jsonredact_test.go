package match

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// attackLine hides values from a byte scan behind JSON escapes; any JSON
// parser turns it back into them.
const attackLine = `{"a":"123\u002d45\u002d6789","cc":"4111\u00201111\u00201111\u00201111","em":"bob\u0040example.com","ip":"10\u002e1\u002e2\u002e3","t":"token\u003dABCDEF"}`

// redactedNames are the detectors the JSON tests redact with.
var redactedNames = []string{"ssn", "credit_card", "email", "ipv4"}

// redactors are those detectors and a custom pattern, each JSON-aware, as
// a redact rule builds them.
func redactors(t testing.TB) map[string]Replacer {
	rs := map[string]Replacer{"token": JSONAware(mustReplacer(t, `token=[A-Z]+`, "token=[REDACTED]"), true)}
	for _, name := range redactedNames {
		d, _ := LookupDetector(name)
		rs[name] = JSONAware(d.Replacer("[REDACTED]"), false)
	}
	return rs
}

// redactAll runs every redactor over line, one after another.
func redactAll(rs map[string]Replacer, line string) string {
	for _, name := range []string{"ssn", "credit_card", "email", "ipv4", "token"} {
		line = replace(rs[name], []byte(line))
	}
	return line
}

// decodedTexts returns every string (keys included) and number of a JSON
// document, as a parser gives them.
func decodedTexts(t testing.TB, doc string) []string {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(doc))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("cannot decode %q: %v", doc, err)
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				out = append(out, k)
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		case string:
			out = append(out, v)
		case json.Number:
			out = append(out, v.String())
		}
	}
	walk(v)
	return out
}

// checkClean fails t if any redactor still finds something in a value of
// the JSON document out.
func checkClean(t testing.TB, rs map[string]Replacer, in, out string) {
	t.Helper()
	for _, s := range decodedTexts(t, out) {
		for name, r := range rs {
			if r.Finds([]byte(s)) {
				t.Fatalf("%s still finds something in %q\nin:  %s\nout: %s", name, s, in, out)
			}
		}
	}
}

func TestJSONAwareAttack(t *testing.T) {
	rs := redactors(t)
	out := redactAll(rs, attackLine)
	if !json.Valid([]byte(out)) {
		t.Fatalf("got invalid JSON %s", out)
	}
	checkClean(t, rs, attackLine, out)
	want := `{"a":"[REDACTED]","cc":"[REDACTED]","em":"[REDACTED]","ip":"[REDACTED]","t":"token=[REDACTED]"}`
	if out != want {
		t.Fatalf("got  %s\nwant %s", out, want)
	}
}

func TestJSONAware(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no finding is untouched", `{"msg":"order \"placed\"","id":42,"ok":true,"x":null}`, ``},
		{"plain value", `{"ssn":"123-45-6789"}`, `{"ssn":"[REDACTED]"}`},
		{"escaped slash and mixed-case hex", `{"e":"bob\u0040Example\u002Ecom\/x"}`, `{"e":"[REDACTED]/x"}`},
		{"surrogate pair kept around a finding", `{"m":"\ud83d\ude00 123-45-6789"}`, `{"m":"😀 [REDACTED]"}`},
		{"lone surrogate", `{"m":"\ud83d 123\u002d45\u002d6789"}`, `{"m":"� [REDACTED]"}`},
		{"card as a number becomes a string", `{"cc":4111111111111111,"n":12}`, `{"cc":"[REDACTED]","n":12}`},
		{"key", `{"bob@example.com":1}`, `{"[REDACTED]":1}`},
		{"nested arrays and whitespace", ` [ {"a" : [ "x", "10\u002e0.0.1" ] } ] `, ` [ {"a" : [ "x", "[REDACTED]" ] } ] `},
		{"invalid UTF-8 re-encoded when rewritten", "{\"a\":\"\xff\",\"b\":\"123-45-6789\"}", `{"a":"�","b":"[REDACTED]"}`},
		{"truncated object: lenient unescape", `{"a":"123\u002d45\u002d6789`, `{"a":"[REDACTED]`},
		{"broken object, escaped outside strings", `{"a": 123\u002d45\u002d6789}`, `{"a": [REDACTED]}`},
		{"broken object, an escaped escape stays one", `{"a":"\\u0040 123\u002d45\u002d6789`, `{"a":"\\u0040 [REDACTED]`},
		{"not JSON: bytes only", `msg=123\u002d45\u002d6789`, ``},
		{"not JSON: plain finding", `ssn 123-45-6789`, `ssn [REDACTED]`},
	}
	rs := redactors(t)
	for _, tt := range tests {
		got := redactAll(rs, tt.in)
		want := tt.want
		if want == "" {
			want = tt.in
		}
		if got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.name, got, want)
		}
	}
}

func TestJSONAwarePatternStillSeesJSONText(t *testing.T) {
	// A pattern written against the JSON text keeps matching, and one
	// anchored at the start sees each string's start.
	r := JSONAware(mustReplacer(t, `"password":"[^"]*"`, `"password":"***"`), true)
	if got := replace(r, []byte(`{"user":"bob","password":"hunter2"}`)); got != `{"user":"bob","password":"***"}` {
		t.Errorf("JSON-text pattern: got %s", got)
	}
	a := JSONAware(mustReplacer(t, `^secret-\w+$`, "[REDACTED]"), true)
	if got := replace(a, []byte(`{"k":"secret-abc","j":"not secret-abc"}`)); got != `{"k":"[REDACTED]","j":"not secret-abc"}` {
		t.Errorf("anchored pattern: got %s", got)
	}
}

func TestJSONAwareTooDeep(t *testing.T) {
	r := JSONAware(ssn.Replacer("[REDACTED]"), false)
	deep := strings.Repeat("[", 129) + `"123\u002d45\u002d6789"` + strings.Repeat("]", 129)
	before := JSONTooDeep()
	got := replace(r, []byte(deep))
	if JSONTooDeep() != before+1 {
		t.Errorf("JSONTooDeep: got %d; want %d", JSONTooDeep(), before+1)
	}
	if strings.Contains(got, "6789") {
		t.Errorf("a line too deep to decode kept its SSN: %s", got)
	}
	ok := strings.Repeat("[", 128) + `"123\u002d45\u002d6789"` + strings.Repeat("]", 128)
	if got := replace(r, []byte(ok)); got != strings.Repeat("[", 128)+`"[REDACTED]"`+strings.Repeat("]", 128) {
		t.Errorf("128 levels: got %s", got)
	}
	if JSONTooDeep() != before+1 {
		t.Errorf("128 levels counted as too deep")
	}
}

func TestUnescapeJSON(t *testing.T) {
	tests := []struct{ in, want string }{
		{`plain`, "plain"},
		{`a\"b\\c\/d\b\f\n\r\t`, "a\"b\\c/d\b\f\n\r\t"},
		{`\u0041\u00e9\u00E9\u20ac`, "Aéé€"},
		{`\ud83d\ude00`, "😀"},
		{`\ude00\ud83d`, "\uFFFD\uFFFD"},
		{`\ud83dx`, "\uFFFDx"},
		{`\x \u12 \`, `\x \u12 \`},
		{"\xff\xfe", "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := string(unescapeJSON(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("unescapeJSON(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzJSONAware holds JSON-aware redaction to what a receiver decodes: for
// a valid JSON line (seeds hide values behind every escape form), the line
// that leaves is valid JSON, and no redactor finds anything in any of its
// decoded strings, keys or numbers. A line that leaves as anything but
// valid JSON holds nothing a detector finds in its bytes.
func FuzzJSONAware(f *testing.F) {
	for _, s := range []string{
		attackLine,
		`{"a":"123-45-6789","b":[4111111111111111,"x"],"c":{"d":"a@b.co"}}`,
		`["\ud83d\ude00","10.0.0.1","\u0031\u0032\u0033-45-6789"]`,
		`{"k\u0040x.io":"v"}`,
		`{"a":"123\u002d45\u002d6789`,
		"{\"a\":\"\xff123-45-6789\"}",
		` {"n": -1.5e3, "t": true, "f": false, "z": null} `,
		`not json 123-45-6789`,
		`{"password":"p","a":{"k":{"b":[1,{"token":2}]}},"x":{"secret":"s"},"m":"api_key=k1 x"}`,
	} {
		f.Add([]byte(s))
	}
	rs := redactors(f)
	plain := map[string]Replacer{"token": mustReplacer(f, `token=[A-Z]+`, "x")}
	for _, name := range redactedNames {
		d, _ := LookupDetector(name)
		plain[name] = d.Replacer("x")
	}
	fields := JSONAwareWith(nil, JSONOptions{Fields: mustFields(f, "@secrets", "a.*.b"), Exclude: mustFields(f, "x.**")})
	f.Fuzz(func(t *testing.T, line []byte) {
		// One rule's rewrite can expose a finding to a rule that ran
		// before it (token=A4002010201111 leaves a card number once the
		// token's letter is replaced), as in any chain: run the chain until
		// it changes nothing, as the properties below are about what one
		// rule leaves, not about rule order.
		out := redactAll(rs, string(line))
		for i := 0; i < 4; i++ {
			again := redactAll(rs, out)
			if again == out {
				break
			}
			out = again
		}
		for name, r := range plain {
			if r.Finds([]byte(out)) && !json.Valid([]byte(out)) {
				t.Fatalf("%s finds something in the bytes of the line that leaves\nin:  %q\nout: %q", name, line, out)
			}
		}
		if !looksJSON(line) || !json.Valid(line) || depth(line) > maxJSONDepth {
			return // a top-level string or number is not taken for JSON
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("valid JSON in, invalid out\nin:  %q\nout: %q", line, out)
		}
		checkClean(t, rs, string(line), out)
		// Field rules keep a valid line valid too.
		if f := replace(fields, []byte(out)); !json.Valid([]byte(f)) {
			t.Fatalf("field rules: valid JSON in, invalid out\nin:  %q\nout: %q", out, f)
		}
	})
}

// depth is the deepest nesting of brackets in a JSON document.
func depth(doc []byte) int {
	d := json.NewDecoder(strings.NewReader(string(doc)))
	n, deepest := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			n++
			deepest = max(deepest, n)
		case json.Delim('}'), json.Delim(']'):
			n--
		}
	}
}

func ExampleJSONAware() {
	d, _ := LookupDetector("ssn")
	r := JSONAware(d.Replacer("[REDACTED]"), false)
	out, _ := r.AppendReplace(nil, []byte(`{"a":"123\u002d45\u002d6789"}`))
	fmt.Println(string(out))
	// Output: {"a":"[REDACTED]"}
}

// TestQuoteBlindSkipsCommonEscapes: a line whose only escapes are \", \\
// and \/ is not decoded for a redactor whose findings cannot hold those
// characters, and is for one whose can.
func TestQuoteBlindSkipsCommonEscapes(t *testing.T) {
	line := []byte(`{"m":"say \"hi\" at C:\\tmp","p":"\/api\/v1"}`)
	for _, tt := range []struct {
		expr  string
		blind bool
	}{
		{`\d{3}-\d{2}-\d{4}`, true},
		{`(?i)secret`, true},
		{`/api/v1`, false},
		{`"hi"`, false},
		{`[^a]x`, false},
		{`.x`, false},
	} {
		j := JSONAware(mustReplacer(t, tt.expr, "X"), true).(*jsonReplacer)
		if j.quoteBlind != tt.blind {
			t.Errorf("%q: got quote-blind %v; want %v", tt.expr, j.quoteBlind, tt.blind)
		}
		if got := j.hidingEscapes(line); got == tt.blind {
			t.Errorf("%q: hidingEscapes got %v; want %v", tt.expr, got, !tt.blind)
		}
	}
	d := JSONAware(ssn.Replacer("X"), false).(*jsonReplacer)
	if d.hidingEscapes(line) || !d.hidingEscapes([]byte(`{"a":"123\u002d45"}`)) || !d.hidingEscapes([]byte(`{"a":"x\\\u002d"}`)) {
		t.Error("a detector: want only \\u escapes to count as hiding")
	}
	if got := replace(JSONAware(mustReplacer(t, `/api/v1`, "X"), true), line); got != `{"m":"say \"hi\" at C:\\tmp","p":"X"}` {
		t.Errorf("a pattern that matches '/': got %s", got)
	}
}

// TestEscapedKeyContext: a context word spelled with escapes in a key still
// counts for the value after it, as the receiver decodes the key.
func TestEscapedKeyContext(t *testing.T) {
	d, _ := LookupDetector("us_ssn")
	r := JSONAware(d.Replacer("[REDACTED]"), false)
	for _, tt := range []struct{ in, want string }{
		{`{"\u0073sn":"123456789"}`, `{"\u0073sn":"[REDACTED]"}`},
		{`{"\u0073sn":123456789}`, `{"\u0073sn":"[REDACTED]"}`},
		{`{"ssn":123456789}`, `{"ssn":"[REDACTED]"}`},
	} {
		if got := replace(r, []byte(tt.in)); got != tt.want {
			t.Errorf("%s: got %s; want %s", tt.in, got, tt.want)
		}
	}
}

// exhaustive hides that a Replacer can record spans, so that JSONAware
// scans every string of a line in whose bytes it finds something, as it
// did before it spared the strings away from what it found.
type exhaustive struct{ Replacer }

func (exhaustive) quoteBlind() bool { return true }

// sparingLines are JSON lines with findings beside values the scan of
// their bytes says nothing of: context words before values, near and far
// from them, in keys and in arrays, numbers, and keys that are findings.
var sparingLines = []string{
	`{"ts":1733550000000000003,"src":"s1","payment.card":"6011-6014-8275-2119","user.id":"bbpfqcik"}`,
	`{"a":"bob@example.com","ssn":"123456789","routing":"021000021","b":["x","536-22-8145"]}`,
	`{"ssn":["xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","123456789"],"e":"a@b.co"}`,
	`{"customer_social_security_number":"123456789","e":"a@b.co"}`,
	`{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ssn":"123456789","e":"a@b.co"}`,
	`{"ssn_aaaaaaaaaaaaaaaaaaaaaaaaaa":"123456789","e":"a@b.co"}`, // 32 bytes from the key's start with ": ", 33 in the line
	`{"aws_secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY","x":"10.0.0.1"}`,
	`{"x":"10.0.0.1","n":{"dd_api_key":"abcdef0123456789abcdef0123456789"},"m":[1,2,{"phone":"2125550123"}]}`,
	`{"bob@example.com":{"tel":2125550123},"cc":4111111111111111,"k":"v"}`,
	`{"msg":"ssn \"123-45-6789\" and a@b.co","t":"ssn","v":"123456789"}`,
	`{"t":"twilio","sid":"ACdeadbeefdeadbeefdeadbeefdeadbeef","ip":"10.1.2.3"}`,
}

// TestJSONAwareSpares: scanning only the strings and numbers near what the
// scan of a line's bytes found changes nothing in what leaves.
func TestJSONAwareSpares(t *testing.T) {
	all, _ := SelectDetectors([]string{AllDetectors})
	set := NewSet(all, Mask("<>"))
	spared, full := JSONAware(set, false), JSONAware(exhaustive{set}, false)
	for _, l := range append(slices.Clone(sparingLines), attackLine) {
		got, want := replace(spared, []byte(l)), replace(full, []byte(l))
		if got != want {
			t.Errorf("%s:\ngot  %s\nwant %s", l, got, want)
		}
	}
	// The lines above hold what only the scan of a value with its key
	// finds; were the strings away from the findings never scanned, some
	// would leave.
	if got := replace(spared, []byte(sparingLines[3])); strings.Contains(got, "123456789") {
		t.Errorf("%s: an SSN named by its key left: %s", sparingLines[3], got)
	}
}

// FuzzJSONAwareSpares is TestJSONAwareSpares on any line.
func FuzzJSONAwareSpares(f *testing.F) {
	for _, l := range append(slices.Clone(sparingLines), attackLine) {
		f.Add([]byte(l))
	}
	all, _ := SelectDetectors([]string{AllDetectors})
	set := NewSet(all, Mask("<>"))
	spared, full := JSONAware(set, false), JSONAware(exhaustive{set}, false)
	f.Fuzz(func(t *testing.T, line []byte) {
		if got, want := replace(spared, line), replace(full, line); got != want {
			t.Fatalf("%q:\ngot  %s\nwant %s", line, got, want)
		}
	})
}
