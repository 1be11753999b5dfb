package match

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
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
	// progBytes is the memory its program takes (ProgramBytes).
	progBytes int
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

// Bounds on the cost of one regular expression of a rule. CompileRegex
// checks them before it compiles the expression, so an expression over
// them costs a parse and no more.
const (
	// MaxRegexSource bounds the length of an expression, in bytes, and so
	// the work of parsing it.
	MaxRegexSource = 64 << 10
	// MaxRegexUnicodeClasses bounds the escapes \p and \P of an
	// expression: each is a Unicode class of up to 1,320 ranges (\pL,
	// \PL), that the parser builds for every one written, so they, not the
	// expression's length, would bound the parse.
	MaxRegexUnicodeClasses = 512
	// MaxRegexProgram bounds the memory of an expression's program, in
	// bytes, as ProgramBytes counts it: 10,000 to 12,000 instructions, such
	// as the program of an alternation of 800 twelve-letter words.
	MaxRegexProgram = 1 << 20
)

// The cost of a regexp program, by ProgramBytes. The figures are those of
// a 64-bit platform on every platform, so that a control plane and its data
// planes agree on what fits.
const (
	// instBytes is the size of a syntax.Inst: an opcode, two uint32 and
	// a rune slice.
	instBytes = 40
	// matcherBytesPerInst is what the regexp package's matcher adds per
	// instruction: two queues of one uint32 and one 16-byte entry each.
	matcherBytesPerInst = 2 * (4 + 16)
	// runeBytes is the size of a rune of a literal or a class.
	runeBytes = 4
	// estimateSlack is how far over MaxRegexProgram the estimate from the
	// parsed expression (estimateProgram) may be before the expression is
	// refused without being compiled. The estimate is within a few tenths
	// of the program, and under it: it leaves out the slack of the
	// instruction array's growth. Below the slack the program decides.
	estimateSlack = 2
)

