package diskq

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// copyLimit is the length from which Append writes the header and the record
// with two calls rather than copying them into one buffer that long.
const copyLimit = 256 << 10

// ID names a record handed out by Next, for Ack and Nack. IDs are only
// meaningful to the Queue that handed them out, for its lifetime.
type ID uint64

// Record is one record handed out by Next.
type Record struct {
	ID ID
	// Data is the record as appended. It lives in a buffer that the queue
	// recycles once the record is acknowledged or given back: the caller
	// may read it until it calls Ack or Nack with ID, and must not keep it
	// after.
	Data []byte
}

// Damage counts damaged bytes of segment files. Records counts damaged runs:
// how many records a run held cannot be known, so each run counts as one.
type Damage struct {
	Records, Bytes int64
}

// Stats is a snapshot of a Queue's counters.
type Stats struct {
	// Records and Bytes are the records not yet acknowledged, waiting or
	// in flight, and their bytes with headers.
	Records, Bytes int64
	// InFlight is the records handed out by Next and neither acknowledged
	// nor given back.
	InFlight int64
	// DiskBytes is the size of the segment files: what Options.MaxBytes
	// bounds.
	DiskBytes int64
	// Segments is the number of segment files.
	Segments int
	// Corrupt is what failed its checks and was skipped: found by Open, or
	// by Next when a record changed on disk after it was written.
	Corrupt Damage
	// Torn is what Open cut from the end of the last segment: a record whose
	// write a crash interrupted, or bytes the file system never wrote.
	Torn Damage
	// Syncs is the fsyncs done (segments, the cursor, the directory);
	// SyncErrors how many of them failed.
	Syncs, SyncErrors int64
}

// segment is one segment file.
type segment struct {
	seq  uint64
	path string

	// Guarded by Queue.mu.
	size        int64           // end of the valid records: the reader never reads past it
	disk        int64           // bytes of the file: size, plus a damaged tail left in a sealed segment
	records     int64           // valid records from where the reader starts
	bytes       int64           // their bytes with headers
	handed      int64           // records the reader handed out a first time
	handedBytes int64           // their bytes
	unacked     int64           // records not yet acknowledged (or skipped)
	skips       map[int64]int64 // damaged runs found (and counted) by Open: start -> end
	sealed      bool            // no longer written to: a newer segment exists
	readDone    bool            // the reader has moved past it
	deleted     bool
	broken      bool // a failed write left unknown bytes past size: write no more

	// wf is the write handle: of the write segment, and of a sealed segment
	// until the next sync (SyncAlways, SyncInterval). Written by the holder
	// of Queue.mu while the segment is the write segment, then by the
	// holder of Queue.syncMu.
	wf *os.File
	// synced is the length known to be durable. Guarded by Queue.syncMu.
	synced int64
}

// flight states.
const (
	handed   uint8 = iota // held by a caller of Next
	returned              // given back by Nack, waiting to be handed out again
	settled               // acknowledged, or found damaged on a second read
)

// flight is a record handed out by Next, until it and every record before it
// are settled.
type flight struct {
	seg   *segment
	off   int64
	size  int64   // with the header
	buf   *[]byte // holds Record.Data while handed
	state uint8
}

// hotRecord is a record in memory, as written at off of seg; bp is nil
// when there is none.
type hotRecord struct {
	seg  *segment
	off  int64
	size int64 // with the header
	bp   *[]byte
}

// dropHotLocked lets the hot record go.
func (q *Queue) dropHotLocked() {
	if q.hot.bp != nil {
		putBuf(q.hot.bp)
	}
	q.hot = hotRecord{}
}

