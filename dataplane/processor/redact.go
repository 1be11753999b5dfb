package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"streamgate/dataplane/record"
)

// defaultReplacement is what redact writes in place of a finding when the
// rule sets no replacement.
const defaultReplacement = "[REDACTED]"

// redactParams are the params of a redact rule. Exactly one of Pattern and
// Detector is required.
type redactParams struct {
	// Pattern is a Go regular expression; every match is replaced.
	Pattern *string `json:"pattern"`
	// Detector names a built-in detector: ssn, credit_card, email or ipv4.
	// See detectors for what each one finds.
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
		find, ok := detectors[*p.Detector]
		if !ok {
			names := make([]string, 0, len(detectors))
			for n := range detectors {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, fmt.Errorf("params.detector: unknown detector %q (known: %s)", *p.Detector, strings.Join(names, ", "))
		}
		return &detectorRedact{find: find, repl: []byte(repl)}, nil
	case p.Pattern != nil:
		re, err := compileRegex("pattern", *p.Pattern)
		if err != nil {
			return nil, err
		}
		t, err := parseTemplate(re.re, repl)
		if err != nil {
			return nil, fmt.Errorf("params.replacement: %w", err)
		}
		r := &patternRedact{re: re, repl: t}
		if re.shape != nil && (!t.submatches || re.shape.caps != nil) {
			r.shape = re.shape
		}
		return r, nil
	default:
		return nil, errors.New("params.pattern: one of pattern or detector is required")
	}
}

// patternRedact replaces the matches of a regular expression, with the
// semantics of regexp.Regexp.ReplaceAll.
//
// With a shape matcher, no line costs an allocation once the batch's Scratch
// has grown to fit the rewritten lines. Without one, a line without a match
// costs none, and a line with one costs the index slices the regexp package
// returns.
type patternRedact struct {
	re   regex
	repl template
	// shape is re.shape if it can also report the submatches repl needs.
	shape *shape
}

// Process implements Processor.
func (r *patternRedact) Process(b *record.Batch) {
	if r.shape != nil {
		r.processShape(b)
		return
	}
	for i, line := range b.Lines {
		if !r.re.mayMatch(line) {
			continue
		}
		var matches [][]int
		if r.repl.submatches {
			matches = r.re.re.FindAllSubmatchIndex(line, -1)
		} else {
			matches = r.re.re.FindAllIndex(line, -1)
		}
		if matches == nil {
			continue
		}
		start := len(b.Scratch)
		out, last := b.Scratch, 0
		for _, m := range matches {
			out = append(out, line[last:m[0]]...)
			out = r.repl.expand(out, line, m)
			last = m[1]
		}
		out = append(out, line[last:]...)
		b.Scratch = out
		b.Lines[i] = out[start:len(out):len(out)]
	}
}

// processShape is Process with the shape matcher.
func (r *patternRedact) processShape(b *record.Batch) {
	var buf [2 * (maxShapeGroups + 1)]int
	var m []int
	if r.repl.submatches {
		m = buf[:2*len(r.shape.caps)]
	}
	for i, line := range b.Lines {
		s, e := r.shape.find(line, 0)
		if s < 0 {
			continue
		}
		start := len(b.Scratch)
		out, last := b.Scratch, 0
		for s >= 0 {
			out = append(out, line[last:s]...)
			if m != nil {
				r.shape.submatches(line, s, e, m)
			}
			out = r.repl.expand(out, line, m)
			last = e
			s, e = r.shape.find(line, e)
		}
		out = append(out, line[last:]...)
		b.Scratch = out
		b.Lines[i] = out[start:len(out):len(out)]
	}
}

// detectorRedact replaces what a detector finds with a literal replacement.
// Lines without findings cost no allocation, and lines with some none once
// the batch's Scratch has grown to fit them.
type detectorRedact struct {
	find detector
	repl []byte
}

// Process implements Processor.
func (r *detectorRedact) Process(b *record.Batch) {
	for i, line := range b.Lines {
		s, e := r.find(line, 0)
		if s < 0 {
			continue
		}
		start := len(b.Scratch)
		out, last := b.Scratch, 0
		for s >= 0 {
			out = append(out, line[last:s]...)
			out = append(out, r.repl...)
			last = e
			s, e = r.find(line, e)
		}
		out = append(out, line[last:]...)
		b.Scratch = out
		b.Lines[i] = out[start:len(out):len(out)]
	}
}

// template is a parsed replacement template: literal text and references to
// submatches, in order.
type template struct {
	parts []templatePart
	// submatches reports whether any part refers to a submatch, so that
	// matching must record them.
	submatches bool
}

// templatePart is literal text, or a reference to a submatch if groups is
// non-empty.
type templatePart struct {
	lit []byte
	// groups are the indexes of the groups the reference may mean: one for
	// $1, all groups of that name for $name. The first that took part in
	// the match is used.
	groups []int
}

// parseTemplate parses s as regexp.Regexp.Expand does, for re.
func parseTemplate(re *regexp.Regexp, s string) (template, error) {
	var t template
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, templatePart{lit: lit})
			lit = nil
		}
	}
	for {
		before, after, found := strings.Cut(s, "$")
		lit = append(lit, before...)
		if !found {
			break
		}
		s = after
		if strings.HasPrefix(s, "$") {
			lit = append(lit, '$')
			s = s[1:]
			continue
		}
		name, rest, ok := templateName(s)
		if !ok {
			// Expand keeps a $ that starts no reference as text.
			lit = append(lit, '$')
			continue
		}
		groups := groupIndexes(re, name)
		if len(groups) == 0 {
			return template{}, fmt.Errorf("$%s does not name a group of the pattern (use $$ for a literal $)", name)
		}
		flush()
		t.parts = append(t.parts, templatePart{groups: groups})
		t.submatches = true
		s = rest
	}
	flush()
	return t, nil
}

// templateName returns the name of the reference at the start of s, which
// follows a $: a run of letters, digits and underscores, optionally in
// braces.
func templateName(s string) (name, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == 0 {
		return "", "", false
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", false
		}
		rest = rest[1:]
	}
	return name, rest, true
}

// groupIndexes returns the indexes of the groups of re that name refers to:
// a number without leading zeros is an index, anything else a group name.
func groupIndexes(re *regexp.Regexp, name string) []int {
	num := 0
	for i := 0; i < len(name); i++ {
		if !isDigit(name[i]) || num >= 1e8 {
			num = -1
			break
		}
		num = num*10 + int(name[i]-'0')
	}
	if num >= 0 && (name[0] != '0' || len(name) == 1) {
		if num > re.NumSubexp() {
			return nil
		}
		return []int{num}
	}
	var groups []int
	for i, n := range re.SubexpNames() {
		if n == name {
			groups = append(groups, i)
		}
	}
	return groups
}

// expand appends the template to dst for the match m of src.
func (t *template) expand(dst, src []byte, m []int) []byte {
	for _, p := range t.parts {
		if len(p.groups) == 0 {
			dst = append(dst, p.lit...)
			continue
		}
		for _, g := range p.groups {
			if m[2*g] >= 0 {
				dst = append(dst, src[m[2*g]:m[2*g+1]]...)
				break
			}
		}
	}
	return dst
}
