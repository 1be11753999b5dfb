// Package buffer holds Ring, the bounded lock-free queue between the ingest
// listeners (many producers) and a pipeline worker (the consumer).
//
// The ring moves batches, not lines: a producer pushes all the lines of one
// socket read with one compare-and-swap. Capacity is counted in lines and in
// bytes, so memory stays bounded whatever the line length.
package buffer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/dataplane/record"
)

// Policy says what Push does when the ring is full.
type Policy uint8

const (
	// DropOldest evicts the oldest queued batches to make room (the seed's
	// behaviour: fresh logs win).
	DropOldest Policy = iota
	// DropNewest rejects the incoming batch.
	DropNewest
	// Block waits for room as long as it takes: a TCP connection stops being
	// read, so the sender feels backpressure. (Under the drop policies a
	// push may also wait, for a bounded time: see Push.)
	Block
)

// ParsePolicy parses "drop_oldest", "drop_newest" or "block".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "drop_oldest", "":
		return DropOldest, nil
	case "drop_newest":
		return DropNewest, nil
	case "block":
		return Block, nil
	}
	return 0, fmt.Errorf("unknown overflow policy %q (want drop_oldest, drop_newest or block)", s)
}

func (p Policy) String() string {
	switch p {
	case DropOldest:
		return "drop_oldest"
	case DropNewest:
		return "drop_newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", p)
}

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("buffer closed")

type slot struct {
	seq atomic.Uint64
	b   *record.Batch
}

// pad keeps the hot atomics of producers and the consumer on separate cache
// lines.
type pad [64]byte

// Ring is a bounded multi-producer multi-consumer queue of batches, after
// Dmitry Vyukov's bounded MPMC queue: every slot carries a sequence number, so
// a push or a pop is one compare-and-swap on the tail or the head.
//
// Producers are any goroutines calling Push; the intended consumer is one
// pipeline worker calling TryPop and Wait. DropOldest producers also pop.
type Ring struct {
	_     pad
	tail  atomic.Uint64 // next position to push
	_     pad
	head  atomic.Uint64 // next position to pop
	_     pad
	lines atomic.Int64 // lines admitted and not yet popped
	bytes atomic.Int64 // memory (Batch.Footprint) admitted and not yet popped
	_     pad

	// consumerWaiting is 1 while the consumer sleeps in Wait; the producer
	// that sees it wakes the consumer (empty → non-empty signalling).
	consumerWaiting atomic.Int32
	notify          chan struct{}

	// waiting is the bytes of the batches producers hold while they wait
	// for room under a drop policy (holdWaiting).
	waiting atomic.Int64
	// producersBlocked counts producers waiting for room.
	producersBlocked atomic.Int32
	mu               sync.Mutex    // guards room and closed transitions
	room             chan struct{} // closed and replaced when room frees up
	closed           atomic.Bool
	done             chan struct{}

	slots    []slot
	mask     uint64
	capLines int64
	capBytes int64
	policy   Policy

	// OnDrop is called with every batch the ring evicts or rejects, before the
	// batch is recycled; it must count the lines. cause is nil when the ring
	// was full, else the error Push returns (ErrClosed, ctx's error). Set it
	// before use.
	OnDrop func(b *record.Batch, cause error)
	// OnWait is called once by each Push that finds the ring full and
	// waits for room. Set it before use.
	OnWait func()
}

