package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"streamgate/dataplane/record"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// oobSize has room for the one control message a read asks for, the
// socket's drop count (a uint32), with plenty to spare.
const oobSize = 64

// UDP reads datagrams, each carrying one or more newline-separated lines
// (one syslog message with Config.Syslog). It
// opens several sockets on the same port with SO_REUSEPORT, so the kernel
// spreads senders over parallel readers.
//
// Datagrams the kernel drops because a socket's receive buffer is full never
// reach the proxy; on Linux they are counted as Metrics.UDPKernelDrops, as
// the datagrams read report them and whenever SyncKernelDrops runs.
type UDP struct {
	cfg    Config
	conns  []*net.UDPConn
	drops  []kernelDrops // one per conn
	wg     sync.WaitGroup
	seed   maphash.Seed
	ctx    context.Context // ends when Shutdown gives up: blocked pushes drop
	cancel context.CancelFunc

	draining atomic.Bool // Shutdown has begun: read what is queued, then stop
}

// ListenUDP listens on addr with readers sockets; readers <= 0 means 1.
func ListenUDP(addr string, readers int, cfg Config) (*UDP, error) {
	readers = max(readers, 1)
	lc := net.ListenConfig{Control: reusePort}
	ctx, cancel := context.WithCancel(context.Background())
	u := &UDP{cfg: cfg.withDefaults(), drops: make([]kernelDrops, readers), seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel}
	for i := 0; i < readers; i++ {
		pc, err := lc.ListenPacket(context.Background(), "udp", addr)
		if err != nil {
			u.Shutdown(context.Background())
			return nil, err
		}
		c := pc.(*net.UDPConn)
		_ = c.SetReadBuffer(4 << 20) // best effort: absorbs bursts
		if err := reportKernelDrops(c); err != nil && i == 0 {
			// Only the accounting suffers: serve anyway.
			u.cfg.Logger.Warn("udp: datagrams the kernel drops will not be counted", "err", err)
		}
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
	for i, c := range u.conns {
		u.wg.Add(1)
		go func() {
			defer u.wg.Done()
			u.read(c, &u.drops[i])
		}()
	}
	u.wg.Wait()
	return nil
}

// datagram is one datagram a reader took from its socket. data and oob
// stay valid until the reader's next read.
type datagram struct {
	data []byte
	oob  []byte
	from netip.AddrPort
	done bool // handed on
}

// udpBatch is how many datagrams one read may return.
const udpBatch = 16

func (u *UDP) read(c *net.UDPConn, drops *kernelDrops) {
	cfg := &u.cfg
	r := newDatagramReader(c)
	ds := make([]datagram, udpBatch)
	var backoff time.Duration
	read := false // since the last drain deadline
	for {
		n, err := r.read(ds)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, os.ErrDeadlineExceeded) && u.draining.Load() {
				// Shutdown: keep reading while datagrams are still
				// queued; stop once the socket is quiet for drainGrace.
				if !read {
					return
				}
				read = false
				c.SetReadDeadline(time.Now().Add(drainGrace))
				continue
			}
			// A persistent error must not turn into a busy loop.
			backoff = min(max(2*backoff, time.Millisecond), time.Second)
			cfg.Logger.Debug("cannot read udp datagram", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff, read = 0, true
		for i := range ds[:n] {
			if len(ds[i].oob) > 0 {
				if d := drops.update(ds[i].oob); d > 0 {
					cfg.Metrics.UDPKernelDrops.AddInt64(int64(d))
				}
			}
		}
		u.handOn(ds[:n])
	}
}

// handOn frames the datagrams of one read and hands them on: one batch per
// peer, its datagrams in the order they came, so a busy peer costs one push
// per read rather than one per datagram.
func (u *UDP) handOn(ds []datagram) {
	cfg := &u.cfg
	for i := range ds {
		ds[i].done = len(ds[i].data) == 0
	}
	for i := range ds {
		if ds[i].done {
			continue
		}
		from, size := ds[i].from, 0
		for j := i; j < len(ds); j++ {
			if !ds[j].done && ds[j].from == from {
				size += len(ds[j].data)
			}
		}
		b := record.Get(size) // room for all: lines never move
		b.Key = u.key(from)
		oversize := 0
		for j := i; j < len(ds); j++ {
			if ds[j].done || ds[j].from != from {
				continue
			}
			start := len(b.Data)
			b.Data = append(b.Data, ds[j].data...)
			if cfg.Syslog != nil {
				// One message per datagram: a trailing newline is framing.
				oversize += emit(b, bytes.TrimRight(b.Data[start:], "\n"), cfg.MaxLine)
			} else {
				oversize += splitAll(b, start, cfg.MaxLine)
			}
			ds[j].done = true
		}
		deliver(u.ctx, cfg, b, oversize, 0) // no backpressure: never wait
	}
}

// msgReader reads one datagram per system call, where there is no
// batched read.
type msgReader struct {
	c        *net.UDPConn
	buf, oob []byte
}

func newMsgReader(c *net.UDPConn) *msgReader {
	return &msgReader{c: c, buf: make([]byte, maxDatagram), oob: make([]byte, oobSize)}
}

func (r *msgReader) read(ds []datagram) (int, error) {
	n, oobn, _, from, err := r.c.ReadMsgUDPAddrPort(r.buf, r.oob)
	if err != nil {
		return 0, err
	}
	ds[0] = datagram{data: r.buf[:n], oob: r.oob[:oobn], from: from}
	return 1, nil
}

// kernelDrops follows the drop count of one socket, cumulative since it was
// opened. The kernel reports it two ways: with each datagram it queues once
// the count is non-zero (SO_RXQ_OVFL), as it was when the datagram was
// queued, so drops after the last datagram show only with the next one; and
// on demand (SO_MEMINFO), which SyncKernelDrops reads. Either report may be
// older than one already seen; the count never decreases, so an older one
// adds nothing.
type kernelDrops struct {
	last atomic.Uint32
}

// observe takes a count reported by the kernel and returns how many drops it
// adds to the last one seen.
func (k *kernelDrops) observe(n uint32) uint32 {
	for {
		old := k.last.Load()
		// The count wraps at 2^32, and so does the difference: a difference
		// past 2^31 is an older count, not 2^31 drops since the last one.
		d := n - old
		if d == 0 || d > math.MaxInt32 {
			return 0
		}
		if k.last.CompareAndSwap(old, n) {
			return d
		}
	}
}

// update observes the count in a read's control messages, if any. It does
// not allocate: once a socket has dropped a datagram, it runs for every
// datagram read.
func (k *kernelDrops) update(oob []byte) uint32 {
	for len(oob) >= unix.SizeofCmsghdr {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0
		}
		if h.Level == unix.SOL_SOCKET && h.Type == soRxqOvfl && len(data) >= 4 {
			return k.observe(binary.NativeEndian.Uint32(data))
		}
		oob = rest
	}
	return 0
}

