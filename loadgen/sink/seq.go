package sink

// windowBits is how far behind the highest sequence number a late line can
// still be told apart as a duplicate or a reordered line.
const windowBits = 1 << 15

// window tracks the sequence numbers of one source: the highest one seen and
// a ring bitmap of which of the windowBits numbers up to it have arrived.
type window struct {
	hi   uint64
	bits [windowBits / 64]uint64
}

// seqResult is what adding one sequence number changed.
type seqResult struct {
	gaps       int64 // newly missing (positive) or late-filled (negative) lines
	duplicated bool
	reordered  bool
	tooLate    bool // too far behind to tell a late line from a duplicate
}

// add records seq, which must be at least 1. Numbers start at 1, so a first
// line with seq n reports n-1 missing lines. A line that arrives after a higher
// number fills the gap it left (gaps -1) and is reordered, unless it was
// already seen (duplicated). A line more than windowBits behind the highest
// can no longer be checked: it is tooLate, and leaves the gaps as they are
// (a duplicate must not be able to hide a missing line).
func (w *window) add(seq uint64) (r seqResult) {
	if seq > w.hi {
		d := seq - w.hi
		r.gaps = int64(d - 1)
		if d >= windowBits {
			clear(w.bits[:])
		} else {
			for s := w.hi + 1; s < seq; s++ {
				w.bits[s/64%uint64(len(w.bits))] &^= 1 << (s % 64)
			}
		}
		w.hi = seq
		w.set(seq)
		return r
	}
	if w.hi-seq >= windowBits {
		r.tooLate = true
		return r
	}
	if w.isSet(seq) {
		r.duplicated = true
		return r
	}
	w.set(seq)
	r.reordered = true
	r.gaps = -1
	return r
}

func (w *window) set(s uint64) { w.bits[s/64%uint64(len(w.bits))] |= 1 << (s % 64) }

func (w *window) isSet(s uint64) bool {
	return w.bits[s/64%uint64(len(w.bits))]&(1<<(s%64)) != 0
}
