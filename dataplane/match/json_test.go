package match

import (
	"strings"
	"testing"
)

func TestLookupJSON(t *testing.T) {
	tests := []struct {
		doc  string
		keys []string
		want string // "" means not found
	}{
		{`{"a":1}`, []string{"a"}, `1`},
		{`{"a":1,"b":"x"}`, []string{"b"}, `"x"`},
		{`{"a":{"b":[1,2,{"c":"]"}]}}`, []string{"a", "b"}, `[1,2,{"c":"]"}]`},
		{`{"a\"b":true}`, []string{`a"b`}, `true`},
		{`{"a":"\\","b":null}`, []string{"b"}, `null`},
		{`{"a":-1.5e3 ,"b":2}`, []string{"a"}, `-1.5e3`},
		{`{"a":1}`, []string{"a", "b"}, ``},
		{`{"a":1}`, []string{"b"}, ``},
		{`{}`, []string{"a"}, ``},
		{`{"a"}`, []string{"a"}, ``},
		{`{"a":}`, []string{"a"}, ``},
		{`{"a":"x`, []string{"a"}, ``},
		{`{"a":[1,2`, []string{"a"}, ``},
		{`{"b":1 "a":2}`, []string{"a"}, ``},
		{"{\"a\":\x12}", []string{"a"}, ``},
		{`{"a": }`, []string{"a"}, ``},
	}
	for _, tt := range tests {
		v, ok := LookupJSON([]byte(tt.doc), tt.keys)
		if got := string(v); ok != (tt.want != "") || got != tt.want {
			t.Errorf("LookupJSON(%s, %q): got %q, %v; want %q", tt.doc, tt.keys, got, ok, tt.want)
		}
	}
}

func TestJSONText(t *testing.T) {
	tests := []struct{ v, want string }{
		{`"plain"`, "plain"},
		{`"a\"b\u00e9"`, `a"bé`},
		{`500`, "500"},
		{`-12`, "-12"},
		{`500.0`, "500"},
		{`5e2`, "500"},
		{`-1.50`, "-1.5"},
		{`null`, ""},
		{`true`, "true"},
		{`{"a":1}`, `{"a":1}`},
		{`[1, 2]`, `[1, 2]`},
	}
	for _, tt := range tests {
		if got := string(JSONText([]byte(tt.v))); got != tt.want {
			t.Errorf("JSONText(%s): got %q; want %q", tt.v, got, tt.want)
		}
	}
}

func TestIsJSONObject(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{`{"a":1}`, true},
		{" \t\r\n{", true},
		{`[{"a":1}]`, false},
		{`x {"a":1}`, false},
		{"", false},
		{"   ", false},
	}
	for _, tt := range tests {
		if got := IsJSONObject([]byte(tt.line)); got != tt.want {
			t.Errorf("IsJSONObject(%q): got %v; want %v", tt.line, got, tt.want)
		}
	}
}

func TestValidJSON(t *testing.T) {
	nest := func(open, close string, n int, inner string) string {
		return strings.Repeat(open, n) + inner + strings.Repeat(close, n)
	}
	tests := []struct {
		name string
		doc  string
		want int
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"e"}}`, jsonOK},
		{"spaces", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n ", jsonOK},
		{"scalar", `-0.5e+10`, jsonOK},
		{"string with escapes", `"a\"b\\c\/d\b\f\n\r\t\u00e9\uD83D"`, jsonOK},
		{"empty containers", `[{},[],{"a":[]}]`, jsonOK},
		{"invalid UTF-8 in a string", "\"\xff\"", jsonOK},
		{"empty", ``, jsonMalformed},
		{"only spaces", `   `, jsonMalformed},
		{"two values", `{} {}`, jsonMalformed},
		{"trailing comma", `[1,]`, jsonMalformed},
		{"trailing comma in object", `{"a":1,}`, jsonMalformed},
		{"missing colon", `{"a" 1}`, jsonMalformed},
		{"key not a string", `{a:1}`, jsonMalformed},
		{"mismatched close", `[1}`, jsonMalformed},
		{"unclosed", `{"a":[1,2]`, jsonMalformed},
		{"control byte", "\"a\x01\"", jsonMalformed},
		{"bad escape", `"\x"`, jsonMalformed},
		{"short unicode escape", `"\u12"`, jsonMalformed},
		{"leading zero", `01`, jsonMalformed},
		{"bare minus", `-`, jsonMalformed},
		{"dot without digits", `1.`, jsonMalformed},
		{"exponent without digits", `1e+`, jsonMalformed},
		{"number then letter", `1x`, jsonMalformed},
		{"truncated literal", `tru`, jsonMalformed},
		{"literal then letter", `nullx`, jsonMalformed},
		{"128 arrays", nest("[", "]", 128, "1"), jsonOK},
		{"128 objects", nest(`{"a":`, "}", 127, "{}"), jsonOK},
		{"129 arrays", nest("[", "]", 129, "1"), jsonTooDeep_},
		{"129 empty arrays", nest("[", "]", 129, ""), jsonTooDeep_},
		{"129 mixed", nest(`{"a":[`, "]}", 65, ""), jsonTooDeep_},
		{"129 arrays, unclosed", strings.Repeat("[", 129), jsonTooDeep_},
		{"malformed before too deep", "[x" + strings.Repeat("[", 200), jsonMalformed},
		{"deep after 64", nest("[", "]", 64, `{"a":1}`) + nest("[", "]", 70, ""), jsonMalformed},
		{"depth resets", "[" + nest("[", "]", 127, "") + "," + nest("[", "]", 127, "") + "]", jsonOK},
	}
	for _, tt := range tests {
		if got := validJSON([]byte(tt.doc)); got != tt.want {
			t.Errorf("%s: validJSON: got %d; want %d", tt.name, got, tt.want)
		}
	}
}

func TestValidJSONCountsTooDeep(t *testing.T) {
	deep := []byte(strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200))
	before := JSONTooDeep()
	if ValidJSON(deep) {
		t.Errorf("ValidJSON of 200 levels: got true; want false")
	}
	if got := JSONTooDeep() - before; got != 1 {
		t.Errorf("JSONTooDeep: counted %d; want 1", got)
	}
	if ValidJSON([]byte(`{"a":`)) || !ValidJSON([]byte(`{"a":1}`)) {
		t.Errorf("ValidJSON: wrong answer for a shallow line")
	}
	if got := JSONTooDeep() - before; got != 1 {
		t.Errorf("JSONTooDeep: shallow lines counted; got %d; want 1", got)
	}
}
