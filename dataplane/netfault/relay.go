// Package netfault injects network faults for tests and fault drills; the
// data plane itself does not use it.
package netfault

import (
	"io"
	"net"
	"sync"
)

// Relay forwards TCP connections from a loopback address of its own to a
// target, so that some clients can be cut off from a server while others
// still reach it. Cut breaks every connection and refuses new ones, as a
// network partition would; Restore listens again on the same address.
type Relay struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener // nil while cut
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewRelay starts a relay to target. Close it when done.
func NewRelay(target string) (*Relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Relay{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	r.mu.Lock()
	r.serveLocked(ln)
	r.mu.Unlock()
	return r, nil
}

// Addr is where clients connect.
func (r *Relay) Addr() string { return r.addr }

// serveLocked accepts on ln until it is closed. Lock should be held.
func (r *Relay) serveLocked(ln net.Listener) {
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
func (r *Relay) pipe(c net.Conn) {
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
func (r *Relay) track(c, up net.Conn) bool {
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
func (r *Relay) Cut() {
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
func (r *Relay) Restore() error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serveLocked(ln)
	return nil
}

// Close cuts the relay and waits for its goroutines.
func (r *Relay) Close() {
	r.Cut()
	r.wg.Wait()
}
