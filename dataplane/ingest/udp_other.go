//go:build !linux || sparc64

package ingest

import (
	"errors"
	"net"
	"runtime"
)

// soRxqOvfl matches no control message: sockets here are not asked for
// their drop count.
const soRxqOvfl = -1

func reportKernelDrops(*net.UDPConn) error {
	return errors.New("no SO_RXQ_OVFL on " + runtime.GOOS + "/" + runtime.GOARCH)
}

func kernelDropCount(*net.UDPConn) (uint32, error) {
	return 0, errors.New("no SO_MEMINFO on " + runtime.GOOS + "/" + runtime.GOARCH)
}

// newDatagramReader reads one datagram per system call: no recvmmsg here.
func newDatagramReader(c *net.UDPConn) interface {
	read([]datagram) (int, error)
} {
	return newMsgReader(c)
}
