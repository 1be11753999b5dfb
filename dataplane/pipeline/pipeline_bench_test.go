package pipeline

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// discard counts what it is given and keeps nothing.
type discard struct{ lines *atomic.Int64 }

func (d discard) Write(_ context.Context, b *record.Batch) error {
	d.lines.Add(int64(len(b.Lines)))
	return nil
}
func (discard) Close() error { return nil }

var (
	discardOnce  sync.Once
	discardLines atomic.Int64
)

// registerDiscard adds the "bench-discard" output type, whose outputs count
// the lines they are given in discardLines; calling it again is harmless.
func registerDiscard() {
	discardOnce.Do(func() {
		output.Register("bench-discard", output.Type{
			Validate: func(*output.Config) error { return nil },
			New:      func(*output.Config) (output.Output, error) { return discard{&discardLines}, nil },
		})
	})
}

// filterRedact builds the chain of the benchmarks: a filter dropping DEBUG
// lines and a redactor masking SSNs.
func filterRedact(tb testing.TB) *processor.Chain {
	tb.Helper()
	var steps []processor.Step
	for _, c := range []processor.Config{
		{ID: "f", Type: "filter", Params: []byte(`{"value":"DEBUG"}`)},
		{ID: "r", Type: "redact", Params: []byte(`{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}`)},
	} {
		s, err := processor.Build(c)
		if err != nil {
			tb.Fatal(err)
		}
		steps = append(steps, s)
	}
	return processor.NewChain(steps...)
}

// BenchmarkPipeline pushes batches of lines, as a TCP read yields them,
// through the workers and the chain to an output that discards them: the
// per-line cost of the data plane between ingest and the output.
func BenchmarkPipeline(b *testing.B) {
	registerDiscard()
	const perBatch, lineLen = 400, 150
	line := make([]byte, lineLen-1)
	for i := range line {
		line[i] = 'a' + byte(i%26)
	}
	copy(line, "INFO ssn=123-45-6789 ")
	for _, chain := range []string{"none", "filter_redact"} {
		b.Run("chain="+chain, func(b *testing.B) {
			c := processor.NewChain()
			if chain == "filter_redact" {
				c = filterRedact(b)
			}
			p, err := New(Options{Workers: 2, Overflow: buffer.Block},
				&Config{Chain: c, Outputs: []output.Config{{Type: "bench-discard", URL: fmt.Sprint(b.N)}}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(perBatch * lineLen)
			start := discardLines.Load()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				bt := record.Get(perBatch * lineLen)
				bt.Key = uint64(i % 8)
				for j := 0; j < perBatch; j++ {
					off := len(bt.Data)
					bt.Data = append(bt.Data, line...)
					bt.Lines = append(bt.Lines, bt.Data[off:len(bt.Data):len(bt.Data)])
				}
				p.Push(context.Background(), bt, 0)
			}
			p.Close(context.Background())
			b.StopTimer()
			if got := discardLines.Load() - start; got != int64(b.N*perBatch) {
				b.Fatalf("delivered %d lines; want %d", got, b.N*perBatch)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBatch), "ns/line")
		})
	}
}
