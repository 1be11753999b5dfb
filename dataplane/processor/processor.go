// Package processor holds the processors that filter and rewrite log lines,
// and the Chain that runs them in order.
//
// A processor is one file plus one line in registry.go: a constructor that
// decodes and validates its params, and an unexported type implementing
// Processor. filter.go is the one to copy.
package processor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// Processor filters or rewrites the lines of a batch in place.
//
// To drop lines, Process removes them from b.Lines, keeping the order of the
// rest. To rewrite a line, it appends the new content to b.Scratch and points
// b.Lines[i] at it. Process must not keep b or any line after it returns, and
// must be safe for concurrent use: every pipeline worker calls it.
type Processor interface {
	Process(b *record.Batch)
}

// Step is one rule of a chain.
type Step struct {
	ID   string
	Type string
	P    Processor

	// RunOnOverload makes the step run while the breaker is open. Redaction
	// runs by default; filters are bypassed.
	RunOnOverload bool

	// RegexBytes is the memory of the step's regular expressions, as
	// match.Regex.ProgramBytes counts it; 0 without any.
	RegexBytes int

	// Filtered counts the lines this step dropped; nil means not counted.
	// For a step that Samples, they are counted as sampled.
	Filtered interface{ Add(int) }
	// FilteredBytes counts the bytes of the lines this step dropped; nil
	// means not counted.
	FilteredBytes interface{ Add(int) }
	// Samples is set for the types that sample lines out for cost
	// (sample, rate_limit, dedup) rather than filter noise.
	Samples bool
	// Rewritten counts the lines this step rewrote, for a step whose
	// processor is a Rewriter (redact); nil means not counted.
	Rewritten interface{ Add(int) }
	// RewrittenBy counts, for a Rewriter, the lines each of its Detectors
	// found something to rewrite in, by place in Detectors: a line counts
	// once per detector. Nil, or a nil entry, means not counted.
	RewrittenBy []interface{ Add(int) }

	rw Rewriter // P, when it is one; NewChain
}

// Rewriter is implemented by processors that rewrite lines in place, such
// as redact.
type Rewriter interface {
	// ProcessCounting does what Process does and returns how many lines
	// it rewrote. With by not nil (len(Detectors()) long), it also adds
	// to by[i], unless it is nil, the lines in which Detectors()[i] found
	// something it rewrote, once per line and detector.
	ProcessCounting(b *record.Batch, by []interface{ Add(int) }) int
	// Detectors names what finds what the processor rewrites: built-in
	// detectors, match.PatternDetector, or "field" for the values of
	// named fields. The list is fixed, at most MaxDetectorLabels long.
	Detectors() []string
}

// MaxDetectorLabels bounds a Rewriter's Detectors: every built-in
// detector, a pattern and fields.
const MaxDetectorLabels = 130

// regexHolder is implemented by processors that hold regular expressions.
type regexHolder interface {
	// regexBytes is the sum of their ProgramBytes.
	regexBytes() int
}

// Chain runs steps in order. It is immutable once built, so workers share one
// chain and a new chain replaces it with one atomic pointer swap.
type Chain struct {
	steps []Step
	bytes bool // a step counts FilteredBytes
}

// NewChain returns a chain running steps in order.
func NewChain(steps ...Step) *Chain {
	c := &Chain{steps: steps}
	for i := range steps {
		steps[i].rw = nil
		if rw, ok := steps[i].P.(Rewriter); ok {
			steps[i].rw = rw
		}
		c.bytes = c.bytes || steps[i].FilteredBytes != nil
	}
	return c
}

// Len is the number of steps.
func (c *Chain) Len() int { return len(c.steps) }

// Steps returns the steps of c; the caller must not modify them.
func (c *Chain) Steps() []Step { return c.steps }

// Run applies the chain to b. With overloaded set, only the steps marked
// RunOnOverload run; Run reports whether any step was skipped.
func (c *Chain) Run(b *record.Batch, overloaded bool) (skipped bool) {
	skipped, _, _ = c.run(b, overloaded, c.bytes, false, nil)
	return skipped
}

