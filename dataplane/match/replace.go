package match

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Replacer rewrites what an engine finds in a line.
type Replacer interface {
	// AppendReplace appends line to dst with every finding replaced, and
	// reports whether there was any. When there was none it appends
	// nothing and returns dst as it was. It does not keep line or dst.
	AppendReplace(dst, line []byte) ([]byte, bool)
	// Finds reports whether AppendReplace would find anything in line.
	Finds(line []byte) bool
}

// Replacer returns a Replacer of r's matches by repl, with the semantics of
// regexp.Regexp.ReplaceAll: repl is a template in which $1, $name and
// ${name} insert submatches and $$ a literal $. A reference to a group the
// expression does not have is an error.
//
// With a shape matcher that can report the submatches repl needs, no line
// costs an allocation. Without one, a line without a match costs none, and a
// line with one costs the index slices the regexp package returns.
func (r *Regex) Replacer(repl string) (Replacer, error) {
	t, err := parseTemplate(r.re, repl)
	if err != nil {
		return nil, err
	}
	rr := &regexReplacer{re: r, repl: t}
	if r.shape != nil && (!t.submatches || r.shape.caps != nil) {
		rr.shape = r.shape
	}
	return rr, nil
}

// ReplacerWith returns a Replacer of r's matches, each replaced by what a
// says for the whole match. Lines cost what Replacer's do.
func (r *Regex) ReplacerWith(a Action) Replacer {
	return &regexReplacer{re: r, act: a, shape: r.shape}
}

// regexReplacer is Regex.Replacer's and Regex.ReplacerWith's.
type regexReplacer struct {
	re   *Regex
	repl template
	// act, when set, replaces each whole match instead of repl.
	act Action
	// shape is re.shape if it can also report the submatches repl needs.
	shape *shape
}

// replace appends what replaces the match m of line.
func (r *regexReplacer) replace(dst, line []byte, m []int) []byte {
	if r.act != nil {
		return r.act.appendFor(dst, line[m[0]:m[1]])
	}
	return r.repl.expand(dst, line, m)
}

// Finds implements Replacer.
func (r *regexReplacer) Finds(line []byte) bool { return r.re.Match(line) }

// anchored reports whether the expression has ^ or $ anchors, whose
// matches depend on where the text scanned starts and ends.
func (r *regexReplacer) anchored() bool { return r.re.anchored }

// quoteBlind reports that no match holds '"', '\\' or '/'.
func (r *regexReplacer) quoteBlind() bool { return r.re.quoteBlind }

// AppendReplace implements Replacer.
func (r *regexReplacer) AppendReplace(dst, line []byte) ([]byte, bool) {
	return r.appendReplace(dst, line, nil)
}

// appendReplace is AppendReplace, recording each match in sp when it is
// not nil.
func (r *regexReplacer) appendReplace(dst, line []byte, sp *Spans) ([]byte, bool) {
	if r.shape != nil {
		return r.appendShape(dst, line, sp)
	}
	if !r.re.mayMatch(line) {
		return dst, false
	}
	var matches [][]int
	if r.repl.submatches {
		matches = r.re.re.FindAllSubmatchIndex(line, -1)
	} else {
		matches = r.re.re.FindAllIndex(line, -1)
	}
	if matches == nil {
		return dst, false
	}
	base, last := len(dst), 0
	for _, m := range matches {
		dst = append(dst, line[last:m[0]]...)
		at := len(dst)
		dst = r.replace(dst, line, m)
		sp.add(m[0], m[1], at-base, len(dst)-base, PatternDetector)
		last = m[1]
	}
	return append(dst, line[last:]...), true
}

// appendShape is appendReplace with the shape matcher.
func (r *regexReplacer) appendShape(dst, line []byte, sp *Spans) ([]byte, bool) {
	s, e := r.shape.find(line, 0)
	if s < 0 {
		return dst, false
	}
	var buf [2 * (maxShapeGroups + 1)]int
	var m []int
	if r.repl.submatches {
		m = buf[:2*len(r.shape.caps)]
	}
	base, last := len(dst), 0
	for s >= 0 {
		dst = append(dst, line[last:s]...)
		if m != nil {
			r.shape.submatches(line, s, e, m)
		}
		at := len(dst)
		if r.act != nil {
			dst = r.act.appendFor(dst, line[s:e])
		} else {
			dst = r.repl.expand(dst, line, m)
		}
		sp.add(s, e, at-base, len(dst)-base, PatternDetector)
		last = e
		s, e = r.shape.find(line, e)
	}
	return append(dst, line[last:]...), true
}

// findReplacer replaces the findings of a find function as an Action says.
// It does not scan a line's leading timestamp.
type findReplacer struct {
	find func(line []byte, from int) (start, end int)
	act  Action
	name string // the detector's, for Spans
	// skipsTimestamp starts the scan after a line's leading timestamp:
	// worth its cost for a detector of numbers, whose walk would stop at
	// each of its runs of digits.
	skipsTimestamp bool
}

