package match

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// AllDetectors names every detector where a rule names detectors.
const AllDetectors = "all"

// maxSet bounds the detectors of one Set, so that the state of a scan
// lives on the stack.
const maxSet = 128

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
// replaced as a says. Findings are taken leftmost first, and a finding
// that overlaps one already taken is skipped, so each detector scans the
// line once however many findings it has. ds must hold at most 128
// detectors.
func NewSet(ds []*Detector, a Action) Replacer {
	if len(ds) > maxSet {
		panic(fmt.Sprintf("BUG: a set of %d detectors; the most is %d", len(ds), maxSet))
	}
	if len(ds) == 1 {
		return ds[0].ReplacerWith(a)
	}
	return &setReplacer{ds: slices.Clone(ds), act: a}
}

// setReplacer is NewSet's.
type setReplacer struct {
	ds  []*Detector
	act Action
}

// quoteBlind: every built-in detector is.
func (r *setReplacer) quoteBlind() bool { return true }

// Finds implements Replacer.
func (r *setReplacer) Finds(line []byte) bool {
	for _, d := range r.ds {
		if s, _ := d.Find(line, 0); s >= 0 {
			return true
		}
	}
	return false
}

// AppendReplace implements Replacer.
func (r *setReplacer) AppendReplace(dst, line []byte) ([]byte, bool) {
	var next [maxSet][2]int // each detector's next finding, or -1
	ds := r.ds
	first := -1
	for i, d := range ds {
		s, e := d.Find(line, 0)
		next[i] = [2]int{s, e}
		if s >= 0 && (first < 0 || s < next[first][0]) {
			first = i
		}
	}
	if first < 0 {
		return dst, false
	}
	last := 0
	for first >= 0 {
		s, e := next[first][0], next[first][1]
		dst = append(dst, line[last:s]...)
		dst = r.act.appendFor(dst, line[s:e])
		last = e
		first = -1
		for i, d := range ds {
			if next[i][0] >= 0 && next[i][0] < last {
				next[i][0], next[i][1] = d.Find(line, last)
			}
			if next[i][0] >= 0 && (first < 0 || next[i][0] < next[first][0]) {
				first = i
			}
		}
	}
	return append(dst, line[last:]...), true
}