// Queue is a disk-backed FIFO of records with at-least-once delivery: a
// record leaves the queue when it is acknowledged, not when it is read. See
// the package documentation.
//
// All methods are safe for concurrent use. Locks, in the order they are
// taken: readTok (the one Next reading), syncMu (fsync and cursor), mu (all
// other state).
type Queue struct {
	opts Options
	log  *slog.Logger
	lock io.Closer // the directory lock

	done    chan struct{} // closed by Close
	wg      sync.WaitGroup
	dataCh  chan struct{} // cap 1: wakes a waiting Next
	readTok chan struct{} // cap 1: held by the Next that reads; by Close for good

	syncMu   sync.Mutex
	saved    bool // the cursor file holds savedSeq, savedOff
	savedSeq uint64
	savedOff int64

	syncs, syncErrs atomic.Int64

	mu      sync.Mutex
	closed  bool
	segs    []*segment // on disk, by seq
	wseg    *segment   // written to; nil before the first Append on an empty directory
	nextSeq uint64
	whdr    [headerSize]byte // header of a record of copyLimit bytes or more
	// hot is the record last appended, header and all, kept when the
	// reader had read everything before it: the reader takes it from
	// memory instead of reading it back and checking it again.
	hot         hotRecord
	unsynced    []*segment // sealed, written since the last sync
	dirDirty    bool       // a segment was created since the last sync
	diskBytes   int64
	pendRecords int64
	pendBytes   int64
	inFlight    int64
	corrupt     Damage
	torn        Damage
	rseg        *segment // where the reader is
	roff        int64
	waiting     bool     // a Next waits on dataCh
	fl          []flight // fl[flHead:] are the records from the oldest unsettled one on
	flHead      int
	base        ID   // ID of fl[flHead]
	redeliver   []ID // given back, by ID

	// Owned by the holder of readTok.
	rf     *os.File // open on rfSeg
	rfSeg  *segment
	hdr    [headerSize]byte // header of the record at hdrOff in hdrSeg, read with the payload before it
	hdrSeg *segment
	hdrOff int64
	hdr2   [headerSize]byte // scratch
	scan   *scanner         // for resyncs; allocated at the first one
}

// Open opens the queue in opts.Dir, creating it if needed, and recovers what
// the last run left: it validates every record after the saved cursor,
// cuts a torn record from the end of the last segment, counts damaged runs
// (Stats.Corrupt, Stats.Torn) to skip them, and resumes delivery at the
// oldest record not acknowledged. Recovery reads the segments through a
// fixed window: memory does not grow with the queue.
//
// Open fails on an invalid option, on an I/O error, or with ErrLocked when
// another Queue has the directory open; never on damaged contents.
func Open(opts Options) (*Queue, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("cannot open disk queue: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create disk queue directory: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	q := &Queue{
		opts:    opts,
		log:     opts.Logger,
		lock:    lock,
		done:    make(chan struct{}),
		dataCh:  make(chan struct{}, 1),
		readTok: make(chan struct{}, 1),
		nextSeq: 1,
		base:    1,
	}
	err = q.recover()
	if err == nil {
		q.syncMu.Lock()
		err = q.saveCursorLocked()
		q.syncMu.Unlock()
	}
	if err != nil {
		_ = q.closeFiles()
		_ = lock.Close()
		return nil, err
	}
	q.wg.Add(1)
	go q.syncLoop()
	return q, nil
}

