package ingest

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// frameAll feeds in to a syslogStream in reads of at most chunk bytes and
// returns the lines framed, the oversize count and the frames cut short.
func frameAll(in string, chunk, maxLine int) (lines []string, oversize, cut int) {
	s := newSyslogStream(1, maxLine)
	collect := func(b *record.Batch, o int) {
		oversize += o
		if b != nil {
			for _, l := range b.Lines {
				lines = append(lines, string(l))
			}
			record.Put(b)
		}
	}
	for len(in) > 0 {
		buf := s.buf()
		n := copy(buf[:min(len(buf), chunk)], in)
		in = in[n:]
		collect(s.advance(n))
	}
	collect(s.end())
	return lines, oversize, s.truncated()
}

func TestSyslogFraming(t *testing.T) {
	msg := func(s string) string { return fmt.Sprintf("%d %s", len(s), s) }
	a, b := "<34>1 - host app - - - first", "<13>Oct 11 22:14:15 host app: second\nwith a newline"
	long := "<14>1 - h a - - - " + strings.Repeat("x", 100)
	tests := []struct {
		name     string
		in       string
		want     []string
		oversize int
		cut      int
	}{
		{name: "octet counting", in: msg(a) + msg(b), want: []string{a, b}},
		{name: "octet counting, newlines between frames", in: msg(a) + "\n" + msg(b) + "\r\n", want: []string{a, b}},
		{name: "octet counting, frame ending in a newline", in: msg(a+"\n") + msg(b), want: []string{a, b}},
		{name: "newline delimited", in: a + "\n" + "<13>x\r\n\n" + a, want: []string{a, "<13>x", a}},
		{name: "newline delimited, a message starting with a digit", in: "<1>a\n12 b\n", want: []string{"<1>a", "12 b"}},
		{name: "octet counting, headerless frame read as a line", in: msg(a) + "<1>no length\n" + msg(a), want: []string{a, "<1>no length", a}},
		{name: "octet counting, length too long", in: msg(long) + msg(a), want: []string{a}, oversize: 1},
		{name: "octet counting, frame cut short", in: msg(a) + msg(b)[:20], want: []string{a}, cut: 1},
		{name: "octet counting, bad length", in: msg(a) + "12x3 <1>junk\n" + msg(a), want: []string{a, "12x3 <1>junk", a}},
		{name: "octet counting, leading zero", in: msg(a) + "012 <1>junk\n", want: []string{a, "012 <1>junk"}},
		{name: "newline delimited, oversize line", in: long + "\n" + a + "\n", want: []string{a}, oversize: 1},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 7, 1 << 20} {
			t.Run(fmt.Sprintf("%s/reads of %d", tt.name, chunk), func(t *testing.T) {
				got, oversize, cut := frameAll(tt.in, chunk, 64)
				if !slices.Equal(got, tt.want) || oversize != tt.oversize || cut != tt.cut {
					t.Fatalf("framed %q, oversize %d, cut %d; want %q, %d, %d", got, oversize, cut, tt.want, tt.oversize, tt.cut)
				}
			})
		}
	}
}

// TestSyslogTCP: both framings over the listener, with malformed messages
// passed on and counted, and every message counted as received.
func TestSyslogTCP(t *testing.T) {
	good := "<11>1 2024-05-01T10:00:00Z web api - - - boom"
	bad := "this is not syslog"
	tests := []struct {
		name string
		send string
	}{
		{"octet counting", fmt.Sprintf("%d %s%d %s", len(good), good, len(bad), bad)},
		{"newline delimited", good + "\n" + bad + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &orderSink{}
			m := metrics.New()
			malformed := m.SyslogMalformed(metrics.ListenerSyslogTCP, SyslogReasonNames[SyslogNoPriority])
			tcp, err := ListenTCP("127.0.0.1:0", Config{Sink: sink, Metrics: m, Name: metrics.ListenerSyslogTCP,
				Syslog: NewSyslog(SyslogText, func(r string) *vm.Counter { return m.SyslogMalformed(metrics.ListenerSyslogTCP, r) })})
			if err != nil {
				t.Fatal(err)
			}
			go tcp.Serve()
			defer tcp.Shutdown(context.Background())
			c, err := net.Dial("tcp", tcp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte(tt.send)); err != nil {
				t.Fatal(err)
			}
			c.Close()
			waitFor(t, "both messages", func() bool { return len(sink.Lines()) == 2 })
			if got, want := sink.Lines(), []string{good, bad}; !slices.Equal(got, want) {
				t.Fatalf("lines %q; want %q", got, want)
			}
			if got := malformed.Get(); got != 1 {
				t.Errorf("malformed = %d; want 1", got)
			}
			if got := m.Received.Get(); got != 2 {
				t.Errorf("received = %d; want 2", got)
			}
		})
	}
}

// TestSyslogUDP: one message per datagram, newlines inside it kept.
func TestSyslogUDP(t *testing.T) {
	sink := &orderSink{}
	m := metrics.New()
	malformed := m.SyslogMalformed(metrics.ListenerSyslogUDP, SyslogReasonNames[SyslogNoPriority])
	u, err := ListenUDP("127.0.0.1:0", 1, Config{Sink: sink, Metrics: m,
		Syslog: NewSyslog(SyslogJSON, func(r string) *vm.Counter { return m.SyslogMalformed(metrics.ListenerSyslogUDP, r) })})
	if err != nil {
		t.Fatal(err)
	}
	go u.Serve()
	defer u.Shutdown(context.Background())
	c, err := net.Dial("udp", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, d := range []string{"<12>1 - h app - - - two\nlines\n", "garbage"} {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both messages", func() bool { return len(sink.Lines()) == 2 })
	want := []string{
		`{"facility":1,"severity":4,"severity_name":"warning","hostname":"h","app_name":"app","message":"two\nlines","log":{"level":"warning"}}`,
		"garbage",
	}
	if got := sink.Lines(); !slices.Equal(got, want) {
		t.Fatalf("lines %q; want %q", got, want)
	}
	if got := malformed.Get(); got != 1 {
		t.Errorf("malformed = %d; want 1", got)
	}
}

// priorityRE matches a priority the RFCs allow at the start of a message:
// 0 to 191, without leading zeros.
var priorityRE = regexp.MustCompile(`^<(0|[1-9][0-9]?|1[0-8][0-9]|19[01])>`)

// FuzzSyslogFraming: framing never panics, whatever the read sizes, and
// every line it yields fits the limit and is a run of the input's bytes;
// parsing a line never panics.
func FuzzSyslogFraming(f *testing.F) {
	f.Add([]byte("28 <34>1 - host app - - - first12 <1>a\nb"), uint8(3))
	f.Add([]byte("<13>Oct 11 22:14:15 host app: x\n<1>1 - - - - - [a b=\"c\"]"), uint8(1))
	f.Add([]byte("9999999999 x\n0 \n1 "), uint8(200))
	p := newSyslogParser()
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		lines, _, _ := frameAll(string(in), int(chunk)+1, 32)
		for _, l := range lines {
			if len(l) == 0 || len(l) > 32 || !strings.Contains(string(in), l) {
				t.Fatalf("line %q out of %q", l, in)
			}
			p.parse([]byte(l))
		}
		// A message the parser takes, or finds a bad header in, starts
		// with a priority the RFCs allow; one without is never taken.
		_, why, ok := p.parse(in)
		if (ok || why == SyslogBadHeader) != priorityRE.Match(in) {
			t.Fatalf("%q: parsed %v (reason %s), but a valid priority: %v", in, ok, SyslogReasonNames[why], priorityRE.Match(in))
		}
	})
}
