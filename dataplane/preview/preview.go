// Package preview runs lines through a manifest's rules one at a time and
// says what became of each: the line an output would receive, or the rule
// that dropped it. `streamgate test` is built on it.
package preview

import (
	"streamgate/dataplane/match"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// Result is what the rules made of one line.
type Result struct {
	// Output is the line as the outputs would receive it; nil when a rule
	// dropped it.
	Output []byte
	// DroppedBy is the id of the rule that dropped the line, or "".
	DroppedBy string
	// Changed lists, in order, the ids of the rules that rewrote the line.
	Changed []string
	// Spans are what the redact rules found, in the order they found it:
	// where in the line given, which rule and detector, and what the rule
	// does with it. They hold no byte of what was found.
	Spans []Span
}

// Span is one finding of a rule in a line.
type Span struct {
	// Start and End bound the finding in the line given, before any rule
	// ran. A finding in what an earlier rule wrote is bounded by what that
	// rule replaced.
	Start, End int
	// Rule is the id of the rule that found it.
	Rule string
	// Detector is what found it: a detector's name, "pattern", or "field:"
	// and the field's path or key.
	Detector string
	// Action is the rule's: mask, partial, hash or drop.
	Action string
}

// Kept reports whether the line reaches the outputs.
func (r Result) Kept() bool { return r.DroppedBy == "" }

// Line runs line through steps in order, as a pipeline worker does with
// the breaker closed, and returns what became of it.
func Line(steps []processor.Step, line []byte) Result {
	b := record.Get(len(line))
	defer record.Put(b)
	b.AppendLine(line)
	var r Result
	// edits are the regions rewritten so far: in line, and in the line
	// now, to take findings back to line.
	var edits []match.Span
	for _, s := range steps {
		before := b.Lines[0]
		if e, ok := s.P.(processor.Explainer); ok {
			out, dropped, found, spans := e.Explain(before)
			for _, f := range found {
				r.Spans = append(r.Spans, Span{Start: match.Origin(edits, f.Start, false), End: match.Origin(edits, f.End, true),
					Rule: s.ID, Detector: f.Detector, Action: f.Action})
			}
			if dropped {
				r.DroppedBy = s.ID
				return r
			}
			if string(out) != string(before) {
				r.Changed = append(r.Changed, s.ID)
				edits = match.ComposeSpans(edits, spans)
				b.Lines[0] = out
			}
			continue
		}
		was := string(before)
		s.P.Process(b)
		if len(b.Lines) == 0 {
			r.DroppedBy = s.ID
			return r
		}
		if now := b.Lines[0]; string(now) != was {
			r.Changed = append(r.Changed, s.ID)
			// Rewritten by a rule that does not say where: all of it.
			edits = match.ComposeSpans(edits, []match.Span{{End: len(was), OutEnd: len(now)}})
		}
	}
	r.Output = append([]byte(nil), b.Lines[0]...)
	return r
}
