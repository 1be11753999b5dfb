package corpus

import "math/bits"

// A Cycle appends the lines of one source from a table generated once:
// the line for seq is the Generator's line for seq mod the period, with
// seq's own number and timestamp written into its head. A line then costs
// a copy instead of a draw of every word, which keeps a load generator's
// cost per line out of what it measures. Lines stay unique, by their
// sequence numbers; their kinds and words repeat every period lines. A
// Cycle is immutable and safe for concurrent use.
type Cycle struct {
	src   string
	mask  uint64   // period - 1
	rest  []byte   // every line after its sequence number, back to back
	ends  []uint32 // where each line's rest ends in rest
	kinds []Kind
}

// cycleTS is the timestamp a Cycle's table is generated with. It has 19
// digits, as every Unix time in nanoseconds from 2001 to 2286 does, so that
// a line is padded to the length the Generator gives it.
const cycleTS = 1_000_000_000_000_000_000

// Cycle returns the Cycle of source src with the given period, rounded
// down to a power of two, at least 1. It generates period lines at once,
// and holds them: about 200 bytes each with the default sizes.
func (g *Generator) Cycle(src string, period int) *Cycle {
	period = 1 << (bits.Len(uint(max(period, 1))) - 1)
	c := &Cycle{src: src, mask: uint64(period - 1), ends: make([]uint32, period), kinds: make([]Kind, period)}
	var line, head []byte
	for i := range period {
		var k Kind
		line, k = g.Append(line[:0], src, uint64(i), cycleTS)
		head = appendHead(head[:0], k&KindJSON != 0, src, uint64(i), cycleTS)
		c.rest = append(c.rest, line[len(head):]...)
		c.ends[i] = uint32(len(c.rest))
		c.kinds[i] = k
	}
	return c
}

// Period is the number of lines after which the content repeats.
func (c *Cycle) Period() int { return len(c.kinds) }

// Append appends the line for seq with send timestamp ts (Unix
// nanoseconds) to dst, without a trailing newline, and reports what it
// contains, as Generator.Append does.
func (c *Cycle) Append(dst []byte, seq uint64, ts int64) ([]byte, Kind) {
	i := seq & c.mask
	start := uint32(0)
	if i > 0 {
		start = c.ends[i-1]
	}
	k := c.kinds[i]
	dst = appendHead(dst, k&KindJSON != 0, c.src, seq, ts)
	return append(dst, c.rest[start:c.ends[i]]...), k
}
