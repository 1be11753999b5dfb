package ingest

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// drainGrace is how long a connection keeps reading at shutdown, after the
// shutdown woke it, to take in what its peer had already sent: it stops at
// the first read that waits this long for data.
const drainGrace = 50 * time.Millisecond

// TCP accepts persistent connections carrying newline-delimited lines.
type TCP struct {
	cfg Config
	ln  net.Listener

	mu       sync.Mutex
	conns    map[net.Conn]struct{}
	closed   bool
	draining atomic.Bool // Shutdown has begun: connections drain and exit
	wg       sync.WaitGroup
	ctx      context.Context // ends when the listener stops for good
	cancel   context.CancelFunc
}

// ListenTCP listens on addr (e.g. ":8081" or "127.0.0.1:0").
func ListenTCP(addr string, cfg Config) (*TCP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &TCP{cfg: cfg.withDefaults(), ln: ln, conns: make(map[net.Conn]struct{}), ctx: ctx, cancel: cancel}, nil
}

// Addr is the address listened on.
func (t *TCP) Addr() net.Addr { return t.ln.Addr() }

// Serve accepts connections until Shutdown.
func (t *TCP) Serve() error {
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and similar: back off, keep serving.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.cfg.Logger.Error("cannot accept tcp connection", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			return nil
		}
		t.conns[c] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serveConn(c)
	}
}

// Shutdown stops accepting, lets every connection read for a short grace
// period what its peer had already sent and hand it on, and waits for them
// until ctx ends; then it closes them. A line still incomplete is dropped and
// counted (reason truncated).
func (t *TCP) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	t.draining.Store(true)
	err := t.ln.Close()
	for c := range t.conns {
		c.SetReadDeadline(time.Now()) // wake blocked reads: they start draining
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.cancel() // unblock pushes waiting for room
		t.mu.Lock()
		for c := range t.conns {
			c.Close()
		}
		t.mu.Unlock()
		<-done
	}
	t.cancel()
	return err
}

func (t *TCP) serveConn(c net.Conn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, c)
		t.mu.Unlock()
		c.Close()
	}()
	cfg := &t.cfg
	st := newStream(nextKey(), cfg.MaxLine)
	drainStarted := false
	for {
		n, err := c.Read(st.buf())
		if ready, oversize := st.advance(n); ready != nil || oversize > 0 {
			if ready == nil {
				ready = record.Get(0)
			}
			if deliver(t.ctx, cfg, ready, oversize) != nil {
				t.dropPartial(st.abort())
				return // shutting down
			}
		}
		if err == nil {
			continue
		}
		switch {
		case errors.Is(err, io.EOF):
			ready, oversize := st.end()
			if ready == nil {
				ready = record.Get(0)
			}
			deliver(t.ctx, cfg, ready, oversize)
		case errors.Is(err, os.ErrDeadlineExceeded) && t.draining.Load() && (!drainStarted || n > 0):
			// Shutdown woke us: read what the peer had already sent, until
			// the socket stays quiet for drainGrace.
			drainStarted = true
			c.SetReadDeadline(time.Now().Add(drainGrace))
			continue
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
			t.dropPartial(st.abort()) // shutdown
		default:
			cfg.Logger.Debug("tcp connection ended", "remote", c.RemoteAddr().String(), "err", err)
			t.dropPartial(st.abort())
		}
		return
	}
}

// dropPartial counts a line cut short by shutdown or a connection error.
func (t *TCP) dropPartial(n int) {
	if n > 0 {
		t.cfg.Metrics.Received.Add(n)
		t.cfg.Metrics.Dropped(metrics.ReasonTruncated).Add(n)
	}
}
