// Package record holds Batch, the unit in which log lines move through the data
// plane, and the pool that recycles batches so the hot path does not allocate.
package record

import (
	"sync"
	"sync/atomic"
)

// Batch is a group of log lines that travel together: from one socket read
// through the buffer and the processor chain, or from the pipeline to the
// outputs.
//
// Lines point into Data or Scratch, which the batch owns. A holder of a Batch
// may read and rewrite Lines until it passes the batch on or calls Put; it must
// not keep any line after that.
type Batch struct {
	// Lines are the log lines, without their trailing newline.
	Lines [][]byte

	// Key identifies the source (a connection, a UDP peer). Batches with the
	// same key are processed and delivered in the order they were pushed.
	Key uint64

	// Born is when the oldest of its lines was read (Unix nanoseconds), 0
	// when unknown: the start of the pipeline's latency.
	Born int64

	// Data is the storage the ingest layer read Lines into.
	Data []byte

	// Scratch is where processors write rewritten lines: append the new line,
	// then point Lines[i] at the appended region. Earlier regions stay valid
	// because nothing overwrites them before Reset.
	Scratch []byte

	// retired is the capacity of the Data arrays AppendLine outgrew; lines
	// may still point into them.
	retired int

	// holds are the batches b's lines point into (see Hold), and heldBytes
	// their footprint when they were taken.
	holds     []*Batch
	heldBytes int
	// refs counts the holders of a retained batch; see Retain.
	refs atomic.Int32
	// acks are the Acks of the lines b carries (see Ack): recycling b
	// before SettleAcks fails them.
	acks []*Ack
}

// Footprint is the memory b holds: its arrays, including those AppendLine
// outgrew, the batches it holds, and its slice of line headers. Buffers and
// queues are bounded by it.
func (b *Batch) Footprint() int {
	return cap(b.Data) + b.retired + cap(b.Scratch) + 24*cap(b.Lines) + b.heldBytes
}

// Retain makes b reference-counted with one reference, the caller's: from
// now on b is recycled by the last Release, by the caller or by a batch
// that Holds it.
func (b *Batch) Retain() { b.refs.Store(1) }

// Release drops a reference to a retained batch and recycles it when it was
// the last.
func (b *Batch) Release() {
	if b.refs.Add(-1) == 0 {
		Put(b)
	}
}

// AppendHeld appends line, which points into src, a retained batch, without
// copying it: src stays alive until b releases its holds. Consecutive lines
// from the same src take one reference. The line's bytes count in b's
// Footprint.
func (b *Batch) AppendHeld(src *Batch, line []byte) {
	if n := len(b.holds); n == 0 || b.holds[n-1] != src {
		src.refs.Add(1)
		b.holds = append(b.holds, src)
	}
	b.Lines = append(b.Lines, line)
	b.heldBytes += len(line)
}

// ReleaseHolds releases every batch b holds; b's lines that pointed into
// them must not be used afterwards.
func (b *Batch) ReleaseHolds() {
	for i, h := range b.holds {
		h.Release()
		b.holds[i] = nil
	}
	b.holds = b.holds[:0]
	b.heldBytes = 0
}

// Reset empties b and keeps the capacity of its slices. Acks b still
// carries fail: its lines were dropped.
func (b *Batch) Reset() {
	clear(b.Lines) // drop references so recycled batches pin no old arrays
	b.Lines = b.Lines[:0]
	b.Key = 0
	b.Born = 0
	b.Data = b.Data[:0]
	b.Scratch = b.Scratch[:0]
	b.retired = 0
	if len(b.holds) != 0 {
		panic("BUG: batch recycled while holding other batches")
	}
	b.heldBytes = 0
	b.refs.Store(0)
	if len(b.acks) != 0 {
		b.SettleAcks(false) // recycled unsettled: its lines were dropped
	}
}

// Size is the number of bytes of line content in b.
func (b *Batch) Size() int {
	n := 0
	for _, l := range b.Lines {
		n += len(l)
	}
	return n
}

// AppendLine copies line into b's Data and appends it to Lines. It is used to
// build output batches; line must not alias b.Data.
func (b *Batch) AppendLine(line []byte) {
	if cap(b.Data)-len(b.Data) < len(line) {
		b.growData(len(line))
	}
	start := len(b.Data)
	b.Data = append(b.Data, line...)
	b.Lines = append(b.Lines, b.Data[start:len(b.Data):len(b.Data)])
}

// growData moves Data to a larger array. Lines already in b keep pointing into
// the old array, which stays valid: it is never written again.
func (b *Batch) growData(need int) {
	n := 2*cap(b.Data) + need
	if n < 4096 {
		n = 4096
	}
	b.retired += cap(b.Data)
	b.Data = make([]byte, 0, n)
}

// Size classes of Data kept by the pool. Batches whose Data outgrew the largest
// class are not recycled, so one huge line cannot pin memory forever.
var classes = [...]int{4 << 10, 64 << 10, 1 << 20}

var pools [len(classes)]sync.Pool

// Caps on what a recycled batch may hold beyond its Data class, so a batch
// that once carried many tiny lines or long rewrites does not pin that
// memory in the pool.
const (
	maxPooledLines   = 16 << 10
	maxPooledScratch = 256 << 10
)

// Get returns an empty batch whose Data has room for at least size bytes.
func Get(size int) *Batch {
	for i, c := range classes {
		if size <= c {
			if v := pools[i].Get(); v != nil {
				return v.(*Batch)
			}
			return &Batch{Data: make([]byte, 0, c), Lines: make([][]byte, 0, 64)}
		}
	}
	return &Batch{Data: make([]byte, 0, size), Lines: make([][]byte, 0, 64)}
}

// Put recycles b. The caller must not use b or any of its lines afterwards.
func Put(b *Batch) {
	if b == nil {
		return
	}
	if len(b.acks) != 0 {
		b.SettleAcks(false) // recycled unsettled, pooled or not: its lines were dropped
	}
	c := cap(b.Data)
	if cap(b.Lines) > maxPooledLines || cap(b.Scratch) > maxPooledScratch {
		return
	}
	// A batch goes into the largest class it fully covers.
	for i := len(classes) - 1; i >= 0; i-- {
		if c >= classes[i] {
			if c > 2*classes[len(classes)-1] {
				return
			}
			b.Reset()
			pools[i].Put(b)
			return
		}
	}
}
