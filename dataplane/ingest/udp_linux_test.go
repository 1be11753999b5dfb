//go:build !sparc64

package ingest

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// cmsg encodes one control message as the kernel lays it out.
func cmsg(level, typ int, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = int32(level), int32(typ)
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

// ovfl is an SO_RXQ_OVFL control message carrying n.
func ovfl(n uint32) []byte {
	return cmsg(unix.SOL_SOCKET, unix.SO_RXQ_OVFL, binary.NativeEndian.AppendUint32(nil, n))
}

func TestKernelDropsUpdate(t *testing.T) {
	other := cmsg(unix.SOL_IP, unix.IP_TOS, []byte{0x10})
	truncated := ovfl(9)[:unix.CmsgLen(2)]
	lying := ovfl(9)
	(*unix.Cmsghdr)(unsafe.Pointer(&lying[0])).SetLen(len(lying) + 1)
	steps := []struct {
		name string
		oob  []byte
		want uint32
	}{
		{"first count", ovfl(5), 5},
		{"same count", ovfl(5), 0},
		{"count grew", ovfl(12), 7},
		{"after another message", append(other, ovfl(15)...), 3},
		{"another message only", other, 0},
		{"shorter than a header", ovfl(20)[:unix.SizeofCmsghdr-1], 0},
		{"data cut short", truncated, 0},
		{"length past the buffer", lying, 0},
		{"still at the last good count", ovfl(16), 1},
		{"older than the last seen", ovfl(14), 0},
		{"newer again", ovfl(17), 1},
		{"far ahead", ovfl(17 + math.MaxInt32), math.MaxInt32},
		{"near the wrap", ovfl(1<<32 - 2), 1<<32 - 2 - 17 - math.MaxInt32},
		{"wrapped", ovfl(3), 5},
		{"older, across the wrap", ovfl(1<<32 - 1), 0},
	}
	var k kernelDrops
	for _, s := range steps {
		if got := k.update(s.oob); got != s.want {
			t.Errorf("%s: got %d; want %d", s.name, got, s.want)
		}
	}
}

// TestKernelDropsObserveConcurrently: readers and SyncKernelDrops report
// the same count concurrently, each in increasing order; together they count
// each drop once.
func TestKernelDropsObserveConcurrently(t *testing.T) {
	const reporters, last = 4, 10_000
	var k kernelDrops
	var total atomic.Uint64
	var wg sync.WaitGroup
	for range reporters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint32(1); n <= last; n++ {
				total.Add(uint64(k.observe(n)))
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != last {
		t.Fatalf("counted %d drops; want %d", got, last)
	}
}

func TestKernelDropsUpdateDoesNotAllocate(t *testing.T) {
	var k kernelDrops
	oob := append(cmsg(unix.SOL_IP, unix.IP_TOS, []byte{0x10}), ovfl(1)...)
	if n := testing.AllocsPerRun(100, func() { k.update(oob) }); n != 0 {
		t.Fatalf("update: %v allocations; want 0", n)
	}
}

// lineSink records the lines pushed to it.
type lineSink struct {
	mu    sync.Mutex
	lines map[string]bool
}

func (s *lineSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	for _, l := range b.Lines {
		s.lines[string(l)] = true
	}
	s.mu.Unlock()
	record.Put(b)
	return nil
}

func (s *lineSink) has(line string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[line]
}

// overflow sends burst datagrams, far more than u's first socket can hold
// once its receive buffer is shrunk to 4 KiB, before anything reads them.
// It returns a function that sends one more datagram, and the count of
// datagrams sent so far.
func overflow(t *testing.T, u *UDP, burst int) (send func(line string), sent func() int) {
	t.Helper()
	if err := u.conns[0].SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("udp", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	n := 0
	send = func(line string) {
		if _, err := c.Write([]byte(line)); err == nil {
			n++
		}
	}
	for i := range burst {
		send(fmt.Sprintf("line %d", i))
	}
	return send, func() int { return n }
}

// TestUDPCountsKernelDrops overflows a small receive buffer before the
// reader starts: every datagram sent is then either read or counted as
// dropped by the kernel, exactly, from the counts that come with the
// datagrams alone.
func TestUDPCountsKernelDrops(t *testing.T) {
	sink := &lineSink{lines: map[string]bool{}}
	m := metrics.New()
	u, err := ListenUDP("127.0.0.1:0", 1, Config{Sink: sink, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	send, sent := overflow(t, u, 500)
	done := make(chan error)
	go func() { done <- u.Serve() }()
	defer func() {
		u.Shutdown(context.Background())
		<-done
	}()
	// The kernel reports drops with the next datagram it queues: send one
	// more until one gets through, which it does once the reader has made
	// room. Each datagram is read in order or dropped, so when one is read,
	// all sent before it are read or counted.
	for i := 0; ; i++ {
		last := fmt.Sprintf("last %d", i)
		send(last)
		deadline := time.Now().Add(20 * time.Millisecond)
		for !sink.has(last) && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if sink.has(last) {
			break
		}
		if i == 500 {
			t.Fatal("no datagram gets through")
		}
	}
	read, dropped := m.Received.Get(), m.UDPKernelDrops.Get()
	if dropped == 0 {
		t.Fatalf("kernel drops: got 0; want some of the %d datagrams sent (read %d)", sent(), read)
	}
	if read+dropped != uint64(sent()) {
		t.Fatalf("sent %d datagrams; read %d + dropped by the kernel %d = %d", sent(), read, dropped, read+dropped)
	}
}

// pending reports whether c has a datagram waiting to be read.
func pending(t *testing.T, c *net.UDPConn) bool {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	if err != nil {
		t.Fatal(err)
	}
	return n > 0 // the size of the next datagram; none is empty here
}

// TestUDPSyncKernelDrops: drops no datagram has reported yet, because none
// came after them, are counted by SyncKernelDrops, and so at shutdown.
func TestUDPSyncKernelDrops(t *testing.T) {
	for _, viaShutdown := range []bool{false, true} {
		t.Run(fmt.Sprintf("shutdown=%v", viaShutdown), func(t *testing.T) {
			sink := &lineSink{lines: map[string]bool{}}
			m := metrics.New()
			u, err := ListenUDP("127.0.0.1:0", 1, Config{Sink: sink, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			_, sent := overflow(t, u, 500)
			done := make(chan error)
			go func() { done <- u.Serve() }()
			// The datagrams the buffer held are read shortly; until then
			// the sum falls short.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if viaShutdown {
					if !pending(t, u.conns[0]) {
						break // Shutdown waits for the last one read
					}
				} else {
					u.SyncKernelDrops()
					if m.Received.Get()+m.UDPKernelDrops.Get() == uint64(sent()) {
						break
					}
				}
				time.Sleep(time.Millisecond)
			}
			u.Shutdown(context.Background())
			<-done
			read, dropped := m.Received.Get(), m.UDPKernelDrops.Get()
			if dropped == 0 || read+dropped != uint64(sent()) {
				t.Fatalf("sent %d datagrams; read %d + dropped by the kernel %d = %d; want some dropped, none missing", sent(), read, dropped, read+dropped)
			}
		})
	}
}

// TestUDPBatchedReads queues datagrams from two peers while the reader is
// held up, then lets it read them: recvmmsg takes several per call and each
// read hands each peer's datagrams on as one batch, in order, every line once
// (including a datagram's last line without a newline).
func TestUDPBatchedReads(t *testing.T) {
	u, sink, m := heldUDP(t)
	defer u.Shutdown(context.Background())
	a, b := dialUDP(t, u), dialUDP(t, u)
	fmt.Fprintf(a, "first\n")
	<-sink.entered // the reader is busy: what follows waits in the socket
	const n = 200
	for i := range n {
		fmt.Fprintf(a, "a %d\n", i)
		fmt.Fprintf(b, "b %d\nb %d end", i, i) // two lines, the last unterminated
	}
	time.Sleep(20 * time.Millisecond) // let loopback deliver them all
	close(sink.release)
	want := 1 + 3*n
	deadline := time.Now().Add(10 * time.Second)
	for {
		sink.mu.Lock()
		got := len(sink.lines)
		sink.mu.Unlock()
		if got >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	u.SyncKernelDrops() // drops at the end of the burst show only on demand
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if d := m.UDPKernelDrops.Get(); d != 0 {
		t.Fatalf("the kernel dropped %d datagrams; the test needs them all", d)
	}
	if len(sink.lines) != want {
		t.Fatalf("got %d lines; want %d", len(sink.lines), want)
	}
	// Each peer's lines in the order sent.
	var nextA, nextB int
	for _, l := range sink.lines[1:] {
		switch {
		case l == fmt.Sprintf("a %d", nextA):
			nextA++
		case l == fmt.Sprintf("b %d", nextB):
		case l == fmt.Sprintf("b %d end", nextB):
			nextB++
		default:
			t.Fatalf("line %q out of order (next a %d, next b %d)", l, nextA, nextB)
		}
	}
	if nextA != n || nextB != n {
		t.Fatalf("got %d a lines and %d b lines in order; want %d each", nextA, nextB, n)
	}
	// 400 datagrams in reads of up to udpBatch, a batch per peer per read:
	// about 50 pushes. Reading one datagram at a time would take 400; the
	// bound leaves room for reads that found the socket half filled.
	if pushes := sink.calls - 1; pushes > 2*n/4 {
		t.Fatalf("%d pushes for %d datagrams; want about one per peer per %d datagrams", pushes, 2*n, udpBatch)
	}
}
