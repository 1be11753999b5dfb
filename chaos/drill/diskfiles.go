package drill

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

	lgsink "streamgate/loadgen/sink"
)

// The disk drills read an output's disk queues themselves, from the files,
// as the data plane documents them (dataplane/diskq: segment files of
// records, each a 12-byte header of payload length, payload CRC-32C and
// header CRC-32C, then the payload; a cursor file, "SGQC", segment number,
// offset, CRC-32C; and dataplane/pipeline: a payload is a version byte, the
// time it was written, the line count and each line prefixed by its
// length). Reading them without the data plane's code checks what it
// restores against what is on disk, and lets a drill damage chosen records
// and know which lines they held.

const (
	recHeader     = 12
	maxRecord     = 64 << 20 // a longer length is not trusted (diskq.MaxRecordBytes)
	cursorFile    = "cursor"
	cursorLen     = 24
	segSuffix     = ".seg"
	recordVersion = 1
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// queueRecord is a valid record found in a segment file.
type queueRecord struct {
	path  string // the segment file
	off   int64  // where its header starts
	size  int64  // header and payload
	lines int
	// lastSeg says its segment is the last of its queue (the one being
	// written), lastRec that no valid record follows it in its segment.
	lastSeg, lastRec bool
}

// queueScan is what a folder of disk queues holds from each queue's cursor
// on: what a data plane started on it would restore.
type queueScan struct {
	queues  int // lane folders holding segment files
	records []queueRecord
	lines   int64
	bytes   int64 // of the valid records, headers included
	// damaged counts the runs of bytes that are not valid records: a
	// damaged run between records, or a torn or damaged end of a segment.
	damaged int
	// maxSeq is, by source, the highest sequence number of a line on disk;
	// unparsed counts the lines without one.
	maxSeq   map[string]uint64
	unparsed int64
}

// sumMaxSeq adds up maxSeq.
func (s *queueScan) sumMaxSeq() int64 {
	var n int64
	for _, v := range s.maxSeq {
		n += int64(v)
	}
	return n
}

// scanQueues reads every queue under dir, <dir>/<output>/<lane>/, without
// changing anything. A missing dir holds nothing.
func scanQueues(dir string) (queueScan, error) {
	sc := queueScan{maxSeq: map[string]uint64{}}
	outs, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return sc, nil
	}
	if err != nil {
		return sc, err
	}
	for _, o := range outs {
		if !o.IsDir() {
			continue
		}
		lanes, err := os.ReadDir(filepath.Join(dir, o.Name()))
		if err != nil {
			return sc, err
		}
		for _, l := range lanes {
			if l.IsDir() {
				if err := sc.scanQueue(filepath.Join(dir, o.Name(), l.Name())); err != nil {
					return sc, err
				}
			}
		}
	}
	return sc, nil
}

// scanQueue reads one queue folder.
func (sc *queueScan) scanQueue(dir string) error {
	es, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var segs []uint64
	for _, e := range es {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) || !e.Type().IsRegular() {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err == nil && n > 0 {
			segs = append(segs, n)
		}
	}
	if len(segs) == 0 {
		return nil
	}
	sc.queues++
	slices.Sort(segs)
	cseg, coff, ok := readCursorFile(filepath.Join(dir, cursorFile))
	if !ok {
		cseg, coff = 0, 0 // every segment from its start, as the data plane does
	}
	for i, n := range segs {
		if n < cseg {
			continue // acknowledged whole; the data plane deletes it at start
		}
		start := int64(0)
		if n == cseg {
			start = coff
		}
		path := filepath.Join(dir, fmt.Sprintf("%020d%s", n, segSuffix))
		if err := sc.scanSegment(path, start, i == len(segs)-1); err != nil {
			return err
		}
	}
	return nil
}

// readCursorFile reads a queue's cursor: ok is false when it is missing
// or invalid.
func readCursorFile(path string) (seg uint64, off int64, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) != cursorLen || string(b[:4]) != "SGQC" ||
		binary.LittleEndian.Uint32(b[20:]) != crc32.Checksum(b[:20], crc32c) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[4:]), int64(binary.LittleEndian.Uint64(b[12:])), true
}

// scanSegment reads the records of one segment file from start on.
func (sc *queueScan) scanSegment(path string, start int64, lastSeg bool) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	first := len(sc.records)
	for off := min(start, int64(len(b))); off < int64(len(b)); {
		if n, ok := recordAt(b, off); ok {
			if err := sc.addRecord(path, b, off, n, lastSeg); err != nil {
				return err
			}
			off += n
			continue
		}
		sc.damaged++
		off = resync(b, off)
	}
	if k := len(sc.records); k > first {
		sc.records[k-1].lastRec = true
	}
	return nil
}

// recordAt reports whether a valid record starts at off in b, and its
// length with its header.
func recordAt(b []byte, off int64) (int64, bool) {
	if int64(len(b))-off < recHeader {
		return 0, false
	}
	h := b[off : off+recHeader]
	n := int64(binary.LittleEndian.Uint32(h[0:4]))
	if binary.LittleEndian.Uint32(h[8:12]) != crc32.Checksum(h[:8], crc32c) || n > maxRecord ||
		n > int64(len(b))-off-recHeader {
		return 0, false
	}
	payload := b[off+recHeader : off+recHeader+n]
	return recHeader + n, crc32.Checksum(payload, crc32c) == binary.LittleEndian.Uint32(h[4:8])
}

// resync returns the offset of the next valid record after off, or the
// end of b.
func resync(b []byte, off int64) int64 {
	for p := off + 1; p+recHeader <= int64(len(b)); p++ {
		if _, ok := recordAt(b, p); ok {
			return p
		}
	}
	return int64(len(b))
}

// addRecord decodes the payload of the record at off and counts it.
func (sc *queueScan) addRecord(path string, b []byte, off, n int64, lastSeg bool) error {
	p := b[off+recHeader : off+n]
	if len(p) < 9 || p[0] != recordVersion {
		return fmt.Errorf("%s at offset %d: a record of an unknown version", path, off)
	}
	count, k := binary.Uvarint(p[9:])
	if k <= 0 {
		return fmt.Errorf("%s at offset %d: a record without a line count", path, off)
	}
	rest := p[9+k:]
	for range count {
		l, k := binary.Uvarint(rest)
		if k <= 0 || l > uint64(len(rest)-k) {
			return fmt.Errorf("%s at offset %d: a record whose lines do not decode", path, off)
		}
		line := rest[k : k+int(l)]
		rest = rest[k+int(l):]
		if pl, ok := lgsink.ParseLine(line); ok {
			if src := string(pl.Src); pl.Seq > sc.maxSeq[src] {
				sc.maxSeq[src] = pl.Seq
			}
		} else {
			sc.unparsed++
		}
	}
	sc.records = append(sc.records, queueRecord{path: path, off: off, size: n, lines: int(count), lastSeg: lastSeg})
	sc.lines += int64(count)
	sc.bytes += n
	return nil
}
