package diskq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files of a queue directory.
const (
	segDigits  = 20
	segExt     = ".seg"
	cursorName = "cursor"
	cursorTmp  = cursorName + ".tmp"
	lockName   = "lock"
)

// The cursor file: magic, segment number, offset, CRC-32C of the 20 bytes
// before it.
const (
	cursorMagic = "SGQC"
	cursorSize  = 24
)

func (q *Queue) segPath(seq uint64) string {
	return filepath.Join(q.opts.Dir, fmt.Sprintf("%0*d%s", segDigits, seq, segExt))
}

// parseSegName returns the number of a segment file name.
func parseSegName(name string) (uint64, bool) {
	if len(name) != segDigits+len(segExt) || !strings.HasSuffix(name, segExt) {
		return 0, false
	}
	seq, err := strconv.ParseUint(name[:segDigits], 10, 64)
	return seq, err == nil && seq > 0
}

// recover loads the queue directory. See Open.
func (q *Queue) recover() error {
	dir := q.opts.Dir
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot read disk queue directory: %w", err)
	}
	var seqs []uint64
	for _, e := range entries {
		if e.Name() == cursorTmp {
			_ = os.Remove(filepath.Join(dir, cursorTmp)) // a save cut short
			continue
		}
		if seq, ok := parseSegName(e.Name()); ok && e.Type().IsRegular() {
			seqs = append(seqs, seq)
		}
	}
	slices.Sort(seqs)

	cpath := filepath.Join(dir, cursorName)
	cseq, coff, ok, err := readCursor(cpath)
	if err != nil && len(seqs) > 0 {
		// Never lose a record: deliver everything again.
		q.log.Warn("disk queue: cursor unreadable, delivering every segment from its start", "file", cpath, "err", err)
	}
	if !ok {
		cseq, coff = 0, 0
	}
	q.nextSeq = cseq + 1
	if n := len(seqs); n > 0 {
		q.nextSeq = max(q.nextSeq, seqs[n-1]+1)
	}

	sc := newScanner(nil)
	for i, seq := range seqs {
		path := q.segPath(seq)
		if seq < cseq {
			// Every record in it is acknowledged; a crash came before the
			// delete.
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("cannot delete acknowledged segment: %w", err)
			}
			continue
		}
		start := int64(0)
		if seq == cseq {
			start = coff
		}
		s, err := q.recoverSegment(sc, seq, path, start, i == len(seqs)-1)
		if err != nil {
			return err
		}
		if len(q.segs) == 0 {
			q.rseg, q.roff = s, min(start, s.size)
		}
		q.segs = append(q.segs, s)
		q.diskBytes += s.disk
		q.pendRecords += s.records
		q.pendBytes += s.bytes
	}
	if n := len(q.segs); n > 0 && !q.segs[n-1].sealed {
		q.wseg = q.segs[n-1]
	}
	return nil
}

// recoverSegment validates the records of a segment from start on. A
// damaged run followed by a valid record is counted and skipped; a damaged
// tail is cut from the last segment (Torn), counted and left in place in
// others (Corrupt). The last segment stays open for writing.
func (q *Queue) recoverSegment(sc *scanner, seq uint64, path string, start int64, last bool) (*segment, error) {
	flag := os.O_RDONLY
	if last {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open segment: %w", err)
	}
	s, err := q.scanSegment(sc, f, seq, path, start, last)
	if err != nil || !last {
		_ = f.Close()
		return s, err
	}
	s.wf = f
	return s, nil
}

func (q *Queue) scanSegment(sc *scanner, f *os.File, seq uint64, path string, start int64, last bool) (*segment, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot stat segment: %w", err)
	}
	size := fi.Size()
	s := &segment{seq: seq, path: path, disk: size, sealed: !last}
	sc.reset(f, path, size)
	off := min(start, size)
	tail := size
	for off < size {
		n, ok, err := sc.recordAt(off)
		if err != nil {
			return nil, err
		}
		if ok {
			if q.opts.Recovered != nil {
				head, err := sc.window(off+headerSize, int(min(n-headerSize, RecoveredPrefix)))
				if err != nil {
					return nil, err
				}
				q.opts.Recovered(head)
			}
			s.records++
			s.bytes += n
			off += n
			continue
		}
		next, err := sc.resync(off)
		if err != nil {
			return nil, err
		}
		if next >= size {
			tail = off
			break
		}
		if s.skips == nil {
			s.skips = make(map[int64]int64)
		}
		s.skips[off] = next
		q.corrupt.Records++
		q.corrupt.Bytes += next - off
		q.log.Warn("disk queue: skipping damaged bytes", "file", path, "offset", off, "bytes", next-off)
		off = next
	}
	s.size = tail
	s.unacked = s.records
	if tail == size {
		return s, nil
	}
	if !last {
		q.corrupt.Records++
		q.corrupt.Bytes += size - tail
		q.log.Warn("disk queue: skipping damaged end of segment", "file", path, "offset", tail, "bytes", size-tail)
		return s, nil
	}
	if err := f.Truncate(tail); err != nil {
		return nil, fmt.Errorf("cannot cut torn record from %s at offset %d: %w", path, tail, err)
	}
	if q.opts.Sync != SyncNever {
		if err := q.fsync(f, path); err != nil {
			return nil, err
		}
	}
	q.torn.Records++
	q.torn.Bytes += size - tail
	q.log.Warn("disk queue: cut a torn record from the end of the last segment", "file", path, "offset", tail, "bytes", size-tail)
	s.disk = tail
	return s, nil
}

// readCursor reads the cursor file: the position of the oldest record not
// acknowledged. ok is false when there is no valid cursor; err says why
// when the file exists.
func readCursor(path string) (seq uint64, off int64, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, false, fmt.Errorf("cannot read cursor: %w", err)
	}
	if len(b) != cursorSize || string(b[:4]) != cursorMagic ||
		binary.LittleEndian.Uint32(b[20:]) != crc32.Checksum(b[:20], castagnoli) {
		return 0, 0, false, fmt.Errorf("%s: not a valid cursor file (%d bytes)", path, len(b))
	}
	seq = binary.LittleEndian.Uint64(b[4:])
	off = int64(binary.LittleEndian.Uint64(b[12:]))
	if off < 0 {
		return 0, 0, false, fmt.Errorf("%s: negative offset %d", path, off)
	}
	return seq, off, true, nil
}

// saveCursorLocked saves the position of the oldest record not acknowledged
// if it moved: written to a temporary file, fsynced (unless SyncNever) and
// renamed over the cursor. syncMu is held.
func (q *Queue) saveCursorLocked() error {
	q.mu.Lock()
	seq, off := q.cursorLocked()
	q.mu.Unlock()
	if q.saved && seq == q.savedSeq && off == q.savedOff {
		return nil
	}
	var b [cursorSize]byte
	copy(b[:4], cursorMagic)
	binary.LittleEndian.PutUint64(b[4:], seq)
	binary.LittleEndian.PutUint64(b[12:], uint64(off))
	binary.LittleEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	tmp := filepath.Join(q.opts.Dir, cursorTmp)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("cannot save cursor: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil && q.opts.Sync != SyncNever {
		err = q.fsync(f, tmp)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(q.opts.Dir, cursorName))
	}
	if err == nil && q.opts.Sync != SyncNever {
		err = q.syncDir()
	}
	if err != nil {
		return fmt.Errorf("cannot save cursor: %w", err)
	}
	q.saved, q.savedSeq, q.savedOff = true, seq, off
	return nil
}
