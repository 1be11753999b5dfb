//go:build !sparc64

// Not on sparc64, which numbers its socket options its own way (and which Go
// does not support).

package ingest

import (
	"errors"
	"net"
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
