package match

import (
	"math/bits"
	"strings"
)

// Many detectors find values that start a token: a letter or digit that
// does not follow one. Secrets with a fixed prefix (Prefix and AtPrefix)
// are such, and so are IBANs, NINOs and codici fiscali (Lead and AtLead).
// A set of them walks a line's tokens once, eight bytes at a time, and at
// each asks only the detectors whose findings may start with its first
// four bytes; one by one, each would walk the line itself.

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
	// at holds, for each detector in the set's order, the end of its
	// finding that starts at line[s], or -1; place is its place in the
	// set, which breaks ties. A detector given by Key and AtKey has its
	// bit in keyed, and atKey[j] instead of at[j].
	at    []func(line []byte, s int) int
	atKey []func(line []byte, s int) (int, int)
	keyed uint64
	place []int
	// lead[k] has bit j set for the bytes that may stand k bytes into a
	// finding of the detector at[j], or into the keyword of atKey[j].
	lead [leadBytes][256]uint64
}

// leadBytes is how many bytes of a token tokenSet looks at before asking
// a detector, the fewest any finding has.
const leadBytes = 4

// tokenDetector reports whether d may join a tokenSet: it is given by Lead
// and AtLead or Key and AtKey, or by a Prefix that starts with a letter or
// digit, which by the contract of AtPrefix never follows a letter, digit
// or '_'.
func tokenDetector(d *Detector) bool {
	return d.AtLead != nil || d.AtKey != nil || d.AtPrefix != nil && isAlnum(d.Prefix[0])
}

func newTokenSet(ds []*Detector, order []int) *tokenSet {
	if len(ds) > maxTokenSet {
		panic("BUG: too many detectors for a token set")
	}
	ts := &tokenSet{place: order}
	for j, d := range ds {
		lead, at, atKey := d.Lead, d.AtLead, d.AtKey
		switch {
		case atKey != nil:
			lead = d.Key
			ts.keyed |= 1 << j
		case d.AtPrefix != nil:
			lead = [leadBytes]string{}
			for k := range min(leadBytes, len(d.Prefix)) {
				lead[k] = d.Prefix[k : k+1]
			}
			prefix, atPrefix := d.Prefix, d.AtPrefix
			at = func(line []byte, s int) int {
				if s+len(prefix) > len(line) || string(line[s:s+len(prefix)]) != prefix {
					return -1
				}
				return atPrefix(line, s)
			}
		}
		ts.at, ts.atKey = append(ts.at, at), append(ts.atKey, atKey)
		for k, bytes := range lead {
			for c := range 256 {
				if bytes == "" || strings.IndexByte(bytes, byte(c)) >= 0 {
					ts.lead[k][c] |= 1 << j
				}
			}
		}
	}
	return ts
}

// leads returns the detectors, a bit each, whose findings may start with
// the leadBytes bytes of t: most tokens start none.
func (ts *tokenSet) leads(t []byte) uint64 {
	return ts.lead[0][t[0]] & ts.lead[1][t[1]] & ts.lead[2][t[2]] & ts.lead[3][t[3]]
}

// try returns the leftmost finding of the detectors m at the token that
// starts at line[s], the one of the detector first in the set's order
// among those that start at the same byte, and that detector's place in
// the set; or -1, -1, -1. A finding of a detector given by a keyword
// starts after it, at the next token start at the earliest, where the
// detectors given by Lead or Prefix may find one as well.
func (ts *tokenSet) try(line []byte, s int, m uint64) (fs, fe, place int) {
	if e, p := ts.tryAt(line, s, m&^ts.keyed); e >= 0 {
		return s, e, p
	}
	fs, fe, place = -1, -1, -1
	for m &= ts.keyed; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if ks, ke := ts.atKey[j](line, s); ks > s && (fs < 0 || ks < fs) {
			fs, fe, place = ks, ke, ts.place[j]
		}
	}
	if fs >= 0 && fs+leadBytes <= len(line) && isAlnum(line[fs]) && !isAlnum(line[fs-1]) {
		if e, p := ts.tryAt(line, fs, ts.leads(line[fs:fs+leadBytes])&^ts.keyed); e >= 0 && p < place {
			return fs, e, p
		}
	}
	return fs, fe, place
}

// tryAt returns the end of the finding that starts at line[s] of the
// detector first in the set's order among the detectors m, none of them
// given by a keyword, that find one there, and its place in the set; or
// -1, -1.
func (ts *tokenSet) tryAt(line []byte, s int, m uint64) (e, place int) {
	for ; m != 0; m &= m - 1 {
		j := bits.TrailingZeros64(m)
		if e := ts.at[j](line, s); e > 0 {
			return e, ts.place[j]
		}
	}
	return -1, -1
}

// alnumMask returns x with the top bit of each byte that is an ASCII
// letter or digit set, and every other bit clear; see digitMask. Folding
// case maps no byte that is not a letter into a to z.
func alnumMask(x uint64) uint64 {
	return RangeMask(x|0x2020202020202020, 'a', 'z') | digitMask(x)
}