// Append adds rec at the end of the queue. It returns once the record is
// written, and under SyncAlways fsynced; the queue does not keep rec.
//
// It returns ErrFull when the record would take the segment files past
// Options.MaxBytes, ErrTooLarge when it never could, ErrClosed after Close,
// or an I/O error naming the file and offset. An error from the fsync of
// SyncAlways comes after the write, wrapped in ErrNotSynced: the record is
// in the queue and will be handed out.
func (q *Queue) Append(rec []byte) error {
	need := int64(headerSize + len(rec))
	if len(rec) > MaxRecordBytes || need > q.opts.MaxBytes {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(rec), min(MaxRecordBytes, q.opts.MaxBytes-headerSize))
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if q.diskBytes+need > q.opts.MaxBytes && !q.recycleLocked(need) {
		q.mu.Unlock()
		return ErrFull
	}
	w := q.wseg
	if w == nil || w.broken || (w.size > 0 && w.size+need > q.opts.SegmentBytes) {
		if err := q.rollLocked(); err != nil {
			q.mu.Unlock()
			return err
		}
		w = q.wseg
	}
	var err error
	var bp *[]byte // header and record, when written with one call
	if len(rec) < copyLimit {
		// One write of header and record: cheaper than two system calls.
		bp = getBuf(int(need))
		buf := (*bp)[:need]
		putHeader(buf, rec)
		copy(buf[headerSize:], rec)
		_, err = w.wf.WriteAt(buf, w.size)
	} else {
		putHeader(q.whdr[:], rec)
		if _, err = w.wf.WriteAt(q.whdr[:], w.size); err == nil {
			_, err = w.wf.WriteAt(rec, w.size+headerSize)
		}
	}
	if err != nil {
		err = fmt.Errorf("cannot append to %s at offset %d: %w", w.path, w.size, err)
		// Bytes of a short write lie past w.size, where the reader does
		// not look; cut them so that the next record follows the last
		// good one, or give up on the segment.
		if w.wf.Truncate(w.size) != nil {
			w.broken = true
			w.disk += need
			q.diskBytes += need
		}
		q.mu.Unlock()
		if bp != nil {
			putBuf(bp)
		}
		return err
	}
	// A reader that has read all before the record takes it from memory.
	if bp != nil && q.rseg == w && q.roff == w.size && len(q.redeliver) == 0 {
		q.dropHotLocked()
		q.hot = hotRecord{seg: w, off: w.size, size: need, bp: bp}
		bp = nil
	}
	w.size += need
	w.disk += need
	w.records++
	w.bytes += need
	w.unacked++
	q.diskBytes += need
	q.pendRecords++
	q.pendBytes += need
	end := w.size
	q.wakeLocked()
	q.mu.Unlock()
	if bp != nil {
		putBuf(bp)
	}
	if q.opts.Sync == SyncAlways {
		if err := q.syncTo(w, end); err != nil {
			return fmt.Errorf("%w: %w", ErrNotSynced, err)
		}
	}
	return nil
}

// Next hands out the oldest record not yet handed out in this run, after
// the records given back by Nack, blocking until there is one. Records are
// handed out in the order they were appended, each once per run until it is
// given back: a record handed out and not acknowledged before Close is
// handed out again by the next run.
//
// Next returns a record that is available even when ctx is done; otherwise
// ctx.Err() once it is done, ErrClosed after Close, or an I/O error naming
// the file and offset (the record stays in place: a later Next retries).
// Damaged records are skipped and counted in Stats.Corrupt, never handed
// out.
func (q *Queue) Next(ctx context.Context) (Record, error) {
	select {
	case q.readTok <- struct{}{}:
	default:
		select {
		case q.readTok <- struct{}{}:
		case <-q.done:
			return Record{}, ErrClosed
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
	defer func() { <-q.readTok }()
	for {
		rec, ok, err := q.tryNext()
		if ok || err != nil {
			return rec, err
		}
		select {
		case <-q.dataCh:
		case <-q.done:
			return Record{}, ErrClosed
		case <-ctx.Done():
			return Record{}, ctx.Err()
		}
	}
}

// tryNext hands out a record if there is one. The caller holds readTok.
func (q *Queue) tryNext() (Record, bool, error) {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return Record{}, false, ErrClosed
		}
		if len(q.redeliver) > 0 {
			rec, ok, err := q.redeliverLocked()
			if ok || err != nil {
				q.mu.Unlock()
				return rec, ok, err
			}
			continue
		}
		s := q.rseg
		if s == nil || q.roff >= s.size {
			if s != nil && s.sealed {
				q.advanceReaderLocked()
				if q.rfSeg != nil && q.rfSeg.readDone {
					_ = q.rf.Close()
					q.rf, q.rfSeg = nil, nil
				}
				continue
			}
			if s != nil {
				q.reconcileLocked(s)
			}
			q.waiting = true
			q.mu.Unlock()
			return Record{}, false, nil
		}
		off, end := q.roff, s.size
		if skip, ok := s.skips[off]; ok {
			q.roff = skip
			continue
		}
		if h := q.hot; h.bp != nil && h.seg == s && h.off == off {
			q.hot = hotRecord{}
			return q.handLocked(s, off, off+h.size, h.bp, (*h.bp)[headerSize:h.size:h.size]), true, nil
		}
		q.mu.Unlock()
		bp, data, next, err := q.readRecord(s, off, end, true)
		if errors.Is(err, errCorrupt) {
			next, err = q.resyncReader(s, off, end)
			if err == nil {
				q.log.Warn("disk queue: skipped damaged bytes", "file", s.path, "offset", off, "bytes", next-off)
				q.mu.Lock()
				q.corrupt.Records++
				q.corrupt.Bytes += next - off
				q.roff = next
				continue
			}
		}
		if err != nil {
			return Record{}, false, err
		}
		q.mu.Lock()
		return q.handLocked(s, off, next, bp, data), true, nil
	}
}

