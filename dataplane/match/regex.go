package match

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"unicode"
	"unicode/utf8"
)

// Regex is a compiled regular expression (Go's syntax) together with faster
// ways to find its matches: a shape matcher if the expression has a fixed
// shape (see shape), and else literals of which every match contains one.
// Looking for them with bytes.Index is much cheaper than running the
// regexp, and on most lines they are absent. It is safe for concurrent use.
type Regex struct {
	re *regexp.Regexp
	// shape matches re without the regexp package; nil if re does not
	// have the shape it needs.
	shape *shape
	// lits holds strings of which every match contains at least one; it is
	// empty if none are known.
	lits Literals
	// exact reports that the expression matches the strings of lits and
	// nothing else, so bytes.Contains alone decides whether a line matches.
	exact bool
	// anchored reports ^, $, \A or \z in the expression.
	anchored bool
	// quoteBlind reports that no match can hold '"', '\\' or '/': the
	// JSON escapes \", \\ and \/ then hide no match from a scan of the
	// bytes.
	quoteBlind bool
}

// shapesDisabled makes CompileRegex leave out the shape matcher, so that
// benchmarks can measure the regexp package on the same expressions.
var shapesDisabled bool

// maxLiterals bounds the number of literals a regex looks for before
// running the regexp.
const maxLiterals = 8

// ErrEmptyRegex is returned by CompileRegex for an empty expression, which
// would match every line.
var ErrEmptyRegex = errors.New("must not be empty")

// CompileRegex compiles expr. Its errors are ErrEmptyRegex and "cannot
// compile: ..."; the caller names the field.
func CompileRegex(expr string) (*Regex, error) {
	if expr == "" {
		return nil, ErrEmptyRegex
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("cannot compile: %w", err)
	}
	r := &Regex{re: re}
	// regexp.Compile parses with the same flags, so this cannot fail.
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return r, nil
	}
	if !shapesDisabled {
		r.shape = compileShape(tree.Simplify(), re.NumSubexp())
	}
	r.anchored = hasAnchor(tree)
	r.quoteBlind = !canMatchAny(tree, '"', '\\', '/')
	lits, exact := requiredLiterals(tree)
	r.lits = NewLiterals(lits...)
	r.exact = exact && len(lits) > 0
	return r, nil
}

// String returns the source expression.
func (r *Regex) String() string { return r.re.String() }

// mayMatch reports whether line can contain a match, judging by the
// literals alone.
func (r *Regex) mayMatch(line []byte) bool {
	return r.lits.Len() == 0 || r.lits.In(line)
}

// Match reports whether line contains a match.
func (r *Regex) Match(line []byte) bool {
	if r.shape != nil {
		s, _ := r.shape.find(line, 0)
		return s >= 0
	}
	if !r.mayMatch(line) {
		return false
	}
	return r.exact || r.re.Match(line)
}

// requiredLiterals returns strings of which every match of re contains at
// least one, or nil if it finds none; exact reports that re matches exactly
// those strings. It looks through concatenations, alternations, groups and
// repetitions of at least one, which covers shapes such as
// `user=\d+`, `\d{3}-\d{2}-\d{4}` and `\b(DEBUG|TRACE)\b`.
func requiredLiterals(re *syntax.Regexp) (lits []string, exact bool) {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		for _, r := range re.Rune {
			// The regexp matches U+FFFD against invalid UTF-8 too, which
			// a byte search for its encoding would miss.
			if r == utf8.RuneError || !utf8.ValidRune(r) {
				return nil, false
			}
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCapture:
		return requiredLiterals(re.Sub[0])
	case syntax.OpPlus:
		lits, _ := requiredLiterals(re.Sub[0])
		return lits, false
	case syntax.OpRepeat:
		if re.Min >= 1 {
			lits, _ := requiredLiterals(re.Sub[0])
			return lits, false
		}
	case syntax.OpConcat:
		// Every part is required: pick the most selective.
		var best []string
		for _, sub := range re.Sub {
			if l, _ := requiredLiterals(sub); l != nil && (best == nil || shortest(l) > shortest(best)) {
				best = l
			}
		}
		return best, false
	case syntax.OpAlternate:
		// One of the branches is required: all need literals.
		exact = true
		for _, sub := range re.Sub {
			l, e := requiredLiterals(sub)
			if l == nil || len(lits)+len(l) > maxLiterals {
				return nil, false
			}
			lits, exact = append(lits, l...), exact && e
		}
		return lits, exact
	}
	return nil, false
}

// shortest returns the length of the shortest string of lits.
func shortest(lits []string) int {
	n := len(lits[0])
	for _, l := range lits[1:] {
		n = min(n, len(l))
	}
	return n
}

// hasAnchor reports whether re holds an assertion of the start or end of
// the text or of a line.
func hasAnchor(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return true
	}
	for _, sub := range re.Sub {
		if hasAnchor(sub) {
			return true
		}
	}
	return false
}

// canMatchAny reports whether re can match any of the runes cs: a literal
// or a class that holds one, or any character.
func canMatchAny(re *syntax.Regexp, cs ...rune) bool {
	switch re.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return true
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			for _, c := range cs {
				if r == c || re.Flags&syntax.FoldCase != 0 && unicode.SimpleFold(r) == c {
					return true
				}
			}
		}
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for _, c := range cs {
				if re.Rune[i] <= c && c <= re.Rune[i+1] {
					return true
				}
			}
		}
	}
	for _, sub := range re.Sub {
		if canMatchAny(sub, cs...) {
			return true
		}
	}
	return false
}
