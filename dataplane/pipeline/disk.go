package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/diskq"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// An output with a disk buffer (output.BufferConfig) queues on disk what its
// lanes bring: each lane persists its batches, in order, to a queue of its
// own (diskq) instead of writing them, and one deliverer per queue reads it
// and writes to the output, acknowledging a record only once the output
// has delivered it (or settled it otherwise), so every worker's lines stay
// in order, as they do in memory. So a batch
// on disk is delivered at least once, whatever happens to the process, and
// what is in memory is only what the lanes hold between the workers and the
// disk: the window a crash can still lose.
//
// The queues live in <DataDir>/queues/<output.Config.QueueID>/<lane>: a
// reload that keeps the output, or a restart, finds them again, and
// delivers what they hold first; a restart with fewer workers delivers the
// extra lanes' queues too. Records hold processed lines only, after
// redaction. The output's max_bytes is shared evenly by its lanes.

// queuesDir is the folder of DataDir that holds the disk queues.
const queuesDir = "queues"

// diskRecordVersion is the first byte of every record the pipeline writes.
const diskRecordVersion = 1

// Retry pacing of a deliverer whose output failed a batch: the batch stays
// on disk and is tried again, the wait doubling up to diskRetryMax.
const (
	diskRetryMin = 100 * time.Millisecond
	diskRetryMax = 5 * time.Second
)

// diskFullPoll is how often a lane blocked on a full disk queue tries
// again.
const diskFullPoll = 10 * time.Millisecond

// diskBuffer is an output's disk queue and its accounting.
//
// Runners of one queue (a reload that changed only the output's buffer
// settings starts a new runner on the same queue) share its diskBuffer:
// their deliverers take records from it alike. The queue is closed when
// the last of them is done.
type diskBuffer struct {
	qs   []*diskq.Queue      // by lane
	id   string              // the output's QueueID
	cfg  output.BufferConfig // the settings it was opened with
	name string              // the output's name when the queue was opened
	dir  string

	// users is the number of runners using the queue, and live those of
	// them not winding down (settleDisk); Pipeline.mu.
	users, live int
	// persisting and delivering are held, by lane, by the runner's lane
	// goroutine and deliverer that use that lane's queue: a runner that
	// takes over from another (a reload) waits for the old one's, so each
	// lane's lines stay in order.
	persisting, delivering []sync.Mutex

	// lines is the number of lines on disk not yet delivered or
	// dead-lettered, restored at open; waiting, by lane, the records.
	lines   atomic.Int64
	waiting []atomic.Int64

	// dropAll is set when the queue of a removed output was not drained
	// in time: its last user drops what is left and deletes it. Pipeline.mu.
	dropAll bool

	full    *vm.Counter  // lines dropped: queue full (reason disk_full)
	failed  *vm.Counter  // lines dropped: cannot write (reason disk_error)
	corrupt *vm.Counter  // damaged records found (countDamage)
	damaged atomic.Int64 // what corrupt counted of the queues' damage
}

// useDisk returns the disk queue of oc, opening it unless a runner already
// uses it, and counts one more user. Pipeline.mu should be held.
func (p *Pipeline) useDisk(oc *output.Config, name string) (*diskBuffer, error) {
	id := oc.QueueID()
	if d := p.disks[id]; d != nil {
		d.users++
		d.live++
		d.dropAll = false // a removed output that came back
		if *oc.Buffer != d.cfg {
			p.log.Warn("disk buffer: the queue stays open with the settings it was opened with; new ones take effect when the data plane restarts",
				"output", name, "running", d.cfg, "asked", *oc.Buffer)
		}
		return d, nil
	}
	d, err := p.openDisk(oc, name)
	if err != nil {
		return nil, err
	}
	d.users, d.live = 1, 1
	p.disks[id] = d
	return d, nil
}

