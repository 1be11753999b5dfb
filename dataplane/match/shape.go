package match

import (
	"bytes"
	"math/bits"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// A shape is a regular expression of a fixed shape compiled into a matcher
// that does not need the regexp package: a concatenation of at most
// maxShapeLen single-rune classes, optionally with capture groups and the
// zero-width assertions ^, $, \A, \z, \b and \B between them. Literals,
// character classes, case folding and counted repetitions such as
// `\d{3}-\d{2}-\d{4}`, `(?i)secret` and `\bid=[0-9a-f]{8}\b` all reduce to
// that form once simplified.
//
// Such an expression has no choice to make: at a given start the classes
// either match the runes that follow, one each, or they do not. Its
// leftmost-first match is therefore the one at the leftmost start where they
// do, and as every match is at least one byte long, the rules the regexp
// package has for empty matches never apply. find returns exactly what
// regexp.Regexp finds when it searches line from the same position, and
// repeating it from the end of each match yields the matches of
// FindAllIndex and ReplaceAll.
//
// Runes are decoded as the regexp package decodes them, an invalid byte as
// one U+FFFD. A byte below utf8.RuneSelf is always a rune of its own, valid
// UTF-8 or not, so classes are tested on bytes directly and only a byte of
// utf8.RuneSelf or above is decoded. A class of ASCII runes only, the usual
// case, never matches such a byte.
//
// Starts are not tried at every position. find looks for an anchor, the
// longest literal among the leading classes of ASCII runes only (with
// bytes.Index) or else the smallest of them (with a table), and tries the
// start a fixed number of bytes before it. Anchors are found in increasing
// order, so starts are tried in increasing order too. If the first class
// has non-ASCII runes, the anchor is that class, and its table holds the
// first bytes of their encodings. Either way a start tried is an ASCII byte
// or the first byte of a multi-byte encoding, and since the first class
// never holds U+FFFD, a match can only start at an ASCII byte or a valid
// multi-byte rune. The regexp package, which decodes the line one rune at a
// time from its start, steps on both: a valid encoding never starts inside
// another.
type shape struct {
	// ascii[i] holds the ASCII runes class i matches.
	ascii []byteSet
	// wide[i] holds the other runes class i matches, as lo, hi pairs, or
	// nil if none. wide itself is nil if no class has any, and then every
	// match is exactly len(ascii) bytes long.
	wide [][]rune
	// asserts are the zero-width assertions, in order of position.
	asserts []assertion
	// begin reports that a match can only start at the start of the line.
	begin bool

	// The anchor: a match that starts at s has lit at s+at if lit is not
	// nil, and else a byte of set there. The classes before class at hold
	// ASCII runes only, so at is their length in bytes too.
	lit []byte
	set *[256]bool
	at  int

	// caps[g] are the class boundaries that group g spans, or -1, -1 if
	// the group was simplified away and never takes part in a match. caps
	// is nil if the expression has more than maxShapeGroups groups.
	caps [][2]int
}

const (
	// maxShapeLen bounds the number of classes of a shape.
	maxShapeLen = 64
	// maxShapeRanges bounds the number of ranges of non-ASCII runes a
	// class may hold; a class such as \pL has hundreds and is better left
	// to the regexp package.
	maxShapeRanges = 16
	// maxShapeGroups bounds the capture groups whose positions a shape
	// reports.
	maxShapeGroups = 15
)

// byteSet is a set of bytes.
type byteSet [4]uint64

func (s *byteSet) add(c byte)      { s[c>>6] |= 1 << (c & 63) }
func (s *byteSet) has(c byte) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// len returns the number of bytes in s.
func (s *byteSet) len() int {
	return bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) + bits.OnesCount64(s[2]) + bits.OnesCount64(s[3])
}

// single returns the byte of s if it has exactly one.
func (s *byteSet) single() (byte, bool) {
	if s.len() != 1 {
		return 0, false
	}
	for i, w := range s {
		if w != 0 {
			return byte(i*64 + bits.TrailingZeros64(w)), true
		}
	}
	return 0, false
}

// assertion is a zero-width assertion before class at, or after the last
// class if at is the number of classes.
type assertion struct {
	at int
	op syntax.Op
}

// holds reports whether a holds at position p of line, with the meaning the
// regexp package gives it: \b and \B look at ASCII word characters only, so
// a byte of utf8.RuneSelf or above, which is part of a non-ASCII rune or an
// invalid byte, counts as a non-word character.
func (a assertion) holds(line []byte, p int) bool {
	switch a.op {
	case syntax.OpBeginText:
		return p == 0
	case syntax.OpEndText:
		return p == len(line)
	case syntax.OpBeginLine:
		return p == 0 || line[p-1] == '\n'
	case syntax.OpEndLine:
		return p == len(line) || line[p] == '\n'
	case syntax.OpWordBoundary:
		return isWordBoundary(line, p)
	}
	return !isWordBoundary(line, p)
}

