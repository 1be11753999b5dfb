package drill

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// mode is how the front answers.
type mode int32

const (
	healthy  mode = iota // forward to the sink, answer its status
	fail500              // 500 Internal Server Error
	throttle             // 429 with Retry-After
	stall                // wait, then forward
	reset                // read part of the body, then reset the connection
	refuse               // 400 Bad Request: refused for good, a dead letter
)

func (m mode) String() string {
	return [...]string{"healthy", "500", "429", "stall", "reset", "400"}[m]
}

// front is the HTTP output's endpoint: a server that forwards each request
// to the sink, or fails it the way the current mode says. Down closes its
// listener and every connection, so requests are refused; Up listens again
// on the same address.
type front struct {
	addr, target string
	mode         atomic.Int32
	stallFor     time.Duration
	retryAfter   int // seconds

	requests atomic.Int64 // by mode
	failed   [6]atomic.Int64

	mu  sync.Mutex
	srv *http.Server
	cl  *http.Client
}

func newFront(target string) (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &front{addr: ln.Addr().String(), target: target, stallFor: 2 * time.Second, retryAfter: 1,
		cl: &http.Client{Timeout: 30 * time.Second}}
	f.serve(ln)
	return f, nil
}

func (f *front) serve(ln net.Listener) {
	srv := &http.Server{Handler: f}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(ln)
}

func (f *front) set(m mode) { f.mode.Store(int32(m)) }

// Down stops accepting new connections, lets the requests in progress
// finish (a batch the sink took is answered, so it is not both delivered
// and counted as dropped), and closes every connection.
func (f *front) Down() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
	}
}

// Up listens on the front's address again.
func (f *front) Up() error {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	f.serve(ln)
	return nil
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	m := mode(f.mode.Load())
	if m != healthy {
		f.failed[m].Add(1)
	}
	switch m {
	case fail500:
		io.Copy(io.Discard, r.Body)
		http.Error(w, "injected failure", http.StatusInternalServerError)
		return
	case refuse:
		io.Copy(io.Discard, r.Body)
		http.Error(w, "injected refusal: bad request", http.StatusBadRequest)
		return
	case throttle:
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case reset:
		// Take part of the body, then reset: the client sees the
		// connection die mid-request, with no answer.
		io.CopyN(io.Discard, r.Body, 512)
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.SetLinger(0)
				}
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case stall:
		time.Sleep(f.stallFor)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), "POST", f.target, bytes.NewReader(body))
	req.Header.Set("Content-Type", r.Header.Get("Content-Type"))
	resp, err := f.cl.Do(req)
	if err != nil {
		http.Error(w, "sink: "+err.Error(), http.StatusBadGateway)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
}
