package processor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

var attributeFilterSpec = spec.Component{
	Summary: "Drops the JSON lines whose attribute matches a value; lines that are not JSON objects, or nest deeper than 128 levels, pass.",
	Params: []spec.Param{
		{Name: "attribute", Kind: spec.String, Description: "An attribute name (OpenTelemetry's, such as service.name), looked up where logs commonly put it. One of attribute and path is required."},
		{Name: "path", Kind: spec.String, Description: "An explicit location: keys separated by /, each taken literally (resource/attributes/service.name)."},
		{Name: "operator", Kind: spec.String, Default: "equals", Enum: []string{"equals", "contains", "regex"}, Description: "How the attribute's text is compared with value; regex takes a Go regular expression."},
		{Name: "value", Kind: spec.String, Required: true, Description: "What the attribute is compared with. Strings compare by their contents, numbers in their shortest decimal form, null as the empty string."},
		onOverloadParam(false),
	},
	Examples: []string{
		`{"attribute": "service.name", "value": "noisy-service"}`,
		`{"path": "attributes/http.status_code", "operator": "regex", "value": "^5", "on_overload": "run"}`,
	},
}

// attributeFilterParams are the params of an attribute_filter rule. Exactly
// one of Attribute and Path is required, and Value is required.
type attributeFilterParams struct {
	// Attribute is an attribute name, looked up where logs commonly put it:
	// see attributeLocations.
	Attribute *string `json:"attribute"`
	// Path is an explicit location: keys separated by "/", each taken
	// literally, so "resource/attributes/service.name" is the member
	// "service.name" of the member "attributes" of the member "resource".
	Path *string `json:"path"`
	// Operator is how the attribute is compared with Value: "equals" (the
	// default), "contains" or "regex" (a Go regular expression).
	Operator string `json:"operator"`
	// Value is what the attribute is compared with.
	Value *string `json:"value"`
}

// attributeFilter drops JSON lines whose attribute matches.
//
// The attribute is the value at the first of its locations that exists in
// the line. It compares by its text (see match.JSONText): strings by their
// contents, numbers by their decimal form, so "500" equals 500 and 500.0,
// null as "", booleans, objects and arrays by their JSON text.
// Lines that are not JSON objects, that lack the attribute, or whose
// attribute does not match, are kept; so are lines nested deeper than
// match.MaxJSONDepth, which are not taken as JSON.
//
// A line is only checked to be valid JSON once it matched, so lines that are
// kept cost the lookup alone.
type attributeFilter struct {
	locations [][]string
	op        attributeOp
	value     string
	valueB    []byte
	re        *match.Regex
}

// attributeOp is a comparison of attributeFilterParams.Operator.
type attributeOp int

const (
	opEquals attributeOp = iota
	opContains
	opRegex
)

// newAttributeFilter builds an attribute filter from its params; see
// attributeFilterParams.
func newAttributeFilter(raw json.RawMessage) (Processor, error) {
	var p attributeFilterParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	f := &attributeFilter{}
	switch {
	case p.Attribute != nil && p.Path != nil:
		return nil, errors.New("params.path: must not be set together with attribute")
	case p.Attribute != nil:
		if *p.Attribute == "" {
			return nil, errors.New("params.attribute: must not be empty")
		}
		f.locations = attributeLocations(*p.Attribute)
	case p.Path != nil:
		if *p.Path == "" {
			return nil, errors.New("params.path: must not be empty")
		}
		keys := strings.Split(*p.Path, "/")
		for i, k := range keys {
			if k == "" {
				return nil, fmt.Errorf("params.path: key %d of %q is empty", i+1, *p.Path)
			}
		}
		f.locations = [][]string{keys}
	default:
		return nil, errors.New("params.attribute: one of attribute or path is required")
	}
	if p.Value == nil {
		return nil, errors.New("params.value: is required")
	}
	f.value, f.valueB = *p.Value, []byte(*p.Value)
	switch p.Operator {
	case "", "equals":
		f.op = opEquals
	case "contains":
		if f.value == "" {
			return nil, errors.New("params.value: must not be empty with operator contains")
		}
		f.op = opContains
	case "regex":
		re, err := compileRegex("value", f.value)
		if err != nil {
			return nil, err
		}
		f.op, f.re = opRegex, re
	default:
		return nil, fmt.Errorf("params.operator: want \"equals\", \"contains\" or \"regex\"; got %q", p.Operator)
	}
	return f, nil
}

// regexBytes implements regexHolder.
func (f *attributeFilter) regexBytes() int {
	if f.re == nil {
		return 0
	}
	return f.re.ProgramBytes()
}

// Process implements Processor.
func (f *attributeFilter) Process(b *record.Batch) {
	removeIf(b, f.drop)
}

// drop reports whether line is a JSON object whose attribute matches. A
// line nested deeper than match.MaxJSONDepth is not taken as JSON: it is
// kept, and counted (match.JSONTooDeep).
func (f *attributeFilter) drop(line []byte) bool {
	if !match.IsJSONObject(line) {
		return false
	}
	for _, keys := range f.locations {
		if v, ok := match.LookupJSON(line, keys); ok {
			return f.matches(match.JSONText(v)) && match.ValidJSON(line)
		}
	}
	return false
}

// matches compares the text of an attribute with the value.
func (f *attributeFilter) matches(text []byte) bool {
	switch f.op {
	case opContains:
		return bytes.Contains(text, f.valueB)
	case opRegex:
		return f.re.Match(text)
	default:
		return string(text) == f.value
	}
}

// attributeLocations returns where to look for the attribute name, in order,
// each location a list of keys. OpenTelemetry resource and HTTP attributes
// and the log level are looked up first where those conventions put them;
// then every name, these included, is looked up as a top-level member, then
// in attributes, resource.attributes, resourceAttributes and body.
func attributeLocations(name string) [][]string {
	var known [][]string
	nested := strings.Split(name, ".")
	switch name {
	case "service.name":
		known = [][]string{
			nested,
			{"resource", "attributes", name},
			{"resourceAttributes", name},
			{"resource", name},
		}
	case "service.namespace", "service.version", "deployment.environment":
		known = [][]string{
			nested,
			{"resource", "attributes", name},
			{"resourceAttributes", name},
		}
	case "http.status_code", "http.method", "http.url", "http.target":
		known = [][]string{
			nested,
			{"attributes", name},
			{name},
		}
	case "log.level":
		known = [][]string{
			nested,
			{"severity"},
			{"severityText"},
			{"level"},
		}
	}
	generic := [][]string{
		{name},
		{"attributes", name},
		{"resource", "attributes", name},
		{"resourceAttributes", name},
		{"body", name},
	}
	for _, loc := range generic {
		if !slices.ContainsFunc(known, func(k []string) bool { return slices.Equal(k, loc) }) {
			known = append(known, loc)
		}
	}
	return known
}
