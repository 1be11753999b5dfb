package processor

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

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
		{Name: "detector", Kind: spec.String, Enum: detectorChoices(), Description: "A built-in detector, a category of them, or all; see the detectors table."},
		{Name: "detectors", Kind: spec.Strings, Description: "Several detectors or categories at once, scanned in one rule: [\"payments\", \"secrets\", \"email\"]."},
		{Name: "action", Kind: spec.String, Default: actionMask, Enum: []string{actionMask, actionPartial, actionHash, actionDrop},
			Description: "What replaces a finding: mask writes replacement; partial keeps the last keep letters and digits and masks the others with *, separators kept; hash writes a keyed token, tok_ and 16 hex digits of its HMAC-SHA256, the same for the same value wherever the same key is set (STREAMGATE_HMAC_KEY or -hmac-key-file, never the manifest); drop drops the whole line, counted as filtered by the rule."},
		{Name: "replacement", Kind: spec.String, Default: defaultReplacement, Description: "With action mask, written in place of each match. With pattern it is a template: $1, $name and ${name} insert submatches, $$ a literal $. With detector it is literal text."},
		{Name: "keep", Kind: spec.Integer, Default: "4", Description: "With action partial, how many of the last letters and digits are kept; never more than half of a value's."},
		{Name: "fields", Kind: spec.Strings, Description: "Values replaced whole, whatever they hold: in a JSON line by path (keys joined by ., * for any one key, ** for any number: headers.authorization, **.password), in a text line the value of a key=value or key: value pair by its last key. @secrets stands for the keys password, passwd, secret, token, api_key, apikey, authorization, cookie, set-cookie and private_key, in any case and after _ or - (db_password), wherever they are."},
		{Name: "exclude_fields", Kind: spec.Strings, Description: "Values of a JSON line, by path as in fields, that are neither scanned nor replaced, such as a trace id; a.** covers everything under a."},
		onOverloadParam(true),
	},
	Examples: []string{
		`{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`,
		`{"detector": "credit_card", "action": "partial", "keep": 4}`,
		`{"detector": "email", "action": "drop"}`,
		`{"detectors": ["payments", "ssn"], "action": "partial", "on_overload": "run"}`,
		`{"fields": ["@secrets", "headers.x-api-key"], "exclude_fields": ["trace_id"], "action": "hash"}`,
	},
}

// Actions of a redact rule.
const (
	actionMask    = "mask"
	actionPartial = "partial"
	actionHash    = "hash"
	actionDrop    = "drop"
)

// redactParams are the params of a redact rule. One of Pattern, Detector,
// Detectors and Fields is required; Pattern, Detector and Detectors
// exclude each other.
type redactParams struct {
	// Pattern is a Go regular expression; every match is replaced.
	Pattern *string `json:"pattern"`
	// Detector names a built-in detector (match.Detectors), a category
	// of them or "all"; see each one's Doc for what it finds.
	Detector *string `json:"detector"`
	// Detectors names several, as Detector does.
	Detectors StringList `json:"detectors"`
	// Action is mask (the default), partial, hash or drop.
	Action string `json:"action"`
	// Replacement is written in place of each match under mask,
	// "[REDACTED]" if unset. With Pattern it is a template as in
	// regexp.Regexp.Expand: $1, $name and ${name} insert submatches and $$
	// a literal $. A reference to a group the pattern does not have is an
	// error. With Detector it is literal text.
	Replacement *string `json:"replacement"`
	// Keep is how many of the last letters and digits partial keeps; nil
	// means 4.
	Keep *int `json:"keep"`
	// Fields are replaced whole; ExcludeFields neither scanned nor
	// replaced (match.Fields).
	Fields        StringList `json:"fields"`
	ExcludeFields StringList `json:"exclude_fields"`
}

