package processor

import (
	"encoding/json"
	"errors"
	"fmt"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// filterParams are the params of a filter rule (filterSpec). At least one
// of value, values and regex is required; a line is dropped if any of them
// matches it.
type filterParams struct {
	// Value drops lines containing this keyword.
	Value *string `json:"value"`
	// Values drops lines containing any of these keywords.
	Values StringList `json:"values"`
	// Regex drops lines matching this Go regular expression.
	Regex *string `json:"regex"`
	// Key is accepted and ignored: the seed's control plane documented
	// filter params as {"key": "level", "value": "DEBUG"}, and the seed's
	// data plane dropped every line containing value anywhere, whatever
	// key said. So does this one.
	Key *string `json:"key"`
}

var filterSpec = spec.Component{
	Summary: "Drops the lines that contain a keyword, anywhere in the line, or match a regular expression.",
	Params: []spec.Param{
		{Name: "value", Kind: spec.String, Description: "Drop lines containing this keyword."},
		{Name: "values", Kind: spec.Strings, Description: "Drop lines containing any of these keywords."},
		{Name: "regex", Kind: spec.String, Description: "Drop lines matching this Go regular expression."},
		{Name: "key", Kind: spec.String, Description: "Accepted and ignored, as the original prototype did: its filter rules were written {\"key\": \"level\", \"value\": \"DEBUG\"}. To match one field of a JSON line, use attribute_filter."},
		onOverloadParam(false),
	},
	Examples: []string{
		`{"value": "DEBUG"}`,
		`{"values": ["DEBUG", "TRACE"], "regex": "GET /healthz?\\b", "on_overload": "run"}`,
		`{"key": "level", "value": "DEBUG"}`,
	},
}

// filter drops the lines that contain one of its keywords or match its
// regular expression.
type filter struct {
	keywords match.Literals
	re       *match.Regex // nil without a regex
}

// newFilter builds a filter from its params; see filterParams.
func newFilter(raw json.RawMessage) (Processor, error) {
	var p filterParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.Value == nil && len(p.Values) == 0 && p.Regex == nil {
		return nil, errors.New("params: one of value, values or regex is required")
	}
	var keywords []string
	if p.Value != nil {
		if *p.Value == "" {
			return nil, errors.New("params.value: must not be empty")
		}
		keywords = append(keywords, *p.Value)
	}
	for i, v := range p.Values {
		if v == "" {
			return nil, fmt.Errorf("params.values[%d]: must not be empty", i)
		}
		keywords = append(keywords, v)
	}
	f := &filter{keywords: match.NewLiterals(keywords...)}
	if p.Regex != nil {
		re, err := compileRegex("regex", *p.Regex)
		if err != nil {
			return nil, err
		}
		f.re = re
	}
	return f, nil
}

// regexBytes implements regexHolder.
func (f *filter) regexBytes() int {
	if f.re == nil {
		return 0
	}
	return f.re.ProgramBytes()
}

// Process implements Processor.
func (f *filter) Process(b *record.Batch) {
	removeIf(b, f.drop)
}

// drop reports whether line matches the filter.
func (f *filter) drop(line []byte) bool {
	return f.keywords.In(line) || f.re != nil && f.re.Match(line)
}
