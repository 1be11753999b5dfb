package ingest

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"streamgate/dataplane/record"
)

// Read sizes: a busy connection reads 64 KiB at a time, amortising the
// syscall over many lines; an idle one holds only a small buffer while it
// waits, so ten thousand quiet connections cost little memory.
const (
	smallRead = 4 << 10
	largeRead = 64 << 10
)

// TCP accepts persistent connections carrying newline-delimited lines.
type TCP struct {
	cfg Config
	ln  net.Listener

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
	ctx    context.Context // ends when the listener stops for good
	cancel context.CancelFunc
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

// Shutdown stops accepting, makes every connection read what has arrived and
// hand it on, and waits for them until ctx ends; then it closes them.
func (t *TCP) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	err := t.ln.Close()
	for c := range t.conns {
		// Wake blocked reads; each connection flushes its last line and exits.
		c.SetReadDeadline(time.Now())
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
	key := nextKey()
	f := framer{maxLine: cfg.MaxLine}
	size := smallRead
	for {
		b := record.Get(len(f.carry) + size)
		b.Key = key
		f.start(b)
		scanFrom := len(b.Data)
		room := cap(b.Data) - scanFrom
		n, err := c.Read(b.Data[scanFrom:cap(b.Data)])
		b.Data = b.Data[:scanFrom+n]
		switch {
		case n == room:
			size = largeRead
		case n < smallRead/2:
			size = smallRead
		}
		oversize := f.split(b, scanFrom)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
				cfg.Logger.Debug("tcp connection ended", "remote", c.RemoteAddr().String(), "err", err)
			}
			oversize += f.end(b)
			deliver(t.ctx, cfg, b, oversize)
			return
		}
		if deliver(t.ctx, cfg, b, oversize) != nil {
			return // shutting down
		}
	}
}
