// Package ingest holds the TCP, UDP and HTTP listeners: bytes in, batches of
// lines out.
//
// Framing rules, the same for every transport:
//   - a line ends at '\n'; one trailing '\r' is removed;
//   - empty lines are ignored;
//   - a stream's last line without a newline is kept when the stream ends
//     (TCP EOF, end of an HTTP body, end of a UDP datagram); a TCP line
//     cut short by a connection reset or by shutdown is dropped and counted
//     (reason truncated), never emitted incomplete;
//   - a line longer than the maximum (default 1 MiB) is dropped whole and
//     counted as dropped with reason "oversize"; the lines after it are
//     unaffected. Dropping, not truncating, keeps a cut-off card number or
//     SSN from slipping past the redactors.
package ingest

import (
	"bytes"

	"streamgate/dataplane/record"
)

// DefaultMaxLine is the default longest line, in bytes.
const DefaultMaxLine = 1 << 20

// Read sizes: a busy stream reads 64 KiB at a time, amortising the syscall
// over many lines; an idle one holds only a small buffer while it waits, so
// ten thousand quiet connections cost little memory.
const (
	smallRead = 4 << 10
	largeRead = 64 << 10
)

// stream frames one byte stream into batches of lines. Bytes are read
// straight into the current batch's spare capacity; a batch is handed on as
// soon as it holds complete lines, and only the incomplete tail is copied
// into the next one. A long line in progress stays in its batch, which
// grows by doubling, so each byte is copied O(1) times.
type stream struct {
	readBuffer
	maxLine    int
	scanned    int  // bytes of b.Data already scanned: they hold no '\n'
	discarding bool // inside an oversize line: skip to the next '\n'
}

// readBuffer is the batch a framer reads into, shared by stream and
// syslogStream.
type readBuffer struct {
	key   uint64
	b     *record.Batch
	grown bool // b.Data was grown for the line in progress
	size  int  // next read size
	// limit bounds how far b.Data grows for one line in progress: the
	// longest line and what may frame it.
	limit int
}

// newReadBuffer returns a read buffer for lines of at most limit bytes,
// framing included, with a first batch.
func newReadBuffer(key uint64, limit int) readBuffer {
	r := readBuffer{key: key, size: smallRead, limit: limit}
	r.b = r.newBatch(nil)
	return r
}

func newStream(key uint64, maxLine int) *stream {
	return &stream{readBuffer: newReadBuffer(key, maxLine+2), maxLine: maxLine} // +2: a '\r' may still be stripped
}

func (s *readBuffer) newBatch(tail []byte) *record.Batch {
	// The tail of the last read rides along in the read size's own class
	// unless it is a long line: asking for tail+size would move every busy
	// stream up a size class, to 1 MiB batches mostly left empty.
	b := record.Get(max(s.size, len(tail)+smallRead))
	s.grown = false
	b.Key = s.key
	b.Data = append(b.Data, tail...)
	return b
}

// buf returns where the next read goes: the current batch's spare capacity,
// grown when a line in progress has filled it (see growth).
func (s *readBuffer) buf() []byte {
	b := s.b
	if n := s.growth(); n > 0 {
		grown := make([]byte, len(b.Data), n)
		copy(grown, b.Data)
		b.Data = grown
		s.grown = true
	}
	return b.Data[len(b.Data):cap(b.Data)]
}

// growth is the size buf will grow the buffer to, or 0 when it has room
// for a read. It never grows past what the longest line and a read need: a
// longer line is skipped, not buffered.
func (s *readBuffer) growth() int {
	b := s.b
	if cap(b.Data)-len(b.Data) >= smallRead/2 {
		return 0
	}
	n := min(2*cap(b.Data)+s.size, s.limit+largeRead)
	return max(n, len(b.Data)+smallRead)
}