// isWordBoundary reports whether \b holds at position p of line.
func isWordBoundary(line []byte, p int) bool {
	before := p > 0 && isWordByte(line[p-1])
	after := p < len(line) && isWordByte(line[p])
	return before != after
}

// isWordByte reports whether c is an ASCII word character, [0-9A-Za-z_].
func isWordByte(c byte) bool {
	return c < utf8.RuneSelf && syntax.IsWordChar(rune(c))
}

// compileShape returns the shape matcher for re, an expression parsed with
// syntax.Perl and simplified that has ngroups capture groups, or nil if re
// does not have that shape.
func compileShape(re *syntax.Regexp, ngroups int) *shape {
	m := &shape{}
	if ngroups <= maxShapeGroups {
		m.caps = make([][2]int, ngroups+1)
		for g := range m.caps {
			m.caps[g] = [2]int{-1, -1}
		}
	}
	if !m.add(re) || len(m.ascii) == 0 {
		return nil
	}
	if m.caps != nil {
		m.caps[0] = [2]int{0, len(m.ascii)}
	}
	// The first class decides where a match may start, which must be
	// where the regexp package tries to start one; see shape.
	if m.wide != nil && inRanges(m.wide[0], utf8.RuneError) {
		return nil
	}
	m.begin = len(m.asserts) > 0 && m.asserts[0].at == 0 && m.asserts[0].op == syntax.OpBeginText
	m.chooseAnchor()
	return m
}

// add appends the classes and assertions of re to m, and reports whether re
// is of the form a shape needs.
func (m *shape) add(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			ranges := []rune{r, r}
			if re.Flags&syntax.FoldCase != 0 {
				ranges = foldRanges(r)
			}
			if !m.addClass(ranges) {
				return false
			}
		}
		return true
	case syntax.OpCharClass:
		return m.addClass(re.Rune)
	case syntax.OpAnyCharNotNL:
		return m.addClass([]rune{0, '\n' - 1, '\n' + 1, unicode.MaxRune})
	case syntax.OpAnyChar:
		return m.addClass([]rune{0, unicode.MaxRune})
	case syntax.OpBeginText, syntax.OpEndText, syntax.OpBeginLine, syntax.OpEndLine,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary:
		m.asserts = append(m.asserts, assertion{at: len(m.ascii), op: re.Op})
		return true
	case syntax.OpCapture:
		lo := len(m.ascii)
		if !m.add(re.Sub[0]) {
			return false
		}
		// A group repeated by a counted repetition appears once per
		// copy; like the regexp package, report the last.
		if m.caps != nil {
			m.caps[re.Cap] = [2]int{lo, len(m.ascii)}
		}
		return true
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !m.add(sub) {
				return false
			}
		}
		return true
	}
	return false
}

// addClass appends the class of the runes in ranges, lo, hi pairs, and
// reports whether the shape has room for it.
func (m *shape) addClass(ranges []rune) bool {
	if len(m.ascii) == maxShapeLen {
		return false
	}
	var set byteSet
	var wide []rune
	for i := 0; i < len(ranges); i += 2 {
		lo, hi := ranges[i], ranges[i+1]
		for r := lo; r <= min(hi, utf8.RuneSelf-1); r++ {
			set.add(byte(r))
		}
		if hi >= utf8.RuneSelf {
			wide = append(wide, max(lo, utf8.RuneSelf), hi)
		}
	}
	if len(wide) > 2*maxShapeRanges {
		return false
	}
	if wide != nil && m.wide == nil {
		m.wide = make([][]rune, len(m.ascii), maxShapeLen)
	}
	m.ascii = append(m.ascii, set)
	if m.wide != nil {
		m.wide = append(m.wide, wide)
	}
	return true
}

// foldRanges returns the runes that match r under case folding, as the
// regexp package folds: the orbit of r under unicode.SimpleFold. The orbits
// of k and s hold the Kelvin sign and the long s.
func foldRanges(r rune) []rune {
	ranges := []rune{r, r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		ranges = append(ranges, f, f)
	}
	return ranges
}

// inRanges reports whether r is in ranges, lo, hi pairs.
func inRanges(ranges []rune, r rune) bool {
	for i := 0; i+1 < len(ranges); i += 2 {
		if ranges[i] <= r && r <= ranges[i+1] {
			return true
		}
	}
	return false
}

