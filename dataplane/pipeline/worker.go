package pipeline

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// defaultWorkers is the number of workers when Options leaves it 0: one per P.
func defaultWorkers() int { return runtime.GOMAXPROCS(0) }

// maxBatchBytes flushes an output batch early when its lines are long, so
// batch_size 10000 of 1 MiB lines cannot build a 10 GiB batch.
const maxBatchBytes = 4 << 20

// worker drains one ring. Only its own goroutine touches its fields.
type worker struct {
	p    *Pipeline
	id   int
	ring *buffer.Ring
	wake chan struct{} // poked by Apply

	gen      *generation
	pending  *record.Batch // kept lines not yet flushed
	deadline time.Time     // when pending must be flushed
	first    time.Time     // when the first line of pending came
	open     bool          // breaker state

	// Overload. An episode (hot) starts at a breaker check that finds the
	// ring at or above the open level (full), and ends at one that finds
	// it has stayed below for BreakerDelay, since lastFull. hotFor is the
	// time the ring has been full in the episode, the worker processing,
	// and hotWait the time it spent waiting for room in output queues
	// with the ring full, both as of hotAt, the last check. outWait is
	// what it spent waiting for output queues since then.
	hot, full       bool
	hotAt, lastFull time.Time
	hotFor, hotWait time.Duration
	outWait         time.Duration
	now             func() time.Time // time.Now; a test's own clock

	// The egress audit: emitted counts the lines this worker handed to the
	// outputs, and auditAt is the index, in the next batch flushed, of the
	// next line to scan.
	emitted uint64
	auditAt int

	// The shadow chain (shadow.go): sb carries the lines it runs on, and
	// shadowSpent is the time it took in the window that began at
	// shadowFrom.
	sb          *record.Batch
	shadowSpent time.Duration
	shadowFrom  time.Time
}

// poke wakes the worker if it is waiting, so it notices a new generation,
// or that an output it lingers for has finished its batches.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// run pops and processes batches until the ring is closed and drained,
// flushing pending lines when they are due, then flushes the rest and
// releases the last generation.
func (w *worker) run() {
	defer w.p.wg.Done()
	p := w.p
	w.pending = getPending()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		if g := p.cur.Load(); g != w.gen {
			w.switchTo(g)
		}
		b := w.ring.TryPop()
		if b != nil {
			select {
			case <-p.laneCtx.Done(): // Close gave up: count, don't process
				p.m.Dropped(metrics.ReasonShutdown).Add(len(b.Lines))
				record.Put(b)
			default:
				w.process(b)
			}
			continue
		}
		if w.ring.Closed() && w.ring.Len() == 0 {
			break
		}
		if len(w.pending.Lines) == 0 {
			w.ring.Wait(nil, w.wake)
			continue
		}
		if w.gen.stream {
			// Nothing more to process now: holding the lines back would
			// add latency and save streaming outputs nothing.
			w.flush()
			continue
		}
		d := time.Until(w.due())
		if d <= 0 {
			w.flush()
			continue
		}
		timer.Reset(d)
		w.ring.Wait(timer.C, w.wake)
		timer.Stop()
	}
	// Apply is refused once the rings are closed, so p.cur is final here.
	if g := p.cur.Load(); g != w.gen {
		w.switchTo(g)
	}
	w.flush()
	p.release(w.gen)
	putPending(w.pending)
	w.setOpen(false)
}

// switchTo flushes what the current generation processed to its outputs,
// then moves to g, releasing every generation on the way.
func (w *worker) switchTo(g *generation) {
	w.flush()
	for w.gen != g {
		old := w.gen
		w.gen = old.next.Load()
		w.p.release(old)
	}
}

// process runs the chain on b and moves the kept lines to pending output
// batches; the worker owns b no longer when it returns.
func (w *worker) process(b *record.Batch) {
	p, cfg := w.p, w.gen.cfg
	overloaded := w.breaker()
	n := len(b.Lines)
	sh := w.shadowFor(b, overloaded)
	if overloaded && cfg.BypassAll {
		p.m.Bypassed.Add(n)
		p.m.BytesProcessed.Add(b.Size())
	} else if p.opts.Tap.Active() {
		w.processTapped(b, overloaded)
	} else {
		skipped, in := cfg.Chain.RunCounting(b, overloaded)
		if skipped {
			p.m.Bypassed.Add(n)
		}
		p.m.BytesProcessed.Add(in)
	}
	if sh != nil {
		w.runShadow(sh)
	}
	w.moveToPending(b)
}

