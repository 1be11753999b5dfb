package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// outputRunner is a running output: the output, one lane per worker feeding
// it, and its counters. Generations share runners; the last generation to
// stop using one stops it.
type outputRunner struct {
	key   string
	name  string
	out   output.Output
	lanes []*lane
	gens  int // live generations using it; Pipeline.mu

	queued atomic.Int64 // bytes of the batches in its lanes
	limit  int64

	delivered *vm.Counter
	failed    *vm.Counter
	rejected  *vm.Counter
	queueFull *vm.Counter
	abandoned *vm.Counter // reason shutdown
	waits     *vm.Counter // batches held back for room while it delivered
	// pii counts the egress audit's findings by detector, in the order of
	// auditors; nil when the audit is off.
	pii []*vm.Counter
}

// laneSlots is the channel capacity of a lane. Memory is bounded by the
// runner's byte limit, which binds first for all but tiny batches.
const laneSlots = 1024

// lane carries one worker's batches to one output, in order.
type lane struct {
	runner *outputRunner
	id     int // the worker's
	ch     chan *shared

	// queued is the bytes of the batches in ch or being written. Under
	// Block a lane may queue its share of the runner's limit: its worker
	// waits for room, and runLane pokes room as batches finish.
	queued atomic.Int64
	room   chan struct{}
	// progress is when the lane last showed that its output moves, in
	// Unix nanoseconds: a batch delivered (or answered for, line by
	// line), or a batch queued while the lane was idle.
	progress atomic.Int64
}

// startOutput starts out running under key, its counters and log lines
// named name: one lane goroutine per worker, and one that closes out once
// every lane has delivered what it queued. Pipeline.mu should be held.
func (p *Pipeline) startOutput(key, name string, out output.Output) *outputRunner {
	p.names[name]++
	runner := &outputRunner{
		key:       key,
		name:      name,
		out:       out,
		limit:     int64(p.opts.OutputQueueBytes),
		delivered: p.m.Delivered(name),
		failed:    p.m.OutputDropped(name, metrics.ReasonOutputFailed),
		rejected:  p.m.OutputDropped(name, metrics.ReasonRejected),
		queueFull: p.m.OutputDropped(name, metrics.ReasonQueueFull),
		abandoned: p.m.OutputDropped(name, metrics.ReasonShutdown),
		waits:     p.m.OutputWaits(name),
	}
	if p.opts.AuditEvery > 0 {
		for _, a := range p.auditor.auditors {
			runner.pii = append(runner.pii, p.m.EgressPII(a.name, name))
		}
	}
	var wg sync.WaitGroup
	for i := range p.opts.Workers {
		l := &lane{runner: runner, id: i, ch: make(chan *shared, laneSlots), room: make(chan struct{}, 1)}
		runner.lanes = append(runner.lanes, l)
		wg.Add(1)
		p.lanesWG.Add(1)
		go func() {
			defer p.lanesWG.Done()
			defer wg.Done()
			p.runLane(l)
		}()
	}
	p.lanesWG.Add(1)
	go func() {
		defer p.lanesWG.Done()
		wg.Wait()
		if err := out.Close(); err != nil {
			p.log.Error("cannot close output", "output", name, "err", err)
		}
		p.outputClosed(name)
	}()
	return runner
}

// stop lets the lanes deliver what they queued, then closes the output.
// Pipeline.mu should be held, and no worker may still send to r.
func (r *outputRunner) stop() {
	for _, l := range r.lanes {
		close(l.ch)
	}
}

// send queues sb on the lane, or drops it for this output only; either way
// the lane takes over the worker's reference to sb. Under the Block policy
// it waits for room as long as it takes (sendBlocking); under the drop
// policies it queues sb at once when there is room, and otherwise waits for
// room at most budget, and only while the output delivers (sendSlow). It
// returns how long it waited under the drop policies.
func (l *lane) send(sb *shared, block bool, stall, budget time.Duration, stop <-chan struct{}) time.Duration {
	if block {
		l.sendBlocking(sb, stop)
		return 0
	}
	if l.tryQueue(sb, false) {
		return 0
	}
	return l.sendSlow(sb, stall, budget, stop)
}

// sendBlocking queues sb once the lane is under its share of the output's
// memory limit, so a lagging output slows ingest down (TCP backpressure)
// rather than losing lines. Each lane waits for its own share, so one
// worker's backlog cannot hold another's room. It gives up only when stop
// comes first, when Close runs out of time: then sb is dropped for this
// output and counted (reason shutdown).
func (l *lane) sendBlocking(sb *shared, stop <-chan struct{}) {
	sz := int64(sb.b.Footprint())
	if l.waitRoom(stop) {
		l.addQueued(sz)
		select {
		case l.ch <- sb:
			return
		case <-stop:
		}
		l.addQueued(-sz)
	}
	l.runner.abandoned.Add(len(sb.b.Lines))
	sb.unref()
}

// waitRoom waits until the lane's queue is under its share of the limit,
// so a lane holds at most its share and one batch, however large the
// batches are. It reports false if stop came first.
func (l *lane) waitRoom(stop <-chan struct{}) bool {
	share := max(1, l.runner.limit/int64(len(l.runner.lanes)))
	for l.queued.Load() >= share {
		select {
		case <-l.room:
		case <-stop:
			return false
		}
	}
	return true
}

