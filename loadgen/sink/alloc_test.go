//go:build !race

package sink

import (
	"testing"

	"streamgate/loadgen/corpus"
)

func TestProcessDoesNotAllocate(t *testing.T) {
	data := chunk(corpus.DefaultConfig(), 512)
	s := newBenchSink()
	h := &handler{}
	s.process(h, data, 1_754_000_000_001_000_000) // sources and scratch
	if got := testing.AllocsPerRun(100, func() { s.process(h, data, 1_754_000_000_001_000_000) }); got != 0 {
		t.Fatalf("got %v allocs per chunk; want 0", got)
	}
	if got := testing.AllocsPerRun(100, func() { ScanLeaks(data) }); got != 0 {
		t.Fatalf("got %v allocs per scan; want 0", got)
	}
}
