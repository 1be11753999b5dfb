package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// defaultTCPTimeout bounds a dial or one batch's write.
const defaultTCPTimeout = 10 * time.Second

// The tcp output streams, and gives each lane a connection of its own.
var (
	_ Streamer   = (*tcpOutput)(nil)
	_ LaneWriter = (*tcpOutput)(nil)
)

// tcpOutput writes each batch as newline-delimited lines to a TCP endpoint,
// over persistent connections (a syslog-style or log-shipper input, or a
// test sink). A batch is written with one write call; a connection that
// fails is closed, and the batch is retried on a new one with backoff.
//
// Each pipeline lane writes over a connection of its own. A write returns
// once the kernel has the bytes, and a peer reads its connections
// concurrently, so two batches of one lane sent over two connections could
// be read in either order; over one connection they cannot.
//
// A batch that failed partway may reach the endpoint twice when retried:
// TCP gives no acknowledgement of what the peer processed.
type tcpOutput struct {
	addr    string
	scheme  string      // tcp, or tls for TLS
	tls     *tls.Config // nil without TLS
	timeout time.Duration
	retries int
	retryTiming
	idleCheck time.Duration

	mu    sync.Mutex
	lanes map[int]*tcpLane // by lane number; mu

	bufs sync.Pool     // *[]byte write buffers
	done chan struct{} // closed by Close
	once sync.Once
}

// tcpLane is one lane's connection. Its mutex is held for a whole Write, so
// writes on one lane never interleave.
type tcpLane struct {
	mu   sync.Mutex
	c    net.Conn  // nil until dialled, and after a failure
	used time.Time // last write on c
}

// idleCheck is how long a lane's connection may sit unused before a write
// first checks that the peer has not closed it. A write to a connection the
// peer closed still succeeds (the kernel takes the bytes; the peer answers
// with a reset), so the batch would be counted delivered and lost.
const idleCheck = time.Second

var tcpSpec = spec.Component{
	Summary: "Writes newline-delimited lines over persistent TCP connections, one per pipeline worker, in TLS with a tls:// url: a log shipper's TCP input, or the benchmark sink.",
	Params: []spec.Param{
		{Name: "url", Kind: spec.String, Required: true, Description: "tcp://host:port, or tls://host:port for TLS, the endpoint's certificate verified for host."},
		{Name: "format", Kind: spec.String, Default: "text", Enum: []string{"text"}, Description: "Only text: newline-delimited lines."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on a dial or on writing one batch, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a failed write is retried on a new connection, with backoff, before the batch is dropped and counted."},
		tlsParams("a tls:// url")[0],
		tlsParams("a tls:// url")[1],
	},
	Examples: []string{
		`{"url": "tcp://127.0.0.1:9100", "format": "text", "timeout_ms": 2000, "max_retries": 3}`,
		`{"url": "tls://logs.internal.example:6514", "tls_ca_file": "/etc/streamgate/internal-ca.pem"}`,
		`{"url": "tls://10.0.0.7:6514", "tls_insecure_skip_verify": true}`,
	},
}

func validateTCP(c *Config) error {
	if c.URL == "" {
		return errors.New("url: required for tcp output (tcp://host:port)")
	}
	_, isTLS, err := parseTCPURL(c.URL)
	if err != nil {
		return err
	}
	if err := validateTLS(c, isTLS, "tls://"); err != nil {
		return err
	}
	if c.Format != "" && c.Format != "text" {
		return fmt.Errorf("format: tcp output writes newline-delimited text; got %q", c.Format)
	}
	if c.TimeoutMS < 0 {
		return fmt.Errorf("timeout_ms: must not be negative; got %d", c.TimeoutMS)
	}
	if c.MaxRetries != nil && (*c.MaxRetries < 0 || *c.MaxRetries > maxMaxRetries) {
		return fmt.Errorf("max_retries: must be between 0 and %d; got %d", maxMaxRetries, *c.MaxRetries)
	}
	return nil
}

// parseTCPURL returns host:port from tcp://host:port or tls://host:port,
// and whether it is tls. Its errors never repeat the URL, which might carry
// credentials.
func parseTCPURL(s string) (addr string, isTLS bool, err error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", false, fmt.Errorf("url: want tcp://host:port, or tls://host:port for TLS; cannot parse: %w", err)
	}
	if u.Scheme != "tcp" && u.Scheme != "tls" {
		return "", false, fmt.Errorf("url: want tcp://host:port, or tls://host:port for TLS; got scheme %q", u.Scheme)
	}
	if u.User != nil {
		return "", false, errors.New("url: tcp output takes no credentials")
	}
	if u.Hostname() == "" || u.Port() == "" {
		return "", false, fmt.Errorf("url: want %s://host:port", u.Scheme)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", false, fmt.Errorf("url: want %s://host:port with nothing after the port", u.Scheme)
	}
	return u.Host, u.Scheme == "tls", nil
}

func newTCP(c *Config) (Output, error) {
	return newTCPOutput(c, defaultRetryTiming)
}

