package ingest

import (
	"context"
	"crypto/tls"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// gateSink records lines; its first Push blocks until release is closed.
type gateSink struct {
	mu      sync.Mutex
	lines   []string
	calls   int
	entered chan struct{}
	release chan struct{}
}

func (s *gateSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	for _, l := range b.Lines {
		s.lines = append(s.lines, string(l))
	}
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	record.Put(b)
	if first {
		close(s.entered)
		<-s.release
	}
	return nil
}

// TestTCPShutdownReadsBufferedData: a connection busy pushing when the
// shutdown begins still reads what its peer had sent before, and drops
// (counts) the unfinished last line; over TLS as in plain text.
func TestTCPShutdownReadsBufferedData(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "tls"}[useTLS], func(t *testing.T) {
			var server, client *tls.Config
			if useTLS {
				server, client = tlsConfigs(t, false, anonClient)
			}
			sink := &gateSink{entered: make(chan struct{}), release: make(chan struct{})}
			m := metrics.New()
			tcp, err := ListenTCP("127.0.0.1:0", Config{Sink: sink, Metrics: m, TLS: server})
			if err != nil {
				t.Fatal(err)
			}
			go tcp.Serve()
			c, err := net.Dial("tcp", tcp.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if client != nil {
				c = tls.Client(c, client)
			}
			c.Write([]byte("one\n"))
			<-sink.entered                           // the connection is inside Push
			c.Write([]byte("two\nthree\ncard=4111")) // waits in the kernel's buffer
			done := make(chan error)
			go func() { done <- tcp.Shutdown(context.Background()) }()
			for !tcp.draining.Load() {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(2 * drainGrace) // the shutdown's wake-up deadline has passed
			close(sink.release)
			<-done
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if want := []string{"one", "two", "three"}; !slices.Equal(sink.lines, want) {
				t.Fatalf("delivered %q; want %q", sink.lines, want)
			}
			if got := m.Dropped(metrics.ReasonTruncated).Get(); got != 1 {
				t.Fatalf("truncated: got %d; want 1", got)
			}
			if got := m.Received.Get(); got != 4 {
				t.Fatalf("received: got %d; want 4", got)
			}
		})
	}
}