// breaker updates the fail-open state from the ring's fill level, with
// hysteresis and a delay: it opens once the ring has been at or above
// BreakerOpen for longer than BreakerDelay of the worker's processing, in
// all since it was last below for as long, and closes only at
// BreakerClose. Under overload the ring fills and drains many times a
// second as goroutines take turns on the CPUs, so a dip below BreakerOpen
// does not start the delay afresh; a quiet spell as long as the delay
// does. Time spent waiting for room in an output's queue does not count
// (see Options.BreakerDelay), but it is bounded too (see outputWait). So a
// burst that the ring absorbs never skips a rule, and sustained overload
// still fails open.
//
// The clock is read only while the ring is full or was lately: a worker
// that keeps up pays nothing.
//
// Under the Block policy the breaker stays closed: a full ring slows the
// senders down and loses nothing, so there is nothing to trade filtering for.
func (w *worker) breaker() bool {
	o := &w.p.opts
	if o.Overflow == buffer.Block {
		return false
	}
	u := w.ring.Usage()
	full := u >= o.BreakerOpen
	if full || w.hot {
		now := w.now()
		switch {
		case !w.hot:
			w.hot, w.hotFor, w.hotWait = true, 0, 0
		case w.full: // full at the last check: count the time since
			w.hotFor += max(0, now.Sub(w.hotAt)-w.outWait)
			w.hotWait += w.outWait
		}
		w.hotAt, w.full = now, full
		if full {
			w.lastFull = now
		} else if now.Sub(w.lastFull) > o.BreakerDelay {
			w.hot = false
		}
	}
	w.outWait = 0
	switch {
	case w.open:
		if u <= o.BreakerClose {
			w.setOpen(false)
			w.p.log.Info("breaker closed", "worker", w.id, "buffer_usage", u)
		}
	case full && (o.BreakerDelay <= 0 || w.hotFor > o.BreakerDelay):
		w.setOpen(true)
		w.p.m.BreakerOpened.Inc()
		w.p.log.Warn("breaker open: processors bypassed", "worker", w.id, "buffer_usage", u,
			"overloaded_for", w.hotFor, "waited_for_outputs", w.hotWait)
	}
	return w.open
}

// outputWait is how long, at most, the worker may still wait for room in
// output queues now, under the drop policies: OverflowWait for each batch
// while its ring has room; while the ring is at or above the breaker's
// open level, OverflowWait in all over the overload episode; nothing while
// the breaker is open. The ring, and the senders' own wait for it, absorb
// a burst that outruns an output; past that the overload is sustained, and
// the output's batches are dropped (queue_full) rather than holding the
// pipeline back any longer.
func (w *worker) outputWait() time.Duration {
	wait := max(0, w.p.opts.OverflowWait)
	switch {
	case w.open:
		return 0
	case w.hot && w.full:
		return max(0, wait-w.hotWait-w.outWait)
	}
	return wait
}

// setOpen sets the breaker state and keeps the pipeline's count of open
// breakers in step.
func (w *worker) setOpen(open bool) {
	if w.open == open {
		return
	}
	w.open = open
	if open {
		w.p.open.Add(1)
	} else {
		w.p.open.Add(-1)
	}
}

// due is when the pending lines must be flushed, once the worker has
// nothing more to process: their deadline, or the generation's linger
// after the first of them when every output is idle, with no batch of this
// worker queued or in flight (see output.Lingerer). A lane that finishes
// its batches pokes its worker, which so notices that its outputs went
// idle.
func (w *worker) due() time.Time {
	g := w.gen
	if g.linger >= w.p.opts.FlushInterval {
		return w.deadline
	}
	for _, r := range g.outs {
		if r.busy(w.id) {
			return w.deadline
		}
	}
	return w.first.Add(g.linger)
}

