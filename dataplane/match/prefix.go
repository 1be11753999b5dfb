package match

import "encoding/binary"

// Most detectors of secrets find tokens that start with a fixed prefix,
// such as "ghp_" or "AIza". Such a detector sets Prefix and AtPrefix
// instead of Find, and a set of them (NewSet) walks a line once, testing
// each pair of bytes against the first two bytes of every prefix; one by
// one, each would search the line for its own.

// prefixFind returns the Find of a detector given by prefix and at.
func prefixFind(prefix string, at func(line []byte, s int) int) func(line []byte, from int) (int, int) {
	p := []byte(prefix)
	return func(line []byte, from int) (int, int) {
		return secretsFind(line, from, p, at)
	}
}

// prefixSet is the detectors of a set that are given by Prefix and
// AtPrefix.
type prefixSet struct {
	ds []*Detector
	// order is the place of each of ds in the set, which breaks ties.
	order []int
	// pairs has bit p set when some prefix starts with the two bytes p
	// (the first in the low byte).
	pairs [1 << 16 / 64]uint64
}

func newPrefixSet(ds []*Detector, order []int) *prefixSet {
	ps := &prefixSet{ds: ds, order: order}
	for _, d := range ds {
		p := binary.LittleEndian.Uint16([]byte(d.Prefix))
		ps.pairs[p/64] |= 1 << (p % 64)
	}
	return ps
}

// find returns the leftmost finding at or after from of any of the
// detectors, the one first in the set's order among those that start at
// the same byte, and that detector's place in the set; or -1, -1, -1.
func (ps *prefixSet) find(line []byte, from int) (s, e, place int) {
	for i := from; i+1 < len(line); i++ {
		p := binary.LittleEndian.Uint16(line[i:])
		if ps.pairs[p/64]&(1<<(p%64)) == 0 {
			continue
		}
		e, place = -1, -1
		for j, d := range ps.ds {
			if n := len(d.Prefix); i+n <= len(line) && string(line[i:i+n]) == d.Prefix {
				if fe := d.AtPrefix(line, i); fe > 0 {
					e, place = fe, ps.order[j]
					break
				}
			}
		}
		if e > 0 {
			return i, e, place
		}
	}
	return -1, -1, -1
}
