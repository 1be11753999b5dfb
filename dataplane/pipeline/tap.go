package pipeline

import (
	"sync"

	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// The admin tap (package tap): while a tap is attached to Options.Tap, a
// worker runs its chain traced and offers the hub what each rule did to
// each line. Without one, the worker pays the one atomic load of
// tap.Hub.Active per batch.

var tracePool = sync.Pool{New: func() any { return new(processor.Trace) }}

// processTapped runs the chain on b, traced, counts the lines the breaker
// let skip rules, and offers the result to the tap hub.
func (w *worker) processTapped(b *record.Batch, overloaded bool) {
	p, g := w.p, w.gen
	tr := tracePool.Get().(*processor.Trace)
	n := len(b.Lines)
	skipped, in := g.cfg.Chain.RunTraced(b, overloaded, tr)
	if skipped {
		p.m.Bypassed.Add(n)
	}
	p.m.BytesProcessed.Add(in)
	names := make([]string, len(g.outs))
	for i, r := range g.outs {
		names[i] = r.name
	}
	p.opts.Tap.Offer(g.cfg.Chain.Steps(), tr, b, names, skipped)
	tracePool.Put(tr)
}

// Rules returns the ids of the rules running now, in order.
func (p *Pipeline) Rules() []string {
	steps := p.cur.Load().cfg.Chain.Steps()
	ids := make([]string, len(steps))
	for i, s := range steps {
		ids[i] = s.ID
	}
	return ids
}

// OutputNames returns the names of the outputs running now, in order.
func (p *Pipeline) OutputNames() []string {
	outs := p.cur.Load().outs
	names := make([]string, len(outs))
	for i, r := range outs {
		names[i] = r.name
	}
	return names
}