// handLocked hands out the record at off of s, which ends at next, and
// unlocks mu. bp holds data.
func (q *Queue) handLocked(s *segment, off, next int64, bp *[]byte, data []byte) Record {
	id := q.base + ID(len(q.fl)-q.flHead)
	q.fl = append(q.fl, flight{seg: s, off: off, size: next - off, buf: bp, state: handed})
	q.roff = next
	s.handed++
	s.handedBytes += next - off
	q.inFlight++
	q.mu.Unlock()
	return Record{ID: id, Data: data}
}

// redeliverLocked hands out again the oldest record given back by Nack. A
// record that is now damaged is settled and counted; then it reports
// neither a record nor an error. mu is held, and released while reading.
func (q *Queue) redeliverLocked() (Record, bool, error) {
	id := q.redeliver[0]
	q.redeliver = q.redeliver[1:]
	e := q.flightLocked(id)
	s, off, size := e.seg, e.off, e.size
	q.mu.Unlock()
	bp, data, _, err := q.readRecord(s, off, off+size, false)
	q.mu.Lock()
	e = q.flightLocked(id) // the slice may have moved
	switch {
	case err == nil:
		e.state, e.buf = handed, bp
		q.inFlight++
		return Record{ID: id, Data: data}, true, nil
	case errors.Is(err, errCorrupt):
		q.log.Warn("disk queue: a record given back is now damaged", "file", s.path, "offset", off, "bytes", size)
		q.corrupt.Records++
		q.corrupt.Bytes += size
		q.settleLocked(e)
		return Record{}, false, nil
	}
	q.redeliver = slices.Insert(q.redeliver, 0, id)
	return Record{}, false, err
}

// Ack removes a record handed out by Next from the queue: it was delivered.
// Acks may come in any order. The record's Data must not be used after.
// It returns ErrUnknownID for an ID not handed out, ErrClosed after Close
// (the record will be handed out again by the next run).
func (q *Queue) Ack(id ID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	e := q.flightLocked(id)
	if e == nil || e.state != handed {
		return fmt.Errorf("cannot ack record %d: %w", id, ErrUnknownID)
	}
	putBuf(e.buf)
	e.buf = nil
	q.inFlight--
	q.settleLocked(e)
	return nil
}

// Nack gives back a record handed out by Next: Next hands it out again,
// before any record not yet handed out. A caller that stops delivering (an
// output removed, a shutdown) gives back what it holds. The record's Data
// must not be used after. Errors are those of Ack.
func (q *Queue) Nack(id ID) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	e := q.flightLocked(id)
	if e == nil || e.state != handed {
		return fmt.Errorf("cannot nack record %d: %w", id, ErrUnknownID)
	}
	putBuf(e.buf)
	e.buf = nil
	e.state = returned
	q.inFlight--
	i, _ := slices.BinarySearch(q.redeliver, id)
	q.redeliver = slices.Insert(q.redeliver, i, id)
	q.wakeLocked()
	return nil
}

