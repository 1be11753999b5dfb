package sink

import (
	"strconv"
	"testing"

	"streamgate/loadgen/corpus"
)

// chunk returns n generated lines of cfg, newline-terminated, from 4
// sources, in runs of 16 lines, as the proxy's output interleaves its
// inputs' batches.
func chunk(cfg corpus.Config, n int) []byte { return chunkAfter(cfg, n, "") }

// chunkAfter is chunk with head before each line.
func chunkAfter(cfg corpus.Config, n int, head string) []byte {
	g := corpus.New(cfg)
	var b []byte
	for i := range n {
		b = append(b, head...)
		b = g.AppendLine(b, "bench-"+strconv.Itoa(i/16%4), uint64(i/64*16+i%16+1), 1_754_000_000_000_000_000)
		b = append(b, '\n')
	}
	return b
}

func newBenchSink() *Sink {
	return &Sink{maxSources: 16, sources: map[string]*window{}, hist: newHist()}
}

// BenchmarkProcess measures the whole per-line path of a TCP read: split,
// parse, leak scan, sequence accounting and latency recording.
func BenchmarkProcess(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  corpus.Config
		head string
	}{
		{"mix=default", corpus.DefaultConfig(), ""},
		{"mix=text", corpus.Config{Seed: 1}, ""},
		{"mix=json", corpus.Config{Seed: 1, JSON: 1}, ""},
		// Syslog messages passed on as received: the lab's header first.
		{"mix=default/syslog", corpus.DefaultConfig(), testSyslogHead},
	} {
		b.Run(bc.name, func(b *testing.B) {
			const lines = 1024
			data := chunkAfter(bc.cfg, lines, bc.head)
			s := newBenchSink()
			h := &handler{}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				s.process(h, data, 1_754_000_000_001_000_000)
			}
			b.ReportMetric(float64(b.N)*lines/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

func BenchmarkScanLeaks(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  corpus.Config
	}{
		{"pii=none", corpus.Config{Seed: 1, JSON: 0.2}},
		{"pii=all", corpus.Config{Seed: 1, SSN: 1, Card: 1, Email: 1, JSON: 0.2}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			g := corpus.New(bc.cfg)
			lines := make([][]byte, 256)
			size := 0
			for i := range lines {
				lines[i] = g.AppendLine(nil, "scan-0", uint64(i+1), 1_754_000_000_000_000_000)
				size += len(lines[i])
			}
			b.SetBytes(int64(size / len(lines)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ScanLeaks(lines[i%len(lines)])
				i++
			}
		})
	}
}

func BenchmarkParseLine(b *testing.B) {
	line := corpus.New(corpus.Config{Seed: 1}).AppendLine(nil, "bench-0", 12345, 1_754_000_000_000_000_000)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		ParseLine(line)
	}
}