// SyncKernelDrops brings Metrics.UDPKernelDrops up to date with every
// socket's drop count now, including drops no datagram has reported yet.
// It is cheap (one system call per socket) and safe to call at any time;
// call it before reading the counter.
func (u *UDP) SyncKernelDrops() {
	for i, c := range u.conns {
		if n, err := kernelDropCount(c); err == nil {
			if d := u.drops[i].observe(n); d > 0 {
				u.cfg.Metrics.UDPKernelDrops.AddInt64(int64(d))
			}
		}
	}
}

// key keeps each peer's datagrams on one worker, so they stay in order.
func (u *UDP) key(from netip.AddrPort) uint64 {
	return maphash.Comparable(u.seed, from)
}

// Shutdown stops reading; datagrams already read are handed on until ctx
// ends, then dropped and counted.
func (u *UDP) Shutdown(ctx context.Context) error {
	// First read what the sockets already hold: closing them would discard
	// it uncounted. A sender that keeps sending keeps them busy until ctx
	// ends.
	u.draining.Store(true)
	for _, c := range u.conns {
		c.SetReadDeadline(time.Now().Add(drainGrace))
	}
	done := make(chan struct{})
	go func() { u.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		u.cancel()
	}
	u.SyncKernelDrops() // the final count: closed sockets report nothing
	for _, c := range u.conns {
		errs = append(errs, c.Close())
	}
	<-done
	u.cancel()
	return errors.Join(errs...)
}
