package match

import (
	"fmt"
	"testing"
)

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
	b.Run("detectors=all", func(b *testing.B) { benchReplace(b, r, lines, size) })
}

// BenchmarkSetJSON runs every detector as a redact rule does, JSON-aware,
// over OTel-shaped JSON lines of which one in four holds a card number, an
// SSN or an e-mail address in one of its values: the lines whose strings a
// JSON-aware rule scans again.
func BenchmarkSetJSON(b *testing.B) {
	var lines [][]byte
	var size int64
	for i := range 64 {
		extra := ""
		switch i % 12 {
		case 1:
			extra = `,"payment.card":"4111-1111-1111-1111"`
		case 5:
			extra = fmt.Sprintf(`,"customer.ssn":"536-22-%04d"`, 1000+i)
		case 9:
			extra = fmt.Sprintf(`,"user.email":"user%d@example.com"`, i)
		}
		l := fmt.Sprintf(`{"ts":%d,"src":"s1","seq":%d,"severityText":"INFO","body":"request handled","resource":{"attributes":{"service.name":"checkout"}},"attributes":{"http.target":"/api/v1/pay","http.status_code":%d,"duration_ms":%d,"user.id":"u%06d"%s}}`,
			1733550000000000000+int64(i)*7919, i, 200+i%3, i*37%2000, i*7, extra)
		lines = append(lines, []byte(l))
		size += int64(len(l))
	}
	ds, _ := SelectDetectors([]string{AllDetectors})
	r := JSONAware(NewSet(ds, Mask("[REDACTED]")), false)
	b.Run("detectors=all", func(b *testing.B) { benchReplace(b, r, lines, size) })
}
