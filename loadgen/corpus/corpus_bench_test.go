package corpus

import "testing"

func BenchmarkAppendLine(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"mix=default", DefaultConfig()},
		{"mix=text", Config{Seed: 1}},
		{"mix=json", Config{Seed: 1, JSON: 1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := New(bc.cfg)
			buf := make([]byte, 0, 1024)
			var n int
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				buf = g.AppendLine(buf[:0], "bench-0", uint64(i+1), 1_700_000_000_000_000_000)
				n += len(buf)
			}
			b.SetBytes(int64(n / max(b.N, 1)))
		})
	}
}

func BenchmarkCycleAppend(b *testing.B) {
	c := New(DefaultConfig()).Cycle("bench-0", 4096)
	buf := make([]byte, 0, 1024)
	var n int
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, _ = c.Append(buf[:0], uint64(i+1), 1_700_000_000_000_000_000)
		n += len(buf)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}
