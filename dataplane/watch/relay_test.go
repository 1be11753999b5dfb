package watch

import (
	"io"
	"net"
	"sync"
	"testing"
)

// relay forwards TCP connections from a loopback address of its own to a
// target, so a test can cut some clients off from a server while others
// still reach it. Cut breaks every connection and refuses new ones, as a
// network partition would; Restore listens again on the same address.
type relay struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// newRelay starts a relay to target; it is closed when the test ends.
func newRelay(t *testing.T, target string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	r := &relay{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	r.mu.Lock()
	r.serveLocked(ln)
	r.mu.Unlock()
	t.Cleanup(r.Close)
	return r
}

// Addr is where clients connect.
func (r *relay) Addr() string { return r.addr }

// serveLocked accepts on ln until it is closed. Lock should be held.
func (r *relay) serveLocked(ln net.Listener) {
	r.ln = ln
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				r.pipe(c)
			}()
		}
	}()
}

// pipe copies both ways between c and a new connection to the target, until
// either side closes or the relay is cut.
func (r *relay) pipe(c net.Conn) {
	up, err := net.Dial("tcp", r.target)
	if err != nil {
		c.Close()
		return
	}
	if !r.track(c, up) {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); io.Copy(up, c); up.Close() }()
	go func() { defer wg.Done(); io.Copy(c, up); c.Close() }()
	wg.Wait()
	r.mu.Lock()
	delete(r.conns, c)
	delete(r.conns, up)
	r.mu.Unlock()
}

// track registers both ends of a connection, unless the relay was cut since
// it was accepted: then it closes them and reports false.
func (r *relay) track(c, up net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		c.Close()
		up.Close()
		return false
	}
	r.conns[c], r.conns[up] = struct{}{}, struct{}{}
	return true
}

// Cut closes the listener and every connection: clients see their
// connections drop, and their new ones refused.
func (r *relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln == nil {
		return
	}
	r.ln.Close()
	r.ln = nil
	for c := range r.conns {
		c.Close()
	}
}

// Restore listens on the relay's address again.
func (r *relay) Restore(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", r.addr)
	mustNil(t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serveLocked(ln)
}

// Close cuts the relay and waits for its goroutines.
func (r *relay) Close() {
	r.Cut()
	r.wg.Wait()
}
