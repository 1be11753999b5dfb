package match

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"strings"
)

// A Detector finds one kind of personal data or secret in a line without a
// regular expression.
type Detector struct {
	// Name is how a redact rule names it, e.g. "credit_card".
	Name string
	// Category groups detectors in the reference, e.g. "payments".
	Category string
	// Summary is one line for the reference.
	Summary string
	// Doc says exactly what counts as a finding.
	Doc string
	// Checksum names the check a finding must pass beyond its form, such
	// as "Luhn" or "mod 97"; "" when the format defines none.
	Checksum string
	// Context are the keywords of which one must stand within 32 bytes
	// before a finding (compared without case) where the detector asks
	// for context: always, or for some forms only, as Doc says. Find
	// checks them; the reference lists them.
	Context []string
	// Find returns the bounds of the first finding that starts at or after
	// from, or -1, -1 if there is none. Bytes before from are the end of an
	// earlier finding: Find may look at them to check a boundary but never
	// starts a finding there, so findings do not overlap. It does not
	// allocate.
	Find func(line []byte, from int) (start, end int)
	// Runs and At, set instead of Find, give a detector whose findings
	// each grow from their first run of ASCII digits: bit n of Runs is set
	// when that run can be n digits long (bit 63: 63 or more). At is given
	// such a run, line[i:r], and returns the finding grown from it, or
	// -1, -1. A finding starts at i or before it on bytes that are not
	// digits (a letter prefix), so no run before i is in it. Find is then
	// At over the runs of the lengths in Runs, unless the detector gives a
	// Find that is faster alone, and a set of detectors (NewSet) walks a
	// line's runs once for all of them. At does not allocate.
	Runs uint64
	At   func(line []byte, i, r int) (start, end int)
	// Joined, beside Runs, holds the lengths in Runs of a first run that
	// only starts a finding joined to more digits, as the first group of
	// ddd-dd-dddd does: a run of such a length is given to At only when
	// the byte after it is one of Joins and the byte after that a digit
	// (TestAtContract checks it). Most runs in a log line stand alone, so
	// a set asks the detector about few of them.
	Joined uint64
	Joins  string
	// Prefix and AtPrefix, set instead of Find, give a detector whose
	// findings each start with Prefix, at least two bytes: AtPrefix is
	// given the place of one and returns the end of the finding that
	// starts there, or -1. Find is then AtPrefix at each place of Prefix,
	// and a set of detectors walks a line once for all of their prefixes.
	// A finding of a Prefix that starts with a letter or digit never
	// follows a letter, digit or '_', and is at least four bytes long
	// (TestAtContract checks both): the set's walk looks only at the
	// starts of tokens. AtPrefix does not allocate.
	Prefix   string
	AtPrefix func(line []byte, s int) (end int)
	// Lead and AtLead, set beside Find, give a detector whose findings
	// each start a token: a finding starts with a letter or digit that
	// does not follow one, and is at least four bytes long. Lead holds the
	// bytes each of a finding's first four bytes may be, "" for any.
	// AtLead is given the place of such bytes at a token's start and
	// returns the end of the finding that starts there, or -1. A set of detectors walks a line's tokens once
	// for all of those given by Lead or by a Prefix that starts with a
	// letter or digit. AtLead does not allocate. A finding of such a
	// detector must not depend on where the search started (Find's from):
	// a set searches again from the end of another detector's finding, so
	// a detector that counts context only after from (pairContext) would
	// lose the context before that finding.
	Lead   [leadBytes]string
	AtLead func(line []byte, s int) (end int)
	// Key and AtKey, set beside Find, give a detector whose findings each
	// follow a keyword that starts a token, as a token follows "Bearer ":
	// Key holds the bytes each of the keyword's first four bytes may be,
	// and AtKey, given the place of such bytes at a token's start, returns
	// the finding that the keyword there leads to, or -1, -1. The finding
	// starts after the keyword, with no token start between them
	// (TestAtContract checks it), so a set's walk over the tokens of a
	// line finds it with those given by Lead. Like AtLead, AtKey does not
	// allocate, and its finding does not depend on Find's from.
	Key   [leadBytes]string
	AtKey func(line []byte, s int) (start, end int)
	// Examples are lines with what Find must find in them; the tests check
	// them and the reference shows them.
	Examples []Example
}

