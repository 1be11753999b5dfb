package match

import (
	"encoding/binary"
	"math/bits"
)

// Many detectors find values that start a token: a letter or digit that
// does not follow one. Secrets with a fixed prefix (Prefix and AtPrefix)
// are such, and so are IBANs, NINOs and codici fiscali (Lead and AtLead).
// A set of them walks a line's tokens once, eight bytes at a time, and at
// each asks only the detectors whose findings may start with its first two
// bytes; one by one, each would walk the line itself.

// The bytes of Lead that most detectors given by it start with.
const (
	upperLetters   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	letters        = upperLetters + "abcdefghijklmnopqrstuvwxyz"
	decimalDigits  = "0123456789"
	lowerHexDigits = decimalDigits + "abcdef"
	anyHexDigits   = lowerHexDigits + "ABCDEF"
)

// maxTokenSet bounds the detectors of a tokenSet, one bit of a word each.
const maxTokenSet = 64

// tokenSet is the detectors of a set whose findings start tokens.
type tokenSet struct {
	ds []*Detector
	// order is the place of each of ds in the set, which breaks ties.
	order []int
	// first and second have bit j set for the bytes the findings of ds[j]
	// may start with, and those that may follow it.
	first, second [256]uint64
}

// tokenDetector reports whether d may join a tokenSet: it is given by Lead
// and AtLead, or by a Prefix that starts with a letter or digit, which by
// the contract of AtPrefix never follows a letter, digit or '_'.
func tokenDetector(d *Detector) bool {
	return d.AtLead != nil || d.AtPrefix != nil && isAlnum(d.Prefix[0])
}

func newTokenSet(ds []*Detector, order []int) *tokenSet {
	if len(ds) > maxTokenSet {
		panic("BUG: too many detectors for a token set")
	}
	ts := &tokenSet{ds: ds, order: order}
	for j, d := range ds {
		bit := uint64(1) << j
		lead := d.Lead
		if d.AtPrefix != nil {
			lead = [2]string{d.Prefix[:1], d.Prefix[1:2]}
		}
		for k, set := range []*[256]uint64{&ts.first, &ts.second} {
			for _, c := range []byte(lead[k]) {
				set[c] |= bit
			}
		}
	}
	return ts
}

// find returns the leftmost finding at or after from of any of the
// detectors, the one first in the set's order among those that start at
// the same byte, and that detector's place in the set; or -1, -1, -1.
func (ts *tokenSet) find(line []byte, from int) (s, e, place int) {
	if from >= len(line) {
		return -1, -1, -1
	}
	// after has the top bit of byte 0 set when the byte before the eight
	// being looked at is a letter or digit.
	var after uint64
	if from > 0 && isAlnum(line[from-1]) {
		after = 0x80
	}
	i := from
	for ; i+8 <= len(line); i += 8 {
		a := alnumMask(binary.LittleEndian.Uint64(line[i:]))
		for starts := a &^ (a<<8 | after); starts != 0; starts &= starts - 1 {
			s := i + bits.TrailingZeros64(starts)>>3
			if s+1 < len(line) && ts.first[line[s]]&ts.second[line[s+1]] != 0 {
				if e, place := ts.at(line, from, s); e >= 0 {
					return s, e, place
				}
			}
		}
		after = a >> 56
	}
	for ; i < len(line); i++ {
		if isAlnum(line[i]) && (i == 0 || !isAlnum(line[i-1])) {
			if e, place := ts.at(line, from, i); e >= 0 {
				return i, e, place
			}
		}
	}
	return -1, -1, -1
}

// at returns the end of the finding that starts at line[s] of the
// detector first in the set's order among those that find one there, and
// its place in the set; or -1, -1.
func (ts *tokenSet) at(line []byte, from, s int) (e, place int) {
	if s+1 >= len(line) {
		return -1, -1
	}
	for m := ts.first[line[s]] & ts.second[line[s+1]]; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		d := ts.ds[j]
		if d.AtLead != nil {
			e = d.AtLead(line, from, s)
		} else if n := len(d.Prefix); s+n <= len(line) && string(line[s:s+n]) == d.Prefix {
			e = d.AtPrefix(line, s)
		} else {
			continue
		}
		if e > 0 {
			return e, ts.order[j]
		}
	}
	return -1, -1
}

// alnumMask returns x with the top bit of each byte that is an ASCII
// letter or digit set, and every other bit clear; see digitMask. Folding
// case maps no byte that is not a letter into a to z.
func alnumMask(x uint64) uint64 {
	return govARangeMask(x|0x2020202020202020, 'a', 'z') | digitMask(x)
}
