package output

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// wireCount is a counter for WithWireCounter.
type wireCount struct {
	mu sync.Mutex
	n  int
}

func (c *wireCount) Add(n int) {
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
}

func (c *wireCount) get() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestWireBytes: an output given a context with a wire counter adds the
// bytes its destination accepted, as they went on the wire: the encoded,
// compressed body of an HTTP request, the bytes written on a TCP
// connection or to stdout; nothing for a batch refused.
func TestWireBytes(t *testing.T) {
	var mu sync.Mutex
	var bodies int
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies += len(b)
		st := status
		mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var tcpGot bytes.Buffer
	tcpDone := make(chan struct{})
	go func() {
		defer close(tcpDone)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(&tcpGot, c)
	}()
	var stdout bytes.Buffer
	old := Stdout
	Stdout = &stdout
	t.Cleanup(func() { Stdout = old })

	lines := []string{"one", `{"msg":"two"}`, "three"}
	tests := []struct {
		name string
		cfg  Config
		want func() int // the bytes on the wire
	}{
		{"http text", Config{Type: "http", URL: srv.URL}, func() int { mu.Lock(); defer mu.Unlock(); return bodies }},
		{"http gzip ndjson", Config{Type: "http", URL: srv.URL, Format: "ndjson", Gzip: true}, func() int { mu.Lock(); defer mu.Unlock(); return bodies }},
		{"tcp", Config{Type: "tcp", URL: "tcp://" + ln.Addr().String()}, nil},
		{"console", Config{Type: "console"}, func() int { return stdout.Len() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			bodies = 0
			mu.Unlock()
			o, err := New(&tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			var c wireCount
			if err := o.Write(WithWireCounter(context.Background(), &c), batchOf(lines...)); err != nil {
				t.Fatal(err)
			}
			o.Close()
			want := len("one\n{\"msg\":\"two\"}\nthree\n")
			if tc.want != nil {
				want = tc.want()
			}
			if got := c.get(); got != want || got == 0 {
				t.Errorf("wire bytes: got %d; want %d", got, want)
			}
		})
	}
	<-tcpDone
	if tcpGot.Len() != len("one\n{\"msg\":\"two\"}\nthree\n") {
		t.Errorf("tcp: the destination got %d bytes", tcpGot.Len())
	}

	mu.Lock()
	status = http.StatusBadRequest
	mu.Unlock()
	o, err := New(&Config{Type: "http", URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var c wireCount
	if err := o.Write(WithWireCounter(context.Background(), &c), batchOf(lines...)); err == nil {
		t.Fatal("a 400: got no error")
	}
	if c.get() != 0 {
		t.Errorf("a refused batch: got %d wire bytes; want 0", c.get())
	}
}
