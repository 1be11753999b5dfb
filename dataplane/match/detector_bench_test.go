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

// BenchmarkSet runs every detector as one rule does (NewSet, the way a
// rule with "detector": "all" scans) over the line mix.
func BenchmarkSet(b *testing.B) {
	lines, size := benchInput()
	ds, _ := SelectDetectors([]string{AllDetectors})
	r := NewSet(ds, Mask("[REDACTED]"))
	dst := make([]byte, 0, 64<<10)
	b.Run("detectors=all", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			dst = dst[:0]
			for _, l := range lines {
				dst, _ = r.AppendReplace(dst, l)
			}
		}
	})
}