// start is where r's scan of line starts.
func (r *findReplacer) start(line []byte) int {
	if r.skipsTimestamp {
		return leadingTimestamp(line)
	}
	return 0
}

// quoteBlind reports that the escapes \", \\ and \/ hide no finding from
// a scan of the bytes: true of every built-in detector, as none finds a
// quote or a backslash, and those whose findings may hold '/' (URLs,
// secrets in base64) take \/ for it as well.
func (r *findReplacer) quoteBlind() bool { return true }

// Finds implements Replacer.
func (r *findReplacer) Finds(line []byte) bool {
	s, _ := r.find(line, r.start(line))
	return s >= 0
}

// AppendReplace implements Replacer.
func (r *findReplacer) AppendReplace(dst, line []byte) ([]byte, bool) {
	return r.appendReplace(dst, line, nil)
}

// appendReplace is AppendReplace, recording each finding in sp when it is
// not nil.
func (r *findReplacer) appendReplace(dst, line []byte, sp *Spans) ([]byte, bool) {
	s, e := r.find(line, r.start(line))
	if s < 0 {
		return dst, false
	}
	base, last := len(dst), 0
	for s >= 0 {
		dst = append(dst, line[last:s]...)
		at := len(dst)
		dst = r.act.appendFor(dst, line[s:e])
		sp.add(s, e, at-base, len(dst)-base, r.name)
		last = e
		s, e = r.find(line, e)
	}
	return append(dst, line[last:]...), true
}

// template is a parsed replacement template: literal text and references to
// submatches, in order.
type template struct {
	parts []templatePart
	// submatches reports whether any part refers to a submatch, so that
	// matching must record them.
	submatches bool
}

// templatePart is literal text, or a reference to a submatch if groups is
// non-empty.
type templatePart struct {
	lit []byte
	// groups are the indexes of the groups the reference may mean: one for
	// $1, all groups of that name for $name. The first that took part in
	// the match is used.
	groups []int
}

// parseTemplate parses s as regexp.Regexp.Expand does, for re.
func parseTemplate(re *regexp.Regexp, s string) (template, error) {
	var t template
	var lit []byte
	flush := func() {
		if len(lit) > 0 {
			t.parts = append(t.parts, templatePart{lit: lit})
			lit = nil
		}
	}
	for {
		before, after, found := strings.Cut(s, "$")
		lit = append(lit, before...)
		if !found {
			break
		}
		s = after
		if strings.HasPrefix(s, "$") {
			lit = append(lit, '$')
			s = s[1:]
			continue
		}
		name, rest, ok := templateName(s)
		if !ok {
			// Expand keeps a $ that starts no reference as text.
			lit = append(lit, '$')
			continue
		}
		groups := groupIndexes(re, name)
		if len(groups) == 0 {
			return template{}, fmt.Errorf("$%s does not name a group of the pattern (use $$ for a literal $)", name)
		}
		flush()
		t.parts = append(t.parts, templatePart{groups: groups})
		t.submatches = true
		s = rest
	}
	flush()
	return t, nil
}

// templateName returns the name of the reference at the start of s, which
// follows a $: a run of letters, digits and underscores, optionally in
// braces.
func templateName(s string) (name, rest string, ok bool) {
	brace := strings.HasPrefix(s, "{")
	if brace {
		s = s[1:]
	}
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' {
			break
		}
		i += size
	}
	if i == 0 {
		return "", "", false
	}
	name, rest = s[:i], s[i:]
	if brace {
		if !strings.HasPrefix(rest, "}") {
			return "", "", false
		}
		rest = rest[1:]
	}
	return name, rest, true
}

// groupIndexes returns the indexes of the groups of re that name refers to:
// a number without leading zeros is an index, anything else a group name.
func groupIndexes(re *regexp.Regexp, name string) []int {
	num := 0
	for i := 0; i < len(name); i++ {
		if !isDigit(name[i]) || num >= 1e8 {
			num = -1
			break
		}
		num = num*10 + int(name[i]-'0')
	}
	if num >= 0 && (name[0] != '0' || len(name) == 1) {
		if num > re.NumSubexp() {
			return nil
		}
		return []int{num}
	}
	var groups []int
	for i, n := range re.SubexpNames() {
		if n == name {
			groups = append(groups, i)
		}
	}
	return groups
}

// expand appends the template to dst for the match m of src.
func (t *template) expand(dst, src []byte, m []int) []byte {
	for _, p := range t.parts {
		if len(p.groups) == 0 {
			dst = append(dst, p.lit...)
			continue
		}
		for _, g := range p.groups {
			if m[2*g] >= 0 {
				dst = append(dst, src[m[2*g]:m[2*g+1]]...)
				break
			}
		}
	}
	return dst
}
