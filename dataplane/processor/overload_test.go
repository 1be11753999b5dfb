package processor

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestOnOverload(t *testing.T) {
	tests := []struct {
		name    string
		rule    Config
		run     bool
		wantErr string // "" when it builds
	}{
		{"filter by default", Config{Type: "filter", Params: json.RawMessage(`{"value":"x"}`)}, false, ""},
		{"filter told to run", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"run"}`)}, true, ""},
		{"key escaped", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on\u005foverload":"run"}`)}, true, ""},
		{"filter told to skip", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"skip"}`)}, false, ""},
		{"attribute_filter told to run", Config{Type: "attribute_filter", Params: json.RawMessage(`{"attribute":"a","value":"b","on_overload":"run"}`)}, true, ""},
		{"redact by default", Config{Type: "redact", Params: json.RawMessage(`{"detector":"ssn"}`)}, true, ""},
		{"redact told to skip", Config{Type: "redact", Params: json.RawMessage(`{"detector":"ssn","on_overload":"skip"}`)}, false, ""},
		{"beside params", Config{Type: "filter", Params: json.RawMessage(`{"value":"x"}`), OnOverload: "run"}, true, ""},
		{"both, agreeing", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"run"}`), OnOverload: "run"}, true, ""},
		{"both, disagreeing", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"run"}`), OnOverload: "skip"}, false,
			`on_overload: "skip" beside params and "run" in params; set it once`},
		{"unknown value in params", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"maybe"}`)}, false,
			`params.on_overload: want "run" or "skip"; got "maybe"`},
		{"not a string in params", Config{Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":true}`)}, false,
			`params.on_overload: want "run" or "skip"; got true`},
		{"unknown value beside params", Config{Type: "filter", Params: json.RawMessage(`{"value":"x"}`), OnOverload: "maybe"}, false,
			`on_overload: want "run" or "skip"; got "maybe"`},
		{"the other params still checked", Config{Type: "filter", Params: json.RawMessage(`{"on_overload":"run"}`)}, false,
			"params: one of value, values or regex is required"},
	}
	for _, tt := range tests {
		tt.rule.ID = "r"
		s, err := Build(tt.rule)
		run, rerr := RunsOnOverload(tt.rule)
		switch {
		case tt.wantErr != "":
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%s: Build: got error %v; want %q", tt.name, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("%s: Build: got error %v; want none", tt.name, err)
		case s.RunOnOverload != tt.run:
			t.Errorf("%s: RunOnOverload: got %v; want %v", tt.name, s.RunOnOverload, tt.run)
		case rerr != nil || run != tt.run:
			t.Errorf("%s: RunsOnOverload: got %v, %v; want %v", tt.name, run, rerr, tt.run)
		}
	}
}

// TestOnOverloadDocumented: every type documents on_overload, with its
// type's default.
func TestOnOverloadDocumented(t *testing.T) {
	for _, name := range Types() {
		sp, _ := Spec(name)
		p, ok := sp.Param(overloadParamName)
		if !ok {
			t.Errorf("%s: on_overload is not documented", name)
			continue
		}
		want := OverloadSkip
		if registry[name].RunOnOverload {
			want = OverloadRun
		}
		if p.Default != want {
			t.Errorf("%s: on_overload documented with default %q; the type's is %q", name, p.Default, want)
		}
	}
}

func TestRegexBytes(t *testing.T) {
	tests := []struct {
		typ, params string
		regex       bool
	}{
		{"filter", `{"value":"DEBUG"}`, false},
		{"filter", `{"regex":"GET /healthz?\\b"}`, true},
		{"attribute_filter", `{"attribute":"a","value":"^5","operator":"regex"}`, true},
		{"attribute_filter", `{"attribute":"a","value":"5"}`, false},
		{"redact", `{"pattern":"\\d{3}-\\d{2}-\\d{4}"}`, true},
		{"redact", `{"pattern":"\\d{3}-\\d{2}-\\d{4}","action":"drop"}`, true},
		{"redact", `{"detector":"ssn"}`, false},
	}
	for _, tt := range tests {
		s, err := Build(Config{ID: "r", Type: tt.typ, Params: json.RawMessage(tt.params)})
		if err != nil {
			t.Fatalf("%s %s: %v", tt.typ, tt.params, err)
		}
		if got := s.RegexBytes > 0; got != tt.regex {
			t.Errorf("%s %s: RegexBytes %d; want some: %v", tt.typ, tt.params, s.RegexBytes, tt.regex)
		}
	}
}

// TestRegexLimitsNameTheParam: an expression over the bounds is refused
// with the param it is in.
func TestRegexLimitsNameTheParam(t *testing.T) {
	words := make([]string, 3000)
	for i := range words {
		words[i] = strings.Repeat(string(rune('a'+i%26)), 3) + strings.Repeat(string(rune('a'+i/26%26)), 3) + strings.Repeat(string(rune('a'+i/676)), 3)
	}
	huge, _ := json.Marshal(strings.Join(words, "|"))
	long, _ := json.Marshal(strings.Repeat("a", 70_000))
	for _, tt := range []struct{ typ, params, want string }{
		{"filter", `{"regex":` + string(huge) + `}`, "params.regex: would compile to about "},
		{"attribute_filter", `{"attribute":"a","operator":"regex","value":` + string(huge) + `}`, "params.value: would compile to about "},
		{"redact", `{"pattern":` + string(huge) + `}`, "params.pattern: would compile to about "},
		{"redact", `{"pattern":` + string(long) + `}`, "params.pattern: is 70000 bytes long, over the limit of 65536"},
	} {
		if err := buildErr(t, tt.typ, tt.params); !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s: got error %q; want it to start %q", tt.typ, err, tt.want)
		}
	}
}