// Stats returns a snapshot of the queue's counters. It works after Close.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{
		Records:    q.pendRecords,
		Bytes:      q.pendBytes,
		InFlight:   q.inFlight,
		DiskBytes:  q.diskBytes,
		Segments:   len(q.segs),
		Corrupt:    q.corrupt,
		Torn:       q.torn,
		Syncs:      q.syncs.Load(),
		SyncErrors: q.syncErrs.Load(),
	}
}

// Close stops the background sync, waits for a Next that is reading, syncs
// (unless SyncNever) and saves the cursor, so that the next run starts at
// the oldest record not acknowledged. Records handed out and not
// acknowledged are handed out again by the next run; their Data stays valid.
// Blocked and later calls of Next, Append, Ack and Nack return ErrClosed.
// Close is idempotent.
func (q *Queue) Close() error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.done)
	q.dropHotLocked()
	q.mu.Unlock()
	q.wg.Wait()
	q.readTok <- struct{}{} // never given back
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	var errs []error
	if q.opts.Sync != SyncNever {
		errs = append(errs, q.syncDataLocked())
	}
	errs = append(errs, q.saveCursorLocked())
	errs = append(errs, q.closeFiles(), q.lock.Close())
	return errors.Join(errs...)
}

// closeFiles closes every file the queue holds open but the lock.
func (q *Queue) closeFiles() error {
	var errs []error
	if q.rf != nil {
		errs = append(errs, q.rf.Close())
		q.rf, q.rfSeg = nil, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, s := range append(q.unsynced, q.wseg) {
		if s != nil && s.wf != nil {
			if err := s.wf.Close(); err != nil {
				errs = append(errs, fmt.Errorf("cannot close %s: %w", s.path, err))
			}
			s.wf = nil
		}
	}
	q.unsynced = nil
	return errors.Join(errs...)
}

// wakeLocked wakes a Next waiting for a record.
func (q *Queue) wakeLocked() {
	if q.waiting {
		q.waiting = false
		select {
		case q.dataCh <- struct{}{}:
		default:
		}
	}
}

// flightLocked returns the flight of id, or nil.
func (q *Queue) flightLocked(id ID) *flight {
	if id < q.base || uint64(id-q.base) >= uint64(len(q.fl)-q.flHead) {
		return nil
	}
	return &q.fl[q.flHead+int(id-q.base)]
}

// settleLocked takes the record of e out of the queue.
func (q *Queue) settleLocked(e *flight) {
	e.state = settled
	s := e.seg
	s.unacked--
	q.pendRecords--
	q.pendBytes -= e.size
	q.maybeDeleteLocked(s)
	for q.flHead < len(q.fl) && q.fl[q.flHead].state == settled {
		q.fl[q.flHead] = flight{}
		q.flHead++
		q.base++
	}
	switch {
	case q.flHead == len(q.fl):
		q.fl, q.flHead = q.fl[:0], 0
	case q.flHead > 1024 && q.flHead > len(q.fl)/2:
		n := copy(q.fl, q.fl[q.flHead:])
		clear(q.fl[n:])
		q.fl, q.flHead = q.fl[:n], 0
	}
}

// cursorLocked returns the position of the oldest record not acknowledged:
// everything before it is.
func (q *Queue) cursorLocked() (uint64, int64) {
	if q.flHead < len(q.fl) {
		e := &q.fl[q.flHead]
		return e.seg.seq, e.off
	}
	if q.rseg != nil {
		return q.rseg.seq, q.roff
	}
	return q.nextSeq, 0
}

// rollLocked seals the write segment and starts a new one.
func (q *Queue) rollLocked() error {
	seq := q.nextSeq
	path := q.segPath(seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create segment: %w", err)
	}
	q.nextSeq++
	if old := q.wseg; old != nil {
		old.sealed = true
		if q.opts.Sync == SyncNever {
			if err := old.wf.Close(); err != nil {
				q.log.Warn("disk queue: cannot close segment", "file", old.path, "err", err)
			}
			old.wf = nil
		} else {
			q.unsynced = append(q.unsynced, old)
		}
	}
	s := &segment{seq: seq, path: path, wf: f}
	q.segs = append(q.segs, s)
	q.wseg = s
	q.dirDirty = true
	if q.rseg == nil {
		q.rseg, q.roff = s, 0
	} else if q.rseg.sealed && q.roff >= q.rseg.size {
		// The reader had read all of the old segment: it can go as soon as
		// its records are acknowledged, without waiting for a Next.
		q.advanceReaderLocked()
	}
	return nil
}

// recycleLocked makes room when the write segment holds only acknowledged
// records: it starts a new segment so that the old one can go. It reports
// whether need bytes fit after.
func (q *Queue) recycleLocked(need int64) bool {
	w := q.wseg
	if w == nil || w.size == 0 || w.unacked > 0 || q.rseg != w || q.roff < w.size {
		return false
	}
	if err := q.rollLocked(); err != nil {
		q.log.Warn("disk queue: cannot start a segment", "err", err)
		return false
	}
	return q.diskBytes+need <= q.opts.MaxBytes
}

// advanceReaderLocked moves the reader from the sealed segment it has read
// to the end to the next one.
func (q *Queue) advanceReaderLocked() {
	s := q.rseg
	q.reconcileLocked(s)
	s.readDone = true
	i := sort.Search(len(q.segs), func(i int) bool { return q.segs[i].seq > s.seq })
	if i < len(q.segs) {
		q.rseg = q.segs[i]
	} else {
		q.rseg = nil
	}
	q.roff = 0
	q.maybeDeleteLocked(s)
}

// reconcileLocked, with the reader at the end of s, forgets the records of s
// that were counted valid and failed when read (their bytes are in
// Stats.Corrupt): every other one was handed out.
func (q *Queue) reconcileLocked(s *segment) {
	if lost := s.records - s.handed; lost > 0 {
		lostBytes := s.bytes - s.handedBytes
		s.records, s.bytes = s.handed, s.handedBytes
		s.unacked -= lost
		q.pendRecords -= lost
		q.pendBytes -= lostBytes
	}
}

// maybeDeleteLocked deletes s once no record in it can be needed again.
func (q *Queue) maybeDeleteLocked(s *segment) {
	if !s.sealed || !s.readDone || s.unacked > 0 || s.deleted {
		return
	}
	s.deleted = true
	if err := os.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		q.log.Warn("disk queue: cannot delete an acknowledged segment", "file", s.path, "err", err)
	}
	if i := slices.Index(q.segs, s); i >= 0 {
		q.segs = slices.Delete(q.segs, i, i+1)
	}
	q.diskBytes -= s.disk
}

