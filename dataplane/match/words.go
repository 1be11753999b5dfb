package match

import (
	"encoding/binary"
	"math/bits"
)

// A set's detectors of numbers (runSet) and of tokens (tokenSet) look at
// the same places of a line: where a run of digits starts, and where a
// letter or digit starts a token. One walk finds both, eight bytes at a
// time, and asks each set about its own: the bytes are read and tested
// for digits once for the two.

// wordSet is the detectors of a set that walk a line's runs of digits and
// tokens; either part may be nil.
type wordSet struct {
	runs   *runSet
	tokens *tokenSet
	// runMask and tokenMask are all ones when runs, tokens is not nil.
	runMask, tokenMask uint64
}

func newWordSet(runs *runSet, tokens *tokenSet) *wordSet {
	w := &wordSet{runs: runs, tokens: tokens}
	if runs != nil {
		w.runMask = ^uint64(0)
	}
	if tokens != nil {
		w.tokenMask = ^uint64(0)
	}
	return w
}

// find returns the leftmost finding at or after from of the detectors,
// the one first in the set's order among those that start at the same
// byte, and that detector's place in the set; or -1, -1, -1.
//
// Most lines hold no finding: until one turns up, the walk asks about the
// runs that start in each eight bytes, then about the tokens. Then settle
// finishes the walk, in the order runs and tokens start.
func (w *wordSet) find(line []byte, from int) (s, e, place int) {
	// afterDigit and afterAlnum have the top bit of byte 0 set when the
	// byte before the eight being looked at is a digit, a letter or digit.
	var afterDigit, afterAlnum uint64
	if from > 0 && from <= len(line) {
		if isDigit(line[from-1]) {
			afterDigit = 0x80
		}
		if isAlnum(line[from-1]) {
			afterAlnum = 0x80
		}
	}
	// asked is where the last run asked starts; runs that start before
	// next lie in a timestamp that a run started.
	asked, next := -1, 0
	for i := from; i < len(line); i += 8 {
		// word, by hand: the compiler would not inline it.
		var x uint64
		if i+8 <= len(line) {
			x = binary.LittleEndian.Uint64(line[i:])
		} else {
			x = tailWord(line, i)
		}
		d := digitMask(x)
		a := RangeMask(x|0x2020202020202020, 'a', 'z') | d
		runs := d &^ (d<<8 | afterDigit) & w.runMask
		tokens := a &^ (a<<8 | afterAlnum) & w.tokenMask
		// Runs first, then tokens: a finding at either leaves settle
		// the starts of the word still to be asked, in order.
		for rs := runs; rs != 0; rs &= rs - 1 {
			k := bits.TrailingZeros64(rs)
			if p := i + k>>3; p >= next {
				// runEnd, by hand for most runs, which end in the word.
				r := 0
				if ends := ^d & 0x8080808080808080 &^ (uint64(1)<<k - 1); ends != 0 {
					r = i + bits.TrailingZeros64(ends)>>3
				} else {
					r = govARunEnd(line, i+8)
				}
				fs, fe, fp, n := w.runs.run(line, p, r, from)
				asked, next = p, n
				if fs >= 0 {
					rest := rs & (rs - 1)
					return w.settle(line, from, i, rest|tokens, rest, tokens, d, a, setNext{fs, fe, fp}, asked, next)
				}
			}
		}
		for ts := tokens; ts != 0; ts &= ts - 1 {
			p := i + bits.TrailingZeros64(ts)>>3
			if p+leadBytes > len(line) {
				break
			}
			if m := w.tokens.leads(line[p : p+leadBytes]); m != 0 {
				if fs, fe, fp := w.tokens.try(line, p, m); fs >= 0 {
					rest := ts & (ts - 1)
					return w.settle(line, from, i, rest, 0, rest, d, a, setNext{fs, fe, fp}, asked, next)
				}
			}
		}
		afterDigit, afterAlnum = d>>56, a>>56
	}
	return -1, -1, -1
}

// settle finishes find's walk once it holds a finding, best, with the
// starts of the word at line[i] still to be looked at; asked is where the
// last run asked starts, or -1. A finding of a token starts at it, or
// after it at the next token start for a detector given by a keyword; a
// finding of a run starts at the run or before it on bytes that are not
// digits, so the findings of a run start after those of any run before
// it. So no token after best's start can do better, and only one more run
// can: the first that starts at or after it.
func (w *wordSet) settle(line []byte, from, i int, starts, runs, tokens, d, a uint64, best setNext, asked, next int) (s, e, place int) {
	for {
		for ; starts != 0; starts &= starts - 1 {
			k := bits.TrailingZeros64(starts)
			p, bit := i+k>>3, uint64(1)<<k
			runsDone := w.runs == nil || asked >= best.s
			if p > best.s && runsDone {
				return best.s, best.e, best.place
			}
			if runs&bit != 0 && p >= next && !runsDone {
				fs, fe, fp, n := w.runs.run(line, p, runEnd(line, i, d, k), from)
				if c := (setNext{fs, fe, fp}); c.before(best) {
					best = c
				}
				asked, next = p, n
			}
			if tokens&bit != 0 && p <= best.s && p+leadBytes <= len(line) {
				if m := w.tokens.leads(line[p : p+leadBytes]); m != 0 {
					if c := setNextOf(w.tokens.try(line, p, m)); c.before(best) {
						best = c
					}
				}
			}
		}
		if i += 8; i >= len(line) {
			return best.s, best.e, best.place
		}
		d, a, runs, tokens = w.word(line, i, d>>56, a>>56)
		starts = runs | tokens
	}
}

// word returns, for the eight bytes at line[i] (those past its end taken
// as zero), the top bit of each digit (d) and of each letter or digit
// (a), and of each byte that starts a run of digits (runs) and a token
// (tokens) when the set has detectors of them; afterDigit and afterAlnum
// say so of the byte before.
func (w *wordSet) word(line []byte, i int, afterDigit, afterAlnum uint64) (d, a, runs, tokens uint64) {
	var x uint64
	if i+8 <= len(line) {
		x = binary.LittleEndian.Uint64(line[i:])
	} else {
		x = tailWord(line, i)
	}
	d = digitMask(x)
	a = RangeMask(x|0x2020202020202020, 'a', 'z') | d
	return d, a, d &^ (d<<8 | afterDigit) & w.runMask, a &^ (a<<8 | afterAlnum) & w.tokenMask
}

// tailWord returns the bytes of line from i on, fewer than eight, as
// word reads eight, the missing ones zero.
func tailWord(line []byte, i int) uint64 {
	var b [8]byte
	copy(b[:], line[i:])
	return binary.LittleEndian.Uint64(b[:])
}

// runEnd returns the end of the run of digits whose first digit has bit k
// of d, the digits of the eight bytes at line[i]: the first byte after it
// that is not a digit, in these eight bytes or past them.
func runEnd(line []byte, i int, d uint64, k int) int {
	if ends := ^d & 0x8080808080808080 &^ (uint64(1)<<k - 1); ends != 0 {
		return i + bits.TrailingZeros64(ends)>>3
	}
	return govARunEnd(line, i+8)
}

// setNextOf is the setNext of a finding s, e of the detector at place.
func setNextOf(s, e, place int) setNext { return setNext{s, e, place} }
