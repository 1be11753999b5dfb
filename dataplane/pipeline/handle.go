package pipeline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// handle is a running output: its lanes and its counters. Generations share
// handles; the last generation to stop using one stops it.
type handle struct {
	key   string
	name  string
	out   output.Output
	lanes []*lane
	gens  int // live generations using it; Pipeline.mu

	queued atomic.Int64 // bytes of the batches in its lanes
	limit  int64

	delivered *vm.Counter
	failed    *vm.Counter
	queueFull *vm.Counter
	abandoned *vm.Counter // reason shutdown
}

// laneSlots is the channel capacity of a lane. Memory is bounded by the
// handle's byte limit, which binds first for all but tiny batches.
const laneSlots = 1024

// lane carries one worker's batches to one output, in order.
type lane struct {
	h  *handle
	id int // the worker's
	ch chan *shared

	// queued is the bytes of the batches in ch or being written. Under
	// Block a lane may queue its share of the handle's limit: its worker
	// waits for room, and runLane pokes room as batches finish.
	queued atomic.Int64
	room   chan struct{}
}

func (p *Pipeline) newHandle(key, name string, out output.Output) *handle {
	h := &handle{
		key:       key,
		name:      name,
		out:       out,
		limit:     int64(p.opts.OutputQueueBytes),
		delivered: p.m.Delivered(name),
		failed:    p.m.OutputDropped(name, metrics.ReasonOutputFailed),
		queueFull: p.m.OutputDropped(name, metrics.ReasonQueueFull),
		abandoned: p.m.OutputDropped(name, metrics.ReasonShutdown),
	}
	var wg sync.WaitGroup
	for i := range p.opts.Workers {
		l := &lane{h: h, id: i, ch: make(chan *shared, laneSlots), room: make(chan struct{}, 1)}
		h.lanes = append(h.lanes, l)
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
	}()
	return h
}

// stop lets the lanes deliver what they queued, then closes the output.
// Pipeline.mu should be held, and no worker may still send to h.
func (h *handle) stop() {
	for _, l := range h.lanes {
		close(l.ch)
	}
}

// send queues sb on the lane.
//
// Under the drop policies it never blocks: when the output's queue is at its
// memory limit the output is behind, and the batch is dropped for this output
// only and counted (reason queue_full). An empty queue takes any batch, so a
// batch larger than the limit still gets through. Under the Block policy the
// worker waits for room instead, so a lagging output slows ingest down (TCP
// backpressure) rather than losing lines; it gives up only when Close runs
// out of time (reason shutdown). Each lane waits for its own share of the
// limit, so one worker's backlog cannot hold another's room.
func (l *lane) send(sb *shared, block bool, stop <-chan struct{}) {
	h, sz := l.h, int64(sb.b.Footprint())
	if block {
		if l.waitRoom(stop) {
			l.queued.Add(sz)
			h.queued.Add(sz)
			select {
			case l.ch <- sb:
				return
			case <-stop:
			}
			l.queued.Add(-sz)
			h.queued.Add(-sz)
		}
		h.abandoned.Add(len(sb.b.Lines))
		sb.unref()
		return
	}
	if after := h.queued.Add(sz); after <= h.limit || after == sz {
		l.queued.Add(sz)
		select {
		case l.ch <- sb:
			return
		default:
		}
		l.queued.Add(-sz)
	}
	h.queued.Add(-sz)
	h.queueFull.Add(len(sb.b.Lines))
	sb.unref()
}

// waitRoom waits until the lane's queue is under its share of the limit,
// so a lane holds at most its share and one batch, however large the
// batches are. It reports false if stop came first.
func (l *lane) waitRoom(stop <-chan struct{}) bool {
	share := max(1, l.h.limit/int64(len(l.h.lanes)))
	for l.queued.Load() >= share {
		select {
		case <-l.room:
		case <-stop:
			return false
		}
	}
	return true
}

// errLogEvery rate-limits the log line about a failing output.
const errLogEvery = 5 * time.Second

func (p *Pipeline) runLane(l *lane) {
	h := l.h
	write := h.out.Write
	if lw, ok := h.out.(output.LaneWriter); ok {
		write = func(ctx context.Context, b *record.Batch) error { return lw.WriteLane(ctx, l.id, b) }
	}
	var lastLog time.Time
	for sb := range l.ch {
		n, sz := len(sb.b.Lines), int64(sb.b.Footprint())
		if err := write(p.laneCtx, sb.b); err != nil {
			h.failed.Add(n)
			if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
				lastLog = now
				p.log.Error("output dropped a batch", "output", h.name, "lines", n, "err", err)
			}
		} else {
			h.delivered.Add(n)
		}
		l.queued.Add(-sz)
		h.queued.Add(-sz)
		select {
		case l.room <- struct{}{}:
		default:
		}
		sb.unref()
	}
}
