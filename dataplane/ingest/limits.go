package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
)

// Defaults of Limits. Each bounds what clients can make the data plane
// hold; the README's Limits table lists them with their flags.
const (
	// DefaultMaxConns is the most connections one TCP or HTTP listener
	// holds; a connection beyond it is accepted and closed at once.
	DefaultMaxConns = 10_000
	// DefaultIdleTimeout is how long a connection may stay silent (TCP), or
	// wait between requests (HTTP), before it is closed.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultLineBudget bounds the bytes held for unfinished lines over all
	// the connections of a TCP listener.
	DefaultLineBudget = 64 << 20
	// DefaultHTTPBodyBudget bounds the request body bytes an HTTP listener
	// holds at once.
	DefaultHTTPBodyBudget = 64 << 20
	// DefaultHTTPMaxRequests is the most requests an HTTP listener serves
	// at once.
	DefaultHTTPMaxRequests = 1024
	// DefaultHTTPReadTimeout is how long an HTTP client has to send a
	// whole request, headers and body, and a new connection its first one.
	DefaultHTTPReadTimeout = 30 * time.Second
	// DefaultOTLPMaxBody bounds an OTLP/HTTP request body, before and
	// after decompression.
	DefaultOTLPMaxBody = 16 << 20
	// DefaultAckTimeout is how long an acknowledged HTTP request waits for
	// its lines to be settled before it is answered 503.
	DefaultAckTimeout = 5 * time.Second
)

// tlsHandshakeTimeout bounds a TCP client's TLS handshake; an HTTP
// client's is bounded by the request read timeout.
const tlsHandshakeTimeout = 10 * time.Second

// warnInterval is how often a listener logs that it refuses or closes
// connections, at most, for each reason: the counters say how many.
const warnInterval = time.Minute

// Limits bound what clients can make a listener hold. A zero field takes
// its default.
type Limits struct {
	// MaxConns is the most connections each TCP and HTTP listener holds.
	MaxConns int
	// IdleTimeout closes a TCP connection that sent nothing for that long,
	// and an HTTP connection that waited that long for its next request.
	IdleTimeout time.Duration
	// LineBudget bounds the memory a TCP listener holds for lines not yet
	// ended, over all its connections (see stream.holding). Past it, the
	// connection that holds the most is closed.
	LineBudget int64
	// HTTPMaxBody is the largest HTTP request body; 0 means DefaultMaxBody,
	// or twice the longest line if that is more.
	HTTPMaxBody int64
	// OTLPMaxBody is the largest OTLP/HTTP request body, before and after
	// decompression; 0 means DefaultOTLPMaxBody.
	OTLPMaxBody int64
	// HTTPBodyBudget bounds the request body bytes an HTTP listener holds
	// at once (each listener its own). It must be at least HTTPMaxBody, and
	// OTLPMaxBody where an OTLP/HTTP listener runs.
	HTTPBodyBudget int64
	// HTTPMaxRequests is the most requests an HTTP listener serves at once.
	HTTPMaxRequests int
	// HTTPReadTimeout is how long an HTTP client has to send a whole
	// request.
	HTTPReadTimeout time.Duration
	// AckDurable makes every HTTP request acknowledged, as ?ack=durable
	// does (a request's ?ack=none still opts out).
	AckDurable bool
	// AckTimeout bounds the wait of an acknowledged HTTP request.
	AckTimeout time.Duration
}

func (l Limits) withDefaults(maxLine int) Limits {
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.LineBudget <= 0 {
		l.LineBudget = DefaultLineBudget
	}
	if l.HTTPMaxBody <= 0 {
		l.HTTPMaxBody = max(DefaultMaxBody, 2*int64(maxLine))
	}
	if l.OTLPMaxBody <= 0 {
		l.OTLPMaxBody = DefaultOTLPMaxBody
	}
	if l.HTTPBodyBudget <= 0 {
		l.HTTPBodyBudget = max(DefaultHTTPBodyBudget, l.HTTPMaxBody, l.OTLPMaxBody)
	}
	if l.AckTimeout <= 0 {
		l.AckTimeout = DefaultAckTimeout
	}
	if l.HTTPMaxRequests <= 0 {
		l.HTTPMaxRequests = DefaultHTTPMaxRequests
	}
	if l.HTTPReadTimeout <= 0 {
		l.HTTPReadTimeout = DefaultHTTPReadTimeout
	}
	return l
}

