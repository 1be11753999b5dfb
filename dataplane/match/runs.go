package match

import (
	"encoding/binary"
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

// find returns the leftmost finding at or after from of any of the
// detectors, the one first in the set's order among those that start at
// the same byte, and that detector's place in the set; or -1, -1, -1.
//
// At's contract makes one walk enough: a finding starts at its run or
// before it on bytes that are not digits, so the findings of a run start
// after those of any run before it, and the first run with a finding has
// the leftmost. The walk finds the runs that start in eight bytes at once,
// as tokenSet finds tokens.
func (rs *runSet) find(line []byte, from int) (s, e, place int) {
	i := pastRun(line, from)
	// after has the top bit of byte 0 set when the byte before the eight
	// being looked at is a digit that a run goes on from.
	var after uint64
words:
	for i+8 <= len(line) {
		d := digitMask(binary.LittleEndian.Uint64(line[i:]))
		for starts := d &^ (d<<8 | after); starts != 0; {
			b := i + bits.TrailingZeros64(starts)>>3
			// The run ends at the first byte from b on that is not a
			// digit: in these eight bytes, or read on past them.
			r := i + 8
			if ends := ^d & 0x8080808080808080 & (^uint64(0) << ((b - i) * 8)); ends != 0 {
				r = i + bits.TrailingZeros64(ends)>>3
			} else {
				r = govARunEnd(line, r)
			}
			s, e, place, r := rs.run(line, b, r, from)
			if s >= 0 {
				return s, e, place
			}
			if r >= i+8 {
				i, after = r, 0 // line[r] is not a digit
				continue words
			}
			starts &= ^uint64(0) << ((r - i) * 8) // the runs from r on
		}
		i, after = i+8, d>>56
	}
	prev := after != 0
	for i < len(line) {
		if !isDigit(line[i]) || prev {
			prev = isDigit(line[i])
			i++
			continue
		}
		s, e, place, r := rs.run(line, i, govARunEnd(line, i), from)
		if s >= 0 {
			return s, e, place
		}
		i, prev = r, false
	}
	return -1, -1, -1
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
