package ingest

import (
	"bytes"

	"streamgate/dataplane/record"
)

// maxFrameDigits bounds an octet-counting frame's length field: a longer
// one is not a length, and the frame is read as a line instead.
const maxFrameDigits = 10

// syslogStream frames a TCP syslog connection. Its first byte decides the
// framing: a digit means octet counting (RFC 6587 3.4.1: "LEN SP MSG"),
// anything else newline-delimited messages (3.4.2), framed as stream
// frames lines. Under octet counting, a frame whose header is not a length
// is read up to the next newline, as a line, so a sender that mixes the two
// loses nothing; newlines between frames are skipped; a frame longer than
// the longest line is skipped and counted (oversize).
type syslogStream struct {
	readBuffer
	maxLine int
	lines   *stream // newline-delimited, once decided
	octet   bool    // octet counting, once decided

	start   int  // where the unconsumed bytes of b.Data begin
	skip    int  // bytes of an oversize frame still to skip
	inLine  bool // reading a headerless frame up to '\n'
	discard bool // inside an oversize headerless frame: skip to '\n'
	cut     int  // a frame cut short by EOF
}

func newSyslogStream(key uint64, maxLine int) *syslogStream {
	return &syslogStream{readBuffer: newReadBuffer(key, maxLine+maxFrameDigits+2), maxLine: maxLine}
}

func (s *syslogStream) buf() []byte {
	if s.lines != nil {
		return s.lines.buf()
	}
	return s.readBuffer.buf()
}

func (s *syslogStream) holdingNext() int {
	if s.lines != nil {
		return s.lines.holdingNext()
	}
	if n := s.growth(); n > 0 {
		return n
	}
	if s.grown {
		return cap(s.b.Data)
	}
	return len(s.b.Data)
}

func (s *syslogStream) advance(n int) (*record.Batch, int) {
	if s.lines != nil {
		return s.lines.advance(n)
	}
	b := s.b
	if !s.octet {
		if n == 0 {
			return nil, 0
		}
		if c := b.Data[len(b.Data) : len(b.Data)+1][0]; c < '0' || c > '9' {
			// Newline-delimited: hand the connection to a line stream,
			// the bytes just read included.
			rb := s.readBuffer
			rb.b, rb.limit = b, s.maxLine+2
			s.lines = &stream{readBuffer: rb, maxLine: s.maxLine}
			s.b = nil
			return s.lines.advance(n)
		}
		s.octet = true
	}
	room := cap(b.Data) - len(b.Data)
	b.Data = b.Data[:len(b.Data)+n]
	switch {
	case n == room:
		s.size = largeRead
	case n < smallRead/2:
		s.size = smallRead
	}
	oversize := s.frames(b)
	rest := b.Data[s.start:]
	if len(b.Lines) == 0 {
		if s.start > 0 {
			b.Data = b.Data[:copy(b.Data, rest)]
			s.start = 0
		}
		if len(b.Data) == 0 && s.grown {
			s.b = s.newBatch(nil)
		}
		return nil, oversize
	}
	s.b = s.newBatch(rest)
	s.start = 0
	return b, oversize
}

// frames appends the complete frames of b.Data[s.start:] to b.Lines and
// moves s.start past them.
func (s *syslogStream) frames(b *record.Batch) (oversize int) {
	data := b.Data
	for s.start < len(data) {
		if s.skip > 0 {
			k := min(s.skip, len(data)-s.start)
			s.skip -= k
			s.start += k
			continue
		}
		if s.inLine {
			j := bytes.IndexByte(data[s.start:], '\n')
			if j < 0 {
				if len(data)-s.start > s.maxLine+1 {
					s.discard, s.start = true, len(data)
					oversize++
				}
				return oversize
			}
			if !s.discard {
				oversize += emit(b, data[s.start:s.start+j], s.maxLine)
			}
			s.inLine, s.discard = false, false
			s.start += j + 1
			continue
		}
		if c := data[s.start]; c == '\n' || c == '\r' || c == ' ' {
			s.start++ // between frames
			continue
		}
		l, hdr, ok := frameHeader(data[s.start:])
		switch {
		case hdr == 0:
			return oversize // header not complete yet
		case !ok:
			s.inLine = true
		case l > s.maxLine:
			oversize++
			s.start += hdr
			s.skip = l
		case len(data)-s.start-hdr < l:
			return oversize // frame not complete yet
		default:
			frame := data[s.start+hdr : s.start+hdr+l]
			frame = bytes.TrimRight(frame, "\n")
			oversize += emit(b, frame, s.maxLine)
			s.start += hdr + l
		}
	}
	return oversize
}

// frameHeader reads an octet-counting header, "LEN SP", at the start of p:
// it returns the length and the header's size, or hdr 0 when p may still
// become one, or ok false when p does not start with one.
func frameHeader(p []byte) (l, hdr int, ok bool) {
	for i, c := range p {
		switch {
		case c >= '0' && c <= '9' && i < maxFrameDigits:
			l = 10*l + int(c-'0')
		case c == ' ' && i > 0 && p[0] != '0':
			return l, i + 1, true
		default:
			return 0, 1, false
		}
	}
	return 0, 0, true
}

func (s *syslogStream) end() (*record.Batch, int) {
	if s.lines != nil {
		return s.lines.end()
	}
	b := s.b
	s.b = nil
	oversize := 0
	if rest := b.Data[s.start:]; len(rest) > 0 && s.skip == 0 {
		if s.inLine || !s.octet {
			if !s.discard {
				oversize = emit(b, rest, s.maxLine)
			}
		} else if len(bytes.TrimRight(rest, "\r\n ")) > 0 {
			s.cut = 1 // a frame shorter than its length
		}
	}
	if len(b.Lines) == 0 {
		record.Put(b)
		return nil, oversize
	}
	return b, oversize
}

// truncated is how many frames end found cut short.
func (s *syslogStream) truncated() int { return s.cut }

func (s *syslogStream) abort() int {
	if s.lines != nil {
		return s.lines.abort()
	}
	partial := 0
	if s.skip == 0 && !s.discard && len(bytes.TrimRight(s.b.Data[s.start:], "\r\n ")) > 0 {
		partial = 1
	}
	if !s.grown {
		record.Put(s.b)
	}
	s.b = nil
	return partial
}
