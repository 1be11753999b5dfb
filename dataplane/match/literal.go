package match

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
)

// Literals is a set of byte strings searched for anywhere in a line. The
// zero value is the empty set, which no line contains.
//
// One literal is found with bytes.Contains. A set of more, where the scan
// is at hand (anyScan), is found in one read of the line rather than one
// per literal: each literal has an anchor, its byte that log text holds
// least often (see commonness), and the line is read 16 bytes at a time
// for the next byte that is one of the anchors, where the literals
// anchored at it are checked. A line that holds none is read once; one
// that holds one, up to it. A set whose literals need more than eight
// anchors is searched for literal by literal.
type Literals struct {
	lits [][]byte

	// anchors is the number of distinct anchor bytes, 0 when each literal
	// is searched for in turn. set holds them, each 16 times, the first
	// repeated to fill, and slot[c] is 1 + the index in at of the
	// literals anchored at byte c, 0 for a byte that is no anchor.
	anchors int
	set     [8][16]byte
	slot    [256]uint8
	at      [8][]anchored
}

// anchored is a literal, the offset in it of its anchor, and its first
// bytes, up to 8, as a little-endian word (head) and the mask of them.
type anchored struct {
	lit        []byte
	off        int
	head, mask uint64
}

// at reports whether line holds a.lit at start.
func (a *anchored) at(line []byte, start int) bool {
	end := start + len(a.lit)
	if start < 0 || end > len(line) {
		return false
	}
	if len(line)-start < 8 {
		return bytes.Equal(line[start:end], a.lit)
	}
	return binary.LittleEndian.Uint64(line[start:])&a.mask == a.head &&
		(len(a.lit) <= 8 || bytes.Equal(line[start+8:end], a.lit[8:]))
}

// NewLiterals returns the set of lits. An empty literal is in every line.
func NewLiterals(lits ...string) Literals {
	var l Literals
	for _, s := range lits {
		l.lits = append(l.lits, []byte(s))
	}
	if !anyScan || len(l.lits) < 2 || slices.Contains(lits, "") {
		return l
	}
	var set []byte
	for _, lit := range l.lits {
		off := 0
		for i, c := range lit {
			if commonness(c) < commonness(lit[off]) {
				off = i
			}
		}
		c := lit[off]
		if l.slot[c] == 0 {
			if len(set) == len(l.set) {
				l.slot, l.at = [256]uint8{}, [8][]anchored{}
				return l // too many anchors: each literal in turn
			}
			set = append(set, c)
			l.slot[c] = uint8(len(set))
		}
		a := anchored{lit: lit, off: off}
		for i := range min(len(lit), 8) {
			a.head |= uint64(lit[i]) << (8 * i)
			a.mask |= 0xff << (8 * i)
		}
		k := l.slot[c] - 1
		l.at[k] = append(l.at[k], a)
	}
	l.anchors = len(set)
	for i := range l.set {
		c := set[0]
		if i < len(set) {
			c = set[i]
		}
		l.set[i] = [16]byte(bytes.Repeat([]byte{c}, 16))
	}
	return l
}

// Len is the number of literals.
func (l *Literals) Len() int { return len(l.lits) }

// Strings returns the literals, in the order given.
func (l *Literals) Strings() []string {
	out := make([]string, len(l.lits))
	for i, b := range l.lits {
		out[i] = string(b)
	}
	return out
}

// In reports whether line contains one of the literals.
func (l *Literals) In(line []byte) bool {
	if l.anchors == 0 {
		for _, k := range l.lits {
			if bytes.Contains(line, k) {
				return true
			}
		}
		return false
	}
	for i := 0; ; i++ {
		var j int
		switch s := line[i:]; {
		case len(s) < 16:
			j = l.indexAnchor(s)
		case l.anchors <= 4:
			j = indexAny4(s, &l.set)
		default:
			j = indexAny8(s, &l.set)
		}
		if j < 0 {
			return false
		}
		i += j
		as := l.at[l.slot[line[i]]-1]
		for k := range as {
			if as[k].at(line, i-as[k].off) {
				return true
			}
		}
	}
}

// indexAnchor returns the index of the first byte of s that is an anchor,
// or -1, a byte at a time: for fewer bytes than the scan reads at once.
func (l *Literals) indexAnchor(s []byte) int {
	for i, c := range s {
		if l.slot[c] != 0 {
			return i
		}
	}
	return -1
}

// commonness ranks bytes by how often log text holds them, the least
// often lowest: bytes outside letters, digits and the usual punctuation;
// then upper case letters; then digits, lower case letters and the
// punctuation of timestamps, key=value pairs, paths and JSON. Letters
// are ranked among themselves as in English text.
func commonness(c byte) int {
	const english = "zqxjkvbpygfwmucldrhsnioate" // least frequent first
	switch {
	case 'A' <= c && c <= 'Z':
		return 100 + strings.IndexByte(english, c-'A'+'a')
	case 'a' <= c && c <= 'z':
		return 200 + strings.IndexByte(english, c)
	case '0' <= c && c <= '9':
		return 220
	case strings.IndexByte(" \"':,=.-/_{}[]()", c) >= 0:
		return 230
	}
	return 0
}