// openDisk opens the disk queue of oc, counting what it restores.
func (p *Pipeline) openDisk(oc *output.Config, name string) (*diskBuffer, error) {
	id := oc.QueueID()
	dir := filepath.Join(p.opts.DataDir, queuesDir, id)
	d := &diskBuffer{
		cfg:     *oc.Buffer,
		id:      id,
		name:    name,
		dir:     dir,
		full:    p.m.OutputDropped(name, metrics.ReasonDiskFull),
		failed:  p.m.OutputDropped(name, metrics.ReasonDiskError),
		corrupt: p.m.OutputCount(name, metrics.DiskCorrupt),
	}
	mode, err := diskq.ParseSync(oc.Buffer.Sync)
	if err != nil {
		return nil, err
	}
	lanes := p.opts.Workers
	if es, err := os.ReadDir(dir); err == nil { // queues of a run with more workers
		for _, e := range es {
			if k, err := strconv.Atoi(e.Name()); err == nil && e.IsDir() && k >= lanes {
				lanes = k + 1
			}
		}
	}
	var restored int64
	d.waiting = make([]atomic.Int64, lanes)
	for k := range lanes {
		q, err := diskq.Open(diskq.Options{
			Dir:          filepath.Join(dir, strconv.Itoa(k)),
			MaxBytes:     max(oc.Buffer.DiskMaxBytes()/int64(p.opts.Workers), output.MinDiskMaxBytes),
			Sync:         mode,
			SyncInterval: oc.Buffer.SyncInterval(),
			Recovered: func(head []byte) {
				if _, n, err := recordHeader(head); err == nil {
					restored += int64(n)
				}
				d.waiting[k].Add(1)
			},
			Logger: p.log.With("output", name),
		})
		if err != nil {
			d.close()
			return nil, fmt.Errorf("cannot open the disk buffer in %s: %w", dir, err)
		}
		d.qs = append(d.qs, q)
	}
	d.persisting = make([]sync.Mutex, lanes)
	d.delivering = make([]sync.Mutex, lanes)
	d.lines.Store(restored)
	if n := d.countDamage(); n > 0 {
		st := d.stats()
		p.log.Error("disk buffer: damaged records found and skipped", "output", name, "dir", dir,
			"corrupt_runs", st.Corrupt.Records, "corrupt_bytes", st.Corrupt.Bytes,
			"torn_records", st.Torn.Records, "torn_bytes", st.Torn.Bytes)
	}
	p.m.OutputCount(name, metrics.OutputRestored).Add(int(restored)) // a series from the start
	if restored > 0 {
		p.log.Info("disk buffer: delivering what the last run left", "output", name, "lines", restored,
			"bytes", d.stats().Bytes)
	}
	return d, nil
}

// countDamage counts in the corrupt records counter what the queues found
// damaged (at open, or later on a second read) since it last looked, and
// returns it.
func (d *diskBuffer) countDamage() int64 {
	st := d.stats()
	n := st.Corrupt.Records + st.Torn.Records
	for {
		seen := d.damaged.Load()
		if n <= seen {
			return 0
		}
		if d.damaged.CompareAndSwap(seen, n) {
			d.corrupt.Add(int(n - seen))
			return n - seen
		}
	}
}

// stats sums the stats of the lanes' queues.
func (d *diskBuffer) stats() diskq.Stats {
	var st diskq.Stats
	for _, q := range d.qs {
		s := q.Stats()
		st.Records += s.Records
		st.Bytes += s.Bytes
		st.Corrupt.Records += s.Corrupt.Records
		st.Corrupt.Bytes += s.Corrupt.Bytes
		st.Torn.Records += s.Torn.Records
		st.Torn.Bytes += s.Torn.Bytes
	}
	return st
}

