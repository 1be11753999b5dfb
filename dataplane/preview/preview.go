// Package preview runs lines through a manifest's rules one at a time and
// says what became of each: the line an output would receive, or the rule
// that dropped it. `streamgate test` is built on it.
package preview

import (
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
	for _, s := range steps {
		before := string(b.Lines[0])
		s.P.Process(b)
		if len(b.Lines) == 0 {
			r.DroppedBy = s.ID
			return r
		}
		if string(b.Lines[0]) != before {
			r.Changed = append(r.Changed, s.ID)
		}
	}
	r.Output = append([]byte(nil), b.Lines[0]...)
	return r
}
