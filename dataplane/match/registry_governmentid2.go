package match

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
