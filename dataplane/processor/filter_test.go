package processor

import (
	"slices"
	"testing"
)

func TestFilter(t *testing.T) {
	in := []string{
		"2024-11-22T05:27:33Z DEBUG cache warm",
		"2024-11-22T05:27:34Z INFO request served",
		"2024-11-22T05:27:35Z TRACE span closed",
		"2024-11-22T05:27:36Z WARN user=42 slow",
		"2024-11-22T05:27:37Z ERROR user=abc failed",
		"",
		"bad utf-8 \xff here",
	}
	tests := []struct {
		name   string
		params string
		want   []int // indexes of in that are kept
	}{
		{"value", `{"value": "DEBUG"}`, []int{1, 2, 3, 4, 5, 6}},
		{"value is case sensitive", `{"value": "debug"}`, []int{0, 1, 2, 3, 4, 5, 6}},
		{"values", `{"values": ["DEBUG", "TRACE"]}`, []int{1, 3, 4, 5, 6}},
		{"values as one string", `{"values": "TRACE"}`, []int{0, 1, 3, 4, 5, 6}},
		{"regex", `{"regex": "user=\\d+"}`, []int{0, 1, 2, 4, 5, 6}},
		{"regex without literal", `{"regex": "(DEBUG|TRACE)"}`, []int{1, 3, 4, 5, 6}},
		{"regex fold case", `{"regex": "(?i)error"}`, []int{0, 1, 2, 3, 5, 6}},
		{"regex literal", `{"regex": "INFO"}`, []int{0, 2, 3, 4, 5, 6}},
		{"regex anchored", `{"regex": "^$"}`, []int{0, 1, 2, 3, 4, 6}},
		// The regexp matches U+FFFD against invalid UTF-8, so the literal
		// must not be looked for as bytes.
		{"regex replacement character", `{"regex": "\uFFFD here"}`, []int{0, 1, 2, 3, 4, 5}},
		{"all params", `{"value": "DEBUG", "values": ["WARN"], "regex": "ERR"}`, []int{1, 2, 5, 6}},
		{"seed string map", `{"value": "INFO"}`, []int{0, 2, 3, 4, 5, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, "filter", tt.params)
			var want []string
			for _, i := range tt.want {
				want = append(want, in[i])
			}
			if got := process(p, in...); !slices.Equal(got, want) {
				t.Errorf("filter %s: got %q; want %q", tt.params, got, want)
			}
		})
	}
}

func TestFilterParams(t *testing.T) {
	tests := []struct {
		params string
		want   string
	}{
		{``, "params: one of value, values or regex is required"},
		{`{}`, "params: one of value, values or regex is required"},
		{`{"values": []}`, "params: one of value, values or regex is required"},
		{`{"value": ""}`, "params.value: must not be empty"},
		{`{"values": ["a", "b", ""]}`, "params.values[2]: must not be empty"},
		{`{"regex": ""}`, "params.regex: must not be empty"},
		{`{"regex": "a("}`, "params.regex: cannot compile: "},
		{`{"value": 5}`, "params.value: cannot decode"},
		{`["DEBUG"]`, "params: must be a JSON object; got array"},
		{`"DEBUG"`, "params: must be a JSON object; got string"},
		{`5`, "params: must be a JSON object; got number"},
		{`{"keyword": "x"}`, `params: unknown field "keyword"`},
	}
	for _, tt := range tests {
		checkErr(t, "filter", tt.params, tt.want)
	}
}
