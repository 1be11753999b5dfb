package processor

import (
	"encoding/json"
	"fmt"
	"hash/maphash"
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
	// maybe has two bits set for each kind in seen, and for some kinds
	// forgotten since it was last built (stale of them): a line whose
	// hash finds either clear is of no kind tracked, known without a look
	// in the map, which is the larger cost of a line that passes (most
	// lines are of a kind of their own). Eight bits a kind or more keep
	// it small enough to stay in a core's first cache.
	maybe []uint64
	mask  uint64 // the number of bits of maybe, less 1
	stale int
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
	// Eight bits a kind or more: at most about 1 line in 20 of a kind
	// not tracked, with the table full, asks the map all the same; 1 in
	// 10 with as many forgotten kinds still marked as rebuild allows.
	n := 1 << 16
	for n < 8*p.MaxLines {
		n <<= 1
	}
	return &dedup{window: int64(window), maskDigits: p.MaskDigits, maxLines: p.MaxLines, seen: map[uint64]*dedupEntry{},
		maybe: make([]uint64, n/64), mask: uint64(n - 1)}, nil
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
		repeated, drop := d.see(line, now)
		if drop {
			continue
		}
		if repeated > 0 {
			start := len(b.Scratch)
			b.Scratch = appendRepeated(b.Scratch, line, repeated)
			line = b.Scratch[start:len(b.Scratch):len(b.Scratch)]
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
	if d.mayHave(h) {
		e = d.seen[h]
	}
	if e == nil {
		if len(d.seen) >= d.maxLines {
			return 0, false // every kind is in its window: pass untracked
		}
		d.seen[h] = &dedupEntry{passed: now}
		d.mark(h)
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

// mayHave reports whether the kind h may be in seen: both its bits are
// set in maybe.
func (d *dedup) mayHave(h uint64) bool {
	i, j := h&d.mask, h>>32&d.mask
	return d.maybe[i/64]&(1<<(i%64)) != 0 && d.maybe[j/64]&(1<<(j%64)) != 0
}

// mark sets the two bits of the kind h in maybe.
func (d *dedup) mark(h uint64) {
	i, j := h&d.mask, h>>32&d.mask
	d.maybe[i/64] |= 1 << (i % 64)
	d.maybe[j/64] |= 1 << (j % 64)
}

// rebuild marks in maybe the kinds in seen alone, once more than half as
// many kinds as it may track have been forgotten since it was last
// built: each costs a share of the rebuild of about two marks.
func (d *dedup) rebuild() {
	clear(d.maybe)
	for h := range d.seen {
		d.mark(h)
	}
	d.stale = 0
}

// dedupSeed seeds the hash of lines; a dedup's state lives in one process.
var dedupSeed = maphash.MakeSeed()

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
