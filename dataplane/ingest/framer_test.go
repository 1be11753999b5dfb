package ingest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

// frameStream feeds stream to a TCP stream framer in pieces cut at cuts,
// as reads would deliver them, and returns the lines and the oversize count.
func frameStream(stream []byte, cuts []int, maxLine int) (lines []string, oversize int) {
	s := newStream(1, maxLine)
	collect := func(b *record.Batch, ov int) {
		oversize += ov
		if b != nil {
			lines = append(lines, linesOf(b)...)
		}
	}
	feed := func(piece []byte) {
		for len(piece) > 0 {
			n := copy(s.buf(), piece)
			piece = piece[n:]
			collect(s.advance(n))
		}
	}
	prev := 0
	for _, c := range cuts {
		if c < prev || c > len(stream) {
			continue
		}
		feed(stream[prev:c])
		prev = c
	}
	feed(stream[prev:])
	collect(s.end())
	return lines, oversize
}

func linesOf(b *record.Batch) []string {
	var out []string
	for _, l := range b.Lines {
		out = append(out, string(l))
	}
	return out
}

// reference frames stream by the documented rules, the slow obvious way.
func reference(stream []byte, maxLine int) (lines []string, oversize int) {
	segs := bytes.Split(stream, []byte("\n"))
	for _, s := range segs {
		s = bytes.TrimSuffix(s, []byte("\r"))
		switch {
		case len(s) == 0:
		case len(s) > maxLine:
			oversize++
		default:
			lines = append(lines, string(s))
		}
	}
	return lines, oversize
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("x", 20)
	cases := []struct {
		name         string
		stream       string
		cuts         []int
		wantLines    []string
		wantOversize int
	}{
		{"one line", "hello\n", nil, []string{"hello"}, 0},
		{"no trailing newline kept at EOF", "a\nb", nil, []string{"a", "b"}, 0},
		{"line split across reads", "hello you\nbye\n", []int{3, 8}, []string{"hello you", "bye"}, 0},
		{"newline alone in a read", "ab\ncd\n", []int{2, 3}, []string{"ab", "cd"}, 0},
		{"crlf stripped", "a\r\nb\r\n", nil, []string{"a", "b"}, 0},
		{"empty lines ignored", "\n\na\n\n", nil, []string{"a"}, 0},
		{"oversize dropped, neighbours kept", "ok\n" + long + "\nfine\n", nil, []string{"ok", "fine"}, 1},
		{"oversize across reads", "ok\n" + long + "\nfine\n", []int{5, 10, 15}, []string{"ok", "fine"}, 1},
		{"oversize at EOF", "ok\n" + long, []int{4}, []string{"ok"}, 1},
		{"exactly max", strings.Repeat("y", 10) + "\n", nil, []string{strings.Repeat("y", 10)}, 0},
		{"max plus one", strings.Repeat("y", 11) + "\n", []int{3}, nil, 1},
		{"max with cr", strings.Repeat("y", 10) + "\r\n", []int{11}, []string{strings.Repeat("y", 10)}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lines, oversize := frameStream([]byte(c.stream), c.cuts, 10)
			if !slices.Equal(lines, c.wantLines) {
				t.Errorf("lines: got %q; want %q", lines, c.wantLines)
			}
			if oversize != c.wantOversize {
				t.Errorf("oversize: got %d; want %d", oversize, c.wantOversize)
			}
		})
	}
}

// TestStreamLongLineCopiesLinear feeds a long line in small reads: the
// stream keeps it in one growing buffer instead of copying it per read.
func TestStreamLongLineCopiesLinear(t *testing.T) {
	line := strings.Repeat("z", 1<<20)
	s := newStream(1, 2<<20)
	var grows, prevCap int
	for i := 0; i < len(line); i += 100 {
		buf := s.buf()
		if c := cap(s.b.Data); c != prevCap {
			grows++
			prevCap = c
		}
		n := copy(buf, line[i:min(i+100, len(line))])
		if b, _ := s.advance(n); b != nil {
			t.Fatal("a batch was handed on before the line ended")
		}
	}
	if grows > 20 {
		t.Fatalf("buffer grew %d times for one 1 MiB line; want O(log n)", grows)
	}
	copy(s.buf(), "\n")
	b, _ := s.advance(1)
	if b == nil || len(b.Lines) != 1 || len(b.Lines[0]) != len(line) {
		t.Fatal("the long line did not come out whole")
	}
}

