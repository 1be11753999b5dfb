package match

import "testing"

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
