package match

import (
	"bytes"
	"syscall"
	"testing"
)

// TestIndexAnyInBounds runs the scans over slices that end where an
// unreadable page starts, or start where one ends: a read past either
// end of s faults. Every length from 16 to 64 is tried, with the byte
// sought at each place and nowhere.
func TestIndexAnyInBounds(t *testing.T) {
	ps := syscall.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, 3*ps, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("cannot map pages: %v", err)
	}
	defer syscall.Munmap(mem)
	for _, guard := range [][]byte{mem[:ps], mem[2*ps:]} {
		if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
			t.Fatalf("cannot protect a page: %v", err)
		}
	}
	page := mem[ps : 2*ps]
	var set [8][16]byte
	for i, c := range []byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'} {
		set[i] = [16]byte(bytes.Repeat([]byte{c}, 16))
	}
	for n := 16; n <= 64; n++ {
		for _, s := range [][]byte{page[ps-n : ps : ps], page[:n:n]} {
			for at := -1; at < n; at++ {
				for i := range s {
					s[i] = '.'
				}
				if at >= 0 {
					s[at] = 'h'
				}
				if got := indexAny4(s, &set); got != -1 {
					t.Fatalf("indexAny4, %d bytes, 'h' at %d: got %d; want -1", n, at, got)
				}
				if got := indexAny8(s, &set); got != at {
					t.Fatalf("indexAny8, %d bytes, 'h' at %d: got %d; want %d", n, at, got, at)
				}
			}
		}
	}
}
