package ingest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// waitSink records the wait each push was given.
type waitSink struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *waitSink) Push(_ context.Context, b *record.Batch, wait time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, wait)
	s.mu.Unlock()
	record.Put(b)
	return nil
}

func (s *waitSink) pushes() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// TestOverflowWaitByListener: TCP and HTTP, whose senders can be held back,
// push with Config.OverflowWait; UDP, whose senders cannot, with none.
func TestOverflowWaitByListener(t *testing.T) {
	const wait = 3 * time.Second
	for _, c := range []struct {
		listener string
		want     time.Duration
	}{
		{"tcp", wait},
		{"http", wait},
		{"udp", 0},
	} {
		t.Run(c.listener, func(t *testing.T) {
			sink := &waitSink{}
			cfg := Config{Sink: sink, Metrics: metrics.New(), OverflowWait: wait}
			var shutdown func(context.Context) error
			switch c.listener {
			case "tcp":
				l, err := ListenTCP("127.0.0.1:0", cfg)
				if err != nil {
					t.Fatal(err)
				}
				go l.Serve()
				shutdown = l.Shutdown
				conn, err := net.Dial("tcp", l.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				conn.Write([]byte("one\n"))
				conn.Close()
			case "http":
				l, err := ListenHTTP("127.0.0.1:0", cfg)
				if err != nil {
					t.Fatal(err)
				}
				go l.Serve()
				shutdown = l.Shutdown
				resp, err := http.Post("http://"+l.Addr().String()+"/ingest", "text/plain", strings.NewReader("one\n"))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			case "udp":
				l, err := ListenUDP("127.0.0.1:0", 1, cfg)
				if err != nil {
					t.Fatal(err)
				}
				go l.Serve()
				shutdown = l.Shutdown
				conn, err := net.Dial("udp", l.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				conn.Write([]byte("one\n"))
				conn.Close()
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(sink.pushes()) == 0 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := shutdown(ctx); err != nil {
				t.Errorf("shutdown: %v", err)
			}
			got := sink.pushes()
			if len(got) == 0 {
				t.Fatal("no push")
			}
			for _, w := range got {
				if w != c.want {
					t.Errorf("pushed with wait %s; want %s", w, c.want)
				}
			}
		})
	}
}
