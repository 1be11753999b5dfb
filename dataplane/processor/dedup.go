package processor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

const (
	defaultDedupWindow = 10 * time.Second
	maxDedupWindow     = time.Hour
	// defaultDedupLines and maxDedupLines bound the kinds of line a dedup
	// tracks.
	defaultDedupLines = 10_000
	maxDedupLines     = 1_000_000
)

var dedupSpec = spec.Component{
	Summary: "Collapses repeated lines: the first of a kind passes, its copies within window_ms are dropped, counted as sampled, and the next copy after the window passes with repeated=N, the copies dropped since the last one passed (a field of a JSON line, a suffix of a text line).",
	Params: []spec.Param{
		{Name: "window_ms", Kind: spec.Integer, Default: "10000", Description: "How long after a line passes its copies are dropped, in milliseconds, up to an hour."},
		{Name: "mask_digits", Kind: spec.Boolean, Default: "false", Description: "Compare lines with every run of digits taken as one 0, so lines that differ only in numbers (timestamps, ids, durations) are copies; the line that passes is the one that came."},
		{Name: "max_lines", Kind: spec.Integer, Default: "10000", Description: "Kinds of line tracked; when they are all within their window, lines of a new kind pass untracked."},
		onOverloadParam(false),
	},
	Examples: []string{
		`{"window_ms": 60000, "on_overload": "run"}`,
		`{"mask_digits": true, "max_lines": 50000}`,
	},
}

// dedupParams are the params of a dedup rule (dedupSpec).
type dedupParams struct {
	WindowMS   *int `json:"window_ms"`
	MaskDigits bool `json:"mask_digits"`
	MaxLines   int  `json:"max_lines"`
}

// dedup drops the copies of a line within a window of the last one that
// passed. The workers share it: its state is behind a lock taken once per
// batch. Lines are known by a 64-bit hash.
type dedup struct {
	window     int64 // nanoseconds
	maskDigits bool
	maxLines   int

	mu   sync.Mutex
	seen map[uint64]*dedupEntry
	// expiries holds, in the order they passed, the kinds and when they
	// passed: when a window is over, its kind is forgotten, unless it
	// passed again since or has a count to report. expiries[head:] are
	// live. A kind is added when it is first tracked and when it passes
	// again after its window, and taken off once its window is over, so
	// it holds at most about two per kind tracked.
	expiries []dedupExpiry
	head     int
	// maybe marks the hash of each kind in seen, and of some kinds
	// forgotten since it was last built (stale of them): a line whose
	// hash is not marked is of no kind tracked, known without a look in
	// the map, which is the larger cost of a line that passes (most lines
	// are of a kind of their own). sketched marks the sketches of the
	// same kinds, those of lines long enough to have one: once every kind
	// tracked is in its window, a line can only be dropped or pass
	// untracked, and one whose sketch is not marked passes with no hash
	// of all its bytes either.
	maybe, sketched bitFilter
	stale           int
}

// bitFilter is a Bloom filter of two bits a key, both in one word, so a
// look costs one read (a blocked Bloom filter), over at least eight bits
// a key it holds. With as many keys as it is for, about 1 key in 40 not
// held finds both its bits set at dedup's default max_lines (13 bits a
// key), and 1 in 20 at 8 bits a key. At the default it takes 16 KiB,
// small enough to stay in a core's first cache. It reads a key's low
// bits and bits 32 to 43.
type bitFilter struct {
	words []uint64
	mask  uint64 // the number of words, less 1
}

// newBitFilter returns a bitFilter for keys keys.
func newBitFilter(keys int) bitFilter {
	n := 1 << 16
	for n < 8*keys {
		n <<= 1
	}
	return bitFilter{words: make([]uint64, n/64), mask: uint64(n/64 - 1)}
}

// bits returns the word of h, from h's low bits, and its two bits in it,
// from two 6-bit fields of its high half.
func (f *bitFilter) bits(h uint64) (word, set uint64) {
	return h & f.mask, 1<<(h>>32&63) | 1<<(h>>38&63)
}

// has reports whether both of h's bits are set: whether h may be held.
func (f *bitFilter) has(h uint64) bool {
	w, b := f.bits(h)
	return f.words[w]&b == b
}

// mark sets the two bits of h.
func (f *bitFilter) mark(h uint64) {
	w, b := f.bits(h)
	f.words[w] |= b
}

