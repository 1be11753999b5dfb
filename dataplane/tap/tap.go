// Package tap shows an operator a sample of the lines a data plane
// processes, as the outputs receive them: after every rule, so a tap never
// shows what redaction removed. A line a rule dropped is shown as the rule
// that dropped it, without its text, which no rule redacted.
//
// A Hub is the meeting point: the admin server attaches taps to it, the
// pipeline's workers offer it what their chain did to each batch. With no
// tap attached a worker pays one atomic load per batch (Active); with one,
// it traces its chain (processor.Chain.RunTraced) and the hub hands each
// tap the lines its filter selects, at most Rate a second, and at most
// the tap's n in all.
package tap

import (
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// Defaults of Options.
const (
	DefaultMaxTaps  = 4
	DefaultRate     = 100
	DefaultMaxLines = 10000
	DefaultLines    = 100
)

// chanLines is how many records a tap holds for its reader; past that,
// lines are skipped (SkippedSlow) rather than holding up a worker.
const chanLines = 256

// ErrTooMany is returned by Attach when MaxTaps taps are attached.
var ErrTooMany = errors.New("too many taps attached")

// ErrClosed is returned by Attach once the hub is closed.
var ErrClosed = errors.New("the data plane is shutting down")

// Options bound a hub.
type Options struct {
	// MaxTaps is the most taps attached at once; 0 means DefaultMaxTaps.
	MaxTaps int
	// Rate is the most lines a second each tap is sent; 0 means
	// DefaultRate. A burst of up to a second's worth goes at once.
	Rate float64
	// Refused counts the taps refused for MaxTaps; SkippedRate the lines a
	// tap selected but was not sent for its rate; SkippedSlow those it was
	// not sent because its reader fell behind; Sent those it was sent.
	// Nil counters are not counted.
	Refused, SkippedRate, SkippedSlow, Sent *vm.Counter
}

// Filter selects the lines a tap is sent. The zero Filter selects every
// line.
type Filter struct {
	// Rule, when set, selects the lines that rule rewrote or dropped.
	Rule string
	// Output, when set, selects the lines handed to that output: no
	// dropped line.
	Output string
}

// Match reports whether f selects r.
func (f Filter) Match(r *Record) bool {
	if f.Rule != "" && !slices.Contains(r.Rules, f.Rule) {
		return false
	}
	if f.Output != "" && !slices.Contains(r.Outputs, f.Output) {
		return false
	}
	return true
}

// Record is what a tap shows of one line.
type Record struct {
	Time time.Time `json:"time"`
	// Line is the line as the outputs receive it; absent for a dropped
	// line.
	Line *string `json:"line,omitempty"`
	// Rules are the ids of the rules that rewrote the line, in order, and
	// the one that dropped it last.
	Rules []string `json:"rules,omitempty"`
	// DroppedBy is the id of the rule that dropped the line.
	DroppedBy string `json:"dropped_by,omitempty"`
	// Outputs are the names of the outputs the line was handed to.
	Outputs []string `json:"outputs,omitempty"`
	// Bypassed: the breaker was open and some rules were skipped.
	Bypassed bool `json:"bypassed,omitempty"`

	kept bool   // the line was kept
	src  []byte // the kept line, in the batch: copied into Line when sent
}

// Hub is where taps attach and workers offer their batches.
type Hub struct {
	active atomic.Int32 // taps attached: Active reads it

	mu     sync.Mutex
	taps   []*Tap // mu
	closed bool   // mu
	opts   Options
}

// NewHub returns a hub bounded by o.
func NewHub(o Options) *Hub {
	if o.MaxTaps <= 0 {
		o.MaxTaps = DefaultMaxTaps
	}
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	return &Hub{opts: o}
}

// Active reports whether any tap is attached. It is one atomic load: a
// worker calls it for every batch. A nil hub has none.
func (h *Hub) Active() bool { return h != nil && h.active.Load() != 0 }

// Attached is the number of taps attached.
func (h *Hub) Attached() int { return int(h.active.Load()) }

// Tap is one attached watcher. Its reader takes records from C until it is
// closed: the tap was sent its n lines, or the hub was closed.
type Tap struct {
	C <-chan *Record

	c      chan *Record
	f      Filter
	left   int       // lines still to send; hub.mu
	tokens float64   // hub.mu
	last   time.Time // when tokens were last topped up; hub.mu
	done   bool      // c is closed; hub.mu
}

// Attach attaches a tap that is sent up to n of the lines f selects. It
// returns ErrTooMany, counted, when MaxTaps taps are attached, and
// ErrClosed once the hub is closed.
func (h *Hub) Attach(f Filter, n int) (*Tap, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if len(h.taps) >= h.opts.MaxTaps {
		inc(h.opts.Refused, 1)
		return nil, ErrTooMany
	}
	c := make(chan *Record, min(n, chanLines))
	t := &Tap{C: c, c: c, f: f, left: n, tokens: h.opts.Rate, last: time.Now()}
	h.taps = append(h.taps, t)
	h.active.Store(int32(len(h.taps)))
	return t, nil
}

// Detach detaches t, if still attached, and closes its channel. Its
// reader calls it when it stops reading.
func (h *Hub) Detach(t *Tap) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.detachLocked(t)
}

