package output

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/dataplane/record"
)

// lineServer accepts connections and collects the lines it reads.
type lineServer struct {
	ln     net.Listener
	mu     sync.Mutex
	lines  []string
	byConn [][]string // the lines each connection carried
	conns  []net.Conn
}

func newLineServer(t *testing.T) *lineServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveLines(t, ln)
}

// serveLines collects the lines of the connections ln accepts.
func serveLines(t *testing.T, ln net.Listener) *lineServer {
	s := &lineServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			id := len(s.byConn)
			s.byConn = append(s.byConn, nil)
			s.mu.Unlock()
			go func() {
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.byConn[id] = append(s.byConn[id], sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
	t.Cleanup(func() { s.close() })
	return s
}

func (s *lineServer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

func (s *lineServer) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func tcpBatch(lines ...string) *record.Batch {
	b := &record.Batch{}
	for _, l := range lines {
		b.Lines = append(b.Lines, []byte(l))
	}
	return b
}

func waitLines(t *testing.T, s *lineServer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.got()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("server got %d lines; want %d", len(s.got()), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTCPOutputWritesAndReconnects(t *testing.T) {
	s := newLineServer(t)
	retries := 3
	o, err := newTCPOutput(&Config{Type: "tcp", URL: "tcp://" + s.ln.Addr().String(), MaxRetries: &retries},
		retryTiming{backoffBase: time.Millisecond, backoffMax: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	if err := o.Write(ctx, tcpBatch("one", "two")); err != nil {
		t.Fatal(err)
	}
	waitLines(t, s, 2)

	// The server drops every connection: the next writes reconnect.
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	for i := 0; i < 5; i++ {
		if err := o.Write(ctx, tcpBatch("after")); err != nil {
			t.Fatalf("write after the peer closed: %v", err)
		}
	}
	waitLines(t, s, 3) // at least one write can land on the dead connection's buffer
	if got := s.got(); got[0] != "one" || got[1] != "two" || !strings.HasPrefix(got[2], "after") {
		t.Fatalf("lines: %q", got)
	}
}

// A peer reads its connections concurrently, so a lane's batches stay in
// order only if they all travel over one connection.
func TestTCPOutputLaneKeepsOneConnection(t *testing.T) {
	s := newLineServer(t)
	o, err := newTCPOutput(&Config{Type: "tcp", URL: "tcp://" + s.ln.Addr().String()}, defaultRetryTiming)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	const lanes, batches = 4, 200
	var wg sync.WaitGroup
	for lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range batches {
				if err := o.WriteLane(context.Background(), lane, tcpBatch(fmt.Sprintf("%d %d", lane, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitLines(t, s, lanes*batches)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byConn) != lanes {
		t.Fatalf("%d lanes used %d connections; want one each", lanes, len(s.byConn))
	}
	for c, lines := range s.byConn {
		var lane0, next int
		for i, l := range lines {
			var lane, n int
			if _, err := fmt.Sscanf(l, "%d %d", &lane, &n); err != nil {
				t.Fatalf("connection %d: line %q: %v", c, l, err)
			}
			if i == 0 {
				lane0 = lane
			}
			if lane != lane0 || n != next {
				t.Fatalf("connection %d: line %d is %q; want \"%d %d\"", c, i, l, lane0, next)
			}
			next++
		}
		if next != batches {
			t.Fatalf("connection %d carried %d lines; want %d", c, next, batches)
		}
	}
}

func TestTCPOutputDown(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	retries := 2
	o, _ := newTCPOutput(&Config{Type: "tcp", URL: "tcp://" + addr, MaxRetries: &retries},
		retryTiming{backoffBase: time.Millisecond, backoffMax: 2 * time.Millisecond})
	err := o.Write(context.Background(), tcpBatch("x"))
	if err == nil || !strings.Contains(err.Error(), "after 3 attempts") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("write to a closed port: got %v; want an error after 3 attempts naming %s", err, addr)
	}
	o.Close()
	if err := o.Write(context.Background(), tcpBatch("x")); err == nil {
		t.Fatal("write after Close: got nil error")
	}
}

func TestValidateTCP(t *testing.T) {
	neg := -1
	cases := []struct {
		c    Config
		want string
	}{
		{Config{Type: "tcp"}, "url: required"},
		{Config{Type: "tcp", URL: "http://x:1"}, `url: want tcp://host:port, or tls://host:port for TLS; got scheme "http"`},
		{Config{Type: "tcp", URL: "127.0.0.1:9100"}, "url: want tcp://host:port, or tls://host:port for TLS; cannot parse"},
		{Config{Type: "tcp", URL: "localhost:9100"}, "url: want tcp://host:port, or tls://host:port for TLS"},
		{Config{Type: "tcp", URL: "tcp://x"}, "url: want tcp://host:port"},
		{Config{Type: "tcp", URL: "tcp://x:1/path"}, "nothing after the port"},
		{Config{Type: "tcp", URL: "tcp://x:1", Headers: map[string]string{"a": "b"}}, "headers"},
		{Config{Type: "tcp", URL: "tcp://x:1", Format: "ndjson"}, "format"},
		{Config{Type: "tcp", URL: "tcp://x:1", Gzip: true}, "gzip"},
		{Config{Type: "tcp", URL: "tcp://x:1", MaxRetries: &neg}, "max_retries"},
		{Config{Type: "tcp", URL: "tcp://127.0.0.1:9100"}, ""},
		{Config{Type: "tcp", URL: "tcp://admin:hunter2@127.0.0.1:9000"}, "credentials"},
		{Config{Type: "tcp", URL: "tcp://admin:hunter2@host:1/x"}, "credentials"},
		{Config{Type: "tcp", URL: "tcp://admin:hunter2@[::1"}, "cannot parse"},
	}
	for _, c := range cases {
		err := Validate(&c.c)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: got %v; want nil", c.c, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%+v: got %v; want an error containing %q", c.c, err, c.want)
		case err != nil && strings.Contains(err.Error(), "hunter2"):
			t.Errorf("%+v: error %q repeats the password", c.c, err)
		}
	}
}

// A lane's connection that the peer closed while idle is replaced before
// the next write: written to, it would take the batch and lose it.
func TestTCPOutputRedialsAfterPeerClose(t *testing.T) {
	s := newLineServer(t)
	o, err := newTCPOutput(&Config{Type: "tcp", URL: "tcp://" + s.ln.Addr().String()}, defaultRetryTiming)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	o.idleCheck = 20 * time.Millisecond
	if err := o.Write(context.Background(), tcpBatch("before")); err != nil {
		t.Fatal(err)
	}
	waitLines(t, s, 1)
	s.mu.Lock()
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	time.Sleep(50 * time.Millisecond) // idle, and the close has reached the output's side
	for i := range 3 {
		if err := o.Write(context.Background(), tcpBatch(fmt.Sprintf("after %d", i))); err != nil {
			t.Fatal(err)
		}
	}
	waitLines(t, s, 4)
	if got := s.got(); got[1] != "after 0" {
		t.Fatalf("lines %q; want the first write after the close delivered", got)
	}
}