func newTCPOutput(c *Config, t retryTiming) (*tcpOutput, error) {
	addr, isTLS, err := parseTCPURL(c.URL)
	if err != nil {
		return nil, err
	}
	o := &tcpOutput{
		addr:        addr,
		scheme:      "tcp",
		timeout:     defaultTCPTimeout,
		retries:     defaultMaxRetries,
		retryTiming: t,
		lanes:       make(map[int]*tcpLane),
		idleCheck:   idleCheck,
		done:        make(chan struct{}),
	}
	if c.TimeoutMS > 0 {
		o.timeout = time.Duration(c.TimeoutMS) * time.Millisecond
	}
	if c.MaxRetries != nil {
		o.retries = *c.MaxRetries
	}
	if isTLS {
		host, _, _ := net.SplitHostPort(addr)
		if o.tls, err = clientTLS(c, host); err != nil {
			return nil, err
		}
		o.scheme = "tls"
	}
	return o, nil
}

// Write sends b's lines, each followed by '\n', as lane 0.
func (o *tcpOutput) Write(ctx context.Context, b *record.Batch) error {
	return o.WriteLane(ctx, 0, b)
}

// WriteLane sends b's lines over the lane's connection, after every batch
// written to the lane before it.
func (o *tcpOutput) WriteLane(ctx context.Context, lane int, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	l := o.lane(lane)
	l.mu.Lock()
	defer l.mu.Unlock()
	bp, _ := o.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := formatText.appendBody((*bp)[:0], b.Lines)
	defer func() {
		if cap(buf) <= maxPooledBuffer {
			*bp = buf
			o.bufs.Put(bp)
		}
	}()
	var last error
	for attempt := 0; ; attempt++ {
		if err := o.writeOnce(ctx, l, buf); err == nil {
			countWire(ctx, len(buf))
			return nil
		} else {
			last = err
		}
		if attempt >= o.retries || ctx.Err() != nil {
			return fmt.Errorf("cannot write batch to %s://%s after %d attempts: %w", o.scheme, o.addr, attempt+1, last)
		}
		if err := sleep(ctx, o.backoff(attempt), o.done); err != nil {
			return fmt.Errorf("cannot write batch to %s://%s: %w (last: %v)", o.scheme, o.addr, err, last)
		}
	}
}

func (o *tcpOutput) lane(i int) *tcpLane {
	o.mu.Lock()
	defer o.mu.Unlock()
	l := o.lanes[i]
	if l == nil {
		l = new(tcpLane)
		o.lanes[i] = l
	}
	return l
}

// writeOnce writes buf on the lane's connection, dialling one if it has
// none. l.mu should be held.
func (o *tcpOutput) writeOnce(ctx context.Context, l *tcpLane, buf []byte) error {
	select {
	case <-o.done: // Close has closed l.c or will: dial no new one
		return ErrClosed
	default:
	}
	if l.c != nil && time.Since(l.used) > o.idleCheck && !peerOpen(l.c) {
		l.c.Close()
		l.c = nil
	}
	if l.c == nil {
		c, err := o.dial(ctx)
		if err != nil {
			return err
		}
		l.c = c
	}
	deadline := time.Now().Add(o.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	l.c.SetWriteDeadline(deadline)
	if _, err := l.c.Write(buf); err != nil {
		l.c.Close()
		l.c = nil
		return err
	}
	l.used = time.Now()
	return nil
}

// dial connects to the endpoint, and with TLS completes the handshake,
// within the output's timeout.
func (o *tcpOutput) dial(ctx context.Context) (net.Conn, error) {
	nd := &net.Dialer{Timeout: o.timeout}
	if o.tls == nil {
		return nd.DialContext(ctx, "tcp", o.addr)
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	d := tls.Dialer{NetDialer: nd, Config: o.tls}
	return d.DialContext(ctx, "tcp", o.addr)
}

// peerOpen reports whether c's peer has not closed or reset it: a read
// that waits a moment finds nothing (what the peer sent, if anything, is
// discarded: a sink has nothing to say).
func peerOpen(c net.Conn) bool {
	var b [64]byte
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	defer c.SetReadDeadline(time.Time{})
	_, err := c.Read(b[:])
	return err == nil || errors.Is(err, os.ErrDeadlineExceeded)
}

// Streams implements Streamer: a batch is one write to a connection.
func (o *tcpOutput) Streams() {}

// Close closes the connections, waiting for writes in progress; Writes
// after it fail.
func (o *tcpOutput) Close() error {
	o.once.Do(func() { close(o.done) })
	o.mu.Lock()
	lanes := make([]*tcpLane, 0, len(o.lanes))
	for _, l := range o.lanes {
		lanes = append(lanes, l)
	}
	o.mu.Unlock()
	for _, l := range lanes {
		l.mu.Lock()
		if l.c != nil {
			l.c.Close()
			l.c = nil
		}
		l.mu.Unlock()
	}
	return nil
}
