package match

import "strings"

// moreGovernmentIDDetectors are registered in registry.
var moreGovernmentIDDetectors = []*Detector{
	&nlBSN,
	&inAadhaar,
	&inPAN,
	&brCPF,
	&brCNPJ,
	&cnResidentID,
	&auTFN,
	&auMedicare,
	&sgNRIC,
}

// The helpers below are shared by the detectors of this list: national
// numbers of fixed length, written as a run of digits or in a few fixed
// groupings.

// govBRunEnd returns the end of the run of ASCII digits that starts at
// line[i].
func govBRunEnd(line []byte, i int) int {
	for i < len(line) && isDigit(line[i]) {
		i++
	}
	return i
}

// govBShape returns the end of the value written as shape that starts at
// line[i], or -1. In shape, 'd' stands for an ASCII digit and '/' for '/'
// or its JSON escape `\/`; any other byte stands for itself.
func govBShape(line []byte, i int, shape string) int {
	for k := 0; k < len(shape); k, i = k+1, i+1 {
		if i >= len(line) {
			return -1
		}
		switch c := shape[k]; {
		case c == 'd':
			if !isDigit(line[i]) {
				return -1
			}
		case c == '/' && line[i] == '\\':
			if i++; i >= len(line) || line[i] != '/' {
				return -1
			}
		case line[i] != c:
			return -1
		}
	}
	return i
}

// govBDotted is a Brazilian number, CPF or CNPJ: written as its shape,
// whose first group is a run of digits followed by '.', or as one run of
// all its digits after a context word. valid checks its digits (ASCII),
// given by value: a slice of a buffer on the stack would escape through
// the call of a func value.
type govBDotted struct {
	shape         string // as govBShape takes it
	digits, first int    // digits in all, and in the first group
	valid         func(d [govBDottedMax]byte) bool
	words         []string
}

// govBDottedMax is the most digits of a govBDotted, a CNPJ's.
const govBDottedMax = 14

func newGovBDotted(shape string, valid func([govBDottedMax]byte) bool, words []string) govBDotted {
	return govBDotted{shape: shape, digits: strings.Count(shape, "d"), first: strings.IndexByte(shape, '.'), valid: valid, words: words}
}

// at returns the number that starts with the run of digits line[i:j], or
// -1, -1. It must not touch a letter, digit or '_', nor be joined to one
// by '.' or '-', nor to a digit by '/'.
func (f *govBDotted) at(line []byte, i, j int) (int, int) {
	e, bare := -1, false
	switch j - i {
	case f.digits:
		e, bare = j, true
	case f.first:
		if j+4 < len(line) && line[j] == '.' && line[j+4] == '.' {
			e = govBShape(line, i, f.shape)
		}
	}
	if e < 0 || !govBBounded(line, i, e, false) {
		return -1, -1
	}
	var d [govBDottedMax]byte
	if govBDigits(d[:f.digits], line[i:e]) != f.digits || !f.valid(d) {
		return -1, -1
	}
	if bare && !hasContext(line, i, f.words) {
		return -1, -1
	}
	return i, e
}

// govBDigits copies the ASCII digits of v to dst, in order, and returns
// how many there were, at most len(dst).
func govBDigits(dst, v []byte) int {
	n := 0
	for _, c := range v {
		if isDigit(c) && n < len(dst) {
			dst[n] = c
			n++
		}
	}
	return n
}

// govBWordByte reports whether c belongs to the alphanumeric token it
// stands in: a letter, a digit or '_'.
func govBWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// govBJoins reports whether sep, standing between a value and the byte o
// outside it, makes both one token: '.' and '-' join letters, digits and
// '_' (versions, dotted or dashed identifiers, UUIDs); '/' joins digits
// (dates, fractions, paths of numbers); and, where spaced, so does ' '
// (a value that is written in groups of digits joined by spaces is not
// taken out of a longer chain of such groups).
func govBJoins(sep, o byte, spaced bool) bool {
	switch sep {
	case '.', '-':
		return govBWordByte(o)
	case '/':
		return isDigit(o)
	case ' ':
		return spaced && isDigit(o)
	}
	return false
}

// govBBounded reports whether line[s:e] stands alone: neither touches a
// letter, digit or '_', nor is joined to one by a separator as govBJoins
// says. The rules are the same on both sides, so that replacing a finding
// never makes a value next to it stand alone.
func govBBounded(line []byte, s, e int, spaced bool) bool {
	if s > 0 {
		if c := line[s-1]; govBWordByte(c) || s > 1 && govBJoins(c, line[s-2], spaced) {
			return false
		}
	}
	if e < len(line) {
		if c := line[e]; govBWordByte(c) || e+1 < len(line) && govBJoins(c, line[e+1], spaced) {
			return false
		}
	}
	return true
}

// govBAllSame reports whether the ASCII digits d are one digit repeated,
// as placeholders such as 00000000000 are.
func govBAllSame(d []byte) bool {
	for _, c := range d {
		if c != d[0] {
			return false
		}
	}
	return true
}
