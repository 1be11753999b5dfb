package buffer

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"streamgate/dataplane/record"
)

// BenchmarkRing pushes batches of lines from several producers to one
// consumer, against a buffered channel of batches as the baseline. Bytes are
// the line bytes moved.
func BenchmarkRing(b *testing.B) {
	const lineLen = 100
	for _, perBatch := range []int{1, 64} {
		for _, producers := range []int{1, 4} {
			name := fmt.Sprintf("lines=%d/producers=%d", perBatch, producers)
			b.Run("ring/"+name, func(b *testing.B) {
				r := New(1<<16, 0, Block)
				benchQueue(b, producers, perBatch, lineLen,
					func(bt *record.Batch) { _ = r.Push(context.Background(), bt) },
					func() *record.Batch {
						for {
							if bt := r.TryPop(); bt != nil {
								return bt
							}
							r.Wait(nil, nil)
						}
					})
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
		record.Put(pop())
	}
	wg.Wait()
}