// advance takes n bytes just read into buf(). It returns a batch of complete
// lines to hand on, or nil, and how many lines were dropped as oversize.
func (s *stream) advance(n int) (ready *record.Batch, oversize int) {
	b := s.b
	room := cap(b.Data) - len(b.Data)
	b.Data = b.Data[:len(b.Data)+n]
	switch {
	case n == room:
		s.size = largeRead
	case n < smallRead/2:
		s.size = smallRead
	}
	tail, oversize := s.split(b, 0, s.scanned)
	rest := b.Data[tail:]
	if len(b.Lines) == 0 {
		// Nothing to hand on: keep the partial line in this batch.
		if tail > 0 {
			b.Data = b.Data[:copy(b.Data, rest)]
		}
		if len(b.Data) == 0 && s.grown {
			// An oversize line is being skipped: drop the buffer grown
			// for it (to the collector: a pool would keep it).
			s.b = s.newBatch(nil)
		}
		s.scanned = len(s.b.Data)
		return nil, oversize
	}
	s.b = s.newBatch(rest)
	s.scanned = len(rest)
	return b, oversize
}

// split appends the complete lines of b.Data[from:], scanning from scanFrom
// on, to b.Lines. It returns where the incomplete tail starts; a tail that
// cannot end within the limit is dropped at once (counted) and its remainder
// skipped.
func (s *stream) split(b *record.Batch, from, scanFrom int) (tail, oversize int) {
	data := b.Data
	start := from
	for i := max(from, scanFrom); i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		end := i + j
		if s.discarding {
			s.discarding = false
		} else {
			oversize += emit(b, data[start:end], s.maxLine)
		}
		start = end + 1
		i = start
	}
	if s.discarding {
		return len(data), oversize
	}
	if len(data)-start > s.maxLine+1 { // +1: a '\r' may still be stripped
		s.discarding = true
		return len(data), oversize + 1
	}
	return start, oversize
}

// holding is the memory the stream holds for a line not yet ended: the
// bytes of it read so far or, once the line has outgrown its read buffer,
// the whole buffer grown for it.
func (s *stream) holding() int {
	switch {
	case s.b == nil:
		return 0
	case s.grown:
		return cap(s.b.Data)
	}
	return len(s.b.Data)
}

// holdingNext is what the stream will hold once buf has made room for the
// next read: a buffer is charged before it is grown.
func (s *stream) holdingNext() int {
	if n := s.growth(); n > 0 {
		return n
	}
	return s.holding()
}

// end closes the stream at EOF: the last line without newline becomes a
// line. It returns the final batch, or nil, and the oversize count.
func (s *stream) end() (ready *record.Batch, oversize int) {
	b := s.b
	s.b = nil
	if !s.discarding && len(b.Data) > 0 {
		oversize = emit(b, b.Data, s.maxLine)
	}
	if len(b.Lines) == 0 {
		record.Put(b)
		return nil, oversize
	}
	return b, oversize
}

// truncated is how many lines end found cut short: a line stream keeps its
// last line, so none.
func (s *stream) truncated() int { return 0 }

// framer frames a TCP connection's bytes: stream (lines) or syslogStream.
type framer interface {
	buf() []byte
	advance(n int) (ready *record.Batch, oversize int)
	end() (ready *record.Batch, oversize int)
	truncated() int
	abort() (partial int)
	holdingNext() int
}

// abort closes the stream early, at shutdown: a line in progress is cut
// short, so it is not emitted. It returns 1 if there was one.
func (s *stream) abort() (partial int) {
	if !s.discarding && len(bytes.TrimRight(s.b.Data, "\r")) > 0 {
		partial = 1
	}
	if !s.grown {
		// A buffer grown for a long line is left to the collector: pooled,
		// it would outlive many collections, and a client cut off for
		// holding too much must not keep that memory alive.
		record.Put(s.b)
	}
	s.b = nil
	return partial
}

// emit appends line to b.Lines unless it is empty or oversize.
func emit(b *record.Batch, line []byte, maxLine int) (oversize int) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return 0
	}
	if len(line) > maxLine {
		return 1
	}
	b.Lines = append(b.Lines, line[:len(line):len(line)])
	return 0
}

// splitAll frames a complete message (a UDP datagram or an HTTP body) held
// in b.Data[from:]: every line, including a last one without newline.
func splitAll(b *record.Batch, from, maxLine int) (oversize int) {
	s := stream{maxLine: maxLine}
	tail, oversize := s.split(b, from, from)
	if !s.discarding {
		oversize += emit(b, b.Data[tail:], maxLine)
	}
	return oversize
}