// Example is a line and the findings a detector makes in it, in order. An
// example without findings is a line the detector must leave alone.
type Example struct {
	Line string
	Want []string
}

// Replacer returns a Replacer of d's findings by the literal repl. Lines
// cost no allocation once dst has room.
func (d *Detector) Replacer(repl string) Replacer { return d.ReplacerWith(Mask(repl)) }

// ReplacerWith returns a Replacer of d's findings, each replaced by what a
// says. A detector of numbers (Runs and At) does not scan a line's
// leading timestamp, where it finds nothing.
func (d *Detector) ReplacerWith(a Action) Replacer {
	return &findReplacer{find: d.Find, act: a, name: d.Name, skipsTimestamp: d.At != nil}
}

// byName indexes registry.
var byName = func() map[string]*Detector {
	m := make(map[string]*Detector, len(registry))
	for _, d := range registry {
		if _, dup := m[d.Name]; dup {
			panic("BUG: detector " + d.Name + " registered twice")
		}
		runs := d.At != nil && d.Runs != 0 && d.AtPrefix == nil && d.Prefix == ""
		prefix := d.AtPrefix != nil && len(d.Prefix) >= 2 && d.At == nil && d.Runs == 0
		lead := d.AtLead != nil && d.Lead[0] != "" && d.Find != nil && !runs && !prefix
		key := d.AtKey != nil && d.Key[0] != "" && d.Find != nil && !runs && !prefix && d.AtLead == nil
		switch {
		case !runs && !prefix && (d.Find == nil || d.At != nil || d.Runs != 0 || d.AtPrefix != nil || d.Prefix != ""):
			panic("BUG: detector " + d.Name + " needs Find, Runs and At, or Prefix and AtPrefix")
		case d.Joined&^d.Runs != 0 || (d.Joined != 0) != (d.Joins != ""):
			panic("BUG: detector " + d.Name + " needs Joins beside Joined, a subset of Runs")
		case !lead && (d.AtLead != nil || d.Lead != [leadBytes]string{}):
			panic("BUG: detector " + d.Name + " needs Find beside Lead and AtLead")
		case !key && (d.AtKey != nil || d.Key != [leadBytes]string{}):
			panic("BUG: detector " + d.Name + " needs Find beside Key and AtKey, and no Lead")
		case d.Find != nil:
			// Its own Find, faster alone; TestSetMatchesDetectors checks
			// that it finds what At or AtPrefix does.
		case runs:
			d.Find = runFind(d.Runs, d.Joined, d.Joins, d.At)
		default:
			d.Find = prefixFind(d.Prefix, d.AtPrefix)
		}
		m[d.Name] = d
	}
	return m
}()

// LookupDetector returns the detector called name.
func LookupDetector(name string) (*Detector, bool) {
	d, ok := byName[name]
	return d, ok
}

// Detectors returns every detector, sorted by name. The caller must not
// modify them.
func Detectors() []*Detector {
	out := slices.Clone(registry)
	slices.SortFunc(out, func(a, b *Detector) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DetectorNames returns the names of every detector, sorted.
func DetectorNames() []string {
	var names []string
	for _, d := range Detectors() {
		names = append(names, d.Name)
	}
	return names
}

func isDigit(c byte) bool { return c-'0' < 10 }

func isLetter(c byte) bool { return (c|0x20)-'a' < 26 }

func isAlnum(c byte) bool { return isDigit(c) || isLetter(c) }

// allDigits reports whether b is made of ASCII digits only.
func allDigits(b []byte) bool {
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// nextDigit returns the index of the first ASCII digit of line at or after
// i, or len(line). Most of a log line is not digits: it skips them eight
// bytes at a time.
func nextDigit(line []byte, i int) int {
	for ; i+8 <= len(line); i += 8 {
		if m := digitMask(binary.LittleEndian.Uint64(line[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(line) && !isDigit(line[i]) {
		i++
	}
	return i
}

// digitMask returns x with the top bit of each byte that is an ASCII digit
// set, and every other bit clear. Per byte c, with t = c&0x7f: 185-t has its
// top bit set when c <= '9', t+80 when c >= '0', and ^c when c < 0x80. No
// byte's sum or difference carries into its neighbour, so the test is exact
// for every byte.
func digitMask(x uint64) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	t := x & low7
	return (ones*(0x7f+'9'+1) - t) & ^x & (t + ones*(0x7f-('0'-1))) & high
}
