package ingest

import (
	"fmt"
	"strings"
	"testing"

	"streamgate/dataplane/record"
)

func BenchmarkSyslogDecode(b *testing.B) {
	mixed := []string{
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3" eventSource="Application"] An application event`,
		`<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8`,
	}
	// Plain RFC 5424 messages without structured data, which the text
	// format checks without parsing (wellFormed5424).
	plain := []string{
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 - An application event`,
		`<14>1 2026-12-06T23:00:00.000000Z web-1 checkout - - - GET /api/v1/orders 200 in 12ms`,
	}
	for _, c := range []struct {
		name   string
		format string
		lines  []string
	}{
		{"format=text/msgs=mixed", SyslogText, mixed},
		{"format=json/msgs=mixed", SyslogJSON, mixed},
		{"format=text/msgs=plain", SyslogText, plain},
		{"format=json/msgs=plain", SyslogJSON, plain},
	} {
		format, lines := c.format, c.lines
		b.Run(c.name, func(b *testing.B) {
			s := &Syslog{Format: format}
			batch := &record.Batch{}
			size := 0
			for _, l := range lines {
				size += len(l)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				batch.Lines = batch.Lines[:0]
				batch.Scratch = batch.Scratch[:0]
				for _, l := range lines {
					batch.Lines = append(batch.Lines, []byte(l))
				}
				s.decode(batch)
			}
		})
	}
}

// BenchmarkSyslogFraming frames the same messages under octet counting and
// newline framing (syslogStream), beside the plain line stream.
func BenchmarkSyslogFraming(b *testing.B) {
	msg := `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 8710 ID47 [exampleSDID@32473 iut="3"] An application event`
	var octet, lines strings.Builder
	for octet.Len() < 256<<10 {
		fmt.Fprintf(&octet, "%d %s", len(msg), msg)
		lines.WriteString(msg + "\n")
	}
	for _, c := range []struct {
		name string
		in   string
		new  func() framer
	}{
		{"framing=octet", octet.String(), func() framer { return newSyslogStream(1, DefaultMaxLine) }},
		{"framing=newline", lines.String(), func() framer { return newSyslogStream(1, DefaultMaxLine) }},
		{"framing=plain", lines.String(), func() framer { return newStream(1, DefaultMaxLine) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				s, in := c.new(), c.in
				for len(in) > 0 {
					n := copy(s.buf(), in)
					in = in[n:]
					if r, _ := s.advance(n); r != nil {
						record.Put(r)
					}
				}
				if r, _ := s.end(); r != nil {
					record.Put(r)
				}
			}
		})
	}
}
