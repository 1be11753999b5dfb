package processor

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestRunTraced is a table of chains run traced: the events say which rule
// rewrote or dropped which line, Kept where each kept line came from, and
// the lines come out as Run leaves them.
func TestRunTraced(t *testing.T) {
	rules := []Config{
		{ID: "drop_debug", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)},
		{ID: "ssn", Type: "redact", Params: json.RawMessage(`{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}`)},
		{ID: "cards", Type: "redact", Params: json.RawMessage(`{"detector":"credit_card"}`)},
		{ID: "no_email", Type: "redact", Params: json.RawMessage(`{"detector":"email","action":"drop"}`)},
	}
	var steps []Step
	for _, c := range rules {
		s, err := Build(c)
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, s)
	}
	chain := NewChain(steps...)
	for _, c := range []struct {
		name   string
		in     []string
		out    []string
		events []TraceEvent
		kept   []int
	}{
		{"untouched", []string{"a", "b"}, []string{"a", "b"}, nil, []int{0, 1}},
		{"empty batch", nil, []string{}, nil, []int{}},
		{"dropped by a filter", []string{"DEBUG 1", "ok"}, []string{"ok"},
			[]TraceEvent{{Line: 0, Step: 0, Dropped: true}}, []int{1}},
		{"rewritten twice", []string{"x", "ssn 123-45-6789 card 4111 1111 1111 1111"}, []string{"x", "ssn XXX-XX-XXXX card [REDACTED]"},
			[]TraceEvent{{Line: 1, Step: 1}, {Line: 1, Step: 2}}, []int{0, 1}},
		{"rewritten, then dropped", []string{"ssn 123-45-6789 bob@example.com", "y"}, []string{"y"},
			[]TraceEvent{{Line: 0, Step: 1}, {Line: 0, Step: 3, Dropped: true}}, []int{1}},
		{"every line dropped", []string{"DEBUG a", "DEBUG b"}, []string{},
			[]TraceEvent{{Line: 0, Step: 0, Dropped: true}, {Line: 1, Step: 0, Dropped: true}}, []int{}},
		{"an empty line kept", []string{"", "DEBUG", ""}, []string{"", ""},
			[]TraceEvent{{Line: 1, Step: 0, Dropped: true}}, []int{0, 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBatch(c.in...)
			var tr Trace
			if skipped, _ := chain.RunTraced(b, false, &tr); skipped {
				t.Error("RunTraced reports skipped steps; want none")
			}
			if got := lines(b); !slices.Equal(got, c.out) {
				t.Errorf("lines %q; want %q", got, c.out)
			}
			if !slices.Equal(tr.Events, c.events) {
				t.Errorf("events %+v; want %+v", tr.Events, c.events)
			}
			if !slices.Equal(tr.Kept, c.kept) {
				t.Errorf("kept %v; want %v", tr.Kept, c.kept)
			}
			if tr.Lines != len(c.in) {
				t.Errorf("Lines %d; want %d", tr.Lines, len(c.in))
			}
		})
	}
}

// TestRunTracedOverloaded: under overload the filter is skipped, and the
// trace shows only the steps that ran.
func TestRunTracedOverloaded(t *testing.T) {
	f, _ := Build(Config{ID: "f", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)})
	r, _ := Build(Config{ID: "r", Type: "redact", Params: json.RawMessage(`{"pattern":"secret"}`)})
	b := newBatch("DEBUG secret")
	var tr Trace
	if skipped, _ := NewChain(f, r).RunTraced(b, true, &tr); !skipped {
		t.Error("RunTraced reports no skipped step; want the filter skipped")
	}
	if want := []TraceEvent{{Line: 0, Step: 1}}; !slices.Equal(tr.Events, want) {
		t.Errorf("events %+v; want %+v", tr.Events, want)
	}
	if got := lines(b); !slices.Equal(got, []string{"DEBUG [REDACTED]"}) {
		t.Errorf("lines %q", got)
	}
}
