//go:build !race

package corpus

import "testing"

func TestCycleAllocs(t *testing.T) {
	c := New(DefaultConfig()).Cycle("run-0", 256)
	buf := make([]byte, 0, 4096)
	seq := uint64(0)
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		buf, _ = c.Append(buf[:0], seq, 1_765_000_000_000_000_000)
	}); n != 0 {
		t.Fatalf("%v allocations per line; want 0", n)
	}
}
