package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/record"
)

// batchOf returns a batch of n lines, each an 8-byte big-endian sequence
// number starting at first.
func batchOf(key uint64, first, n int) *record.Batch {
	b := record.Get(8 * n)
	b.Key = key
	for i := 0; i < n; i++ {
		b.Data = binary.BigEndian.AppendUint64(b.Data, uint64(first+i))
	}
	for i := 0; i < n; i++ {
		b.Lines = append(b.Lines, b.Data[8*i:8*i+8])
	}
	return b
}

func seqOf(line []byte) int { return int(binary.BigEndian.Uint64(line)) }

// TestRingConcurrent pushes from many producers into a small ring drained by
// one consumer: every line is popped or dropped exactly once, and each
// producer's lines come out in order.
func TestRingConcurrent(t *testing.T) {
	for _, policy := range []Policy{DropOldest, DropNewest, Block} {
		t.Run(policy.String(), func(t *testing.T) {
			const producers, batches, perBatch = 8, 2000, 7
			r := New(256, 0, policy)
			var dropped atomic.Int64
			r.OnDrop = func(b *record.Batch, _ error) { dropped.Add(int64(len(b.Lines))) }

			var popped int64
			last := make(map[uint64]int)
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					b := r.TryPop()
					if b == nil {
						if r.Closed() && r.Len() == 0 {
							return
						}
						r.Wait(nil, nil)
						continue
					}
					for _, l := range b.Lines {
						s := seqOf(l)
						if prev, ok := last[b.Key]; ok && s <= prev {
							t.Errorf("producer %d: got seq %d after %d; want increasing", b.Key, s, prev)
						}
						last[b.Key] = s
						popped++
					}
					record.Put(b)
				}
			}()

			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func(key uint64) {
					defer wg.Done()
					for i := 0; i < batches; i++ {
						if err := r.Push(context.Background(), batchOf(key, i*perBatch, perBatch)); err != nil {
							t.Errorf("Push: %v", err)
							return
						}
					}
				}(uint64(p))
			}
			wg.Wait()
			r.Close()
			<-done

			total := int64(producers * batches * perBatch)
			if got := popped + dropped.Load(); got != total {
				t.Fatalf("popped %d + dropped %d = %d; want %d", popped, dropped.Load(), got, total)
			}
			if policy == Block && dropped.Load() != 0 {
				t.Fatalf("block policy dropped %d lines; want 0", dropped.Load())
			}
			if r.Len() != 0 || r.Bytes() != 0 {
				t.Fatalf("after drain: Len %d, Bytes %d; want 0, 0", r.Len(), r.Bytes())
			}
		})
	}
}

func TestRingOverflowPolicies(t *testing.T) {
	cases := []struct {
		policy   Policy
		wantSeqs []int // first line of each queued batch after pushing 0..4
	}{
		{DropOldest, []int{2, 3, 4}},
		{DropNewest, []int{0, 1, 2}},
	}
	for _, c := range cases {
		t.Run(c.policy.String(), func(t *testing.T) {
			r := New(3, 0, c.policy)
			var dropped []int
			r.OnDrop = func(b *record.Batch, _ error) { dropped = append(dropped, seqOf(b.Lines[0])) }
			for i := 0; i < 5; i++ {
				if err := r.Push(context.Background(), batchOf(0, i, 1)); err != nil {
					t.Fatal(err)
				}
			}
			if len(dropped) != 2 {
				t.Fatalf("dropped %v; want 2 batches", dropped)
			}
			for _, want := range c.wantSeqs {
				b := r.TryPop()
				if b == nil {
					t.Fatalf("TryPop: got nil; want seq %d", want)
				}
				if got := seqOf(b.Lines[0]); got != want {
					t.Fatalf("TryPop: got seq %d; want %d", got, want)
				}
			}
			if b := r.TryPop(); b != nil {
				t.Fatalf("TryPop on empty ring: got seq %d; want nil", seqOf(b.Lines[0]))
			}
		})
	}
}