// close closes the lanes' queues, returning the first error.
func (d *diskBuffer) close() error {
	var first error
	for _, q := range d.qs {
		if err := q.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// appendRecord encodes b as one record: version, when its oldest line was
// read (born, Unix nanoseconds), the line count, and each line prefixed by
// its length.
func appendRecord(dst []byte, b *record.Batch, born int64) []byte {
	dst = append(dst, diskRecordVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(born))
	dst = binary.AppendUvarint(dst, uint64(len(b.Lines)))
	for _, l := range b.Lines {
		dst = binary.AppendUvarint(dst, uint64(len(l)))
		dst = append(dst, l...)
	}
	return dst
}

var errBadRecord = errors.New("not a record of this version")

// recordHeader reads when the oldest line of a record was read, and how
// many lines it holds.
func recordHeader(rec []byte) (born int64, lines int, err error) {
	if len(rec) < 9 || rec[0] != diskRecordVersion {
		return 0, 0, errBadRecord
	}
	n, k := binary.Uvarint(rec[9:])
	if k <= 0 || n > diskq.MaxRecordBytes {
		return 0, 0, errBadRecord
	}
	return int64(binary.LittleEndian.Uint64(rec[1:9])), int(n), nil
}

// decodeRecord fills b's Lines with the lines of rec, pointing into rec.
func decodeRecord(rec []byte, b *record.Batch) (born int64, err error) {
	born, n, err := recordHeader(rec)
	if err != nil {
		return 0, err
	}
	_, k := binary.Uvarint(rec[9:])
	rest := rec[9+k:]
	if n > len(rest) { // every line takes at least its length's byte
		return 0, errBadRecord
	}
	b.Lines = b.Lines[:0]
	for range n {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return 0, errBadRecord
		}
		b.Lines = append(b.Lines, rest[k:k+int(l):k+int(l)])
		rest = rest[k+int(l):]
	}
	if len(rest) != 0 {
		return 0, errBadRecord
	}
	return born, nil
}

// persistLane writes the lane's batches to the output's disk queue, in
// order, until the lane is closed. A batch the queue has no room for waits
// under the Block policy, and is dropped and counted (reason disk_full)
// under the drop policies: the newest go, what is on disk stays.
func (p *Pipeline) persistLane(l *lane) {
	runner, d := l.runner, l.runner.disk
	d.persisting[l.id].Lock()
	defer d.persisting[l.id].Unlock()
	block := p.opts.Overflow == buffer.Block
	var buf []byte
	var lastLog time.Time
	for sb := range l.ch {
		n, sz := len(sb.b.Lines), int64(sb.b.Footprint())
		born := sb.b.Born
		if born == 0 {
			born = time.Now().UnixNano()
		}
		buf = appendRecord(buf[:0], sb.b, born)
		runner.batchLines.Update(float64(n))
		q := d.qs[l.id]
		d.lines.Add(int64(n)) // before the record is visible to a deliverer
		d.waiting[l.id].Add(1)
		err := q.Append(buf)
		for block && errors.Is(err, diskq.ErrFull) {
			select {
			case <-p.diskCtx.Done(): // closing: the deliverers free no room
				err = diskq.ErrClosed
			case <-time.After(diskFullPoll):
				err = q.Append(buf)
				continue
			}
			break
		}
		if errors.Is(err, diskq.ErrNotSynced) {
			// In the queue, and delivered in time, but not durable: the
			// lines stay counted as queued; an acknowledgement fails.
			sb.fail()
			if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
				lastLog = now
				p.log.Error("disk buffer: a batch was written but not synced", "output", runner.name, "lines", n, "err", err)
			}
			err = nil
		}
		if err != nil {
			sb.fail()
			d.lines.Add(-int64(n))
			d.waiting[l.id].Add(-1)
			switch {
			case errors.Is(err, diskq.ErrFull), errors.Is(err, diskq.ErrTooLarge):
				// No room for it: a batch larger than the lane's share
				// of max_bytes never has any.
				d.full.Add(n)
			case errors.Is(err, diskq.ErrClosed):
				runner.abandoned.Add(n)
			default:
				d.failed.Add(n)
				if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
					lastLog = now
					p.log.Error("disk buffer: cannot write a batch", "output", runner.name, "lines", n, "err", err)
				}
			}
		}
		if err == nil {
			l.progress.Store(time.Now().UnixNano())
		}
		if cap(buf) > maxBatchBytes*2 {
			buf = nil // do not keep a huge buffer for the next, smaller batches
		}
		l.done(n, sz)
		sb.unref()
	}
}

// deliverDisk is deliverer id of a disk-buffered output: it takes the
// queue's next record, writes it through lane id's writer, and acknowledges
// it once delivered or settled otherwise (settle). A batch that fails stays
// on disk and is tried again, with a growing wait, until it goes through;
// once the pipeline is closing it is left for the next start. It returns
// when ctx is done (see settleDisk), leaving the record it holds, if any,
// to the queue.
func (p *Pipeline) deliverDisk(ctx context.Context, runner *outputRunner, id int) {
	d := runner.disk
	d.delivering[id].Lock()
	defer d.delivering[id].Unlock()
	q := d.qs[id]
	write := runner.writer(id % len(runner.lanes))
	wctx := output.WithWireCounter(ctx, runner.bytesOut)
	b := new(record.Batch)
	var lastLog time.Time
	for {
		rec, err := q.Next(ctx)
		if err == nil && ctx.Err() != nil {
			q.Nack(rec.ID) // Next hands out what it has even once ctx is done
			return
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, diskq.ErrClosed) {
				return
			}
			// An I/O error: the record stays in place and is read again.
			if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
				lastLog = now
				p.log.Error("disk buffer: cannot read", "output", runner.name, "err", err)
			}
			select {
			case <-time.After(diskRetryMax):
			case <-ctx.Done():
			}
			continue
		}
		d.countDamage()
		born, err := decodeRecord(rec.Data, b)
		if err != nil {
			if _, n, herr := recordHeader(rec.Data); herr == nil {
				d.lines.Add(-int64(n)) // counted when persisted or restored
				p.m.OutputDropped(runner.name, metrics.ReasonDiskCorrupt).Add(n)
			}
			d.corrupt.Inc()
			p.log.Error("disk buffer: a record does not decode; skipped", "output", runner.name, "dir", d.dir, "err", err)
			q.Ack(rec.ID)
			d.waiting[id].Add(-1)
			continue
		}
		runner.holding[id].Store(born)
		n := len(b.Lines)
		delivered := true
		for wait := diskRetryMin; ; wait = min(2*wait, diskRetryMax) {
			err := write(wctx, b)
			if err == nil {
				runner.delivered.Add(n)
				runner.observeDelivered(born)
				break
			}
			if s := settle(b.Lines, err); s.failed < n {
				// Some lines settled: delivered, refused for good (dead
				// letters) or rejected; the rest count as failed.
				p.writeFailed(runner, s, err, &lastLog)
				break
			}
			if now := time.Now(); now.Sub(lastLog) >= errLogEvery {
				lastLog = now
				p.log.Error("output failed a batch; it stays in the disk buffer and is tried again",
					"output", runner.name, "lines", n, "retry_in", wait, "err", err)
			}
			if p.closed.Load() {
				delivered = false // left on disk for the next start
				break
			}
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				delivered = false
			}
			break
		}
		runner.holding[id].Store(0)
		clear(b.Lines)
		if !delivered {
			q.Nack(rec.ID) // for the runner that takes over, or the next start
			return
		}
		d.lines.Add(-int64(n))
		q.Ack(rec.ID)
		if d.waiting[id].Add(-1) == 0 {
			p.pokeWorker(id) // it may be lingering for this lane
		}
	}
}