// moveToPending appends b's lines to the pending output batch, flushing it
// whenever it is full (batch size or maxBatchBytes), and hands b on.
//
// A dense batch (a large read: mostly line bytes) is held by the output
// batches its lines go to, and the last of them to be recycled recycles b.
// A sparse one (a few short lines in a pooled buffer) has its lines copied,
// so it does not pin its buffer, and is recycled here.
func (w *worker) moveToPending(b *record.Batch) {
	cfg := w.gen.cfg
	held := dense(b)
	if held {
		b.Retain()
	}
	acked := b.Acked()
	var last *record.Batch // the pending batch that took b's Acks and Born
	for _, l := range b.Lines {
		pb := w.pending
		if len(pb.Lines) == 0 {
			w.first = time.Now()
			w.deadline = w.first.Add(w.p.opts.FlushInterval)
		}
		if held {
			pb.AppendHeld(b, l)
		} else {
			pb.AppendLine(l)
		}
		if pb != last {
			if acked {
				pb.AckFor(b)
			}
			if b.Born != 0 && (pb.Born == 0 || b.Born < pb.Born) {
				pb.Born = b.Born
			}
			last = pb
		}
		if len(pb.Lines) >= cfg.BatchSize || pb.Footprint() >= maxBatchBytes {
			w.flush()
			last = nil // the pool may hand the same batch back as the next pending
		}
	}
	if acked {
		// The lines the chain dropped are settled; the pending batches
		// carry the others.
		b.SettleAcks(true)
	}
	if held {
		b.Release() // the worker's reference
	} else {
		record.Put(b)
	}
}

// dense reports whether at least half of the memory b holds is line bytes.
func dense(b *record.Batch) bool {
	return 2*b.Size() >= b.Footprint()
}

// flush hands the pending batch to every output of the current generation,
// one reference each, and starts a new one. Before that, the egress audit
// scans the batch's lines that are due.
func (w *worker) flush() {
	b := w.pending
	n := len(b.Lines)
	if n == 0 {
		return
	}
	w.p.m.Emitted.Add(n)
	size := b.Size()
	w.p.m.BytesEmitted.Add(size)
	if w.auditAt < n {
		w.audit(b)
	} else {
		w.auditAt -= n
	}
	w.emitted += uint64(n)
	outs := w.gen.outs
	sb := getShared(b, len(outs))
	block := w.p.opts.Overflow == buffer.Block
	stall := max(0, w.p.opts.OverflowWait)
	for _, r := range outs {
		r.linesIn.Add(n)
		r.bytesIn.Add(size)
	}
	for _, r := range outs {
		// b may be recycled from here on.
		w.outWait += r.lanes[w.id].send(sb, block, stall, w.outputWait(), w.p.laneCtx.Done())
	}
	w.pending = getPending()
}

// shared is an output batch written by several outputs; the last one to
// finish recycles it, and settles the Acks it carries: failed when an
// output failed it.
type shared struct {
	b      *record.Batch
	refs   atomic.Int32
	failed atomic.Bool
}

// fail records that an output lost s's lines, for the Acks s carries.
func (s *shared) fail() { s.failed.Store(true) }

var sharedPool sync.Pool

// getShared returns a shared batch carrying b, with refs references.
func getShared(b *record.Batch, refs int) *shared {
	s, _ := sharedPool.Get().(*shared)
	if s == nil {
		s = new(shared)
	}
	s.b = b
	s.refs.Store(int32(refs))
	return s
}

// unref drops a reference; the last recycles the output batch and s.
func (s *shared) unref() {
	if s.refs.Add(-1) == 0 {
		if s.b.Acked() {
			s.b.SettleAcks(!s.failed.Load())
		}
		s.failed.Store(false)
		putPending(s.b)
		s.b = nil
		sharedPool.Put(s)
	}
}

// Output batches point into the dense input batches they hold and copy the
// lines of sparse ones into their Data (see moveToPending). They come from a
// pool of their own.
var pendingPool sync.Pool

// getPending returns an empty output batch.
func getPending() *record.Batch {
	if b, _ := pendingPool.Get().(*record.Batch); b != nil {
		return b
	}
	return &record.Batch{Lines: make([][]byte, 0, 128)}
}

// putPending releases what b holds and recycles it.
func putPending(b *record.Batch) {
	b.ReleaseHolds()
	if cap(b.Lines) > 16<<10 {
		return
	}
	b.Reset()
	pendingPool.Put(b)
}