// New returns a ring holding at most capLines lines and capBytes bytes.
func New(capLines, capBytes int, policy Policy) *Ring {
	if capLines < 1 {
		capLines = 1
	}
	n := 1
	for n < capLines {
		n <<= 1
	}
	r := &Ring{
		notify:   make(chan struct{}, 1),
		room:     make(chan struct{}),
		done:     make(chan struct{}),
		slots:    make([]slot, n),
		mask:     uint64(n - 1),
		capLines: int64(capLines),
		capBytes: int64(capBytes),
		policy:   policy,
		OnDrop:   func(*record.Batch, error) {},
		OnWait:   func() {},
	}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// Len is the number of lines queued.
func (r *Ring) Len() int { return int(r.lines.Load()) }

// Cap is the capacity in lines.
func (r *Ring) Cap() int { return int(r.capLines) }

// Bytes is the number of bytes queued.
func (r *Ring) Bytes() int { return int(r.bytes.Load()) }

// Usage is the fill level in [0, 1]: the larger of the line and byte ratios.
func (r *Ring) Usage() float64 {
	u := float64(r.lines.Load()) / float64(r.capLines)
	if r.capBytes > 0 {
		if ub := float64(r.bytes.Load()) / float64(r.capBytes); ub > u {
			u = ub
		}
	}
	return u
}

// Push queues b; a batch without lines is recycled at once. Ownership of b
// passes to the ring whatever the outcome: a rejected or evicted batch goes
// to OnDrop and back to the pool.
//
// When the ring is full, Push waits for room. Under the Block policy it
// waits until there is room, ctx is done or the ring is closed, whatever
// wait says. Under the drop policies it waits at most wait, a bound the
// caller sets by what its sender can bear (a TCP or HTTP client is held
// back, a UDP one is not and passes 0): then DropOldest evicts and
// DropNewest rejects, as they do at once when wait is 0 or less. If ctx
// ends or the ring is closed while it waits, Push returns ctx's error or
// ErrClosed, having dropped b through OnDrop.
//
// Admitting a batch into a ring with room takes no lock, timer or
// allocation.
func (r *Ring) Push(ctx context.Context, b *record.Batch, wait time.Duration) error {
	if len(b.Lines) == 0 {
		record.Put(b) // nothing to queue; an empty batch would hold a slot
		return nil
	}
	if r.closed.Load() {
		r.drop(b, ErrClosed)
		return ErrClosed
	}
	n, sz := int64(len(b.Lines)), int64(b.Footprint())
	if !r.admit(n, sz) {
		if ok, err := r.pushSlow(ctx, b, n, sz, wait); !ok {
			return err
		}
	}
	// Close may have run since the check above, and the consumer may have
	// seen an empty ring and gone: then give the room back and drop. The
	// consumer checks Len after Closed, so it either sees this reservation
	// and waits for the batch, or it left before it and we see closed here.
	if r.closed.Load() {
		r.unreserve(n, sz)
		r.drop(b, ErrClosed)
		return ErrClosed
	}
	r.enqueue(b)
	if r.consumerWaiting.Load() == 1 && r.consumerWaiting.CompareAndSwap(1, 0) {
		select {
		case r.notify <- struct{}{}:
		default:
		}
	}
	return nil
}

// holdWaiting reserves sz bytes of the room that producers waiting under a
// drop policy may hold, as much as the ring holds: past it a batch does
// not wait, and the drop policy applies at once. So however many senders
// wait, the batches they hold stay bounded (the Block policy, which never
// drops, bounds them only by its senders).
func (r *Ring) holdWaiting(sz int64) bool {
	limit := r.capBytes
	if limit <= 0 {
		limit = math.MaxInt64
	}
	if after := r.waiting.Add(sz); after > limit && after != sz {
		r.waiting.Add(-sz)
		return false
	}
	return true
}

// errWaitOver is pushSlow's signal that a bounded wait for room ran out.
var errWaitOver = errors.New("overflow wait over")

// pushSlow handles a full ring: it waits for room as the policy and wait
// allow, then evicts or rejects. It reports whether room for b is now
// reserved; if not, b went to OnDrop, and err is what Push returns (nil
// when DropNewest rejected b).
func (r *Ring) pushSlow(ctx context.Context, b *record.Batch, n, sz int64, wait time.Duration) (ok bool, err error) {
	var expire <-chan time.Time // the bounded wait's end; nil: none
	if r.policy != Block && wait > 0 && r.holdWaiting(sz) {
		defer r.waiting.Add(-sz)
		t := time.NewTimer(wait)
		defer t.Stop()
		expire = t.C
	}
	waited := false
	for !r.admit(n, sz) {
		if r.policy == Block || expire != nil {
			if !waited {
				waited = true
				r.OnWait()
			}
			err := r.waitRoom(ctx, n, sz, expire)
			if err == nil {
				continue
			}
			if !errors.Is(err, errWaitOver) {
				r.drop(b, err)
				return false, err
			}
			expire = nil // waited long enough: the drop policy applies
		}
		switch r.policy {
		case DropNewest:
			r.drop(b, nil)
			return false, nil
		case DropOldest:
			if old := r.TryPop(); old != nil {
				r.drop(old, nil)
			}
			// Another producer or the consumer may have emptied the ring
			// meanwhile; admit decides again.
		}
	}
	return true, nil
}

// admit reserves room for n lines and sz bytes. A batch larger than the whole
// ring is admitted when the ring is empty, so it cannot wait forever.
func (r *Ring) admit(n, sz int64) bool {
	for {
		cur := r.lines.Load()
		if cur+n > r.capLines && cur != 0 {
			return false
		}
		if r.lines.CompareAndSwap(cur, cur+n) {
			break
		}
	}
	if r.capBytes > 0 {
		if after := r.bytes.Add(sz); after > r.capBytes && after != sz {
			r.unreserve(n, sz)
			return false
		}
	}
	return true
}

func (r *Ring) unreserve(n, sz int64) {
	if r.capBytes > 0 {
		r.bytes.Add(-sz)
	}
	r.lines.Add(-n)
}

// enqueue stores b in the next slot. Admission guarantees a free slot: the
// ring has at least as many slots as its line capacity, and each batch holds
// at least one line (an oversize batch is admitted only into an empty ring).
func (r *Ring) enqueue(b *record.Batch) {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch dif := int64(s.seq.Load()) - int64(pos); {
		case dif == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.b = b
				s.seq.Store(pos + 1)
				return
			}
			pos = r.tail.Load()
		case dif < 0:
			// A popper has claimed this slot but not yet released it.
			pos = r.tail.Load()
		default:
			pos = r.tail.Load()
		}
	}
}