// dedupExpiry is a kind of line and when it passed.
type dedupExpiry struct {
	hash   uint64
	passed int64
}

// dedupEntry is a kind of line: when its last copy passed, and how many
// were dropped since.
type dedupEntry struct {
	passed  int64 // Unix nanoseconds
	dropped int
	sketch  uint64 // 0: the kind's lines are not sketched
}

// newDedup builds a dedup rule from its params; see dedupParams.
func newDedup(raw json.RawMessage) (Processor, error) {
	var p dedupParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	window := defaultDedupWindow
	if p.WindowMS != nil {
		window = time.Duration(*p.WindowMS) * time.Millisecond
		if window <= 0 || window > maxDedupWindow {
			return nil, fmt.Errorf("params.window_ms: must be between 1 and %d, got %d", maxDedupWindow.Milliseconds(), *p.WindowMS)
		}
	}
	if p.MaxLines == 0 {
		p.MaxLines = defaultDedupLines
	}
	if p.MaxLines < 1 || p.MaxLines > maxDedupLines {
		return nil, fmt.Errorf("params.max_lines: must be between 1 and %d, got %d", maxDedupLines, p.MaxLines)
	}
	// Some lines of a kind not tracked, with the table full, are hashed
	// and ask the map all the same: as many as the filters let through
	// (see bitFilter), up to about twice that with as many forgotten
	// kinds still marked as rebuild allows.
	return &dedup{window: int64(window), maskDigits: p.MaskDigits, maxLines: p.MaxLines, seen: map[uint64]*dedupEntry{},
		maybe: newBitFilter(p.MaxLines), sketched: newBitFilter(p.MaxLines)}, nil
}

// Process implements Processor.
func (d *dedup) Process(b *record.Batch) {
	d.process(b, time.Now().UnixNano())
}

func (d *dedup) process(b *record.Batch, now int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now) // the same now for every line of the batch
	j := 0
	for _, line := range b.Lines {
		// With every kind tracked in its window, a line of a new kind
		// can only pass, and most are: for a long one, its sketch says
		// so without a hash.
		if !(len(d.seen) >= d.maxLines && d.sketches(line) && !d.sketched.has(sketch(line))) {
			repeated, drop := d.see(line, now)
			if drop {
				continue
			}
			if repeated > 0 {
				start := len(b.Scratch)
				b.Scratch = appendRepeated(b.Scratch, line, repeated)
				line = b.Scratch[start:len(b.Scratch):len(b.Scratch)]
			}
		}
		b.Lines[j] = line
		j++
	}
	clear(b.Lines[j:])
	b.Lines = b.Lines[:j]
}

// see records line at now and reports whether it is a copy to drop, or
// else how many copies were dropped since the last one passed; expire
// has run at now. Lock mu should be held.
func (d *dedup) see(line []byte, now int64) (repeated int, drop bool) {
	h := d.hash(line)
	var e *dedupEntry
	if d.maybe.has(h) {
		e = d.seen[h]
	}
	if e == nil {
		if len(d.seen) >= d.maxLines {
			return 0, false // every kind is in its window: pass untracked
		}
		e = &dedupEntry{passed: now}
		if d.sketches(line) {
			e.sketch = sketch(line)
			d.sketched.mark(e.sketch)
		}
		d.seen[h] = e
		d.maybe.mark(h)
		d.expiries = append(d.expiries, dedupExpiry{h, now})
		return 0, false
	}
	if now-e.passed < d.window {
		e.dropped++
		return 0, true
	}
	repeated, e.passed, e.dropped = e.dropped, now, 0
	d.expiries = append(d.expiries, dedupExpiry{h, now})
	return repeated, false
}

// expire forgets the kinds of line whose window is over and none of whose
// copies was dropped: the next copy of one passes as a new kind would. A
// kind with a count to report is kept until its next copy reports it. It
// costs the expiries it takes off, each once. Lock mu should be held.
func (d *dedup) expire(now int64) {
	for d.head < len(d.expiries) {
		x := d.expiries[d.head]
		if now-x.passed < d.window {
			break
		}
		d.head++
		if e := d.seen[x.hash]; e != nil && e.passed == x.passed && e.dropped == 0 {
			delete(d.seen, x.hash)
			d.stale++
		}
	}
	if d.stale > d.maxLines/2 {
		d.rebuild()
	}
	switch {
	case d.head == len(d.expiries):
		d.expiries, d.head = d.expiries[:0], 0
	case d.head > 1024 && d.head > len(d.expiries)/2:
		n := copy(d.expiries, d.expiries[d.head:])
		d.expiries, d.head = d.expiries[:n], 0
	}
}

