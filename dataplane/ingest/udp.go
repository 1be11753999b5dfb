package ingest

import (
	"context"
	"errors"
	"hash/maphash"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"streamgate/dataplane/record"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// UDP reads datagrams, each carrying one or more newline-separated lines. It
// opens several sockets on the same port with SO_REUSEPORT, so the kernel
// spreads senders over parallel readers.
type UDP struct {
	cfg    Config
	conns  []*net.UDPConn
	wg     sync.WaitGroup
	seed   maphash.Seed
	ctx    context.Context // ends when Shutdown gives up: blocked pushes drop
	cancel context.CancelFunc
}

// ListenUDP listens on addr with readers sockets; readers <= 0 means 1.
func ListenUDP(addr string, readers int, cfg Config) (*UDP, error) {
	readers = max(readers, 1)
	lc := net.ListenConfig{Control: reusePort}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UDP{cfg: cfg.withDefaults(), seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel}
	for i := 0; i < readers; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			u.Shutdown(context.Background())
			return nil, err
		}
		c := pc.(*net.UDPConn)
		_ = c.SetReadBuffer(4 << 20) // best effort: absorbs bursts
		u.conns = append(u.conns, c)
		addr = c.LocalAddr().String() // the others join the port chosen first
	}
	return u, nil
}

func reusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// Addr is the address listened on.
func (u *UDP) Addr() net.Addr { return u.conns[0].LocalAddr() }

// Serve reads datagrams until Close.
func (u *UDP) Serve() error {
	for _, c := range u.conns {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			u.read(c)
		}()
	}
	u.wg.Wait()
	return nil
}

func (u *UDP) read(c *net.UDPConn) {
	cfg := &u.cfg
	buf := make([]byte, maxDatagram)
	var backoff time.Duration
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A persistent error must not turn into a busy loop.
			backoff = min(max(2*backoff, time.Millisecond), time.Second)
			cfg.Logger.Debug("cannot read udp datagram", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		if n == 0 {
			continue
		}
		b := record.Get(n)
		b.Key = u.key(from)
		b.Data = append(b.Data, buf[:n]...)
		oversize := splitAll(b, cfg.MaxLine)
		deliver(u.ctx, cfg, b, oversize)
	}
}

// key keeps each peer's datagrams on one worker, so they stay in order.
func (u *UDP) key(from netip.AddrPort) uint64 {
	return maphash.Comparable(u.seed, from)
}

// Shutdown stops reading; datagrams already read are handed on until ctx
// ends, then dropped and counted.
func (u *UDP) Shutdown(ctx context.Context) error {
	var errs []error
	for _, c := range u.conns {
		errs = append(errs, c.Close())
	}
	done := make(chan struct{})
	go func() { u.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		u.cancel()
		<-done
	}
	u.cancel()
	return errors.Join(errs...)
}
