// Package ingest holds the TCP, UDP and HTTP listeners: bytes in, batches of
// lines out.
//
// Framing rules, the same for every transport:
//   - a line ends at '\n'; one trailing '\r' is removed;
//   - empty lines are ignored;
//   - a stream's last line without a newline is kept when the stream ends
//     (TCP EOF, end of an HTTP body, end of a UDP datagram);
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

// framer splits one byte stream into lines. The stream arrives in batches:
// each read lands in a fresh batch's Data, behind the partial line carried
// over from the previous read, so complete lines are never copied.
type framer struct {
	maxLine    int
	carry      []byte // partial line at the end of the last read
	discarding bool   // inside an oversize line: skip to the next '\n'
}

// start prepares b for the next read: it copies the carried partial line to
// the front of b.Data. The read must append to b.Data.
func (f *framer) start(b *record.Batch) {
	b.Data = append(b.Data[:0], f.carry...)
	f.carry = f.carry[:0]
}

// split cuts b.Data into lines, from scanFrom on (bytes before it were
// scanned already and hold no '\n'). Complete lines are appended to b.Lines;
// the incomplete tail is carried to the next read. It returns how many lines
// were dropped as oversize.
func (f *framer) split(b *record.Batch, scanFrom int) (oversize int) {
	data := b.Data
	start := 0
	for i := scanFrom; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		if j < 0 {
			break
		}
		end := i + j
		if f.discarding {
			f.discarding = false
		} else {
			oversize += f.emit(b, data[start:end])
		}
		start = end + 1
		i = start
	}
	rest := data[start:]
	switch {
	case f.discarding:
	case len(rest) > f.maxLine+1: // +1: a '\r' may still be stripped
		// Cannot end within the limit: drop it now, skip its remainder.
		f.discarding = true
		oversize++
	default:
		f.carry = append(f.carry, rest...)
	}
	return oversize
}

// end closes the stream: a carried line without newline becomes a line.
func (f *framer) end(b *record.Batch) (oversize int) {
	if f.discarding {
		f.discarding = false
		f.carry = f.carry[:0]
		return 0
	}
	if len(f.carry) == 0 {
		return 0
	}
	start := len(b.Data)
	b.Data = append(b.Data, f.carry...)
	f.carry = f.carry[:0]
	return f.emit(b, b.Data[start:])
}

// emit appends line to b.Lines unless it is empty or oversize.
func (f *framer) emit(b *record.Batch, line []byte) (oversize int) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		return 0
	}
	if len(line) > f.maxLine {
		return 1
	}
	b.Lines = append(b.Lines, line[:len(line):len(line)])
	return 0
}

// splitAll frames a complete message (a UDP datagram or an HTTP body) held
// in b.Data: every line, including a last one without newline.
func splitAll(b *record.Batch, maxLine int) (oversize int) {
	f := framer{maxLine: maxLine}
	oversize = f.split(b, 0)
	if f.discarding {
		return oversize
	}
	if len(f.carry) > 0 {
		// The tail is still in b.Data, at the end.
		oversize += f.emit(b, b.Data[len(b.Data)-len(f.carry):])
	}
	return oversize
}
