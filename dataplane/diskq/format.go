package diskq

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math/bits"
	"sync"
)

// headerSize is the length of a record header: payload length, payload
// CRC-32C, and the CRC-32C of those first 8 bytes.
const headerSize = 12

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// putHeader writes the header of payload into h[:headerSize].
func putHeader(h, payload []byte) {
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(payload, castagnoli))
	binary.LittleEndian.PutUint32(h[8:12], crc32.Checksum(h[:8], castagnoli))
}

// parseHeader returns the payload length and CRC that h announces, and
// whether h checks out: its own CRC matches and the length is at most
// MaxRecordBytes. A run of zeros (a block the file system never wrote) does
// not check out.
func parseHeader(h []byte) (n int64, crc uint32, ok bool) {
	n = int64(binary.LittleEndian.Uint32(h[0:4]))
	crc = binary.LittleEndian.Uint32(h[4:8])
	ok = binary.LittleEndian.Uint32(h[8:12]) == crc32.Checksum(h[:8], castagnoli) && n <= MaxRecordBytes
	return n, crc, ok
}

// scanWindow is how much of a segment a scanner holds in memory.
const scanWindow = 256 << 10

// scanner reads a segment through a sliding window to validate records and to
// find the next valid record after a damaged run, so neither recovery nor a
// resync holds more than one window of a segment in memory.
type scanner struct {
	r    io.ReaderAt
	name string // the file, for errors
	size int64  // bytes of the file to consider
	buf  []byte // the window: buf[:wlen] holds the file from woff
	woff int64
	wlen int
}

func newScanner(buf []byte) *scanner {
	if len(buf) < scanWindow {
		buf = make([]byte, scanWindow)
	}
	return &scanner{buf: buf}
}

// reset points s at another file, keeping its window buffer.
func (s *scanner) reset(r io.ReaderAt, name string, size int64) {
	s.r, s.name, s.size, s.woff, s.wlen = r, name, size, 0, 0
}

// window returns the n bytes of the file at off; n is at most len(s.buf) and
// off+n at most s.size.
func (s *scanner) window(off int64, n int) ([]byte, error) {
	if off >= s.woff && off+int64(n) <= s.woff+int64(s.wlen) {
		i := int(off - s.woff)
		return s.buf[i : i+n], nil
	}
	m := int(min(int64(len(s.buf)), s.size-off))
	got, err := s.r.ReadAt(s.buf[:m], off)
	if got < m {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.wlen = 0
		return nil, fmt.Errorf("cannot read %s at offset %d: %w", s.name, off, err)
	}
	s.woff, s.wlen = off, got
	return s.buf[:n], nil
}

// recordAt reports whether a valid record starts at off, and its length with
// its header. The payload's CRC is computed window by window.
func (s *scanner) recordAt(off int64) (int64, bool, error) {
	if s.size-off < headerSize {
		return 0, false, nil
	}
	h, err := s.window(off, headerSize)
	if err != nil {
		return 0, false, err
	}
	n, want, ok := parseHeader(h)
	if !ok || n > s.size-off-headerSize {
		return 0, false, nil
	}
	var crc uint32
	for p, end := off+headerSize, off+headerSize+n; p < end; {
		k := int(min(int64(len(s.buf)), end-p))
		b, err := s.window(p, k)
		if err != nil {
			return 0, false, err
		}
		crc = crc32.Update(crc, castagnoli, b)
		p += int64(k)
	}
	return headerSize + n, crc == want, nil
}

// resync returns the offset of the first valid record after off, or s.size
// when there is none. A candidate costs one 8-byte CRC unless its header
// checks out, so a damaged run is crossed in linear time.
func (s *scanner) resync(off int64) (int64, error) {
	for p := off + 1; p+headerSize <= s.size; p++ {
		h, err := s.window(p, headerSize)
		if err != nil {
			return 0, err
		}
		if n, _, ok := parseHeader(h); !ok || n > s.size-p-headerSize {
			continue
		}
		if _, ok, err := s.recordAt(p); err != nil {
			return 0, err
		} else if ok {
			return p, nil
		}
	}
	return s.size, nil
}

// Record buffers come from pools by power-of-two size class, from 4 KiB to
// 16 MiB; longer records get a buffer of their own that is not recycled.
const (
	minBufShift = 12
	maxBufShift = 24
)

var bufPools [maxBufShift - minBufShift + 1]sync.Pool

// getBuf returns a buffer of length at least n.
func getBuf(n int) *[]byte {
	c := 0
	if n > 1<<minBufShift {
		c = bits.Len(uint(n-1)) - minBufShift
	}
	if c >= len(bufPools) {
		b := make([]byte, n)
		return &b
	}
	if v := bufPools[c].Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, 1<<(c+minBufShift))
	return &b
}

// putBuf recycles a buffer from getBuf.
func putBuf(bp *[]byte) {
	n := cap(*bp)
	if n&(n-1) != 0 || n < 1<<minBufShift || n > 1<<maxBufShift {
		return
	}
	*bp = (*bp)[:n]
	bufPools[bits.Len(uint(n))-1-minBufShift].Put(bp)
}
