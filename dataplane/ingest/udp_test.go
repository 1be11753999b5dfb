package ingest

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
)

// heldUDP starts a one-socket UDP listener whose sink holds up its first
// push until sink.release is closed, so that what is sent meanwhile waits in
// the socket.
func heldUDP(t *testing.T) (*UDP, *gateSink, *metrics.Metrics) {
	t.Helper()
	sink := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
	m := metrics.New()
	u, err := ListenUDP("127.0.0.1:0", 1, Config{Sink: sink, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	go u.Serve()
	return u, sink, m
}

// dialUDP connects to u; the connection closes when the test ends.
func dialUDP(t *testing.T, u *UDP) net.Conn {
	t.Helper()
	c, err := net.Dial("udp", u.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestUDPShutdownReadsQueued: datagrams already queued in the socket when
// Shutdown begins are read, not discarded with the socket.
func TestUDPShutdownReadsQueued(t *testing.T) {
	u, sink, m := heldUDP(t)
	c := dialUDP(t, u)
	fmt.Fprintf(c, "first line\n")
	<-sink.entered // the reader is busy: the next datagrams wait in the socket
	const n = 500  // well within the 4 MiB receive buffer
	for i := range n {
		fmt.Fprintf(c, "queued line %d\n", i)
	}
	time.Sleep(20 * time.Millisecond) // let loopback deliver them all
	done := make(chan error, 1)
	go func() { done <- u.Shutdown(context.Background()) }()
	time.Sleep(20 * time.Millisecond) // Shutdown has begun
	close(sink.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if got := int64(len(sink.lines)) + int64(m.UDPKernelDrops.Get()); got != n+1 {
		t.Fatalf("read %d lines and the kernel dropped %d of %d sent", len(sink.lines), m.UDPKernelDrops.Get(), n+1)
	}
}