// readerFile returns a read handle on s. The caller holds readTok.
func (q *Queue) readerFile(s *segment) (*os.File, error) {
	if q.rfSeg == s {
		return q.rf, nil
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("cannot open segment: %w", err)
	}
	if q.rf != nil {
		_ = q.rf.Close()
	}
	q.rf, q.rfSeg = f, s
	return f, nil
}

// readRecord reads the record at off of s, which ends at or before end, into
// a pooled buffer, and returns the buffer, the payload and the offset after
// the record. With cache, it reads the next header along with the payload,
// and uses such a header read before. It returns errCorrupt for a record
// that fails its checks. The caller holds readTok.
func (q *Queue) readRecord(s *segment, off, end int64, cache bool) (*[]byte, []byte, int64, error) {
	f, err := q.readerFile(s)
	if err != nil {
		return nil, nil, 0, err
	}
	if end-off < headerSize {
		return nil, nil, 0, errCorrupt
	}
	h := q.hdr2[:]
	if cache && q.hdrSeg == s && q.hdrOff == off {
		h = q.hdr[:]
	} else if _, err := f.ReadAt(h, off); err != nil {
		return nil, nil, 0, readError(s, off, err)
	}
	n, want, ok := parseHeader(h)
	if !ok || n > end-off-headerSize {
		return nil, nil, 0, errCorrupt
	}
	extra := int64(0)
	if cache && end-off-headerSize-n >= headerSize {
		extra = headerSize
	}
	bp := getBuf(int(n + extra))
	b := (*bp)[:n+extra]
	if _, err := f.ReadAt(b, off+headerSize); err != nil {
		putBuf(bp)
		return nil, nil, 0, readError(s, off+headerSize, err)
	}
	if crc32.Checksum(b[:n], castagnoli) != want {
		putBuf(bp)
		return nil, nil, 0, errCorrupt
	}
	if extra > 0 {
		copy(q.hdr[:], b[n:])
		q.hdrSeg, q.hdrOff = s, off+headerSize+n
	}
	return bp, b[:n:n], off + headerSize + n, nil
}

