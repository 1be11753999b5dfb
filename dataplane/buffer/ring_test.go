package buffer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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
// one consumer, with and without a bounded wait for room: every line is
// popped or dropped exactly once, and each producer's lines come out in
// order.
func TestRingConcurrent(t *testing.T) {
	for _, c := range []struct {
		policy Policy
		wait   time.Duration
	}{
		{DropOldest, 0},
		{DropNewest, 0},
		{Block, 0},
		{DropOldest, time.Millisecond},
		{DropNewest, time.Millisecond},
		{DropOldest, time.Minute},
	} {
		policy := c.policy
		t.Run(fmt.Sprintf("%s/wait=%s", policy, c.wait), func(t *testing.T) {
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
						if err := r.Push(context.Background(), batchOf(key, i*perBatch, perBatch), c.wait); err != nil {
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
			if (policy == Block || c.wait == time.Minute) && dropped.Load() != 0 {
				t.Fatalf("dropped %d lines; want 0: the consumer made room for every push", dropped.Load())
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
				if err := r.Push(context.Background(), batchOf(0, i, 1), 0); err != nil {
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
		if err := r.Push(ctx, batchOf(0, i, 1), 0); err != nil {
			t.Fatal(err)
		}
	}
	pushed := make(chan error, 1)
	go func() { pushed <- r.Push(ctx, batchOf(0, 2, 1), 0) }()
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
	if err := r.Push(cctx, batchOf(0, 3, 1), 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Push with expired ctx: got %v; want DeadlineExceeded", err)
	}
	if dropped != 1 {
		t.Fatalf("dropped: got %d; want 1", dropped)
	}
}

// TestRingOverflowWait: under the drop policies, a push into a full ring
// with a wait waits for room: it is admitted if room frees up in time, and
// otherwise the policy applies once the wait is over. A push without a wait
// drops at once, and one whose context ends or whose ring closes while it
// waits returns the error, its batch dropped.
func TestRingOverflowWait(t *testing.T) {
	for _, policy := range []Policy{DropOldest, DropNewest} {
		// full returns a ring holding batches 0 and 1 of one line each,
		// which counts the pushes that waited, and the seqs it dropped.
		full := func(t *testing.T) (r *Ring, waited chan struct{}, dropped *[]int) {
			r = New(2, 0, policy)
			waited = make(chan struct{}, 10)
			dropped = new([]int)
			r.OnWait = func() { waited <- struct{}{} }
			r.OnDrop = func(b *record.Batch, _ error) { *dropped = append(*dropped, seqOf(b.Lines[0])) }
			for i := range 2 {
				if err := r.Push(context.Background(), batchOf(0, i, 1), 0); err != nil {
					t.Fatal(err)
				}
			}
			return r, waited, dropped
		}
		// queued pops the whole ring and returns the first seq of each batch.
		queued := func(r *Ring) []int {
			var seqs []int
			for b := r.TryPop(); b != nil; b = r.TryPop() {
				seqs = append(seqs, seqOf(b.Lines[0]))
				record.Put(b)
			}
			return seqs
		}
		t.Run(policy.String()+"/room_in_time", func(t *testing.T) {
			r, waited, dropped := full(t)
			pushed := make(chan error, 1)
			go func() { pushed <- r.Push(context.Background(), batchOf(0, 2, 1), time.Minute) }()
			<-waited // the push found the ring full and waits
			b := r.TryPop()
			record.Put(b)
			if err := <-pushed; err != nil {
				t.Fatalf("Push: %v", err)
			}
			if got, want := queued(r), []int{1, 2}; !slices.Equal(got, want) || len(*dropped) != 0 {
				t.Fatalf("queued %v, dropped %v; want %v, none", got, *dropped, want)
			}
		})
		t.Run(policy.String()+"/wait_over", func(t *testing.T) {
			r, waited, dropped := full(t)
			if err := r.Push(context.Background(), batchOf(0, 2, 1), time.Millisecond); err != nil {
				t.Fatalf("Push: %v", err)
			}
			want, wantDropped := []int{1, 2}, []int{0} // the oldest evicted
			if policy == DropNewest {
				want, wantDropped = []int{0, 1}, []int{2}
			}
			if got := queued(r); !slices.Equal(got, want) || !slices.Equal(*dropped, wantDropped) || len(waited) != 1 {
				t.Fatalf("queued %v, dropped %v, waited %d times; want %v, %v, once", got, *dropped, len(waited), want, wantDropped)
			}
		})
		t.Run(policy.String()+"/no_wait", func(t *testing.T) {
			r, waited, dropped := full(t)
			if err := r.Push(context.Background(), batchOf(0, 2, 1), 0); err != nil {
				t.Fatalf("Push: %v", err)
			}
			if len(*dropped) != 1 || len(waited) != 0 {
				t.Fatalf("dropped %v, waited %d times; want one batch dropped, no wait", *dropped, len(waited))
			}
		})
		t.Run(policy.String()+"/context_ends", func(t *testing.T) {
			r, waited, dropped := full(t)
			ctx, cancel := context.WithCancel(context.Background())
			pushed := make(chan error, 1)
			go func() { pushed <- r.Push(ctx, batchOf(0, 2, 1), time.Minute) }()
			<-waited
			cancel()
			if err := <-pushed; !errors.Is(err, context.Canceled) {
				t.Fatalf("Push: got %v; want context.Canceled", err)
			}
			if got := queued(r); !slices.Equal(got, []int{0, 1}) || !slices.Equal(*dropped, []int{2}) {
				t.Fatalf("queued %v, dropped %v; want [0 1], [2]", got, *dropped)
			}
		})
		t.Run(policy.String()+"/closed", func(t *testing.T) {
			r, waited, dropped := full(t)
			pushed := make(chan error, 1)
			go func() { pushed <- r.Push(context.Background(), batchOf(0, 2, 1), time.Minute) }()
			<-waited
			r.Close()
			if err := <-pushed; !errors.Is(err, ErrClosed) {
				t.Fatalf("Push: got %v; want ErrClosed", err)
			}
			if !slices.Equal(*dropped, []int{2}) {
				t.Fatalf("dropped %v; want [2]", *dropped)
			}
		})
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
		if err := r.Push(context.Background(), batch(), 0); err != nil {
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
	if err := r.Push(context.Background(), batchOf(0, 0, 10), 0); err != nil {
		t.Fatalf("Push of a batch larger than the ring into an empty ring: %v", err)
	}
	if got := len(r.TryPop().Lines); got != 10 {
		t.Fatalf("popped %d lines; want 10", got)
	}
}

func TestRingEmptyBatchIgnored(t *testing.T) {
	r := New(2, 0, Block)
	for i := 0; i < 5; i++ { // more than the ring's slots
		if err := r.Push(context.Background(), record.Get(0), 0); err != nil {
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
					r.Push(context.Background(), batchOf(0, i, 1), 0)
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
	if err := r.Push(context.Background(), batchOf(0, 0, 1), 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return after Push")
	}
}

// TestRingWaitingBounded: producers waiting for room under a drop policy
// hold at most as many bytes as the ring: past that a batch does not wait,
// and the policy applies at once, so many senders cannot make the data
// plane hold their batches without bound.
func TestRingWaitingBounded(t *testing.T) {
	batch := func(seq int) *record.Batch {
		b := &record.Batch{Data: make([]byte, 8, 4096), Lines: make([][]byte, 0, 8)}
		binary.BigEndian.PutUint64(b.Data, uint64(seq))
		b.Lines = append(b.Lines, b.Data[:8])
		return b
	}
	fp := int64(batch(0).Footprint())
	r := New(1000, int(2*fp), DropNewest) // two batches; two more may wait
	waited := make(chan struct{}, 10)
	dropped := make(chan int, 10)
	r.OnWait = func() { waited <- struct{}{} }
	r.OnDrop = func(b *record.Batch, _ error) { dropped <- seqOf(b.Lines[0]) }
	for i := range 2 {
		if err := r.Push(context.Background(), batch(i), 0); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := 2; i < 4; i++ {
		wg.Go(func() { r.Push(ctx, batch(i), time.Minute) })
		<-waited
	}
	// The waiters hold as much as the ring: the next is dropped at once.
	if err := r.Push(ctx, batch(4), time.Minute); err != nil {
		t.Fatal(err)
	}
	select {
	case seq := <-dropped:
		if seq != 4 {
			t.Fatalf("dropped %d; want 4, the push past the waiting bound", seq)
		}
	default:
		t.Fatal("the push past the waiting bound was not dropped at once")
	}
	cancel()
	wg.Wait()
}
