//go:build !sparc64

// Not on sparc64, which numbers its socket options its own way (and which Go
// does not support).

package ingest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soRxqOvfl is the type of the control message carrying a socket's drop
// count.
const soRxqOvfl = unix.SO_RXQ_OVFL

// reportKernelDrops asks the kernel to attach c's drop count to the
// datagrams it queues.
func reportKernelDrops(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// SO_MEMINFO fills an array of skMeminfoVars uint32s, the socket's drop
// count at skMeminfoDrops (linux/sock_diag.h). x/sys/unix does not name them;
// the option's number is the same on every architecture but sparc.
const (
	soMeminfo      = 55
	skMeminfoDrops = 8
	skMeminfoVars  = 9
)

// kernelDropCount reads c's drop count now.
func kernelDropCount(c *net.UDPConn) (uint32, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var mem [skMeminfoVars]uint32
	size := uint32(unsafe.Sizeof(mem))
	var errno syscall.Errno
	err = rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall6(unix.SYS_GETSOCKOPT, fd, unix.SOL_SOCKET, soMeminfo,
			uintptr(unsafe.Pointer(&mem)), uintptr(unsafe.Pointer(&size)), 0)
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	if size < (skMeminfoDrops+1)*4 { // a kernel older than the drop count (4.6)
		return 0, errors.New("SO_MEMINFO without the drop count")
	}
	return mem[skMeminfoDrops], nil
}

// mmsgReader reads up to udpBatch datagrams per system call with recvmmsg,
// through the runtime's poller like any other read on c, so deadlines and
// Close work as they do for ReadMsgUDP.
type mmsgReader struct {
	rc    syscall.RawConn
	bufs  []byte // udpBatch slots of maxDatagram bytes
	oobs  []byte // udpBatch slots of oobSize bytes
	names []unix.RawSockaddrInet6
	iovs  []unix.Iovec
	hdrs  []mmsghdr
}

// mmsghdr is struct mmsghdr of recvmmsg(2); Go pads it as C does.
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// newDatagramReader returns a recvmmsg reader for c, or a reader of one
// datagram per call if c's raw connection is not available.
func newDatagramReader(c *net.UDPConn) interface {
	read([]datagram) (int, error)
} {
	rc, err := c.SyscallConn()
	if err != nil {
		return newMsgReader(c)
	}
	r := &mmsgReader{
		rc:    rc,
		bufs:  make([]byte, udpBatch*maxDatagram),
		oobs:  make([]byte, udpBatch*oobSize),
		names: make([]unix.RawSockaddrInet6, udpBatch),
		iovs:  make([]unix.Iovec, udpBatch),
		hdrs:  make([]mmsghdr, udpBatch),
	}
	for i := range r.hdrs {
		r.iovs[i].Base = &r.bufs[i*maxDatagram]
		r.iovs[i].SetLen(maxDatagram)
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		h.Control = &r.oobs[i*oobSize]
	}
	return r
}

func (r *mmsgReader) read(ds []datagram) (int, error) {
	vlen := min(len(ds), len(r.hdrs))
	for i := range r.hdrs[:vlen] {
		h := &r.hdrs[i].hdr
		h.Namelen = unix.SizeofSockaddrInet6
		h.SetControllen(oobSize)
		h.Flags = 0
		r.hdrs[i].n = 0
	}
	var n int
	var errno syscall.Errno
	err := r.rc.Read(func(fd uintptr) bool {
		for {
			got, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])),
				uintptr(vlen), unix.MSG_DONTWAIT, 0, 0)
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // nothing queued: wait until there is
			}
			n, errno = int(got), e
			return true
		}
	})
	if err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, os.NewSyscallError("recvmmsg", errno)
	}
	for i := range n {
		h := &r.hdrs[i]
		ds[i] = datagram{
			data: r.bufs[i*maxDatagram : i*maxDatagram+int(h.n)],
			oob:  r.oobs[i*oobSize : i*oobSize+int(h.hdr.Controllen)],
			from: sockaddrPort(&r.names[i]),
		}
	}
	return n, nil
}

// sockaddrPort converts the address recvmmsg filled in, without allocating.
func sockaddrPort(sa *unix.RawSockaddrInet6) netip.AddrPort {
	switch sa.Family {
	case unix.AF_INET:
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), networkPort(sa4.Port))
	case unix.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), networkPort(sa.Port))
	}
	return netip.AddrPort{}
}

// networkPort reads a port kept in network byte order.
func networkPort(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
