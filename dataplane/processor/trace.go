package processor

import (
	"unsafe"

	"streamgate/dataplane/record"
)

// Trace records which step of a chain touched which line of a batch: the
// steps that rewrote it, and the one that dropped it. The admin tap runs a
// chain with one (RunTraced) while someone watches; Run keeps no record and
// pays one nil check per step.
//
// A Trace is reused: RunTraced resets it. It is not safe for concurrent
// use.
type Trace struct {
	// Events are what the steps did, in the order they did it. Line is the
	// index of the line in the batch as RunTraced was given it; Step the
	// index of the step in the chain.
	Events []TraceEvent
	// Lines is the number of lines the batch had when given.
	Lines int
	// Kept[i] is the index, in the batch as given, of b.Lines[i] once the
	// chain has run; -1 if it cannot be told (see after).
	Kept []int

	cur  []int    // cur[i]: the index in the batch as given of b.Lines[i]
	prev [][]byte // b.Lines before the step running
}

// TraceEvent is one step touching one line.
type TraceEvent struct {
	Line    int
	Step    int
	Dropped bool // the step dropped the line; otherwise it rewrote it
}

// RunTraced is RunCounting, recording what each step did in tr.
func (c *Chain) RunTraced(b *record.Batch, overloaded bool, tr *Trace) (skipped bool, in int) {
	tr.Events = tr.Events[:0]
	tr.Lines = len(b.Lines)
	tr.cur = tr.cur[:0]
	for i := range b.Lines {
		tr.cur = append(tr.cur, i)
	}
	skipped, in, _ = c.run(b, overloaded, true, false, tr)
	tr.Kept = append(tr.Kept[:0], tr.cur...)
	return skipped, in
}

// before notes the lines before a step runs.
func (tr *Trace) before(b *record.Batch) {
	tr.prev = append(tr.prev[:0], b.Lines...)
}

// after compares the lines after step ran with those before. A step keeps
// the order of the lines it keeps, and a line it leaves alone keeps its
// bytes where they were: a line whose bytes moved or changed length was
// rewritten, and one no longer there was dropped.
func (tr *Trace) after(b *record.Batch, step int) {
	if len(b.Lines) == len(tr.prev) {
		for i, l := range b.Lines {
			if !same(l, tr.prev[i]) {
				tr.Events = append(tr.Events, TraceEvent{Line: tr.cur[i], Step: step})
			}
		}
		clear(tr.prev)
		return
	}
	j, kept := 0, tr.cur[:0]
	for i, p := range tr.prev {
		if j < len(b.Lines) && same(b.Lines[j], p) {
			kept = append(kept, tr.cur[i])
			j++
			continue
		}
		tr.Events = append(tr.Events, TraceEvent{Line: tr.cur[i], Step: step, Dropped: true})
	}
	// No built-in step both drops lines and rewrites others; one that did
	// would leave lines that cannot be told apart: they are marked -1.
	for len(kept) < len(b.Lines) {
		kept = append(kept, -1)
	}
	tr.cur = kept
	clear(tr.prev)
}

// same reports whether a and b are the same bytes in memory.
func same(a, b []byte) bool {
	return len(a) == len(b) && unsafe.SliceData(a) == unsafe.SliceData(b)
}