// newRedact builds a redact processor from its params; see redactParams.
func newRedact(raw json.RawMessage) (Processor, error) {
	var p redactParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	act, err := p.action()
	if err != nil {
		return nil, err
	}
	// fieldAct replaces what the detector and the fields find: a pattern's
	// replacement under mask is a template instead.
	fieldAct := act
	if fieldAct == nil {
		fieldAct = match.Mask(p.replacement())
	}
	var r match.Replacer
	var labels []string // what finds: the rule's Detectors
	progBytes := 0      // the pattern's, when there is one
	switch {
	case p.Pattern != nil && (p.Detector != nil || len(p.Detectors) > 0):
		return nil, errors.New("params.detector: must not be set together with pattern")
	case p.Detector != nil && len(p.Detectors) > 0:
		return nil, errors.New("params.detectors: must not be set together with detector")
	case p.Detector != nil || len(p.Detectors) > 0:
		field, names := "detectors", []string(p.Detectors)
		if p.Detector != nil {
			field, names = "detector", []string{*p.Detector}
		}
		ds, err := match.SelectDetectors(names)
		if err != nil {
			return nil, fmt.Errorf("params.%s: %w", field, err)
		}
		r = match.NewSet(ds, fieldAct)
		for _, d := range ds {
			labels = append(labels, d.Name)
		}
	case p.Pattern != nil:
		re, err := compileRegex("pattern", *p.Pattern)
		if err != nil {
			return nil, err
		}
		progBytes = re.ProgramBytes()
		labels = append(labels, match.PatternDetector)
		if act != nil {
			r = re.ReplacerWith(act)
		} else if r, err = re.Replacer(p.replacement()); err != nil {
			return nil, fmt.Errorf("params.replacement: %w", err)
		}
	case len(p.Fields) == 0:
		return nil, errors.New("params.pattern: one of pattern, detector or fields is required")
	}
	// A pattern also runs over a JSON line's text, as it always has, so
	// one written against JSON syntax keeps matching.
	opts := match.JSONOptions{Raw: p.Pattern != nil, Act: fieldAct}
	if len(p.Fields) > 0 {
		if opts.Fields, err = match.CompileFields(p.Fields); err != nil {
			return nil, fmt.Errorf("params.fields%w", err)
		}
	}
	if len(p.ExcludeFields) > 0 {
		if opts.Exclude, err = match.CompileFields(p.ExcludeFields); err != nil {
			return nil, fmt.Errorf("params.exclude_fields%w", err)
		}
	}
	if len(p.Fields) > 0 {
		labels = append(labels, fieldLabel)
	}
	r = match.JSONAwareWith(r, opts)
	if p.Action == actionDrop {
		return &dropLines{r: r, progBytes: progBytes}, nil
	}
	action := p.Action
	if action == "" {
		action = actionMask
	}
	red := &redact{r: r, progBytes: progBytes, action: action, labels: labels}
	if len(labels) > 1 {
		red.place = make(map[string]int, len(labels))
		for i, l := range labels {
			red.place[l] = i
		}
	}
	return red, nil
}

// fieldLabel is what a redact rule's Detectors calls the values of its
// fields: one label for them all, as the keys come from the lines.
const fieldLabel = "field"

// detectorChoices are the values a rule's detector may name: every
// detector, every category, and all.
func detectorChoices() []string {
	return append(append(match.DetectorNames(), match.Categories()...), match.AllDetectors)
}

// replacement is the text mask writes.
func (p *redactParams) replacement() string {
	if p.Replacement != nil {
		return *p.Replacement
	}
	return defaultReplacement
}

// action checks the action and the params that go with it, and returns
// the match.Action to replace findings with: nil for mask, whose
// replacement may be a pattern's template, and for drop, which replaces
// nothing.
func (p *redactParams) action() (match.Action, error) {
	if p.Replacement != nil && p.Action != "" && p.Action != actionMask {
		return nil, fmt.Errorf("params.replacement: only with action mask; got action %q", p.Action)
	}
	if p.Keep != nil && p.Action != actionPartial {
		return nil, errors.New("params.keep: only with action partial")
	}
	switch p.Action {
	case "", actionMask, actionDrop:
		return nil, nil
	case actionPartial:
		keep := 4
		if p.Keep != nil {
			if keep = *p.Keep; keep < 0 {
				return nil, fmt.Errorf("params.keep: must not be negative; got %d", keep)
			}
		}
		return match.Partial(keep), nil
	case actionHash:
		k := hashKey.Load()
		if k == nil {
			return nil, errors.New("params.action: hash needs a key, and none is set: set STREAMGATE_HMAC_KEY or -hmac-key-file where the rule is validated and on every data plane (a key never goes in a manifest)")
		}
		return match.Hash(*k), nil
	}
	return nil, fmt.Errorf("params.action: want %q, %q, %q or %q; got %q", actionMask, actionPartial, actionHash, actionDrop, p.Action)
}