// tryQueue queues sb unless the output is behind: when its queue is at its
// memory limit, or the lane's slots are all taken, it reports false and
// sb is still the caller's. It never blocks. An empty queue takes any
// batch, so a batch larger than the limit still gets through; with
// laneEmpty, so does the lane's own empty queue.
func (l *lane) tryQueue(sb *shared, laneEmpty bool) bool {
	runner, sz := l.runner, int64(sb.b.Footprint())
	if after := runner.queued.Add(sz); after <= runner.limit || after == sz || laneEmpty && l.queued.Load() == 0 {
		l.queue(sz)
		select {
		case l.ch <- sb:
			return true
		default: // every slot taken
		}
		l.queued.Add(-sz)
	}
	runner.queued.Add(-sz)
	return false
}

// queue adds sz bytes to the lane's queued bytes. A lane that was idle
// shows progress from now: its output has had nothing to deliver.
func (l *lane) queue(sz int64) {
	if l.queued.Add(sz) == sz {
		l.progress.Store(time.Now().UnixNano())
	}
}

// sendSlow handles a full queue under the drop policies. While the output
// keeps delivering, the worker waits for room, at most budget, and then
// queues sb: a burst that outruns an output slows the pipeline down, and
// through its ring the senders, rather than losing lines. sb is dropped
// for this output only and counted (queue_full) once budget is spent, or
// once the lane has shown no progress (a batch delivered, or queued while
// it was idle) for stall. So an output that stalls or fails costs the
// pipeline at most one stall, then nothing, until it delivers again; the
// other outputs go on. It returns how long it waited.
//
// The lane may queue once the output is back within its limit, or when its
// own queue is empty: memory stays within the limit and a batch per lane.
func (l *lane) sendSlow(sb *shared, stall, budget time.Duration, stop <-chan struct{}) time.Duration {
	start := time.Now()
	// left is how long the worker may still wait: the budget, and no
	// longer than the lane may stay without progress.
	left := func(now time.Time) time.Duration {
		return min(budget-now.Sub(start), stall-l.stalledFor(now))
	}
	d := left(start)
	if d <= 0 {
		l.dropFull(sb)
		return 0
	}
	l.runner.waits.Inc()
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		// Room comes back as this lane's batches finish; when the lane has
		// none, the output's queue is held by the other workers' lanes, and
		// it takes one batch all the same.
		if l.tryQueue(sb, true) {
			return time.Since(start)
		}
		select {
		case <-l.room:
		case <-t.C:
			now := time.Now()
			if d := left(now); d > 0 {
				t.Reset(d)
				continue
			}
			l.dropFull(sb)
			return now.Sub(start)
		case <-stop: // Close gave up
			l.runner.abandoned.Add(len(sb.b.Lines))
			sb.unref()
			return time.Since(start)
		}
	}
}

// stalledFor is how long before now the lane last showed progress.
func (l *lane) stalledFor(now time.Time) time.Duration {
	return time.Duration(now.UnixNano() - l.progress.Load())
}

// dropFull drops sb for this output, its queue full (queue_full).
func (l *lane) dropFull(sb *shared) {
	l.runner.queueFull.Add(len(sb.b.Lines))
	sb.unref()
}

// addQueued adds sz bytes, negative to take them off, to the queued bytes
// of the lane and of its output.
func (l *lane) addQueued(sz int64) {
	l.queued.Add(sz)
	l.runner.queued.Add(sz)
}

// errLogEvery rate-limits the log line about a failing output.
const errLogEvery = 5 * time.Second

// runLane writes the lane's batches to its output, in order, until the lane
// is closed. For each batch it counts the lines as delivered or failed,
// gives the batch's room back to the worker and drops its reference: the
// last output done with a batch recycles it.
func (p *Pipeline) runLane(l *lane) {
	runner := l.runner
	write := runner.out.Write
	if lw, ok := runner.out.(output.LaneWriter); ok {
		write = func(ctx context.Context, b *record.Batch) error { return lw.WriteLane(ctx, l.id, b) }
	}
	var lastLog time.Time
	for sb := range l.ch {
		n, sz := len(sb.b.Lines), int64(sb.b.Footprint())
		if err := write(p.laneCtx, sb.b); err != nil {
			// A destination that answered for each line kept those it did
			// not refuse.
			var rej *output.RejectedError
			if errors.As(err, &rej) {
				refused := min(rej.Rejected, n)
				runner.delivered.Add(n - refused)
				runner.rejected.Add(refused)
				l.progress.Store(time.Now().UnixNano())
			} else {
				runner.failed.Add(n)
			}
			if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
				lastLog = now
				p.log.Error("output dropped a batch", "output", runner.name, "lines", n, "err", err)
			}
		} else {
			runner.delivered.Add(n)
			l.progress.Store(time.Now().UnixNano())
		}
		l.addQueued(-sz)
		select {
		case l.room <- struct{}{}:
		default:
		}
		if l.queued.Load() == 0 && l.id < len(p.workers) {
			p.workers[l.id].poke() // it may be lingering for this lane
		}
		sb.unref()
	}
}