// chooseAnchor sets what find looks for first. Only the classes before the
// first one with non-ASCII runes lie at a fixed offset from the start; among
// them it prefers the longest run of single-byte classes, a literal that
// bytes.Index finds quickly, and else the class with the fewest bytes. If
// the first class itself has non-ASCII runes, the anchor is that class, and
// its table holds the first bytes of the encodings of its runes.
func (m *shape) chooseAnchor() {
	fixed := len(m.ascii)
	for i, w := range m.wide {
		if w != nil {
			fixed = i
			break
		}
	}
	best, bestLen := -1, 0
	for i := 0; i < fixed; {
		j := i
		var lit []byte
		for ; j < fixed; j++ {
			c, ok := m.ascii[j].single()
			if !ok {
				break
			}
			lit = append(lit, c)
		}
		if len(lit) > bestLen {
			best, bestLen, m.lit = i, len(lit), lit
		}
		i = j + 1
	}
	if best >= 0 {
		m.at = best
		return
	}
	for i := 1; i < fixed; i++ {
		if m.ascii[i].len() < m.ascii[m.at].len() {
			m.at = i
		}
	}
	m.set = new([256]bool)
	for c := range 256 {
		m.set[c] = m.ascii[m.at].has(byte(c))
	}
	if fixed == 0 {
		for i := 0; i < len(m.wide[0]); i += 2 {
			for c := leadByte(m.wide[0][i]); c <= leadByte(m.wide[0][i+1]); c++ {
				m.set[c] = true
			}
		}
	}
}

// leadByte returns the first byte of the UTF-8 encoding of r, a rune of
// utf8.RuneSelf or above; it grows with r.
func leadByte(r rune) int {
	switch {
	case r < 0x800:
		return 0xC0 | int(r>>6)
	case r < 0x10000:
		return 0xE0 | int(r>>12)
	}
	return 0xF0 | int(r>>18)
}

// find returns the start and end of the leftmost match in line that starts
// at from or later, or -1, -1 if there is none. Assertions see all of line,
// so searching from the end of the previous match is the same as the regexp
// package resuming its search there.
func (m *shape) find(line []byte, from int) (start, end int) {
	// Every class takes at least one byte.
	last := len(line) - len(m.ascii)
	if m.begin {
		if from > 0 {
			return -1, -1
		}
		last = min(last, 0)
	}
	for s := from; s <= last; s++ {
		// Move s to the next start whose anchor is in place.
		if m.lit != nil {
			i := bytes.Index(line[s+m.at:last+m.at+len(m.lit)], m.lit)
			if i < 0 {
				break
			}
			s += i
		} else {
			i := indexSet(line[s+m.at:last+m.at+1], m.set)
			if i < 0 {
				break
			}
			s += i
		}
		if e := m.matchAt(line, s); e >= 0 {
			return s, e
		}
	}
	return -1, -1
}

// indexSet returns the index of the first byte of b in set, or -1.
func indexSet(b []byte, set *[256]bool) int {
	for i, c := range b {
		if set[c] {
			return i
		}
	}
	return -1
}

// matchAt returns the end of the match that starts at s, or -1 if there is
// none. s must be at most len(line) - len(m.ascii).
func (m *shape) matchAt(line []byte, s int) int {
	if m.wide != nil {
		return m.walk(line, s, nil)
	}
	w := line[s : s+len(m.ascii)]
	classes := m.ascii[:len(w)]
	for i, c := range w {
		if !classes[i].has(c) {
			return -1
		}
	}
	for _, a := range m.asserts {
		if !a.holds(line, s+a.at) {
			return -1
		}
	}
	return s + len(w)
}

// walk matches the classes one rune at a time from s and returns the end of
// the match, or -1 if there is none. If bounds is not nil, it records where
// each class starts, and where the last one ends.
func (m *shape) walk(line []byte, s int, bounds []int) int {
	p, a := s, 0
	for i := range m.ascii {
		if bounds != nil {
			bounds[i] = p
		}
		for ; a < len(m.asserts) && m.asserts[a].at == i; a++ {
			if !m.asserts[a].holds(line, p) {
				return -1
			}
		}
		if p >= len(line) {
			return -1
		}
		if c := line[p]; c < utf8.RuneSelf {
			if !m.ascii[i].has(c) {
				return -1
			}
			p++
			continue
		}
		r, size := utf8.DecodeRune(line[p:])
		if !inRanges(m.wide[i], r) {
			return -1
		}
		p += size
	}
	if bounds != nil {
		bounds[len(m.ascii)] = p
	}
	for ; a < len(m.asserts); a++ {
		if !m.asserts[a].holds(line, p) {
			return -1
		}
	}
	return p
}

// submatches sets dst, 2 * len(m.caps) ints, to the submatch indexes of the
// match [s, e) in line, laid out as regexp.Regexp.FindSubmatchIndex lays
// them out.
func (m *shape) submatches(line []byte, s, e int, dst []int) {
	var buf [maxShapeLen + 1]int
	bounds := buf[:len(m.ascii)+1]
	if m.wide == nil {
		for i := range bounds {
			bounds[i] = s + i
		}
	} else {
		m.walk(line, s, bounds)
	}
	for g, c := range m.caps {
		if c[0] < 0 {
			dst[2*g], dst[2*g+1] = -1, -1
			continue
		}
		dst[2*g], dst[2*g+1] = bounds[c[0]], bounds[c[1]]
	}
	dst[0], dst[1] = s, e
}