// RunCounting is Run, and also returns the line bytes of b before the
// chain. Besides that sum, a step whose FilteredBytes is set costs a pass
// over the line headers when it drops lines, and one before it runs when
// an earlier step rewrote lines; each counter is added to once per step
// and batch.
func (c *Chain) RunCounting(b *record.Batch, overloaded bool) (skipped bool, in int) {
	skipped, in, _ = c.run(b, overloaded, true, false, nil)
	return skipped, in
}

// RunSized is RunCounting, and also returns the line bytes of b after the
// chain, at the cost of one more pass when a rewrite came last.
func (c *Chain) RunSized(b *record.Batch, overloaded bool) (skipped bool, in, out int) {
	return c.run(b, overloaded, true, true, nil)
}

// run runs the chain; in and out are b's line bytes before and after
// it, when sized and wantOut. Without sized, the bytes are not summed,
// and no step may count FilteredBytes. It records in tr, when it is not
// nil, what each step did.
func (c *Chain) run(b *record.Batch, overloaded, sized, wantOut bool, tr *Trace) (skipped bool, in, out int) {
	size := 0
	if sized {
		size = b.Size()
	}
	in = size
	stale := false // size is not b's: a step rewrote lines since
	for i := range c.steps {
		s := &c.steps[i]
		if len(b.Lines) == 0 {
			return skipped, in, 0
		}
		if overloaded && !s.RunOnOverload {
			skipped = true
			continue
		}
		n := len(b.Lines)
		if tr != nil {
			tr.before(b)
		}
		if s.rw != nil {
			if k := s.rw.ProcessCounting(b, s.RewrittenBy); k > 0 {
				if s.Rewritten != nil {
					s.Rewritten.Add(k)
				}
				stale = true
			}
		} else {
			if stale && s.FilteredBytes != nil {
				size, stale = b.Size(), false
			}
			s.P.Process(b)
			if d := n - len(b.Lines); d > 0 {
				if s.Filtered != nil {
					s.Filtered.Add(d)
				}
				if s.FilteredBytes != nil {
					after := b.Size()
					s.FilteredBytes.Add(size - after)
					size = after
				} else {
					stale = true
				}
			}
		}
		if tr != nil {
			tr.after(b, i)
		}
	}
	if wantOut && stale {
		size = b.Size()
	}
	return skipped, in, size
}

// Config is how a rule is written in a manifest.
type Config struct {
	ID     string          `json:"id"`
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params,omitempty"`
	// OnOverload is "run" or "skip": what the rule does while the breaker is
	// open. Empty means the type's default (redact runs, the rest skip).
	// The params' on_overload says the same, as the reference documents
	// it; this field, beside params, is how earlier manifests wrote it.
	OnOverload string `json:"on_overload,omitempty"`
}

// Values of on_overload.
const (
	OverloadRun  = "run"
	OverloadSkip = "skip"
)

// overloadParamName is the param every built-in processor type takes to
// say what it does while the breaker is open.
const overloadParamName = "on_overload"

// onOverloadParam documents on_overload for a type that runs under
// overload by default, or not.
func onOverloadParam(runs bool) spec.Param {
	p := spec.Param{Name: overloadParamName, Kind: spec.String, Enum: []string{OverloadRun, OverloadSkip}}
	if runs {
		p.Default = OverloadRun
		p.Description = "What the rule does while the overload breaker is open (under the drop policies, a worker's buffer past 80 % for longer than -breaker-delay): run keeps it working; skip lets lines pass it untouched until the breaker closes, so they leave unredacted, which streamgate validate and POST /publish warn about."
	} else {
		p.Default = OverloadSkip
		p.Description = "What the rule does while the overload breaker is open (under the drop policies, a worker's buffer past 80 % for longer than -breaker-delay): skip lets every line pass it unfiltered so the backlog drains, and counts them as bypassed; run keeps filtering, at the cost of throughput."
	}
	return p
}