// redact rewrites every line in which its engine finds something, a JSON
// line in its decoded strings (match.JSONAware). A line without a finding
// costs nothing; see the Replacer for what one with a finding costs, once
// the batch's Scratch has grown to fit the rewritten lines.
type redact struct {
	r         match.Replacer
	progBytes int    // its pattern's ProgramBytes
	action    string // mask, partial or hash: for Explain
	// labels are its Detectors; place maps each to its place there,
	// when there are several.
	labels []string
	place  map[string]int
}

// Detectors implements Rewriter.
func (r *redact) Detectors() []string { return r.labels }

// regexBytes implements regexHolder.
func (r *redact) regexBytes() int { return r.progBytes }

// Process implements Processor.
func (r *redact) Process(b *record.Batch) { r.ProcessCounting(b, nil) }

// ProcessCounting implements Rewriter: it redacts and returns how many
// lines it rewrote. A rule with several detectors learns which found
// what from the spans its Replacer records as it replaces (a few appends
// to a pooled list, for the lines with something to redact).
func (r *redact) ProcessCounting(b *record.Batch, by []interface{ Add(int) }) int {
	var a *attribution
	if len(by) > 1 {
		a = attributions.Get().(*attribution)
	}
	n := 0
	for i, line := range b.Lines {
		start := len(b.Scratch)
		var out []byte
		var ok bool
		if a != nil {
			a.sp.List = a.sp.List[:0]
			out, ok = match.AppendReplaceSpans(r.r, b.Scratch, line, &a.sp)
		} else {
			out, ok = r.r.AppendReplace(b.Scratch, line)
		}
		if !ok {
			continue
		}
		b.Scratch = out
		b.Lines[i] = out[start:len(out):len(out)]
		n++
		if a != nil {
			r.attribute(a)
		}
	}
	switch {
	case a != nil:
		for i, c := range by {
			if a.counts[i] > 0 && c != nil {
				c.Add(a.counts[i])
			}
			a.counts[i] = 0
		}
		if cap(a.sp.List) > maxPooledSpans {
			a.sp.List = nil // a rare line with many findings is not kept
		}
		attributions.Put(a)
	case n > 0 && len(by) == 1 && by[0] != nil:
		by[0].Add(n)
	}
	return n
}

// attribution is the scratch of redact.attribute, pooled: the spans of a
// line, and the lines each label found something in, by place in the
// redact's labels.
type attribution struct {
	sp     match.Spans
	counts [MaxDetectorLabels]int
}

var attributions = sync.Pool{New: func() any { return new(attribution) }}

// attribute adds one to a.counts[i] for each label i with a span in
// a.sp: once per label, however many findings.
func (r *redact) attribute(a *attribution) {
	var seen [(MaxDetectorLabels + 63) / 64]uint64
	for _, s := range a.sp.List {
		label := s.Detector
		switch {
		case label == "":
			continue // a part of the line written again, no finding
		case strings.HasPrefix(label, match.FieldDetector):
			label = fieldLabel
		}
		i, ok := r.place[label]
		if !ok || seen[i/64]&(1<<(i%64)) != 0 {
			continue
		}
		seen[i/64] |= 1 << (i % 64)
		a.counts[i]++
	}
}

// maxPooledSpans bounds the spans an attribution keeps.
const maxPooledSpans = 1024

// dropLines drops every line in which its engine finds something, a JSON
// line judged by its decoded strings. The chain counts the lines as
// filtered by the rule.
type dropLines struct {
	r         match.Replacer
	progBytes int // its pattern's ProgramBytes
}

// regexBytes implements regexHolder.
func (d *dropLines) regexBytes() int { return d.progBytes }

// Process implements Processor.
func (d *dropLines) Process(b *record.Batch) {
	removeIf(b, d.r.Finds)
}
