package server

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/pipeline"
)

// shutdownWithin runs Shutdown with a short context and fails if it does not
// return soon after: a shutdown must never hang on a client or an output.
func shutdownWithin(t *testing.T, s *Server, ctxTimeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ctxTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() { s.Shutdown(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(ctxTimeout + 10*time.Second):
		t.Fatalf("Shutdown with a %s context still running 10s after it expired", ctxTimeout)
	}
}

// TestShutdownStalledHTTPClient: a client that sent half a request and went
// quiet does not hold the shutdown.
func TestShutdownStalledHTTPClient(t *testing.T) {
	s := start(t, Options{HTTPAddr: "127.0.0.1:0"})
	c, err := net.Dial("tcp", s.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	shutdownWithin(t, s, 500*time.Millisecond)
}

// TestShutdownUDPUnderBlock: UDP readers waiting for room under the block
// policy give up when the shutdown deadline passes, and what they held is
// counted.
func TestShutdownUDPUnderBlock(t *testing.T) {
	sink := capture.Unique("udp-block")
	capture.Get(sink).Gate = make(chan struct{}) // the output never finishes a write
	s := start(t, Options{
		UDPAddr:  "127.0.0.1:0",
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}],"batch_size":1}]}`),
		Pipeline: pipeline.Options{Workers: 1, BufferLines: 16, Overflow: buffer.Block},
	})
	c, err := net.Dial("udp", s.UDPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	m := s.Metrics()
	for i := 0; i < 1200; i++ { // more than the lane's slots plus the ring
		fmt.Fprintf(c, "line %d\n", i)
		if i%50 == 49 {
			time.Sleep(time.Millisecond)
		}
	}
	// The output takes nothing, and the lane, the ring and the worker hold
	// fewer lines than were sent: the reader ends up waiting for room in
	// the ring, where nothing moves any more. (A read hands on up to 16
	// datagrams at once, so how full the ring gets varies.)
	var last uint64
	var still int
	waitFor(t, "the pipeline to back up", func() bool {
		got := m.Received.Get()
		if got != last || s.Pipeline().Queued() == 0 {
			last, still = got, 0
			return false
		}
		still++
		return still >= 50 // 100 ms without a line read
	})
	shutdownWithin(t, s, 500*time.Millisecond)
	assertAccounting(t, s, "capture:"+sink)
	if got := m.Received.Get(); got == 0 {
		t.Fatal("nothing received")
	}
}

// TestShutdownDrainsTCP: lines a client sent before the shutdown are read
// and delivered even if the connection was busy when the shutdown began; a
// line cut short is dropped and counted, never delivered incomplete.
func TestShutdownDrainsTCP(t *testing.T) {
	sink := capture.Unique("drain")
	s := start(t, Options{
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}]}]}`),
	})
	c, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "one\ntwo\nthree\ncard=4111 1111 1111")
	m := s.Metrics()
	waitFor(t, "three lines", func() bool { return m.Received.Get() == 3 })
	shutdown(t, s, 5*time.Second)
	if got := strings.Join(capture.Get(sink).Lines(), ","); got != "one,two,three" {
		t.Fatalf("delivered %q; want one,two,three", got)
	}
	if got := m.Dropped(metrics.ReasonTruncated).Get(); got != 1 {
		t.Fatalf("truncated drops: got %d; want 1", got)
	}
	assertAccounting(t, s, "capture:"+sink)
}
