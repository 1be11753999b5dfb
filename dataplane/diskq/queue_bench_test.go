package diskq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// benchLine is the length of a log line in the benchmarks.
const benchLine = 200

// benchRecord is what the pipeline appends: lines of benchLine bytes,
// newline-separated.
func benchRecord(lines int) []byte {
	b := make([]byte, 0, lines*benchLine)
	for i := range lines {
		b = append(b, payload(i, benchLine-1)...)
		b = append(b, '\n')
	}
	return b
}

func reportLines(b *testing.B, lines int) {
	b.ReportMetric(float64(b.N*lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkAppend appends records of 100 and 1000 lines under each sync
// mode; the queue is drained off the clock when full. The baseline writes
// the same records to a file with one pwrite each and nothing else.
func BenchmarkAppend(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		rec := benchRecord(lines)
		for _, mode := range []SyncMode{SyncInterval, SyncAlways, SyncNever} {
			b.Run(fmt.Sprintf("lines=%d/sync=%s", lines, mode), func(b *testing.B) {
				q := openQ(b, Options{Sync: mode, MaxBytes: 256 << 20})
				b.ReportAllocs()
				b.SetBytes(int64(len(rec)))
				b.ResetTimer()
				for range b.N {
					err := q.Append(rec)
					if errors.Is(err, ErrFull) {
						b.StopTimer()
						drain(b, q)
						b.StartTimer()
						err = q.Append(rec)
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportLines(b, lines)
			})
		}
		b.Run(fmt.Sprintf("lines=%d/baseline=pwrite", lines), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "file"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			b.ResetTimer()
			var off int64
			for range b.N {
				if off >= 256<<20 {
					b.StopTimer()
					if err := f.Truncate(0); err != nil {
						b.Fatal(err)
					}
					off = 0
					b.StartTimer()
				}
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				off += int64(len(rec))
			}
			b.StopTimer()
			reportLines(b, lines)
		})
	}
}

// BenchmarkAppendNextAck moves records through the queue under
// SyncInterval: serial appends, takes and acks each record in one
// goroutine (the CPU cost of a record's round trip on one core); concurrent
// has one appender and one deliverer, the queue running behind.
func BenchmarkAppendNextAck(b *testing.B) {
	for _, lines := range []int{100, 1000} {
		rec := benchRecord(lines)
		b.Run(fmt.Sprintf("lines=%d/mode=serial", lines), func(b *testing.B) {
			q := openQ(b, Options{MaxBytes: 256 << 20})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			b.ResetTimer()
			for range b.N {
				if err := q.Append(rec); err != nil {
					b.Fatal(err)
				}
				r, err := q.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(r.Data) != len(rec) {
					b.Fatalf("got %d bytes; want %d", len(r.Data), len(rec))
				}
				if err := q.Ack(r.ID); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportLines(b, lines)
		})
		b.Run(fmt.Sprintf("lines=%d/mode=concurrent", lines), func(b *testing.B) {
			q := openQ(b, Options{MaxBytes: 256 << 20})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(rec)))
			b.ResetTimer()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < b.N; {
					err := q.Append(rec)
					if errors.Is(err, ErrFull) {
						continue
					}
					if err != nil {
						b.Error(err)
						return
					}
					i++
				}
			}()
			for range b.N {
				r, err := q.Next(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := q.Ack(r.ID); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			reportLines(b, lines)
		})
	}
}
