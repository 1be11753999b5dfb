package match

import (
	"slices"
	"unicode/utf8"
)

// PatternDetector names, in a Span, the finding of a rule's pattern.
const PatternDetector = "pattern"

// FieldDetector prefixes, in a Span, the finding of a field rule: the
// field's path (JSON) or key (text) follows it.
const FieldDetector = "field:"

// Span is one finding of a Replacer: where it is in the line it was given,
// where what replaced it is in the line it wrote, and what found it.
// A Span holds no byte of the finding.
type Span struct {
	// Start and End bound the finding in the line given. In a JSON
	// string with escapes, they bound the escapes that spell it.
	Start, End int
	// OutStart and OutEnd bound what replaced it in the line written. In
	// a JSON line, they bound the whole string the finding was in, as
	// written again.
	OutStart, OutEnd int
	// Detector is the detector's name, PatternDetector, or FieldDetector
	// and the field; "" for a span that is no finding, but a part of the
	// line written again around findings (a JSON string re-encoded), so
	// that offsets can be taken from one line to the other (Origin).
	Detector string
}

// Spans records where a Replacer finds what it replaces; see
// AppendReplaceSpans. The zero value is ready to use.
type Spans struct {
	List []Span
}

// add records a finding; a nil sp records nothing, so that the hot path
// pays one comparison per finding.
func (sp *Spans) add(s, e, os, oe int, detector string) {
	if sp != nil {
		sp.List = append(sp.List, Span{Start: s, End: e, OutStart: os, OutEnd: oe, Detector: detector})
	}
}

// spanReplacer is implemented by the Replacers of this package.
type spanReplacer interface {
	appendReplace(dst, line []byte, sp *Spans) ([]byte, bool)
}

// AppendReplaceSpans is r.AppendReplace that also records in sp, when r is
// a Replacer of this package, where each finding was and what found it.
// Offsets are relative to line and to the line appended to dst. It costs
// what AppendReplace does plus the spans; it is meant for previews, not
// the hot path.
func AppendReplaceSpans(r Replacer, dst, line []byte, sp *Spans) ([]byte, bool) {
	return replaceSpans(r, dst, line, sp)
}

// replaceSpans is r.AppendReplace, with spans recorded in sp when it is
// not nil and r can record them.
func replaceSpans(r Replacer, dst, line []byte, sp *Spans) ([]byte, bool) {
	if sp != nil {
		if s, ok := r.(spanReplacer); ok {
			return s.appendReplace(dst, line, sp)
		}
	}
	return r.AppendReplace(dst, line)
}

// ComposeSpans returns the spans of two passes run one after the other as
// spans of one: first's were found in a line, second's in what first wrote
// of it. second's Start and End are taken back to the line first was
// given (a bound inside what first wrote widens to all that first
// replaced there), and first's OutStart and OutEnd forward to what second
// wrote. The result is sorted by Start, then End.
func ComposeSpans(first, second []Span) []Span {
	if len(second) == 0 {
		return first
	}
	fe, se := edits(first), edits(second)
	out := make([]Span, 0, len(first)+len(second))
	for _, a := range first {
		a.OutStart, a.OutEnd = forward(se, a.OutStart, false), forward(se, a.OutEnd, true)
		out = append(out, a)
	}
	for _, b := range second {
		b.Start, b.End = back(fe, b.Start, false), back(fe, b.End, true)
		out = append(out, b)
	}
	slices.SortStableFunc(out, func(x, y Span) int {
		if x.Start != y.Start {
			return x.Start - y.Start
		}
		return x.End - y.End
	})
	return out
}

// Origin takes pos, an offset in the line written by the pass (or passes
// composed) whose spans are spans, back to the line it was given. A pos
// inside what was written in place of something goes to the start of what
// it replaced, or with end, to its end.
func Origin(spans []Span, pos int, end bool) int {
	return back(edits(spans), pos, end)
}

// edits returns spans as the regions of a line that a pass rewrote: in
// order, and those that overlap, in the line given or in the line
// written, merged into one.
func edits(spans []Span) []Span {
	if len(spans) < 2 {
		return spans
	}
	es := slices.Clone(spans)
	slices.SortFunc(es, func(x, y Span) int {
		if x.Start != y.Start {
			return x.Start - y.Start
		}
		return x.OutStart - y.OutStart
	})
	out := es[:1]
	for _, s := range es[1:] {
		last := &out[len(out)-1]
		if s.Start < last.End || s.OutStart < last.OutEnd {
			last.End, last.OutEnd = max(last.End, s.End), max(last.OutEnd, s.OutEnd)
			last.OutStart = min(last.OutStart, s.OutStart)
			continue
		}
		out = append(out, s)
	}
	return out
}

// back is Origin, spans being edits.
func back(spans []Span, pos int, end bool) int {
	shift := 0
	for _, s := range spans {
		switch {
		// A start where an empty replacement is belongs after it.
		case pos < s.OutStart, pos == s.OutStart && (end || s.OutEnd > s.OutStart):
			return pos + shift
		case pos < s.OutEnd:
			if end {
				return s.End
			}
			return s.Start
		}
		shift += (s.End - s.Start) - (s.OutEnd - s.OutStart)
	}
	return pos + shift
}

// forward takes pos, an offset in the line the pass whose edits are spans
// was given, to the line it wrote, as back does the other way.
func forward(spans []Span, pos int, end bool) int {
	shift := 0
	for _, s := range spans {
		switch {
		case pos < s.Start, pos == s.Start && (end || s.End > s.Start):
			return pos + shift
		case pos < s.End:
			if end {
				return s.OutEnd
			}
			return s.OutStart
		}
		shift += (s.OutEnd - s.OutStart) - (s.End - s.Start)
	}
	return pos + shift
}

// rawOffset takes off, an offset in the decoded contents of the JSON
// string whose raw contents (between the quotes) are raw, to raw. An
// offset inside what one escape or one invalid byte decodes to goes to
// its start, or with end, past it.
func rawOffset(raw []byte, off int, end bool) int {
	i, dec := 0, 0
	var buf [8]byte
	for i < len(raw) && dec < off {
		n := 1 // raw bytes of the unit at i
		switch c := raw[i]; {
		case c == '\\' && i+1 < len(raw) && raw[i+1] == 'u':
			n = min(6, len(raw)-i)
			if r, ok := hex4(raw, i+2); ok && utf16IsHigh(r) && i+12 <= len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if r2, ok := hex4(raw, i+8); ok && utf16IsLow(r2) {
					n = 12
				}
			}
		case c == '\\':
			n = min(2, len(raw)-i)
		case c >= utf8.RuneSelf:
			if _, size := utf8.DecodeRune(raw[i:]); size > 1 {
				n = size
			}
		}
		d := len(unescapeJSON(buf[:0], raw[i:i+n]))
		if dec+d > off {
			if end {
				return i + n
			}
			return i
		}
		dec += d
		i += n
	}
	return i
}

func utf16IsHigh(r rune) bool { return r >= 0xd800 && r < 0xdc00 }
func utf16IsLow(r rune) bool  { return r >= 0xdc00 && r < 0xe000 }
