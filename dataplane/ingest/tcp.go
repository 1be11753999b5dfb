package ingest

import (
	"context"
	"crypto/tls"
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
//
// What clients can make it hold is bounded (Config.Limits): at most
// MaxConns connections, beyond which a new one is accepted and closed at
// once; a connection silent for IdleTimeout is closed; and the memory held
// for lines not yet ended, over all connections, stays within LineBudget:
// past it, the connection that holds the most is closed. A line cut short by
// such a close is dropped and counted (reason truncated), never emitted.
//
// Lock order: t.mu, then nothing.
type TCP struct {
	cfg Config
	ln  net.Listener

	lim        *connLimiter
	idleClosed *limitCounter
	shed       *limitCounter // closed over the line budget
	tlsFailed  *limitCounter
	held       atomic.Int64 // bytes charged to the line budget, over all connections

	mu       sync.Mutex
	conns    map[*tcpConn]struct{} // mu
	closed   bool                  // mu
	draining atomic.Bool           // Shutdown has begun: connections drain and exit
	wg       sync.WaitGroup
	ctx      context.Context // ends when the listener stops for good
	cancel   context.CancelFunc
}

// tcpConn is an accepted connection.
type tcpConn struct {
	c       net.Conn     // what is read: raw, or a TLS connection over it
	raw     net.Conn     // the socket
	held    atomic.Int64 // bytes charged to the line budget
	evicted atomic.Bool  // closed over the line budget: holds nothing any more
}

// ListenTCP listens on addr (e.g. ":8081" or "127.0.0.1:0").
func ListenTCP(addr string, cfg Config) (*TCP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &TCP{cfg: cfg.withDefaults(), ln: ln, conns: make(map[*tcpConn]struct{}), ctx: ctx, cancel: cancel}
	m, log, lim := t.cfg.Metrics, t.cfg.Logger, t.cfg.Limits
	l := t.cfg.Name
	if l == "" {
		l = metrics.ListenerTCP
	}
	t.lim = &connLimiter{max: int64(lim.MaxConns), refused: newLimitCounter(m.IngestRefused(l, metrics.RefusedMaxConnections), log,
		l+" ingest refused a connection: it holds its most connections (-max-connections)", "max_connections", lim.MaxConns)}
	t.idleClosed = newLimitCounter(m.IngestClosed(l, metrics.ClosedIdleTimeout), log,
		l+" ingest closed an idle connection (-idle-timeout)", "idle_timeout", lim.IdleTimeout)
	t.shed = newLimitCounter(m.IngestClosed(l, metrics.ClosedLineBudget), log,
		l+" ingest closed the connection holding the most unfinished-line bytes: they were over budget (-line-budget)", "line_budget", lim.LineBudget)
	t.tlsFailed = newLimitCounter(m.IngestRefused(l, metrics.RefusedTLSHandshake), log,
		l+" ingest refused a connection: TLS handshake failed")
	m.Gauge(`streamgate_ingest_connections{listener="`+l+`"}`, func() float64 { return float64(t.lim.open.Load()) })
	held := `streamgate_ingest_unfinished_line_bytes`
	if l != metrics.ListenerTCP {
		held += `{listener="` + l + `"}`
	}
	m.Gauge(held, func() float64 { return float64(t.held.Load()) })
	return t, nil
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
		if !t.lim.tryAcquire() {
			t.lim.refused.inc("remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		tc := &tcpConn{c: c, raw: c}
		if t.cfg.TLS != nil {
			tc.c = tls.Server(c, t.cfg.TLS)
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			c.Close()
			t.lim.release()
			return nil
		}
		t.conns[tc] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serveConn(tc)
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
	for tc := range t.conns {
		tc.c.SetReadDeadline(time.Now()) // wake blocked reads: they start draining
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.cancel() // unblock pushes waiting for room
		t.mu.Lock()
		for tc := range t.conns {
			tc.raw.Close()
		}
		t.mu.Unlock()
		<-done
	}
	t.cancel()
	return err
}

func (t *TCP) serveConn(tc *tcpConn) {
	defer t.wg.Done()
	defer func() {
		t.mu.Lock()
		delete(t.conns, tc)
		t.mu.Unlock()
		tc.raw.Close()
		t.charge(tc, 0)
		t.lim.release()
	}()
	c := tc.c
	if tlsConn, ok := c.(*tls.Conn); ok && !t.handshake(tlsConn) {
		return
	}
	cfg := &t.cfg
	idle := cfg.Limits.IdleTimeout
	var st framer
	if cfg.Syslog != nil {
		st = newSyslogStream(nextKey(), cfg.MaxLine)
	} else {
		st = newStream(nextKey(), cfg.MaxLine)
	}
	drainStarted := false
	for {
		if !t.draining.Load() {
			c.SetReadDeadline(time.Now().Add(idle))
			if t.draining.Load() {
				// Shutdown began meanwhile: its wake-up must not be lost.
				c.SetReadDeadline(time.Now())
			}
		}
		// What the connection will hold is charged before its buffer
		// grows, so that no memory over the budget is ever taken, and
		// before the read, which may wait.
		if !t.charge(tc, int64(st.holdingNext())) {
			t.dropPartial(st.abort()) // closed over the line budget
			return
		}
		n, err := c.Read(st.buf())
		if ready, oversize := st.advance(n); ready != nil || oversize > 0 {
			if ready == nil {
				ready = record.Get(0)
			}
			if deliver(t.ctx, cfg, ready, oversize, cfg.OverflowWait) != nil {
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
			deliver(t.ctx, cfg, ready, oversize, cfg.OverflowWait)
			t.dropPartial(st.truncated())
		case errors.Is(err, os.ErrDeadlineExceeded) && t.draining.Load() && (!drainStarted || n > 0):
			// Shutdown woke us: read what the peer had already sent, until
			// the socket stays quiet for drainGrace.
			drainStarted = true
			c.SetReadDeadline(time.Now().Add(drainGrace))
			continue
		case errors.Is(err, os.ErrDeadlineExceeded) && !t.draining.Load():
			t.idleClosed.inc("remote", tc.raw.RemoteAddr().String())
			t.dropPartial(st.abort())
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, net.ErrClosed):
			t.dropPartial(st.abort()) // shutdown, or closed over the line budget
		default:
			cfg.Logger.Debug("tcp connection ended", "remote", tc.raw.RemoteAddr().String(), "err", err)
			t.dropPartial(st.abort())
		}
		return
	}
}

// handshake runs a TLS connection's handshake, within tlsHandshakeTimeout,
// and reports whether it succeeded; a failure is counted.
func (t *TCP) handshake(c *tls.Conn) bool {
	c.SetDeadline(time.Now().Add(tlsHandshakeTimeout))
	err := c.HandshakeContext(t.ctx)
	if err != nil && !t.draining.Load() {
		t.tlsFailed.inc("remote", c.NetConn().RemoteAddr().String(), "err", err)
	}
	c.SetWriteDeadline(time.Time{}) // the read deadline is set before each read
	return err == nil
}

// charge records that tc holds n bytes for a line not yet ended. When that
// takes the listener's total over the line budget, the connections that
// hold the most are closed until it is back within: their memory is
// written off at once, and freed as soon as their reader sees the close.
// It reports whether tc is still open: false when tc was closed for it.
func (t *TCP) charge(tc *tcpConn, n int64) bool {
	if tc.evicted.Load() {
		n = 0
	}
	old := tc.held.Swap(n)
	if n != old && t.held.Add(n-old) > t.cfg.Limits.LineBudget && n > old {
		t.shedLines()
	}
	return !tc.evicted.Load()
}

// shedLines closes the connections holding the most unfinished-line bytes
// until the total is within the budget.
func (t *TCP) shedLines() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for t.held.Load() > t.cfg.Limits.LineBudget {
		var victim *tcpConn
		var most int64
		for tc := range t.conns {
			if h := tc.held.Load(); h > most && !tc.evicted.Load() {
				victim, most = tc, h
			}
		}
		if victim == nil {
			return
		}
		victim.evicted.Store(true)
		t.held.Add(-victim.held.Swap(0))
		t.shed.inc("remote", victim.raw.RemoteAddr().String(), "held_bytes", most)
		victim.raw.Close() // its reader drops the line, counted as truncated
	}
}

// dropPartial counts a line cut short by shutdown or a connection error.
func (t *TCP) dropPartial(n int) {
	if n > 0 {
		t.cfg.Metrics.Received.Add(n)
		t.cfg.Metrics.Dropped(metrics.ReasonTruncated).Add(n)
	}
}
