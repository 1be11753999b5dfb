package match

import "testing"

// BenchmarkDetectors runs each detector's Find over the line mix, and all
// of them one after another as a rule per detector would.
func BenchmarkDetectors(b *testing.B) {
	lines, size := benchInput()
	ds := Detectors()
	find := func(d *Detector) {
		for _, l := range lines {
			for s, e := d.Find(l, 0); s >= 0; s, e = d.Find(l, e) {
			}
		}
	}
	for _, d := range ds {
		b.Run("detector="+d.Name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				find(d)
			}
		})
	}
	b.Run("detector=all", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range ds {
				find(d)
			}
		}
	})
}
