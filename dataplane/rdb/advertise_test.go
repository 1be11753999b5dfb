package rdb

import (
	"net"
	"testing"
)

func TestAdvertise(t *testing.T) {
	ipnet := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	v4 := ipnet("10.1.2.3/24")
	v6 := ipnet("2001:db8::7/64")
	linkLocal := ipnet("fe80::1/64")
	for _, tc := range []struct {
		addr    string
		ifaddrs []net.Addr
		want    string
	}{
		{"127.0.0.1:8080", []net.Addr{v4}, "127.0.0.1:8080"},
		{"10.9.9.9:8080", []net.Addr{v4}, "10.9.9.9:8080"},
		{"host-a:8080", []net.Addr{v4}, "host-a:8080"},
		{"[::1]:8080", []net.Addr{v4}, "[::1]:8080"},
		{":8080", []net.Addr{v4}, "10.1.2.3:8080"},
		{"0.0.0.0:8080", []net.Addr{v4}, "10.1.2.3:8080"},
		{"[::]:8080", []net.Addr{v6, v4}, "10.1.2.3:8080"},
		{"[::]:8080", []net.Addr{linkLocal, v6}, "[2001:db8::7]:8080"},
		{"[::]:8080", []net.Addr{linkLocal}, "127.0.0.1:8080"},
		{":8080", nil, "127.0.0.1:8080"},
		{"not an address", []net.Addr{v4}, "not an address"},
	} {
		if got := advertise(tc.addr, func() []net.Addr { return tc.ifaddrs }); got != tc.want {
			t.Errorf("advertise(%q, %v) = %q; want %q", tc.addr, tc.ifaddrs, got, tc.want)
		}
	}
}
