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
	open     bool          // breaker state
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

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
		d := time.Until(w.deadline)
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

// process runs the chain on b and adds the kept lines to the pending output
// batch, flushing whenever it reaches the batch size.
func (w *worker) process(b *record.Batch) {
	p, cfg := w.p, w.gen.cfg
	overloaded := w.breaker()
	n := len(b.Lines)
	if overloaded && cfg.BypassAll {
		p.m.Bypassed.Add(n)
	} else if cfg.Chain.Run(b, overloaded) {
		p.m.Bypassed.Add(n)
	}
	// A dense batch (a large read: mostly line bytes) is held by the output
	// batches its lines go to; a sparse one (a few short lines in a pooled
	// buffer) has its lines copied, so it does not pin its buffer.
	held := 0
	for _, l := range b.Lines {
		held += len(l)
	}
	dense := 2*held >= b.Footprint()
	if dense {
		b.Retain()
	}
	for _, l := range b.Lines {
		pb := w.pending
		if len(pb.Lines) == 0 {
			w.deadline = time.Now().Add(p.opts.FlushInterval)
		}
		if dense {
			pb.AppendHeld(b, l)
		} else {
			pb.AppendLine(l)
		}
		if len(pb.Lines) >= cfg.BatchSize || pb.Footprint() >= maxBatchBytes {
			w.flush()
		}
	}
	if dense {
		b.Release()
	} else {
		record.Put(b)
	}
}

// breaker updates the fail-open state from the ring's fill level, with
// hysteresis: it opens at BreakerOpen and closes only at BreakerClose.
//
// Under the Block policy the breaker stays closed: a full ring slows the
// senders down and loses nothing, so there is nothing to trade filtering for.
func (w *worker) breaker() bool {
	if w.p.opts.Overflow == buffer.Block {
		return false
	}
	u := w.ring.Usage()
	switch {
	case !w.open && u >= w.p.opts.BreakerOpen:
		w.setOpen(true)
		w.p.m.BreakerOpened.Inc()
		w.p.log.Warn("breaker open: processors bypassed", "worker", w.id, "buffer_usage", u)
	case w.open && u <= w.p.opts.BreakerClose:
		w.setOpen(false)
		w.p.log.Info("breaker closed", "worker", w.id, "buffer_usage", u)
	}
	return w.open
}

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

// flush hands the pending batch to every output of the current generation.
func (w *worker) flush() {
	b := w.pending
	n := len(b.Lines)
	if n == 0 {
		return
	}
	w.p.m.Emitted.Add(n)
	outs := w.gen.outs
	sb := getShared(b, len(outs))
	block := w.p.opts.Overflow == buffer.Block
	for _, h := range outs {
		h.lanes[w.id].send(sb, block, w.p.laneCtx.Done()) // b may be recycled from here on
	}
	w.pending = getPending()
}

// shared is an output batch written by several outputs; the last one to
// finish recycles it.
type shared struct {
	b    *record.Batch
	refs atomic.Int32
}

var sharedPool sync.Pool

func getShared(b *record.Batch, refs int) *shared {
	s, _ := sharedPool.Get().(*shared)
	if s == nil {
		s = new(shared)
	}
	s.b = b
	s.refs.Store(int32(refs))
	return s
}

func (s *shared) unref() {
	if s.refs.Add(-1) == 0 {
		putPending(s.b)
		s.b = nil
		sharedPool.Put(s)
	}
}

// Output batches own no line storage: their lines point into the input
// batches they hold. They come from a pool of their own.
var pendingPool sync.Pool

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
