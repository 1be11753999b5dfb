package match

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// AllDetectors names every detector where a rule names detectors.
const AllDetectors = "all"

// maxSet bounds the detectors of one Set.
const maxSet = 128

// maxMembers bounds the members of a set (setMember), so that the state of
// a scan lives on the stack, small enough to cost little to clear per line.
const maxMembers = 48

// SelectDetectors resolves names, each a detector, a category or "all",
// into the detectors they stand for, each once, sorted by name. An unknown
// name is an error that suggests the closest known ones.
func SelectDetectors(names []string) ([]*Detector, error) {
	var out []*Detector
	seen := map[string]bool{}
	add := func(d *Detector) {
		if !seen[d.Name] {
			seen[d.Name] = true
			out = append(out, d)
		}
	}
	for _, n := range names {
		if d, ok := LookupDetector(n); ok {
			add(d)
			continue
		}
		found := false
		for _, d := range Detectors() {
			if n == AllDetectors || d.Category == n {
				add(d)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown detector or category %q%s", n, suggest(n))
		}
	}
	slices.SortFunc(out, func(a, b *Detector) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Categories returns the categories of the detectors, sorted.
func Categories() []string {
	var cs []string
	for _, d := range registry {
		if !slices.Contains(cs, d.Category) {
			cs = append(cs, d.Category)
		}
	}
	slices.Sort(cs)
	return cs
}

// suggest returns ", did you mean …?" with the known names closest to n,
// or "" when none is close.
func suggest(n string) string {
	type cand struct {
		name string
		dist int
	}
	var cs []cand
	low := strings.ToLower(n)
	for _, k := range append(append(DetectorNames(), Categories()...), AllDetectors) {
		if d := editDistance(low, k); d <= max(2, len(n)/3) {
			cs = append(cs, cand{k, d})
		} else if len(low) >= 3 && strings.Contains(k, low) {
			// "phone" for phone_e164 and phone_nanp.
			cs = append(cs, cand{k, len(k) - len(low)})
		}
	}
	if len(cs) == 0 {
		return " (see streamgate detectors)"
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].dist < cs[j].dist })
	var names []string
	for _, c := range cs[:min(3, len(cs))] {
		names = append(names, c.name)
	}
	return "; did you mean " + strings.Join(names, ", ") + "?"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// NewSet returns a Replacer of the findings of every detector of ds, each
// replaced as a says. Findings are taken leftmost first, the detector
// first in ds among those that start at the same byte, and a finding that
// overlaps one already taken is skipped, so no detector scans a byte of
// the line twice. The detectors given by Runs and At, by Lead and AtLead,
// by Key and AtKey, or by a Prefix that starts with a letter or digit
// share one walk over the line's runs of digits and tokens. With
// detectors of numbers among ds, it does not scan the line's leading
// timestamp, as their own Replacers do not. ds must hold at most 128
// detectors.
func NewSet(ds []*Detector, a Action) Replacer {
	if len(ds) > maxSet {
		panic(fmt.Sprintf("BUG: a set of %d detectors; the most is %d", len(ds), maxSet))
	}
	if len(ds) == 1 {
		return ds[0].ReplacerWith(a)
	}
	r := &setReplacer{act: a}
	for _, d := range ds {
		r.names = append(r.names, d.Name)
	}
	var runDs, tokenDs []*Detector
	var runOrder, tokenOrder []int
	for i, d := range ds {
		switch {
		case d.At != nil && len(runDs) < maxRunSet:
			runDs, runOrder = append(runDs, d), append(runOrder, i)
		case tokenDetector(d) && len(tokenDs) < maxTokenSet:
			tokenDs, tokenOrder = append(tokenDs, d), append(tokenOrder, i)
		default:
			r.members = append(r.members, setMember{find1: d.Find, place: i})
		}
	}
	if len(runDs) > 0 || len(tokenDs) > 0 {
		var runs *runSet
		var tokens *tokenSet
		if len(runDs) > 0 {
			runs = newRunSet(runDs, runOrder)
			r.skipsTimestamp = true
		}
		if len(tokenDs) > 0 {
			tokens = newTokenSet(tokenDs, tokenOrder)
		}
		r.members = append(r.members, setMember{walk: newWordSet(runs, tokens)})
	}
	if len(r.members) > maxMembers {
		panic(fmt.Sprintf("BUG: a set of %d members; the most is %d", len(r.members), maxMembers))
	}
	return r
}

// setReplacer is NewSet's.
type setReplacer struct {
	members []setMember
	act     Action
	names   []string // the detectors' names, by place in the set, for Spans
	// skipsTimestamp: the set has detectors of numbers; see findReplacer.
	skipsTimestamp bool
}

// start is where r's scan of line starts.
func (r *setReplacer) start(line []byte) int {
	if r.skipsTimestamp {
		return leadingTimestamp(line)
	}
	return 0
}

// A setMember finds for a set: one detector, its Find and its place in
// the set, or the detectors that share a walk over the line's words.
type setMember struct {
	find1 func(line []byte, from int) (int, int)
	place int
	walk  *wordSet
}

// find returns the leftmost finding of m at or after from, as wordSet's
// find does. One call: most members are one detector.
func (m *setMember) find(line []byte, from int) (s, e, place int) {
	if m.find1 != nil {
		s, e = m.find1(line, from)
		return s, e, m.place
	}
	return m.walk.find(line, from)
}

// quoteBlind: every built-in detector is.
func (r *setReplacer) quoteBlind() bool { return true }

// Finds implements Replacer.
func (r *setReplacer) Finds(line []byte) bool {
	from := r.start(line)
	for m := range r.members {
		if s, _, _ := r.members[m].find(line, from); s >= 0 {
			return true
		}
	}
	return false
}

// setNext is the next finding of a member of a set.
type setNext struct {
	s, e  int // -1, -1 when there is none
	place int // the place in the set of the detector that found it
}

// before reports whether n is taken before m: it starts first, or at the
// same byte and its detector comes first.
func (n setNext) before(m setNext) bool {
	return m.s < 0 || n.s >= 0 && (n.s < m.s || n.s == m.s && n.place < m.place)
}

// AppendReplace implements Replacer.
func (r *setReplacer) AppendReplace(dst, line []byte) ([]byte, bool) {
	return r.appendReplace(dst, line, nil)
}

// appendReplace is AppendReplace, recording each finding in sp when it is
// not nil. Most lines hold nothing to find: until a member finds
// something, it keeps no state.
func (r *setReplacer) appendReplace(dst, line []byte, sp *Spans) ([]byte, bool) {
	from := r.start(line)
	for m := range r.members {
		if s, e, p := r.members[m].find(line, from); s >= 0 {
			return r.replaceFrom(dst, line, sp, from, m, setNext{s, e, p})
		}
	}
	return dst, false
}

// replaceFrom is appendReplace once member m0, the first to find
// something, has found n0: the members before it found nothing.
func (r *setReplacer) replaceFrom(dst, line []byte, sp *Spans, from, m0 int, n0 setNext) ([]byte, bool) {
	var next [maxMembers]setNext
	for m := range m0 {
		next[m] = setNext{-1, -1, -1}
	}
	next[m0] = n0
	first := m0
	for m := m0 + 1; m < len(r.members); m++ {
		s, e, p := r.members[m].find(line, from)
		next[m] = setNext{s, e, p}
		if next[m].before(next[first]) {
			first = m
		}
	}
	base, last := len(dst), 0
	for next[first].s >= 0 {
		s, e := next[first].s, next[first].e
		dst = append(dst, line[last:s]...)
		at := len(dst)
		dst = r.act.appendFor(dst, line[s:e])
		if sp != nil {
			sp.add(s, e, at-base, len(dst)-base, r.names[next[first].place])
		}
		last = e
		first = -1
		for m := range r.members {
			if next[m].s >= 0 && next[m].s < last {
				s, e, p := r.members[m].find(line, last)
				next[m] = setNext{s, e, p}
			}
			if first < 0 || next[m].before(next[first]) {
				first = m
			}
		}
	}
	return append(dst, line[last:]...), true
}