// RunsOnOverload reports whether the rule c runs while the breaker is open:
// its on_overload, in its params or beside them, or else its type's
// default. It reports an error for a value other than run and skip, and
// for two that disagree.
func RunsOnOverload(c Config) (bool, error) {
	_, set, err := splitOverload(c)
	if err != nil {
		return false, err
	}
	switch set {
	case OverloadRun:
		return true, nil
	case OverloadSkip:
		return false, nil
	}
	return registry[c.Type].RunOnOverload, nil
}

// splitOverload returns c's params without on_overload, and the value of
// on_overload, from the params or beside them ("" when neither sets it).
func splitOverload(c Config) (json.RawMessage, string, error) {
	params, inParams := c.Params, ""
	var obj map[string]json.RawMessage
	if json.Unmarshal(params, &obj) == nil {
		if v, ok := obj[overloadParamName]; ok {
			if err := json.Unmarshal(v, &inParams); err != nil || inParams != OverloadRun && inParams != OverloadSkip {
				return nil, "", fmt.Errorf("params.%s: want %q or %q; got %s", overloadParamName, OverloadRun, OverloadSkip, v)
			}
			delete(obj, overloadParamName)
			var err error
			if params, err = json.Marshal(obj); err != nil {
				return nil, "", fmt.Errorf("params: %w", err)
			}
		}
	}
	switch c.OnOverload {
	case "", OverloadRun, OverloadSkip:
	default:
		return nil, "", fmt.Errorf("on_overload: want %q or %q; got %q", OverloadRun, OverloadSkip, c.OnOverload)
	}
	switch {
	case inParams == "":
		return params, c.OnOverload, nil
	case c.OnOverload != "" && c.OnOverload != inParams:
		return nil, "", fmt.Errorf("on_overload: %q beside params and %q in params; set it once", c.OnOverload, inParams)
	}
	return params, inParams, nil
}

// Build constructs the step for c. Errors name the offending field relative
// to the rule, e.g. `params.pattern: ...`.
func Build(c Config) (Step, error) {
	if c.ID == "" {
		return Step{}, errors.New("id: must not be empty")
	}
	t, ok := registry[c.Type]
	if !ok {
		return Step{}, fmt.Errorf("type: unknown processor type %q (known: %s)", c.Type, strings.Join(Types(), ", "))
	}
	if t.Spec != nil {
		if err := t.Spec.CheckKeys(c.Params, c.Type); err != nil {
			return Step{}, fmt.Errorf("params: %w", err)
		}
	}
	params, overload, err := splitOverload(c)
	if err != nil {
		return Step{}, err
	}
	p, err := t.New(params)
	if err != nil {
		return Step{}, err
	}
	s := Step{ID: c.ID, Type: c.Type, P: p, RunOnOverload: t.RunOnOverload, Samples: t.Samples}
	if overload != "" {
		s.RunOnOverload = overload == OverloadRun
	}
	if h, ok := p.(regexHolder); ok {
		s.RegexBytes = h.regexBytes()
	}
	return s, nil
}

// decodeParams decodes raw into dst, rejecting unknown fields, and names the
// offending field in errors. Missing or null params decode as empty.
func decodeParams(raw json.RawMessage, dst any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		raw = []byte("{}")
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return fmt.Errorf("params: must be a JSON object; got %s", te.Value)
			}
			return fmt.Errorf("params.%s: cannot decode %s into %s", te.Field, te.Value, te.Type)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fmt.Errorf("params: unknown field %s", f)
		}
		return fmt.Errorf("params: %w", err)
	}
	return nil
}

// compileRegex compiles the regular expression of params.<field>, naming
// the field in errors.
func compileRegex(field, expr string) (*match.Regex, error) {
	re, err := match.CompileRegex(expr)
	if err != nil {
		return nil, fmt.Errorf("params.%s: %w", field, err)
	}
	return re, nil
}

// StringList is a list of strings that also decodes from a single string, so
// params written as the seed's string-only map still load.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// removeIf removes the lines for which drop returns true, keeping the order
// of the rest.
func removeIf(b *record.Batch, drop func([]byte) bool) {
	lines := b.Lines
	j := 0
	for i := range lines {
		if drop(lines[i]) {
			continue
		}
		lines[j] = lines[i]
		j++
	}
	clear(lines[j:])
	b.Lines = lines[:j]
}
