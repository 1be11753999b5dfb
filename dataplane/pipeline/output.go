package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/deadletter"
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
	// dead is where the batches its destination refuses for good go;
	// deadLettered counts their lines, deadFull those it could not take.
	dead         *deadletter.File
	deadLettered *vm.Counter
	deadFull     *vm.Counter
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

		dead:         p.dlq.File(name),
		deadLettered: p.m.DeadLettered(name),
		deadFull:     p.m.OutputDropped(name, metrics.ReasonDeadLetterFull),
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
// it waits for room (sendBlocking), under the drop policies it never waits
// (sendOrDrop).
func (l *lane) send(sb *shared, block bool, stop <-chan struct{}) {
	if block {
		l.sendBlocking(sb, stop)
		return
	}
	l.sendOrDrop(sb)
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

// sendOrDrop queues sb unless the output is behind: when its queue is at
// its memory limit, or the lane's slots are all taken, sb is dropped for
// this output only and counted (reason queue_full). It never blocks. An
// empty queue takes any batch, so a batch larger than the limit still gets
// through.
func (l *lane) sendOrDrop(sb *shared) {
	runner, sz := l.runner, int64(sb.b.Footprint())
	if after := runner.queued.Add(sz); after <= runner.limit || after == sz {
		l.queued.Add(sz)
		select {
		case l.ch <- sb:
			return
		default: // every slot taken
		}
		l.queued.Add(-sz)
	}
	runner.queued.Add(-sz)
	runner.queueFull.Add(len(sb.b.Lines))
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
// is closed. For each batch it counts the lines as delivered, or settles a
// failed Write (writeFailed: failed, rejected, dead letters), gives the
// batch's room back to the worker and drops its reference: the last output
// done with a batch recycles it.
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
			p.writeFailed(runner, sb.b, err, &lastLog)
		} else {
			runner.delivered.Add(n)
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