func TestRingBlockWaitsForRoom(t *testing.T) {
	r := New(2, 0, Block)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := r.Push(ctx, batchOf(0, i, 1)); err != nil {
			t.Fatal(err)
		}
	}
	pushed := make(chan error, 1)
	go func() { pushed <- r.Push(ctx, batchOf(0, 2, 1)) }()
	select {
	case err := <-pushed:
		t.Fatalf("Push into a full ring returned %v; want it to block", err)
	case <-time.After(50 * time.Millisecond):
	}
	record.Put(r.TryPop())
	if err := <-pushed; err != nil {
		t.Fatalf("Push after room freed: %v", err)
	}
	if r.Len() != 2 {
		t.Fatalf("Len: got %d; want 2", r.Len())
	}

	// A blocked producer gives up when its context ends, and the line is
	// counted as dropped.
	var dropped int
	r.OnDrop = func(b *record.Batch, _ error) { dropped += len(b.Lines) }
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := r.Push(cctx, batchOf(0, 3, 1)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Push with expired ctx: got %v; want DeadlineExceeded", err)
	}
	if dropped != 1 {
		t.Fatalf("dropped: got %d; want 1", dropped)
	}
}

func TestRingBytesBound(t *testing.T) {
	batch := func() *record.Batch {
		b := &record.Batch{Data: make([]byte, 0, 4096), Lines: make([][]byte, 0, 8)}
		b.Data = append(b.Data, 'x')
		b.Lines = append(b.Lines, b.Data)
		return b
	}
	fp := batch().Footprint()
	r := New(1000, 2*fp+fp/2, DropNewest) // room for two and a half batches
	var dropped int
	r.OnDrop = func(b *record.Batch, _ error) { dropped++ }
	for i := 0; i < 4; i++ {
		if err := r.Push(context.Background(), batch()); err != nil {
			t.Fatal(err)
		}
	}
	if dropped != 2 {
		t.Fatalf("dropped: got %d batches; want 2 (two fit)", dropped)
	}
	if u := r.Usage(); u < 0.8 {
		t.Fatalf("Usage: got %.2f; want >= 0.8 (bytes bound)", u)
	}
}

func TestRingOversizeBatchAdmittedWhenEmpty(t *testing.T) {
	r := New(4, 0, Block)
	if err := r.Push(context.Background(), batchOf(0, 0, 10)); err != nil {
		t.Fatalf("Push of a batch larger than the ring into an empty ring: %v", err)
	}
	if got := len(r.TryPop().Lines); got != 10 {
		t.Fatalf("popped %d lines; want 10", got)
	}
}

func TestRingEmptyBatchIgnored(t *testing.T) {
	r := New(2, 0, Block)
	for i := 0; i < 5; i++ { // more than the ring's slots
		if err := r.Push(context.Background(), record.Get(0)); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != 0 || r.TryPop() != nil {
		t.Fatalf("empty batches were queued: Len %d", r.Len())
	}
}

// TestRingPushRacingClose pushes while the ring closes: every batch is
// either popped by the consumer or dropped, none is stranded.
func TestRingPushRacingClose(t *testing.T) {
	for iter := 0; iter < 2000; iter++ {
		r := New(64, 0, DropNewest)
		var dropped atomic.Int64
		r.OnDrop = func(b *record.Batch, _ error) { dropped.Add(int64(len(b.Lines))) }
		var popped int64
		done := make(chan struct{})
		go func() { // the worker's exit rule
			defer close(done)
			for {
				if b := r.TryPop(); b != nil {
					popped += int64(len(b.Lines))
					record.Put(b)
					continue
				}
				if r.Closed() && r.Len() == 0 {
					return
				}
			}
		}()
		var wg sync.WaitGroup
		for p := 0; p < 2; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					r.Push(context.Background(), batchOf(0, i, 1))
				}
			}()
		}
		r.Close()
		wg.Wait()
		<-done
		if popped+dropped.Load() != 10 {
			t.Fatalf("iteration %d: popped %d + dropped %d; want 10", iter, popped, dropped.Load())
		}
	}
}

func TestRingWaitWakesOnPush(t *testing.T) {
	r := New(16, 0, DropNewest)
	woke := make(chan struct{})
	go func() {
		r.Wait(nil, nil)
		close(woke)
	}()
	// Wait may not have started sleeping yet; a push wakes it either way.
	if err := r.Push(context.Background(), batchOf(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Push")
	}
}
