package output

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"time"

	"streamgate/dataplane/record"
)

// defaultTCPTimeout bounds a dial or one batch's write.
const defaultTCPTimeout = 10 * time.Second

// tcpConns is how many connections a tcp output keeps open: about one per
// pipeline lane writing at once.
const tcpConns = 8

// tcpOutput writes each batch as newline-delimited lines to a TCP endpoint,
// over persistent connections (a syslog-style or log-shipper input, or a
// test sink). A batch is written with one write call; a connection that
// fails is closed, and the batch is retried on a new one with backoff.
//
// A batch that failed partway may reach the endpoint twice when retried:
// TCP gives no acknowledgement of what the peer processed.
type tcpOutput struct {
	addr    string
	timeout time.Duration
	retries int
	retryTiming

	conns chan net.Conn // idle connections
	bufs  sync.Pool     // *[]byte write buffers
	done  chan struct{} // closed by Close
	once  sync.Once
}

func validateTCP(c *Config) error {
	if c.URL == "" {
		return errors.New("url: required for tcp output (tcp://host:port)")
	}
	if _, err := parseTCPURL(c.URL); err != nil {
		return err
	}
	if len(c.Headers) != 0 {
		return errors.New("headers: not used by tcp output")
	}
	if c.Format != "" && c.Format != "text" {
		return fmt.Errorf("format: tcp output writes newline-delimited text; got %q", c.Format)
	}
	if c.Gzip {
		return errors.New("gzip: not supported by tcp output")
	}
	if c.TimeoutMS < 0 {
		return fmt.Errorf("timeout_ms: must not be negative; got %d", c.TimeoutMS)
	}
	if c.MaxRetries != nil && (*c.MaxRetries < 0 || *c.MaxRetries > maxMaxRetries) {
		return fmt.Errorf("max_retries: must be between 0 and %d; got %d", maxMaxRetries, *c.MaxRetries)
	}
	return nil
}

// parseTCPURL returns host:port from tcp://host:port. Its errors never
// repeat the URL, which might carry credentials.
func parseTCPURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("url: cannot parse: %w", err)
	}
	if u.Scheme != "tcp" {
		return "", fmt.Errorf("url: want scheme tcp; got %q", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("url: tcp output takes no credentials")
	}
	if u.Hostname() == "" || u.Port() == "" {
		return "", errors.New("url: want tcp://host:port")
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("url: want tcp://host:port with nothing after the port")
	}
	return u.Host, nil
}

func newTCP(c *Config) (Output, error) {
	return newTCPOutput(c, defaultRetryTiming)
}

func newTCPOutput(c *Config, t retryTiming) (*tcpOutput, error) {
	addr, err := parseTCPURL(c.URL)
	if err != nil {
		return nil, err
	}
	o := &tcpOutput{
		addr:        addr,
		timeout:     defaultTCPTimeout,
		retries:     defaultMaxRetries,
		retryTiming: t,
		conns:       make(chan net.Conn, tcpConns),
		done:        make(chan struct{}),
	}
	if c.TimeoutMS > 0 {
		o.timeout = time.Duration(c.TimeoutMS) * time.Millisecond
	}
	if c.MaxRetries != nil {
		o.retries = *c.MaxRetries
	}
	return o, nil
}

// Write sends b's lines, each followed by '\n'.
func (o *tcpOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
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
		select {
		case <-o.done:
			return fmt.Errorf("cannot write batch to tcp://%s: %w", o.addr, ErrClosed)
		default:
		}
		if err := o.writeOnce(ctx, buf); err == nil {
			return nil
		} else {
			last = err
		}
		if attempt >= o.retries || ctx.Err() != nil {
			return fmt.Errorf("cannot write batch to tcp://%s after %d attempts: %w", o.addr, attempt+1, last)
		}
		if err := sleep(ctx, o.backoff(attempt), o.done); err != nil {
			return fmt.Errorf("cannot write batch to tcp://%s: %w (last: %v)", o.addr, err, last)
		}
	}
}

// writeOnce writes buf on an idle connection, or a new one.
func (o *tcpOutput) writeOnce(ctx context.Context, buf []byte) error {
	var c net.Conn
	select {
	case c = <-o.conns:
	default:
		d := net.Dialer{Timeout: o.timeout}
		var err error
		if c, err = d.DialContext(ctx, "tcp", o.addr); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(o.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.SetWriteDeadline(deadline)
	if _, err := c.Write(buf); err != nil {
		c.Close()
		return err
	}
	select {
	case o.conns <- c:
	default:
		c.Close()
	}
	return nil
}

// Close closes the idle connections; Writes after it fail.
func (o *tcpOutput) Close() error {
	o.once.Do(func() { close(o.done) })
	for {
		select {
		case c := <-o.conns:
			c.Close()
		default:
			return nil
		}
	}
}
