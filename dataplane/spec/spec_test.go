package spec

import (
	"strings"
	"testing"
)

func TestCheckKeys(t *testing.T) {
	c := Component{Summary: "s", Params: []Param{{Name: "b", Kind: String, Description: "d"}, {Name: "a", Kind: Integer, Description: "d"}}}
	tests := []struct {
		raw, want string
	}{
		{`{"a": 1, "b": "x"}`, ""},
		{`{}`, ""},
		{`null`, ""},
		{`["not an object"]`, ""}, // left to the component's decoding
		{`{"a": 1, "zz": 2, "c": 3}`, `unknown field "c": thing takes a, b`},
	}
	for _, tt := range tests {
		err := c.CheckKeys([]byte(tt.raw), "thing")
		if got := ""; err != nil {
			got = err.Error()
			if got != tt.want {
				t.Errorf("CheckKeys(%s): got %q; want %q", tt.raw, got, tt.want)
			}
		} else if tt.want != "" {
			t.Errorf("CheckKeys(%s): got nil; want %q", tt.raw, tt.want)
		}
	}
	none := Component{Summary: "s"}
	if err := none.CheckKeys([]byte(`{"x": 1}`), "console"); err == nil || err.Error() != `unknown field "x": console takes no params` {
		t.Errorf("CheckKeys on a component without params: got %v", err)
	}
}

func TestValidate(t *testing.T) {
	good := Component{Summary: "s", Params: []Param{{Name: "a", Kind: String, Enum: []string{"x", "y"}, Default: "x", Description: "d"}},
		Examples: []string{`{"a": "y"}`}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate: got %v; want nil", err)
	}
	tests := []struct {
		name string
		c    Component
		want string
	}{
		{"no summary", Component{Examples: []string{`{}`}}, "no summary"},
		{"no example", Component{Summary: "s"}, "no example"},
		{"bad example", Component{Summary: "s", Examples: []string{`[`}}, "is not a JSON object"},
		{"unnamed", Component{Summary: "s", Params: []Param{{Kind: String, Description: "d"}}, Examples: []string{`{}`}}, "has no name"},
		{"twice", Component{Summary: "s", Params: []Param{{Name: "a", Kind: String, Description: "d"}, {Name: "a", Kind: String, Description: "d"}}, Examples: []string{`{"a":"x"}`}}, "described twice"},
		{"undescribed", Component{Summary: "s", Params: []Param{{Name: "a", Kind: String}}, Examples: []string{`{"a":"x"}`}}, "has no description"},
		{"kind", Component{Summary: "s", Params: []Param{{Name: "a", Kind: "float", Description: "d"}}, Examples: []string{`{"a":1}`}}, `has kind "float"`},
		{"default", Component{Summary: "s", Params: []Param{{Name: "a", Kind: String, Enum: []string{"x"}, Default: "z", Description: "d"}}, Examples: []string{`{"a":"x"}`}}, "default z is not one of its values"},
		{"unused", Component{Summary: "s", Params: []Param{{Name: "a", Kind: String, Description: "d"}}, Examples: []string{`{}`}}, "param a is in no example"},
	}
	for _, tt := range tests {
		err := tt.c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v; want an error containing %q", tt.name, err, tt.want)
		}
	}
}