// settleDisk is called once the runner's lanes have persisted all they
// had; it says when its deliverers stop, through stop. While another
// runner of the same queue (a reload that changed the buffer settings) is
// not winding down too, it takes over at once. The last runner of a queue
// to wind down stops at once when the pipeline is
// closing, leaving what is on disk for the next start; when a reload
// removed the output, it first drains the queue, for at most
// Options.DiskDrainTimeout, and then drops what is left, counted (reason
// output_removed), and deletes the queue.
func (p *Pipeline) settleDisk(runner *outputRunner, stop func()) {
	defer stop()
	d := runner.disk
	deadline := time.Now().Add(p.opts.DiskDrainTimeout)
	if !runner.aborted.Load() { // abort counted an aborted one already
		p.mu.Lock()
		d.live-- // this runner winds down: the last to do so drains
		p.mu.Unlock()
	}
	for {
		p.mu.Lock()
		shared, closing := d.live > 0, p.closed.Load()
		p.mu.Unlock()
		if shared || closing || runner.aborted.Load() {
			return
		}
		if d.stats().Records == 0 {
			return
		}
		if p.opts.DiskDrainTimeout > 0 && time.Now().After(deadline) {
			p.mu.Lock()
			if d.live == 0 {
				d.dropAll = true
			}
			p.mu.Unlock()
			return
		}
		time.Sleep(drainPoll)
	}
}

// drainPoll is how often a removed output's drain is checked.
const drainPoll = 50 * time.Millisecond

// releaseDisk counts one user less of the runner's queue, once its
// deliverers are done; the last closes it, and deletes it when
// settleDisk gave up draining it.
func (p *Pipeline) releaseDisk(runner *outputRunner) {
	d := runner.disk
	p.mu.Lock()
	d.users--
	last, drop := d.users == 0, d.dropAll
	if last {
		delete(p.disks, d.id)
	}
	p.mu.Unlock()
	if !last {
		return
	}
	if err := d.close(); err != nil {
		p.log.Error("disk buffer: cannot close", "output", runner.name, "dir", d.dir, "err", err)
	}
	if drop {
		n := d.lines.Swap(0)
		p.log.Error("disk buffer of a removed output not drained in time: its lines are dropped",
			"output", runner.name, "lines", n, "drain_timeout", p.opts.DiskDrainTimeout, "dir", d.dir)
		p.m.OutputDropped(runner.name, metrics.ReasonRemoved).Add(int(n))
		if err := os.RemoveAll(d.dir); err != nil {
			p.log.Error("disk buffer: cannot delete", "output", runner.name, "dir", d.dir, "err", err)
		}
	}
}

// oldest is when the oldest line on disk not yet delivered was read,
// as far as the runner's deliverers know it: 0 when they hold none.
func (r *outputRunner) oldest() int64 {
	var t int64
	for i := range r.holding {
		if h := r.holding[i].Load(); h != 0 && (t == 0 || h < t) {
			t = h
		}
	}
	return t
}