// readError: a file shorter than the queue knows it is damaged; anything
// else is an I/O error.
func readError(s *segment, off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errCorrupt
	}
	return fmt.Errorf("cannot read %s at offset %d: %w", s.path, off, err)
}

// resyncReader returns the offset of the first valid record of s after the
// damaged one at off, or end. The caller holds readTok.
func (q *Queue) resyncReader(s *segment, off, end int64) (int64, error) {
	f, err := q.readerFile(s)
	if err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("cannot stat %s: %w", s.path, err)
	}
	if fi.Size() < end {
		return end, nil // cut short behind our back: what is missing is lost
	}
	if q.scan == nil {
		q.scan = newScanner(nil)
	}
	q.scan.reset(f, s.path, end)
	return q.scan.resync(off)
}

// syncTo makes the records of s up to end durable, unless a sync of another
// Append already did.
func (q *Queue) syncTo(s *segment, end int64) error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	if s.synced >= end {
		return nil
	}
	return q.syncDataLocked()
}

// syncDataLocked fsyncs what was written since the last sync: the sealed
// segments (then closed), the write segment, and the directory if a segment
// was created. syncMu is held.
func (q *Queue) syncDataLocked() error {
	q.mu.Lock()
	sealed := q.unsynced
	q.unsynced = nil
	w := q.wseg
	var wf *os.File
	var target int64
	if w != nil && w.wf != nil {
		wf, target = w.wf, w.size
	}
	dir := q.dirDirty
	q.dirDirty = false
	q.mu.Unlock()
	var errs []error
	for _, s := range sealed {
		if err := q.fsync(s.wf, s.path); err != nil {
			errs = append(errs, err)
		} else {
			s.synced = s.size
		}
		if err := s.wf.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cannot close %s: %w", s.path, err))
		}
		s.wf = nil
	}
	if wf != nil && w.synced < target {
		if err := q.fsync(wf, w.path); err != nil {
			errs = append(errs, err)
		} else {
			w.synced = target
		}
	}
	if dir {
		errs = append(errs, q.syncDir())
	}
	return errors.Join(errs...)
}

func (q *Queue) fsync(f *os.File, name string) error {
	q.syncs.Add(1)
	if err := f.Sync(); err != nil {
		q.syncErrs.Add(1)
		return fmt.Errorf("cannot fsync %s: %w", name, err)
	}
	return nil
}

func (q *Queue) syncDir() error {
	d, err := os.Open(q.opts.Dir)
	if err != nil {
		return fmt.Errorf("cannot open directory to fsync: %w", err)
	}
	err = q.fsync(d, q.opts.Dir)
	return errors.Join(err, d.Close())
}

// syncLoop syncs (unless SyncNever) and saves the cursor every
// SyncInterval, until Close.
func (q *Queue) syncLoop() {
	defer q.wg.Done()
	t := time.NewTicker(q.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-q.done:
			return
		case <-t.C:
		}
		q.syncMu.Lock()
		var err error
		if q.opts.Sync != SyncNever {
			err = q.syncDataLocked()
		}
		err = errors.Join(err, q.saveCursorLocked())
		q.syncMu.Unlock()
		if err != nil {
			q.log.Error("disk queue: background sync failed", "dir", q.opts.Dir, "err", err)
		}
	}
}
