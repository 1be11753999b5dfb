package buffer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/record"
)

// BenchmarkRing pushes batches of lines from several producers to one
// consumer, against a buffered channel of batches as the baseline. Bytes are
// the line bytes moved. ring blocks when full; ring_wait is the default of
// TCP ingest, drop_oldest after waiting up to a second for room, and
// reports the lines it dropped.
func BenchmarkRing(b *testing.B) {
	const lineLen = 100
	for _, perBatch := range []int{1, 64} {
		for _, producers := range []int{1, 4} {
			name := fmt.Sprintf("lines=%d/producers=%d", perBatch, producers)
			b.Run("ring/"+name, func(b *testing.B) {
				r := New(1<<16, 0, Block)
				benchQueue(b, producers, perBatch, lineLen,
					func(bt *record.Batch) { _ = r.Push(context.Background(), bt, 0) },
					func() *record.Batch {
						for {
							if bt := r.TryPop(); bt != nil {
								return bt
							}
							r.Wait(nil, nil)
						}
					})
			})
			b.Run("ring_wait/"+name, func(b *testing.B) {
				r := New(1<<16, 0, DropOldest)
				var dropped, dropLines atomic.Int64 // batches and lines
				r.OnDrop = func(bt *record.Batch, _ error) {
					dropped.Add(1)
					dropLines.Add(int64(len(bt.Lines)))
				}
				var seen int64 // drops the consumer has accounted for
				benchQueue(b, producers, perBatch, lineLen,
					func(bt *record.Batch) { _ = r.Push(context.Background(), bt, time.Second) },
					func() *record.Batch {
						for {
							if bt := r.TryPop(); bt != nil {
								return bt
							}
							if seen < dropped.Load() {
								seen++
								return nil // a batch that will never come
							}
							r.Wait(nil, nil)
						}
					})
				b.ReportMetric(float64(dropLines.Load())/float64(b.N*perBatch), "dropped/line")
			})
			b.Run("chan/"+name, func(b *testing.B) {
				ch := make(chan *record.Batch, (1<<16)/perBatch)
				benchQueue(b, producers, perBatch, lineLen,
					func(bt *record.Batch) { ch <- bt },
					func() *record.Batch { return <-ch })
			})
		}
	}
}

func benchQueue(b *testing.B, producers, perBatch, lineLen int, push func(*record.Batch), pop func() *record.Batch) {
	b.ReportAllocs()
	b.SetBytes(int64(perBatch * lineLen))
	line := make([]byte, lineLen)
	var wg sync.WaitGroup
	per := b.N / producers
	total := per * producers
	b.ResetTimer()
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				bt := record.Get(perBatch * lineLen)
				for j := 0; j < perBatch; j++ {
					bt.Lines = append(bt.Lines, line)
				}
				push(bt)
			}
		}()
	}
	for i := 0; i < total; i++ {
		if bt := pop(); bt != nil { // nil: a batch dropped, not to be popped
			record.Put(bt)
		}
	}
	wg.Wait()
}
