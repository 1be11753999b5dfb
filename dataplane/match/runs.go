package match

import (
	"math/bits"
)

// Most detectors of numbers find them the same way: at a run of ASCII
// digits of a length their format can start with, they look around the
// run for the rest. Such a detector sets Runs and At instead of Find. A
// set of them (NewSet) then walks a line's runs of digits once and calls,
// at each run, only the detectors whose Runs hold its length; one by one,
// each would walk the line itself.

// runBit returns the bit of Runs that stands for a run of n digits.
func runBit(n int) uint64 { return 1 << min(n, 63) }

// runFind returns the Find of a detector given by runs, joined, joins
// and at (see Detector): the first finding at or after from of at over
// the runs of digits it is asked about.
func runFind(runs, joined uint64, joins string, at func(line []byte, i, r int) (int, int)) func(line []byte, from int) (int, int) {
	// Runs of at least the shortest length in runs; past 4 digits, a
	// longer stride costs more tests per word than it saves.
	k := min(bits.TrailingZeros64(runs), 4)
	var f runFilter
	f.add(0, runs, joined, joins)
	return func(line []byte, from int) (int, int) {
		for i := govANextRun(line, pastRun(line, from), k); i < len(line); i = govANextRun(line, i, k) {
			r := govARunEnd(line, i)
			if t := embeddedTimestamp(line, i, r); t > 0 {
				i = t
				continue
			}
			if f.pick(line, i, r) != 0 {
				if s, e := at(line, i, r); s >= from {
					return s, e
				}
			}
			i = r
		}
		return -1, -1
	}
}

// runFilter tells which detectors of numbers to ask about a run of
// digits: those whose Runs hold its length, less those that want it
// joined (Joined) when it is not.
type runFilter struct {
	// free and joined have, by run length (63: 63 or more), bit j set for
	// the detectors j asked about any run of that length, and those asked
	// only about a joined one; joins, by the byte after a run, those that
	// it joins for.
	free, joined [64]uint64
	joins        [256]uint64
}

// add adds detector j, given by runs, joined and joins.
func (f *runFilter) add(j int, runs, joined uint64, joins string) {
	for n := range f.free {
		switch {
		case joined&(1<<n) != 0:
			f.joined[n] |= 1 << j
		case runs&(1<<n) != 0:
			f.free[n] |= 1 << j
		}
	}
	for _, c := range []byte(joins) {
		f.joins[c] |= 1 << j
	}
}

// pick returns the detectors to ask about the run line[i:r], a bit each.
func (f *runFilter) pick(line []byte, i, r int) uint64 {
	n := min(r-i, 63)
	m := f.free[n]
	if f.joined[n] != 0 && r+1 < len(line) && isDigit(line[r+1]) {
		m |= f.joined[n] & f.joins[line[r]]
	}
	return m
}

// pastRun returns from, or the end of the run of digits from stands in
// after its first digit: a run is all its digits, never its tail.
func pastRun(line []byte, from int) int {
	if from > 0 && from < len(line) && isDigit(line[from-1]) {
		return govARunEnd(line, from)
	}
	return from
}

// maxRunSet bounds the detectors of a runSet, one bit of a word each.
const maxRunSet = 64

// runSet is the detectors of a set that are given by Runs and At.
type runSet struct {
	// at holds the At of each detector of the set given by Runs and At.
	at []func(line []byte, i, r int) (int, int)
	// order is the place of each of at in the set, which breaks ties.
	order []int
	// filter picks, by bit j, the detectors at[j] to ask about a run.
	filter runFilter
}

func newRunSet(ds []*Detector, order []int) *runSet {
	if len(ds) > maxRunSet {
		panic("BUG: too many detectors for a run set")
	}
	rs := &runSet{order: order}
	for j, d := range ds {
		rs.at = append(rs.at, d.At)
		rs.filter.add(j, d.Runs, d.Joined, d.Joins)
	}
	return rs
}

// run returns the leftmost finding at or after from that grows from the
// run of digits line[b:r], as find does; or -1, -1, -1 and where the walk
// goes on: the end of the run, or of the timestamp it starts, which no
// digit follows.
func (rs *runSet) run(line []byte, b, r, from int) (s, e, place, next int) {
	if r-b == 4 { // as a year is
		if t := embeddedTimestamp(line, b, r); t > 0 {
			return -1, -1, -1, t
		}
	}
	s, e, place = -1, -1, -1
	for m := rs.filter.pick(line, b, r); m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if fs, fe := rs.at[j](line, b, r); fs >= from && (s < 0 || fs < s) {
			s, e, place = fs, fe, rs.order[j]
		}
	}
	return s, e, place, r
}
