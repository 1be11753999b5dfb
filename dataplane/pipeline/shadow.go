package pipeline

import (
	"fmt"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// shadowChain is a chain that runs beside the live one on the same lines,
// to count what it would do, and whose output is discarded.
//
// Each worker runs it on the batches it pops, after the live chain: it
// copies the batch's line headers first (not the bytes: processors never
// write into a batch's Data, and they append rewrites to Scratch without
// overwriting what is there), and runs the shadow on its own batch whose
// Scratch takes the shadow's rewrites. So the live lines, and what the
// outputs receive, are never touched. Its cost is bounded by
// Options.ShadowCPU, and it does not run while the breaker is open.
type shadowChain struct {
	chain *processor.Chain
	m     *metrics.Shadow
}

// maxShadowScratch caps the Scratch a worker's shadow batch keeps between
// batches.
const maxShadowScratch = 256 << 10

// SetShadow runs chain, the processors of the shadow manifest version,
// beside the live chain from the next batch on, with counters of its own
// (metrics.Metrics.StartShadow); a nil chain stops the shadow. Steps are
// given new counters: the chain must not be in use elsewhere.
func (p *Pipeline) SetShadow(version string, chain *processor.Chain) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shadowErr.Store(nil)
	if chain == nil {
		p.shadow.Store(nil)
		p.m.StopShadow()
		return
	}
	m := p.m.StartShadow(version)
	steps := append([]processor.Step(nil), chain.Steps()...)
	for i := range steps {
		s := &steps[i]
		s.Filtered, s.FilteredBytes, s.Rewritten, s.RewrittenBy = m.Dropped(s.ID), m.DroppedBytes(s.ID), nil, nil
		if _, ok := s.P.(processor.Rewriter); ok {
			s.Rewritten = m.Redacted(s.ID)
		}
	}
	p.shadow.Store(&shadowChain{chain: processor.NewChain(steps...), m: m})
}

// shadowFailed stops sh, whose chain panicked with r, unless another
// shadow replaced it already, and keeps why for ShadowError.
func (p *Pipeline) shadowFailed(sh *shadowChain, r any) {
	why := fmt.Sprintf("a rule panicked: %v; the shadow was stopped", r)
	if p.shadow.CompareAndSwap(sh, nil) {
		p.shadowErr.Store(&why)
		p.log.Error("shadow manifest stopped: a rule panicked; the live chain is unaffected", "version", sh.m.Version, "panic", r)
	}
}

// ShadowError says why the shadow stopped by itself, "" when it did not.
func (p *Pipeline) ShadowError() string {
	if e := p.shadowErr.Load(); e != nil {
		return *e
	}
	return ""
}

// Shadow returns the counters of the shadow running, or nil.
func (p *Pipeline) Shadow() *metrics.Shadow {
	if sh := p.shadow.Load(); sh != nil {
		return sh.m
	}
	return nil
}

// shadowFor returns the shadow chain to run on b after the live chain, and
// keeps b's line headers for it; nil when there is none, or it must skip
// b: the breaker is open, or the worker spent its shadow budget this
// second (its lines are counted as skipped).
func (w *worker) shadowFor(b *record.Batch, overloaded bool) *shadowChain {
	sh := w.p.shadow.Load()
	if sh == nil {
		return nil
	}
	if overloaded || !w.shadowAllowed() {
		sh.m.Skipped.Add(len(b.Lines))
		return nil
	}
	if w.sb == nil {
		w.sb = new(record.Batch)
	}
	w.sb.Lines = append(w.sb.Lines[:0], b.Lines...)
	return sh
}

// shadowAllowed reports whether the worker may run the shadow now: it
// spent less than Options.ShadowCPU of the current second on it.
func (w *worker) shadowAllowed() bool {
	budget := w.p.opts.ShadowCPU
	if budget >= 1 {
		return true
	}
	now := w.now()
	if now.Sub(w.shadowFrom) >= time.Second {
		w.shadowFrom, w.shadowSpent = now, 0
	}
	return w.shadowSpent < time.Duration(budget*float64(time.Second))
}

// runShadow runs sh on the lines shadowFor kept, counts what it did, and
// lets go of them: they point into a batch the worker hands on next. A
// shadow rule that panics stops the shadow (shadowFailed), not the worker.
func (w *worker) runShadow(sh *shadowChain) {
	timed := w.p.opts.ShadowCPU < 1
	var start time.Time
	if timed {
		start = w.now()
	}
	sb := w.sb
	n := len(sb.Lines)
	defer func() {
		if r := recover(); r != nil {
			clear(sb.Lines[:cap(sb.Lines)])
			sb.Lines, sb.Scratch = sb.Lines[:0], sb.Scratch[:0]
			w.p.shadowFailed(sh, r)
		}
	}()
	_, in, out := sh.chain.RunSized(sb, false)
	sh.m.LinesIn.Add(n)
	sh.m.BytesIn.Add(in)
	sh.m.LinesOut.Add(len(sb.Lines))
	sh.m.BytesOut.Add(out)
	clear(sb.Lines[:n])
	sb.Lines = sb.Lines[:0]
	if cap(sb.Scratch) > maxShadowScratch {
		sb.Scratch = nil
	}
	sb.Scratch = sb.Scratch[:0]
	if timed {
		w.shadowSpent += w.now().Sub(start)
	}
}
