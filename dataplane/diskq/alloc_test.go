//go:build !race

package diskq

import (
	"context"
	"testing"
)

func TestAllocAppendNextAck(t *testing.T) {
	q := openQ(t, Options{MaxBytes: 64 << 20})
	ctx := context.Background()
	for _, lines := range []int{1, 100} {
		rec := benchRecord(lines)
		allocs := testing.AllocsPerRun(1000, func() {
			if err := q.Append(rec); err != nil {
				t.Fatal(err)
			}
			r, err := q.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.Ack(r.ID); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%d lines: %v allocations per Append, Next and Ack; want 0", lines, allocs)
		}
	}
}
