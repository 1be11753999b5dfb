package processor

import "streamgate/dataplane/match"

// Finding is where a rule found what it replaced in a line, or what made
// it drop the line; it holds no byte of what it found.
type Finding struct {
	// Start and End bound it in the line the rule was given.
	Start, End int
	// Detector is what found it: a detector's name, match.PatternDetector,
	// or match.FieldDetector and the field.
	Detector string
	// Action is the rule's: mask, partial, hash or drop.
	Action string
}

// Explainer is implemented by the processors that can say where in a line
// they find what they act on: redact. Explain does to line what Process
// does to a batch of that line alone, and returns the line written (line
// itself when the processor leaves it alone), whether it dropped it, and
// the findings. It is meant for previews: it costs more than Process.
type Explainer interface {
	Explain(line []byte) (out []byte, dropped bool, found []Finding, spans []match.Span)
}

// Explain implements Explainer. spans are the regions rewritten, for
// taking offsets in out back to line (match.Origin).
func (r *redact) Explain(line []byte) ([]byte, bool, []Finding, []match.Span) {
	var sp match.Spans
	out, ok := match.AppendReplaceSpans(r.r, nil, line, &sp)
	if !ok {
		return line, false, nil, nil
	}
	return out, false, findings(sp.List, r.action), sp.List
}

// Explain implements Explainer.
func (d *dropLines) Explain(line []byte) ([]byte, bool, []Finding, []match.Span) {
	var sp match.Spans
	if _, ok := match.AppendReplaceSpans(d.r, nil, line, &sp); !ok {
		return line, false, nil, nil
	}
	return nil, true, findings(sp.List, actionDrop), nil
}

// findings are the findings of spans: those with a detector.
func findings(spans []match.Span, action string) []Finding {
	var fs []Finding
	for _, s := range spans {
		if s.Detector != "" {
			fs = append(fs, Finding{Start: s.Start, End: s.End, Detector: s.Detector, Action: action})
		}
	}
	return fs
}