// rebuild marks in maybe and sketched the kinds in seen alone, once more
// than half as many kinds as it may track have been forgotten since they
// were last built: each costs a share of the rebuild of about four marks.
func (d *dedup) rebuild() {
	clear(d.maybe.words)
	clear(d.sketched.words)
	for h, e := range d.seen {
		d.maybe.mark(h)
		if e.sketch != 0 {
			d.sketched.mark(e.sketch)
		}
	}
	d.stale = 0
}

// dedupSeed seeds the hash of lines, and sketchSeeds their sketches; a
// dedup's state lives in one process.
var (
	dedupSeed   = maphash.MakeSeed()
	sketchSeeds = func() (s [6]uint64) {
		for i := range s {
			s[i] = rand.Uint64()
		}
		return s
	}()
)

// sketchMin is the length from which lines are sketched: a shorter one
// costs little to hash.
const sketchMin = 64

// sketches reports whether line is sketched: it is long enough, and its
// digits are not to be masked.
func (d *dedup) sketches(line []byte) bool {
	return len(line) >= sketchMin && !d.maskDigits
}

// sketch returns a digest of line, of at least sketchMin bytes, that
// costs less than its hash: copies have the same sketch, so a line whose
// sketch is not marked is of no kind tracked. A sketch is of the line's
// length and of 72 of its bytes: the first 48, where log lines differ
// from one another most (timestamps, sequence numbers and ids lead), 8
// from the middle and the last 16, taken as words, xored in pairs and
// mixed by three multiplications. Lines alike in all of those (the same
// message in the same millisecond, say) only cost the hash the others
// are spared. Its top bit, which bitFilter leaves unread, is set: it is
// never 0, which marks an entry without one.
func sketch(line []byte) uint64 {
	n := len(line)
	le, s := binary.LittleEndian, &sketchSeeds
	head, mid, tail := line[:48], line[n/2-4:n/2+4], line[n-16:]
	rot := func(w uint64) uint64 { return bits.RotateLeft64(w, 1) }
	a := fold(le.Uint64(head[0:])^rot(le.Uint64(head[32:]))^s[0], le.Uint64(head[8:])^rot(le.Uint64(head[40:]))^s[1])
	b := fold(le.Uint64(head[16:])^rot(le.Uint64(mid))^s[2], le.Uint64(head[24:])^rot(le.Uint64(tail[8:]))^s[3])
	c := fold(le.Uint64(tail)^s[4], uint64(n)^s[5])
	return a ^ b ^ c | 1<<63
}

// fold xors the halves of the product of a and b: wyhash's mixing step.
func fold(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash is a hash of line; with mask_digits, of line with each run of digits
// written as one '0'.
func (d *dedup) hash(line []byte) uint64 {
	if !d.maskDigits {
		return maphash.Bytes(dedupSeed, line)
	}
	var buf [1024]byte
	masked := buf[:0]
	if len(line) > len(buf) {
		masked = make([]byte, 0, len(line))
	}
	for i, c := range line {
		if c-'0' < 10 {
			if i > 0 && line[i-1]-'0' < 10 {
				continue
			}
			c = '0'
		}
		masked = append(masked, c)
	}
	return maphash.Bytes(dedupSeed, masked)
}

// appendRepeated appends line with the count n of its dropped copies: a
// "repeated" member of a JSON object, or a " repeated=N" suffix.
func appendRepeated(dst, line []byte, n int) []byte {
	if match.IsJSONObject(line) {
		end := len(line) - 1
		for end > 0 && line[end] != '}' {
			end--
		}
		body := line[:end]
		dst = append(dst, body...)
		i := len(body) - 1
		for i > 0 && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
			i--
		}
		if body[i] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, `"repeated":`...)
		dst = strconv.AppendInt(dst, int64(n), 10)
		return append(dst, line[end:]...)
	}
	dst = append(dst, line...)
	dst = append(dst, " repeated="...)
	return strconv.AppendInt(dst, int64(n), 10)
}
