package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// transport writes one batch of newline-terminated lines at a time.
type transport interface {
	// write sends buf, which holds complete lines. On error it returns how
	// many bytes of buf may have reached the target anyway: a stream write
	// cut short delivers its first part.
	write(ctx context.Context, buf []byte) (int, error)
	// redial replaces a broken connection; an error is unrecoverable.
	redial(ctx context.Context) error
	// abort unblocks a pending write; used on cancellation.
	abort()
	close() error
}

// target is a parsed -target value.
type target struct {
	scheme string // tcp, udp, http or otlp
	addr   string // host:port
	url    string // for http and otlp
}

func parseTarget(s string) (target, error) {
	u, err := url.Parse(s)
	if err != nil {
		return target{}, fmt.Errorf("cannot parse target %q: %w", s, err)
	}
	if u.Host == "" || u.Port() == "" {
		return target{}, fmt.Errorf("cannot parse target %q: want tcp://host:port, udp://host:port, http://host:port/path or otlp://host:port", s)
	}
	switch u.Scheme {
	case "tcp", "udp":
		return target{scheme: u.Scheme, addr: u.Host}, nil
	case "http":
		return target{scheme: "http", addr: u.Host, url: s}, nil
	case "otlp":
		return target{scheme: "otlp", addr: u.Host, url: "http://" + u.Host + "/v1/logs"}, nil
	}
	return target{}, fmt.Errorf("cannot parse target %q: unsupported scheme %q; want tcp, udp, http or otlp", s, u.Scheme)
}

const dialTimeout = 5 * time.Second

func dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s://%s: %w", network, addr, err)
	}
	return c, nil
}

// newTransport connects one sender connection to t.
func newTransport(ctx context.Context, t target, client *http.Client) (transport, error) {
	switch t.scheme {
	case "tcp":
		c, err := dial(ctx, "tcp", t.addr)
		if err != nil {
			return nil, err
		}
		return &streamTransport{network: "tcp", addr: t.addr, conn: c}, nil
	case "udp":
		c, err := dial(ctx, "udp", t.addr)
		if err != nil {
			return nil, err
		}
		return &datagramTransport{conn: c}, nil
	}
	// Probe the port so that an absent proxy fails the run at once.
	c, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return nil, err
	}
	_ = c.Close()
	if t.scheme == "otlp" {
		return &otlpTransport{client: client, url: t.url, addr: t.addr}, nil
	}
	return &httpTransport{client: client, url: t.url, addr: t.addr}, nil
}

// streamTransport writes newline-delimited lines to a persistent connection.
type streamTransport struct {
	network, addr string
	conn          net.Conn
}

func (t *streamTransport) write(_ context.Context, buf []byte) (int, error) {
	return t.conn.Write(buf)
}

func (t *streamTransport) redial(ctx context.Context) error {
	_ = t.conn.Close()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond << attempt):
			}
		}
		var c net.Conn
		if c, err = dial(ctx, t.network, t.addr); err == nil {
			t.conn = c
			return nil
		}
	}
	return err
}

func (t *streamTransport) abort()       { _ = t.conn.SetWriteDeadline(time.Unix(1, 0)) }
func (t *streamTransport) close() error { return t.conn.Close() }

// datagramTransport sends each batch as one UDP datagram.
type datagramTransport struct{ conn net.Conn }

func (t *datagramTransport) write(_ context.Context, buf []byte) (int, error) {
	if _, err := t.conn.Write(buf); err != nil {
		return 0, err // a datagram is sent whole or not at all
	}
	return len(buf), nil
}

// redial is a no-op: a connected UDP socket reports a missing receiver
// (ECONNREFUSED) and keeps working once it is back.
func (t *datagramTransport) redial(context.Context) error { return nil }
func (t *datagramTransport) abort()                       { _ = t.conn.SetWriteDeadline(time.Unix(1, 0)) }
func (t *datagramTransport) close() error                 { return t.conn.Close() }

// httpTransport POSTs each batch as a newline-joined text body.
type httpTransport struct {
	client *http.Client
	url    string
	addr   string
}

// errStatus reports a response outside 2xx.
var errStatus = errors.New("unexpected HTTP status")

func (t *httpTransport) write(ctx context.Context, buf []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(buf))
	if err != nil {
		return 0, fmt.Errorf("cannot create request: %w", err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return 0, fmt.Errorf("%w %d from %s", errStatus, resp.StatusCode, t.url)
	}
	return len(buf), nil
}

// redial succeeds when the port accepts connections again; the client pools
// its own connections.
func (t *httpTransport) redial(ctx context.Context) error {
	c, err := dial(ctx, "tcp", t.addr)
	if err != nil {
		return err
	}
	return c.Close()
}

func (t *httpTransport) abort()       {}
func (t *httpTransport) close() error { return nil }

func newHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = conns
	tr.DisableCompression = true
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func isStatus(err error) bool { return errors.Is(err, errStatus) }

func validRun(run string) error {
	if run == "" || len(run) > 64 || strings.ContainsFunc(run, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '\\' || r == '=' || r > '~'
	}) {
		return fmt.Errorf("invalid run id %q: want 1..64 printable ASCII characters without spaces, quotes, backslashes or '='", run)
	}
	return nil
}
