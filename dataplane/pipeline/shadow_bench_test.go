package pipeline

import (
	"testing"

	"streamgate/dataplane/buffer"
)

// BenchmarkPathShadow sends lines through the whole path, as
// BenchmarkPathFramerToFlush does with the audit off, with a shadow chain
// equal to the live one (a filter and a redactor) beside it: what a shadow
// costs, unbounded (cpu=1) and under the default budget. shadow_skipped is
// the fraction of lines the budget kept from the shadow.
func BenchmarkPathShadow(b *testing.B) {
	for _, c := range []struct {
		name string
		cpu  float64
	}{
		{"shadow=none", 0},
		{"shadow=live/cpu=1", 1},
		{"shadow=live/cpu=0.25", DefaultShadowCPU},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := startWholePath(b, buffer.Block, -1, func(o *Options) { o.ShadowCPU = c.cpu })
			if c.cpu > 0 {
				w.p.SetShadow("bench", filterRedact(b))
			}
			w.send(b, 20*pathConns*pathChunk) // fills the pools
			w.wait(b)
			skipped0 := uint64(0)
			if sh := w.p.Shadow(); sh != nil {
				skipped0 = sh.Skipped.Get()
			}
			b.ReportAllocs()
			b.SetBytes(pathChunk * pathLineLen)
			b.ResetTimer()
			w.send(b, b.N*pathChunk)
			w.wait(b)
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pathChunk), "ns/line")
			if sh := w.p.Shadow(); sh != nil {
				b.ReportMetric(float64(sh.Skipped.Get()-skipped0)/float64(b.N*pathChunk), "shadow_skipped")
			}
		})
	}
}