// TestStreamBusyReadsStayInClass fills every read, each ending mid-line as
// busy sockets do: the batches must stay in the read size's class, not move
// up to the next one because of the partial line they carry over.
func TestStreamBusyReadsStayInClass(t *testing.T) {
	s := newStream(1, DefaultMaxLine)
	data := []byte(strings.Repeat(strings.Repeat("y", 99)+"\n", 2000))
	off := 0
	for range 20 {
		n := copy(s.buf(), data[off:])
		off = (off + n) % 100 // the next read starts where this one stopped
		b, _ := s.advance(n)
		if b == nil {
			t.Fatal("a full read of 100-byte lines handed on no batch")
		}
		// The pool hands out for the read size's class any batch it holds
		// below the next class: only that next class is wrong.
		if c := cap(b.Data); c >= 1<<20 {
			t.Fatalf("batch of a %d-byte read has a %d-byte buffer; want one of the %d-byte class, under 1 MiB", n, c, largeRead)
		}
		record.Put(b)
	}
}

// TestStreamHolding: what a stream holds for its unfinished line is its
// bytes, or the buffer grown for it; a skipped oversize line gives its
// buffer back.
func TestStreamHolding(t *testing.T) {
	feed := func(s *stream, data string) (lines int) {
		for len(data) > 0 {
			n := copy(s.buf(), data)
			data = data[n:]
			if b, _ := s.advance(n); b != nil {
				lines += len(b.Lines)
				record.Put(b)
			}
		}
		return lines
	}
	s := newStream(1, 256<<10)
	if feed(s, "whole\npart"); s.holding() != len("part") {
		t.Errorf("a short unfinished line: holding %d; want %d", s.holding(), len("part"))
	}
	feed(s, strings.Repeat("x", 200<<10))
	// The pool may have handed out a buffer large enough already.
	if h, want := s.holding(), len(s.b.Data); s.grown && h != cap(s.b.Data) || !s.grown && h != want {
		t.Errorf("a 200 KiB unfinished line: holding %d; want %d, or the %d-byte buffer if grown for it (grown: %v)", h, want, cap(s.b.Data), s.grown)
	}
	if n := feed(s, "\n"); n != 1 || s.holding() != 0 {
		t.Errorf("line ended: %d lines handed on, holding %d; want 1 and 0", n, s.holding())
	}
	feed(s, strings.Repeat("y", 300<<10)) // over the maximum: skipped
	if h := s.holding(); h > largeRead {
		t.Errorf("skipping an oversize line: holding %d; want at most a read buffer, %d", h, largeRead)
	}
	if s.abort() != 0 {
		t.Error("abort while skipping an oversize line: counted a partial line")
	}
}

func TestStreamAbortDropsPartialLine(t *testing.T) {
	s := newStream(1, 100)
	n := copy(s.buf(), "whole\ncard=4111 1111 1111")
	b, _ := s.advance(n)
	if got := linesOf(b); len(got) != 1 || got[0] != "whole" {
		t.Fatalf("lines: got %q; want [whole]", got)
	}
	if got := s.abort(); got != 1 {
		t.Fatalf("abort: got %d partial lines; want 1", got)
	}
}

func TestSplitAll(t *testing.T) {
	b := &record.Batch{Data: []byte("a\nbb\r\n" + strings.Repeat("z", 9) + "\nlast")}
	oversize := splitAll(b, 0, 5)
	if got, want := linesOf(b), []string{"a", "bb", "last"}; !slices.Equal(got, want) {
		t.Fatalf("lines: got %q; want %q", got, want)
	}
	if oversize != 1 {
		t.Fatalf("oversize: got %d; want 1", oversize)
	}
}

// FuzzFramer checks that however a stream is cut into reads, the framer
// yields exactly the lines and oversize count of the reference rules.
func FuzzFramer(f *testing.F) {
	f.Add([]byte("hello\nworld\n"), uint8(3), uint8(8))
	f.Add([]byte("partial line without newline"), uint8(5), uint8(8))
	f.Add([]byte("a\r\n\r\nbb\n"+strings.Repeat("x", 40)+"\ntail"), uint8(7), uint8(16))
	f.Add([]byte("\n\n\n"), uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, step, maxLine uint8) {
		max := int(maxLine%64) + 1
		var cuts []int
		if step > 0 {
			for c := int(step); c < len(stream); c += int(step) + c%3 {
				cuts = append(cuts, c)
			}
		}
		got, gotOver := frameStream(stream, cuts, max)
		want, wantOver := reference(stream, max)
		if !slices.Equal(got, want) || gotOver != wantOver {
			t.Fatalf("stream %q cuts %v max %d:\ngot  %q oversize %d\nwant %q oversize %d",
				stream, cuts, max, got, gotOver, want, wantOver)
		}
	})
}
