package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// defaultReplacement is what redact writes in place of a finding when the
// rule sets no replacement.
const defaultReplacement = "[REDACTED]"

var redactSpec = spec.Component{
	Summary: "Replaces what a regular expression or a built-in detector finds in a line; in a JSON line, in each string and number decoded, as its receiver will read them.",
	Params: []spec.Param{
		{Name: "pattern", Kind: spec.String, Description: "A Go regular expression; every match is replaced. One of pattern and detector is required."},
		{Name: "detector", Kind: spec.String, Enum: match.DetectorNames(), Description: "A built-in detector; see the detectors table."},
		{Name: "replacement", Kind: spec.String, Default: defaultReplacement, Description: "Written in place of each match. With pattern it is a template: $1, $name and ${name} insert submatches, $$ a literal $. With detector it is literal text."},
	},
	Examples: []string{
		`{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`,
		`{"detector": "credit_card"}`,
	},
}

// redactParams are the params of a redact rule. Exactly one of Pattern and
// Detector is required.
type redactParams struct {
	// Pattern is a Go regular expression; every match is replaced.
	Pattern *string `json:"pattern"`
	// Detector names a built-in detector (match.Detectors); see each
	// one's Doc for what it finds.
	Detector *string `json:"detector"`
	// Replacement is written in place of each match, "[REDACTED]" if unset.
	// With Pattern it is a template as in regexp.Regexp.Expand: $1, $name
	// and ${name} insert submatches and $$ a literal $. A reference to a
	// group the pattern does not have is an error. With Detector it is
	// literal text.
	Replacement *string `json:"replacement"`
}

// newRedact builds a redact processor from its params; see redactParams.
func newRedact(raw json.RawMessage) (Processor, error) {
	var p redactParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	repl := defaultReplacement
	if p.Replacement != nil {
		repl = *p.Replacement
	}
	switch {
	case p.Pattern != nil && p.Detector != nil:
		return nil, errors.New("params.detector: must not be set together with pattern")
	case p.Detector != nil:
		d, ok := match.LookupDetector(*p.Detector)
		if !ok {
			return nil, fmt.Errorf("params.detector: unknown detector %q (known: %s)", *p.Detector, strings.Join(match.DetectorNames(), ", "))
		}
		return &redact{r: match.JSONAware(d.Replacer(repl), false)}, nil
	case p.Pattern != nil:
		re, err := compileRegex("pattern", *p.Pattern)
		if err != nil {
			return nil, err
		}
		r, err := re.Replacer(repl)
		if err != nil {
			return nil, fmt.Errorf("params.replacement: %w", err)
		}
		// A pattern also runs over a JSON line's text, as it always has,
		// so one written against JSON syntax keeps matching.
		return &redact{r: match.JSONAware(r, true)}, nil
	default:
		return nil, errors.New("params.pattern: one of pattern or detector is required")
	}
}

// redact rewrites every line in which its engine finds something, a JSON
// line in its decoded strings (match.JSONAware). A line without a finding
// costs nothing; see the Replacer for what one with a finding costs, once
// the batch's Scratch has grown to fit the rewritten lines.
type redact struct {
	r match.Replacer
}

// Process implements Processor.
func (r *redact) Process(b *record.Batch) {
	for i, line := range b.Lines {
		start := len(b.Scratch)
		out, ok := r.r.AppendReplace(b.Scratch, line)
		if !ok {
			continue
		}
		b.Scratch = out
		b.Lines[i] = out[start:len(out):len(out)]
	}
}
