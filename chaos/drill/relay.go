package drill

import (
	"io"
	"net"
	"sync"
)

// relay forwards TCP connections from its address to a target. Cut breaks
// every connection and refuses new ones, as a network partition would;
// Restore listens again on the same address.
type relay struct {
	addr, target string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

func newRelay(target string) (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &relay{addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	r.serve(ln)
	return r, nil
}

func (r *relay) serve(ln net.Listener) {
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

// track registers both ends, unless the relay is cut: then it closes them.
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

// Cut closes the listener and every connection.
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
func (r *relay) Restore() error {
	ln, err := net.Listen("tcp", r.addr)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serve(ln)
	return nil
}

// Close cuts the relay and waits for its goroutines.
func (r *relay) Close() {
	r.Cut()
	r.wg.Wait()
}
