package ingest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
)

// TestHTTPBodyTooLarge: a body announced over the limit is refused with 413
// from its Content-Length, before the client has sent it, and nothing of it
// is taken.
func TestHTTPBodyTooLarge(t *testing.T) {
	m := metrics.New()
	h, err := ListenHTTP("127.0.0.1:0", Config{Sink: &gateSink{entered: make(chan struct{}), release: make(chan struct{})}, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	go h.Serve()
	defer h.Shutdown(context.Background())
	cases := []struct {
		name    string
		request string
		status  string
		detail  string
	}{
		{"declared over the limit", fmt.Sprintf("POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", DefaultMaxBody+1, strings.Repeat("x", 4096)),
			"413", "over the limit of 33554432 bytes"},
		{"malformed content length", "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", "400", "Bad Request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", h.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write([]byte(c.request)); err != nil {
				t.Fatal(err)
			}
			var resp bytes.Buffer
			r := bufio.NewReader(conn)
			status, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.WriteString(status)
			for {
				l, err := r.ReadString('\n')
				resp.WriteString(l)
				if err != nil || strings.Contains(l, c.detail) {
					break
				}
			}
			if !strings.HasPrefix(status, "HTTP/1.1 "+c.status) || !strings.Contains(resp.String(), c.detail) {
				t.Fatalf("got %q; want status %s and %q", resp.String(), c.status, c.detail)
			}
		})
	}
	if n := m.Received.Get(); n != 0 {
		t.Fatalf("received %d lines; want 0", n)
	}
}