// detachLocked removes t and closes its channel. Lock should be held.
func (h *Hub) detachLocked(t *Tap) {
	if i := slices.Index(h.taps, t); i >= 0 {
		h.taps = slices.Delete(h.taps, i, i+1)
		h.active.Store(int32(len(h.taps)))
	}
	if !t.done {
		t.done = true
		close(t.c)
	}
}

// Close detaches every tap, ending their streams, and refuses new ones.
// A nil hub has nothing to close.
func (h *Hub) Close() {
	if h == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for len(h.taps) > 0 {
		h.detachLocked(h.taps[0])
	}
}

// Offer shows the taps what the chain whose steps are steps did to a
// batch: b is the batch after RunTraced with tr, outputs the names of the
// outputs its lines go to, bypassed whether the breaker skipped rules. It
// keeps none of them.
func (h *Hub) Offer(steps []processor.Step, tr *processor.Trace, b *record.Batch, outputs []string, bypassed bool) {
	if !h.Active() {
		return
	}
	recs := Records(steps, tr, b, outputs, bypassed)
	if len(recs) == 0 {
		return
	}
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range slices.Clone(h.taps) {
		h.sendLocked(t, recs, now)
	}
}

// sendLocked sends t the records its filter selects, as its rate and n
// allow. Lock should be held.
func (h *Hub) sendLocked(t *Tap, recs []*Record, now time.Time) {
	rate := h.opts.Rate
	t.tokens = min(rate, t.tokens+now.Sub(t.last).Seconds()*rate)
	t.last = now
	for _, r := range recs {
		if !t.f.Match(r) {
			continue
		}
		if t.tokens < 1 {
			inc(h.opts.SkippedRate, 1)
			continue
		}
		sent := *r
		if r.kept {
			line := string(r.src)
			sent.Line = &line
		}
		sent.src = nil
		select {
		case t.c <- &sent:
			t.tokens--
			t.left--
			inc(h.opts.Sent, 1)
		default:
			inc(h.opts.SkippedSlow, 1)
			continue
		}
		if t.left == 0 {
			h.detachLocked(t)
			return
		}
	}
}

// Records builds what the taps may be shown of a traced batch, one record
// per line the chain was given, in order: the rules that touched each,
// and each kept line's text. A dropped line's text is never in it. The
// kept lines point into b: the hub copies what it sends.
func Records(steps []processor.Step, tr *processor.Trace, b *record.Batch, outputs []string, bypassed bool) []*Record {
	n := tr.Lines
	if n == 0 {
		return nil
	}
	now := time.Now().UTC()
	recs := make([]*Record, n)
	for i := range recs {
		recs[i] = &Record{Time: now, Bypassed: bypassed}
	}
	for _, e := range tr.Events {
		r := recs[e.Line]
		id := steps[e.Step].ID
		r.Rules = append(r.Rules, id)
		if e.Dropped {
			r.DroppedBy = id
		}
	}
	for i, orig := range tr.Kept {
		if orig < 0 || i >= len(b.Lines) {
			continue
		}
		recs[orig].kept, recs[orig].src = true, b.Lines[i]
		recs[orig].Outputs = outputs
	}
	// A line neither kept nor dropped by a rule (see processor.Trace) is
	// left out.
	out := recs[:0]
	for _, r := range recs {
		if r.kept || r.DroppedBy != "" {
			out = append(out, r)
		}
	}
	return out
}

func inc(c *vm.Counter, n int) {
	if c != nil {
		c.Add(n)
	}
}
