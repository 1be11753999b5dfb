package pipeline

import (
	"context"
	"slices"
	"strings"
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
	p     *Pipeline
	key   string
	name  string
	out   output.Output
	lanes []*lane
	gens  int // live generations using it; Pipeline.mu

	queued atomic.Int64 // bytes of the batches in its lanes
	limit  int64
	// lines is the number of lines in its lanes: queued in memory.
	lines atomic.Int64

	// disk is the output's disk buffer, nil when it queues in memory only;
	// holding is, by deliverer, when the oldest line of the record it
	// holds was read (Unix nanoseconds), 0 when it holds none.
	disk    *diskBuffer
	holding []atomic.Int64
	aborted atomic.Bool // see abort

	delivered *vm.Counter
	failed    *vm.Counter
	rejected  *vm.Counter
	queueFull *vm.Counter
	abandoned *vm.Counter // reason shutdown
	// latency and batchLines are the output's histograms: read to
	// delivered, and lines per batch written (or persisted).
	latency, batchLines *vm.PrometheusHistogram
	lastLatency         atomic.Int64 // ns, of the last batch delivered
	recent              latencyWindow
	// dead is where the batches its destination refuses for good go;
	// deadLettered counts their lines, deadFull those it could not take.
	dead         *deadletter.File
	deadLettered *vm.Counter
	deadFull     *vm.Counter
	waits        *vm.Counter // batches held back for room while it delivered
	// linesIn and bytesIn count the lines, and their bytes, handed to the
	// output; bytesOut the bytes its destination accepted (output.
	// WithWireCounter).
	linesIn, bytesIn, bytesOut *vm.Counter
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
// named name: one lane goroutine per worker, which writes to the output or,
// with a disk buffer d, persists to d while as many deliverers write from
// it (disk.go); and one goroutine that closes out once every lane and
// deliverer is done. Pipeline.mu should be held.
func (p *Pipeline) startOutput(key, name string, out output.Output, d *diskBuffer) *outputRunner {
	p.names[name]++
	runner := &outputRunner{
		p:         p,
		key:       key,
		name:      name,
		out:       out,
		disk:      d,
		limit:     p.queueLimit(d),
		delivered: p.m.Delivered(name),
		failed:    p.m.OutputDropped(name, metrics.ReasonOutputFailed),
		rejected:  p.m.OutputDropped(name, metrics.ReasonRejected),
		queueFull: p.m.OutputDropped(name, metrics.ReasonQueueFull),
		abandoned: p.m.OutputDropped(name, metrics.ReasonShutdown),

		latency:    p.m.OutputHistogram(name, metrics.OutputLatency, metrics.LatencyBuckets),
		batchLines: p.m.OutputHistogram(name, metrics.OutputBatchLines, metrics.BatchLinesBuckets),

		dead:         p.dlq.File(name),
		deadLettered: p.m.DeadLettered(name),
		deadFull:     p.m.OutputDropped(name, metrics.ReasonDeadLetterFull),
		waits:        p.m.OutputWaits(name),
	}
	runner.linesIn, runner.bytesIn, runner.bytesOut = p.m.OutputSavings(name)
	if p.opts.AuditEvery > 0 {
		for _, a := range p.auditor.auditors {
			runner.pii = append(runner.pii, p.m.EgressPII(a.name, name))
		}
	}
	var lanes, deliverers sync.WaitGroup
	for i := range p.opts.Workers {
		runner.lanes = append(runner.lanes, &lane{runner: runner, id: i, ch: make(chan *shared, laneSlots), room: make(chan struct{}, 1)})
	}
	for _, l := range runner.lanes {
		lanes.Go(func() {
			if d != nil {
				p.persistLane(l)
			} else {
				p.runLane(l)
			}
		})
	}
	var stopDeliverers func()
	if d != nil {
		var ctx context.Context
		ctx, stopDeliverers = context.WithCancel(p.diskCtx)
		runner.holding = make([]atomic.Int64, len(d.qs))
		for i := range d.qs {
			deliverers.Go(func() { p.deliverDisk(ctx, runner, i) })
		}
	}
	p.lanesWG.Go(func() {
		lanes.Wait()
		if d != nil {
			p.settleDisk(runner, stopDeliverers)
			deliverers.Wait()
			p.releaseDisk(runner)
		}
		if err := out.Close(); err != nil {
			p.log.Error("cannot close output", "output", name, "err", err)
		}
		p.outputClosed(runner)
	})
	p.running[runner] = struct{}{}
	p.indexOutputsLocked()
	return runner
}

// diskLaneBytes bounds what one lane of a disk-buffered output holds in
// memory, on top of -output-queue-bytes: its batches only wait there for
// a write to the disk queue, so a few batches keep the disk busy, and
// what a crash can lose stays small. The batches pin the ingest batches
// their lines point into, more than their lines' bytes: 8 MiB of queue
// kept about 10 MiB alive.
const diskLaneBytes = 1 << 20

// queueLimit is the memory bound of the batches queued for an output:
// Options.OutputQueueBytes, and no more than diskLaneBytes a lane with a
// disk buffer d.
func (p *Pipeline) queueLimit(d *diskBuffer) int64 {
	limit := int64(p.opts.OutputQueueBytes)
	if d != nil {
		limit = min(limit, int64(p.opts.Workers)*diskLaneBytes)
	}
	return limit
}

// stop lets the lanes deliver what they queued, then closes the output.
// Pipeline.mu should be held, and no worker may still send to r.
func (r *outputRunner) stop() {
	for _, l := range r.lanes {
		close(l.ch)
	}
}

// abort stops a runner that never ran: Apply failed after building it. Its
// disk queue, if any, is left to the runner that uses it, or closed as it
// is, not drained. Pipeline.mu should be held.
func (r *outputRunner) abort() {
	r.aborted.Store(true)
	if r.disk != nil {
		r.disk.live-- // Pipeline.mu is held: it never was a live user
	}
	r.stop()
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
	sz, n := int64(sb.b.Footprint()), int64(len(sb.b.Lines))
	if l.waitRoom(stop) {
		l.addQueued(sz)
		l.runner.lines.Add(n)
		select {
		case l.ch <- sb:
			return
		case <-stop:
		}
		l.runner.lines.Add(-n)
		l.addQueued(-sz)
	}
	l.runner.abandoned.Add(len(sb.b.Lines))
	sb.fail()
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
		runner.lines.Add(int64(len(sb.b.Lines)))
		select {
		case l.ch <- sb:
			return true
		default: // every slot taken
		}
		runner.lines.Add(-int64(len(sb.b.Lines)))
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
			sb.fail()
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
	sb.fail()
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
	write := runner.writer(l.id)
	ctx := output.WithWireCounter(p.laneCtx, runner.bytesOut)
	var lastLog time.Time
	for sb := range l.ch {
		n, sz := len(sb.b.Lines), int64(sb.b.Footprint())
		if err := write(ctx, sb.b); err != nil {
			s := settle(sb.b.Lines, err)
			if !p.writeFailed(runner, s, err, &lastLog) {
				sb.fail()
			}
			if s.failed < n { // the destination answered for some
				l.progress.Store(time.Now().UnixNano())
			}
		} else {
			runner.delivered.Add(n)
			runner.observeDelivered(sb.b.Born)
			l.progress.Store(time.Now().UnixNano())
		}
		runner.batchLines.Update(float64(n))
		l.done(n, sz)
		sb.unref()
	}
}

// busy reports whether lane id of the runner has a batch queued or in
// flight: in its lane, or, with a disk buffer, on disk or being delivered
// by the lane's deliverer. A worker lingers only for idle outputs.
func (r *outputRunner) busy(id int) bool {
	if r.lanes[id].queued.Load() != 0 {
		return true
	}
	return r.disk != nil && r.disk.waiting[id].Load() != 0
}

// observeDelivered records the latency of a batch delivered whose oldest
// line was read at born (Unix nanoseconds; 0 unknown).
func (r *outputRunner) observeDelivered(born int64) {
	if born != 0 {
		now := time.Now()
		d := now.Sub(time.Unix(0, born))
		r.latency.Update(d.Seconds())
		r.lastLatency.Store(int64(d))
		r.recent.observe(now, d)
	}
}

// writer is how lane id writes to the runner's output.
func (r *outputRunner) writer(id int) func(context.Context, *record.Batch) error {
	if lw, ok := r.out.(output.LaneWriter); ok {
		return func(ctx context.Context, b *record.Batch) error { return lw.WriteLane(ctx, id, b) }
	}
	return r.out.Write
}

// done takes a batch of n lines and sz bytes off the lane's queue, gives
// the worker its room back and, once the lane is empty, pokes the worker,
// which may be lingering for it.
func (l *lane) done(n int, sz int64) {
	l.runner.lines.Add(-int64(n))
	l.addQueued(-sz)
	select {
	case l.room <- struct{}{}:
	default:
	}
	if l.queued.Load() == 0 {
		l.runner.p.pokeWorker(l.id) // it may be lingering for this lane
	}
}

// OutputQueue is what is queued for one output: lines handed to it and not
// yet delivered, dead-lettered or dropped.
type OutputQueue struct {
	Name string `json:"name"`
	// Buffer is "memory" or "disk": where the output queues.
	Buffer string `json:"buffer"`
	// Lines are queued in memory and, with a disk buffer, on disk.
	Lines int64 `json:"queued_lines"`
	// MemoryBytes are the bytes of the batches queued in memory.
	MemoryBytes int64 `json:"memory_bytes"`
	// DiskBytes are the bytes of the records on disk not yet delivered.
	DiskBytes int64 `json:"disk_bytes"`
	// OldestSeconds is the age of the oldest line on disk that is being
	// delivered, 0 when none is.
	OldestSeconds float64 `json:"oldest_line_age_seconds"`
	// LatencySeconds is how long the lines of the batch it delivered last
	// took from being read to delivered (its oldest line), 0 before any.
	LatencySeconds float64 `json:"latency_seconds"`
	// LatencyP50Seconds and LatencyP99Seconds are the median and the 99th
	// percentile of the same latency over the LatencyBatches batches it
	// delivered in the last LatencyWindow, at most the last
	// LatencyWindowBatches; 0 when it delivered none.
	LatencyP50Seconds float64 `json:"latency_p50_seconds"`
	LatencyP99Seconds float64 `json:"latency_p99_seconds"`
	LatencyBatches    int     `json:"latency_window_batches"`
	// Delivered and Dropped are the output's totals of lines delivered,
	// and dropped for any reason, since the data plane started.
	Delivered uint64 `json:"delivered"`
	Dropped   uint64 `json:"dropped"`
}

// Queues returns what is queued for each output not yet closed, sorted by
// name, with its latency percentiles. It takes no lock.
func (p *Pipeline) Queues() []OutputQueue {
	idx := p.byName.Load()
	if idx == nil {
		return nil
	}
	qs := make([]OutputQueue, 0, len(*idx))
	now := time.Now()
	var recent []time.Duration
	for name, runners := range *idx {
		q := p.queueOf(name)
		recent = recent[:0]
		for _, r := range runners {
			recent = r.recent.appendRecent(recent, now)
		}
		latencyPercentiles(&q, recent)
		qs = append(qs, q)
	}
	slices.SortFunc(qs, func(a, b OutputQueue) int { return strings.Compare(a.Name, b.Name) })
	return qs
}

// queueOf sums what the runners named name queue, a disk queue that
// several share counted once.
func (p *Pipeline) queueOf(name string) OutputQueue {
	q := OutputQueue{Name: name, Buffer: output.BufferMemory}
	idx := p.byName.Load()
	if idx == nil {
		return q
	}
	var seen []*diskBuffer
	var oldest int64
	for _, r := range (*idx)[name] {
		if l := r.lastLatency.Load(); l != 0 {
			q.LatencySeconds = time.Duration(l).Seconds()
		}
		q.Lines += r.lines.Load()
		q.MemoryBytes += r.queued.Load()
		if d := r.disk; d != nil {
			q.Buffer = output.BufferDisk
			if t := r.oldest(); t != 0 && (oldest == 0 || t < oldest) {
				oldest = t
			}
			if !slices.Contains(seen, d) {
				seen = append(seen, d)
				q.Lines += d.lines.Load()
				q.DiskBytes += d.stats().Bytes
			}
		}
	}
	if oldest != 0 {
		q.OldestSeconds = max(0, time.Since(time.Unix(0, oldest)).Seconds())
	}
	return q
}

// indexOutputsLocked publishes the runners not yet closed by name, for
// Queues and the queue gauges, and registers the gauges of a name seen
// for the first time. Pipeline.mu should be held.
func (p *Pipeline) indexOutputsLocked() {
	idx := make(map[string][]*outputRunner, len(p.running))
	for r := range p.running {
		idx[r.name] = append(idx[r.name], r)
	}
	p.byName.Store(&idx)
	for name := range idx {
		p.m.OutputGauge(name, metrics.OutputQueuedLines, func() float64 { return float64(p.queueOf(name).Lines) })
		p.m.OutputGauge(name, metrics.OutputQueuedBytes, func() float64 { return float64(p.queueOf(name).MemoryBytes) })
		p.m.OutputGauge(name, metrics.OutputDiskBytes, func() float64 { return float64(p.queueOf(name).DiskBytes) })
		p.m.OutputGauge(name, metrics.OutputOldestAge, func() float64 { return p.queueOf(name).OldestSeconds })
	}
}