// TryPop removes and returns the oldest batch, or nil when the ring is empty.
func (r *Ring) TryPop() *record.Batch {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		switch dif := int64(s.seq.Load()) - int64(pos+1); {
		case dif == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				b := s.b
				s.b = nil
				s.seq.Store(pos + r.mask + 1)
				r.release(b)
				return b
			}
			pos = r.head.Load()
		case dif < 0:
			return nil // empty, or a push is still being published
		default:
			pos = r.head.Load()
		}
	}
}

// release returns b's share of the capacity and wakes blocked producers.
func (r *Ring) release(b *record.Batch) {
	r.unreserve(int64(len(b.Lines)), int64(b.Footprint()))
	if r.producersBlocked.Load() > 0 {
		r.wakeProducers()
	}
}

func (r *Ring) wakeProducers() {
	r.mu.Lock()
	close(r.room)
	r.room = make(chan struct{})
	r.producersBlocked.Store(0)
	r.mu.Unlock()
}

// waitRoom sleeps until some room frees up, or expire fires (errWaitOver).
// It registers as blocked before checking again, so a concurrent release
// either is seen here or sees us.
func (r *Ring) waitRoom(ctx context.Context, n, sz int64, expire <-chan time.Time) error {
	r.mu.Lock()
	r.producersBlocked.Add(1)
	room := r.room
	r.mu.Unlock()
	if r.fits(n, sz) {
		return nil
	}
	select {
	case <-room:
		return nil
	case <-r.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	case <-expire:
		return errWaitOver
	}
}

func (r *Ring) fits(n, sz int64) bool {
	cur := r.lines.Load()
	if cur != 0 && cur+n > r.capLines {
		return false
	}
	if b := r.bytes.Load(); r.capBytes > 0 && b != 0 && b+sz > r.capBytes {
		return false
	}
	return true
}

func (r *Ring) drop(b *record.Batch, cause error) {
	r.OnDrop(b, cause)
	record.Put(b)
}

// Wait sleeps until a batch may be available, the wake channel fires, or
// timeout (a channel, nil for none) fires. It returns at once when the ring
// is not empty. Only one goroutine (the consumer) may call Wait.
func (r *Ring) Wait(timeout <-chan time.Time, wake <-chan struct{}) {
	r.consumerWaiting.Store(1)
	if r.lines.Load() > 0 || r.closed.Load() {
		r.consumerWaiting.Store(0)
		return
	}
	select {
	case <-r.notify:
	case <-timeout:
	case <-wake:
	case <-r.done:
	}
	r.consumerWaiting.Store(0)
}

// Close rejects further pushes and wakes every waiter. Batches already queued
// stay poppable, so the consumer can drain them.
func (r *Ring) Close() {
	if r.closed.Swap(true) {
		return
	}
	close(r.done)
}

// Closed reports whether Close was called.
func (r *Ring) Closed() bool { return r.closed.Load() }
