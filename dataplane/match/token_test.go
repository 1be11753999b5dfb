package match

import (
	"encoding/binary"
	"testing"
)

func TestAlnumMask(t *testing.T) {
	for c := range 256 {
		for k := range 8 {
			var b [8]byte
			for j := range b {
				b[j] = '-' // not a word byte
			}
			b[k] = byte(c)
			m := alnumMask(binary.LittleEndian.Uint64(b[:]))
			want := uint64(0)
			if isAlnum(byte(c)) {
				want = 0x80 << (8 * k)
			}
			if m != want {
				t.Fatalf("alnumMask of %#x at byte %d = %#x; want %#x", c, k, m, want)
			}
		}
	}
	// Any neighbours: no byte's test may disturb another's.
	x := uint64(0x9e3779b97f4a7c15)
	for range 200000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		want := uint64(0)
		for k := range 8 {
			if isAlnum(byte(x >> (8 * k))) {
				want |= 0x80 << (8 * k)
			}
		}
		if m := alnumMask(x); m != want {
			t.Fatalf("alnumMask(%#x) = %#x; want %#x", x, m, want)
		}
	}
}
