package output

import (
	"testing"
	"time"
)

// BenchmarkVendorEncode measures the request bodies of the outputs that
// speak a destination's API, for a batch of 100 mixed lines (a third JSON),
// uncompressed: the time and memory of a batch, and lines/s.
func BenchmarkVendorEncode(b *testing.B) {
	lines := benchLines(100)
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ts := now.AppendFormat(nil, esTimeLayout)
	action := appendAction(nil, []byte("logs-2024.05.01"))
	pending := make([]int, len(lines))
	for i := range pending {
		pending[i] = i
	}
	newLokiBench := func(b *testing.B, c *Config) *lokiOutput {
		c.Type, c.URL = "loki", "http://127.0.0.1:1"
		if err := Validate(c); err != nil {
			b.Fatal(err)
		}
		o, err := newLokiOutput(c, fastRetries)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { o.Close() })
		return o
	}
	benches := []struct {
		name   string
		encode func(b *testing.B) func(dst []byte) []byte
	}{
		{"elasticsearch", func(*testing.B) func([]byte) []byte {
			return func(dst []byte) []byte { return appendBulk(dst, action, ts, lines, pending) }
		}},
		{"loki", func(b *testing.B) func([]byte) []byte {
			o := newLokiBench(b, &Config{})
			s := &lokiScratch{index: make(map[string]int)}
			return func(dst []byte) []byte { clear(s.index); return o.encode(s, dst, lines) }
		}},
		{"loki_label_fields", func(b *testing.B) func([]byte) []byte {
			o := newLokiBench(b, &Config{LabelFields: StringList{"service", "level"}})
			s := &lokiScratch{index: make(map[string]int)}
			return func(dst []byte) []byte { clear(s.index); return o.encode(s, dst, lines) }
		}},
		{"otlp", func(*testing.B) func([]byte) []byte {
			s := &otlpScratch{index: make(map[string]int)}
			return func(dst []byte) []byte { clear(s.index); return encodeRequest(s, dst, lines, now) }
		}},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			encode := bb.encode(b)
			dst := encode(nil)
			b.ReportAllocs()
			b.SetBytes(linesSize(lines))
			for b.Loop() {
				dst = encode(dst[:0])
			}
			b.ReportMetric(float64(b.N)*float64(len(lines))/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
