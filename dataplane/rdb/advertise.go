package rdb

import "net"

// AdvertiseAddr is addr, a host:port a listener is bound to, as another
// host can dial it: a wildcard host (:8080, 0.0.0.0:8080, [::]:8080) is
// replaced with an address of one of this host's interfaces that are up and
// not loopback, IPv4 first (in a container, its own address), or with
// 127.0.0.1 when it has none. Any other addr is returned as it is.
func AdvertiseAddr(addr string) string {
	return advertise(addr, interfaceAddrs)
}

// interfaceAddrs are the addresses of the interfaces that are up and not
// loopback.
func interfaceAddrs() []net.Addr {
	var ifaddrs []net.Addr
	if ifs, err := net.Interfaces(); err == nil {
		for _, i := range ifs {
			if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
				continue
			}
			if as, err := i.Addrs(); err == nil {
				ifaddrs = append(ifaddrs, as...)
			}
		}
	}
	return ifaddrs
}

// advertise is AdvertiseAddr with the interfaces' addresses from ifaddrs,
// called only for a wildcard host.
func advertise(addr string, ifaddrs func() []net.Addr) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host != "" {
		if ip := net.ParseIP(host); ip == nil || !ip.IsUnspecified() {
			return addr
		}
	}
	var v6 net.IP
	for _, a := range ifaddrs() {
		n, ok := a.(*net.IPNet)
		if !ok || !n.IP.IsGlobalUnicast() {
			continue
		}
		if n.IP.To4() != nil {
			return net.JoinHostPort(n.IP.String(), port)
		}
		if v6 == nil {
			v6 = n.IP
		}
	}
	if v6 != nil {
		return net.JoinHostPort(v6.String(), port)
	}
	return net.JoinHostPort("127.0.0.1", port)
}