// CompileRegex compiles expr. Its errors are ErrEmptyRegex, *RegexLimitError
// and "cannot compile: ..."; the caller names the field.
func CompileRegex(expr string) (*Regex, error) {
	if expr == "" {
		return nil, ErrEmptyRegex
	}
	if len(expr) > MaxRegexSource {
		return nil, &RegexLimitError{What: "source", Size: len(expr), Limit: MaxRegexSource}
	}
	if n := unicodeClasses(expr); n > MaxRegexUnicodeClasses {
		return nil, &RegexLimitError{What: "unicode_classes", Size: n, Limit: MaxRegexUnicodeClasses}
	}
	tree, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return nil, fmt.Errorf("cannot compile: %w", err)
	}
	if est := estimateProgram(tree); est > estimateSlack*MaxRegexProgram {
		return nil, &RegexLimitError{What: "program", Size: est, Limit: MaxRegexProgram, Estimated: true}
	}
	simple := tree.Simplify()
	prog, err := syntax.Compile(simple)
	if err != nil {
		return nil, fmt.Errorf("cannot compile: %w", err)
	}
	progBytes := programBytes(prog)
	if progBytes > MaxRegexProgram {
		return nil, &RegexLimitError{What: "program", Size: progBytes, Limit: MaxRegexProgram, Insts: len(prog.Inst)}
	}
	prog = nil
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("cannot compile: %w", err)
	}
	r := &Regex{re: re, progBytes: progBytes}
	if !shapesDisabled {
		r.shape = compileShape(simple, re.NumSubexp())
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

// ProgramBytes is the memory the expression's compiled program takes, as
// the bounds count it: 40 bytes per instruction for the program, 40 more
// for the queues of a matcher running it, and 4 per rune of its literals
// and classes. Each pipeline worker matching at the same moment keeps a
// matcher of its own, 40 bytes per instruction more; shape matchers and
// literal prefilters add little.
func (r *Regex) ProgramBytes() int { return r.progBytes }

// RegexLimitError reports an expression over one of the bounds on its cost.
type RegexLimitError struct {
	// What is over its bound: "source" (MaxRegexSource), "unicode_classes"
	// (MaxRegexUnicodeClasses) or "program" (MaxRegexProgram).
	What string
	// Size is the expression's: bytes, escapes or program bytes.
	Size, Limit int
	// Insts is the number of instructions of its program, when it was
	// compiled; Estimated is set when the program was too large to
	// compile and Size is estimated from the parsed expression.
	Insts     int
	Estimated bool
}

func (e *RegexLimitError) Error() string {
	switch e.What {
	case "source":
		return fmt.Sprintf("is %d bytes long, over the limit of %d (%s) for one expression; split it into several rules", e.Size, e.Limit, sizeText(e.Limit))
	case "unicode_classes":
		return fmt.Sprintf("has %d Unicode class escapes (\\p, \\P), over the limit of %d for one expression", e.Size, e.Limit)
	}
	how := fmt.Sprintf("compiles to %s (%d instructions)", sizeText(e.Size), e.Insts)
	if e.Estimated {
		how = "would compile to about " + sizeText(e.Size)
	}
	return how + ", over the limit of " + sizeText(e.Limit) + " for one expression; split it into several rules, or list plain keywords in a filter's values"
}

// sizeText writes n bytes in KiB or MiB.
func sizeText(n int) string {
	if n >= 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
}

// unicodeClasses counts the escapes \p and \P in expr.
func unicodeClasses(expr string) int {
	n := 0
	for i := 0; i+1 < len(expr); i++ {
		if expr[i] != '\\' {
			continue
		}
		if c := expr[i+1]; c == 'p' || c == 'P' {
			n++
		}
		i++ // the escaped byte: \\p is a backslash and a p
	}
	return n
}

// programBytes is ProgramBytes for prog: each distinct rune slice of its
// instructions counted once, as repetitions of a class share one.
func programBytes(prog *syntax.Prog) int {
	runes := 0
	seen := make(map[*rune]bool)
	for i := range prog.Inst {
		rs := prog.Inst[i].Rune
		if len(rs) == 0 || seen[&rs[0]] {
			continue
		}
		seen[&rs[0]] = true
		runes += len(rs)
	}
	return cap(prog.Inst)*instBytes + len(prog.Inst)*matcherBytesPerInst + runes*runeBytes
}

// estimateProgram estimates ProgramBytes from the parsed expression, as
// the regexp/syntax parser estimates the size of a program before it lets
// one be compiled: pessimistically, each repetition counted in full.
func estimateProgram(re *syntax.Regexp) int {
	insts, runes := estimateInsts(re), treeRunes(re)
	const ceiling = 1 << 40 // no overflow, whatever the tree
	return int(min(insts*(instBytes+matcherBytesPerInst)+runes*runeBytes, ceiling))
}

// estimateInsts is the instructions re compiles to, at most; the parser's
// calcSize.
func estimateInsts(re *syntax.Regexp) int64 {
	var n int64
	switch re.Op {
	case syntax.OpLiteral:
		n = int64(len(re.Rune))
	case syntax.OpCapture, syntax.OpStar:
		n = 2 + estimateInsts(re.Sub[0])
	case syntax.OpPlus, syntax.OpQuest:
		n = 1 + estimateInsts(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			n += estimateInsts(sub)
		}
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			n += estimateInsts(sub)
		}
		n += int64(len(re.Sub)) - 1
	case syntax.OpRepeat:
		sub := estimateInsts(re.Sub[0])
		switch {
		case re.Max == -1 && re.Min == 0:
			n = 2 + sub
		case re.Max == -1:
			n = 1 + int64(re.Min)*sub
		default:
			n = int64(re.Max)*sub + int64(re.Max-re.Min)
		}
	}
	return min(max(1, n), 1<<32)
}

// treeRunes is the runes held by the literals and classes of re.
func treeRunes(re *syntax.Regexp) int64 {
	n := int64(len(re.Rune))
	for _, sub := range re.Sub {
		n += treeRunes(sub)
	}
	return n
}

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
