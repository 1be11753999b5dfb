package record

import (
	"slices"
	"sync/atomic"
)

// Ack lets a sender wait for its lines to be settled: each filtered or
// sampled away, or taken by every output of the configuration that
// processed it (persisted to its disk buffer, or delivered by an output
// that queues in memory). HTTP ingest with ?ack=durable waits on one.
//
// An Ack counts references: its creator's, and one for each batch that
// carries some of its lines (Batch.Ack, Batch.AckFor). A batch settles its
// references when its lines are settled (Batch.SettleAcks); a batch
// recycled without that (dropped: buffer full, shutdown) fails them. The
// Ack is done when the last reference goes, and OK unless one failed.
type Ack struct {
	refs   atomic.Int64
	failed atomic.Bool
	done   chan struct{}
	fn     func(ok bool) // see NewAckFunc; nil for none
}

// NewAck returns an Ack holding its creator's reference, which Release
// drops once every batch that carries its lines was handed on.
func NewAck() *Ack {
	a := &Ack{done: make(chan struct{})}
	a.refs.Store(1)
	return a
}

// NewAckFunc returns an Ack like NewAck's that, when its last reference
// goes, calls fn with what OK then reports, before Done is closed. fn runs
// on the goroutine that drops that reference (an output's, often): it must
// be quick and must not block.
func NewAckFunc(fn func(ok bool)) *Ack {
	a := NewAck()
	a.fn = fn
	return a
}

// Release drops a reference; ok false fails the Ack.
func (a *Ack) Release(ok bool) {
	if !ok {
		a.failed.Store(true)
	}
	if a.refs.Add(-1) == 0 {
		if a.fn != nil {
			a.fn(!a.failed.Load())
		}
		close(a.done)
	}
}

// Done is closed once every reference is released.
func (a *Ack) Done() <-chan struct{} { return a.done }

// OK reports whether no reference failed; it is final once Done is
// closed.
func (a *Ack) OK() bool { return !a.failed.Load() }

// Ack makes b carry some lines of a: b takes a reference, which
// SettleAcks or recycling b releases.
func (b *Batch) Ack(a *Ack) {
	a.refs.Add(1)
	b.acks = append(b.acks, a)
}

// Acked reports whether b carries lines someone waits for.
func (b *Batch) Acked() bool { return len(b.acks) != 0 }

// AckFor makes b carry lines of src: b takes a reference to each Ack of
// src it does not carry yet.
func (b *Batch) AckFor(src *Batch) {
	for _, a := range src.acks {
		if !slices.Contains(b.acks, a) {
			b.Ack(a)
		}
	}
}

// SettleAcks releases b's references: ok when its lines are settled, false
// when they are lost.
func (b *Batch) SettleAcks(ok bool) {
	for i, a := range b.acks {
		a.Release(ok)
		b.acks[i] = nil
	}
	b.acks = b.acks[:0]
}
