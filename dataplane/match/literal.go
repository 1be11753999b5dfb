package match

import "bytes"

// Literals is a set of byte strings searched for anywhere in a line, with
// bytes.Contains one after another: fast for the handful a rule usually
// has. The zero value is the empty set, which no line contains.
type Literals struct {
	lits [][]byte
}

// NewLiterals returns the set of lits; each must be non-empty.
func NewLiterals(lits ...string) Literals {
	var l Literals
	for _, s := range lits {
		l.lits = append(l.lits, []byte(s))
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
	for _, k := range l.lits {
		if bytes.Contains(line, k) {
			return true
		}
	}
	return false
}