// LoadTLS builds the TLS configuration of the ingest listeners from PEM
// files: the server's certificate chain and key and, when clientCAFile is
// not empty, the certificate authorities a client's certificate must chain
// to. With a client CA every client must present a certificate it verifies
// (mutual TLS).
func LoadTLS(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load the certificate %s and key %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the client CA certificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificate in the client CA file %s", clientCAFile)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// rateLimit lets an event through at most once per interval.
type rateLimit struct {
	next atomic.Int64 // unix nanoseconds
}

// allow reports whether the event may be logged now.
func (r *rateLimit) allow() bool {
	now := time.Now().UnixNano()
	n := r.next.Load()
	return now >= n && r.next.CompareAndSwap(n, now+int64(warnInterval))
}

// limitCounter is a counter of refused or closed connections whose event is
// also logged, at most once per warnInterval.
type limitCounter struct {
	c    *vm.Counter
	rl   rateLimit
	log  *slog.Logger
	msg  string
	args []any
}

func newLimitCounter(c *vm.Counter, log *slog.Logger, msg string, args ...any) *limitCounter {
	return &limitCounter{c: c, log: log, msg: msg, args: args}
}

// inc counts one event and logs it, with more attributes, unless it was
// logged less than warnInterval ago.
func (l *limitCounter) inc(args ...any) {
	l.c.Inc()
	if l.rl.allow() {
		l.log.Warn(l.msg, append(append(args, l.args...), "total", l.c.Get(), "logged_at_most_every", warnInterval)...)
	}
}

// connLimiter accepts from a listener at most max connections at a time:
// one beyond is accepted and closed at once, and counted.
type connLimiter struct {
	max     int64
	open    atomic.Int64
	refused *limitCounter
}

// tryAcquire takes a connection slot, or reports that none is left.
func (l *connLimiter) tryAcquire() bool {
	if l.open.Add(1) > l.max {
		l.open.Add(-1)
		return false
	}
	return true
}

func (l *connLimiter) release() { l.open.Add(-1) }

// limitListener is a net.Listener whose connections a connLimiter bounds.
// Its connections record read timeouts, so that whoever closes one after a
// timeout can tell why.
type limitListener struct {
	net.Listener
	lim *connLimiter
}

// Accept returns the next connection within the limit; those beyond it
// are closed as they come.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if !l.lim.tryAcquire() {
			l.lim.refused.inc("remote", c.RemoteAddr().String())
			c.Close()
			continue
		}
		return &trackedConn{Conn: c, lim: l.lim}, nil
	}
}

// trackedConn is a connection that holds a slot of a connLimiter until it
// is closed, and remembers whether a read timed out since the last read
// deadline was set.
type trackedConn struct {
	net.Conn
	lim      *connLimiter
	once     sync.Once
	timedOut atomic.Bool
	state    atomic.Int32 // the connection's http.ConnState, as the HTTP server last set it
}

// SetReadDeadline sets the read deadline; a timeout of an earlier one is
// forgotten: the HTTP server also sets deadlines in the past to wake its
// own reads.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.timedOut.Store(false)
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline sets both deadlines, as SetReadDeadline and SetWriteDeadline.
func (c *trackedConn) SetDeadline(t time.Time) error {
	c.timedOut.Store(false)
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.timedOut.Store(true)
	}
	return n, err
}

// Close closes the connection and gives its slot back.
func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.lim.release)
	return err
}

// CloseWrite shuts down the writing side, when the connection has one: an
// HTTP server sends its answer to a request whose body it will not read
// this way, before it closes, so that the client reads the answer rather
// than a reset.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tracked returns the trackedConn under c, which may be a TLS connection
// over it, or nil.
func tracked(c net.Conn) *trackedConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	t, _ := c.(*trackedConn)
	return t
}
