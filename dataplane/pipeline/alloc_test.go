//go:build !race

package pipeline

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"testing"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/output"
)

// The race detector changes allocation counts, so this test only runs
// without it.

// TestAllocPathFramerToFlush sends lines over TCP through the whole path,
// framer, ring, worker with a filter and a redactor, flush with the egress
// audit at its default rate, and output, under
// both kinds of overflow policy (the output lanes block under one and drop
// under the other), and requires that once warm it allocates nothing: not
// one malloc in a million lines.
//
// The work runs in the listener's, the workers' and the lanes' goroutines,
// which testing.AllocsPerRun does not see, so the test counts the mallocs
// of the whole process. Lines go in rounds, each waited for, so the rings
// never fill: nothing is dropped and the breaker stays closed.
//
// Warm means the pools hold as many batches as the path can have in flight,
// each grown to its working size: a batch more in flight than ever before
// costs a few allocations once. The warm-up rounds are four times as large
// as the measured ones, so they reach a higher peak. Two things that are not
// the path's are kept out of the count:
//   - the garbage collector is off. A collection empties the sync.Pools, and
//     refilling them costs allocations per batch in flight, not per line;
//   - GOMAXPROCS is 1. With more Ps the runtime's own caches keep warming up
//     for millions of lines, a few dozen mallocs a million: the sudogs of
//     blocked selects pile up on the P that wakes a goroutine rather than on
//     the one it blocked on, and Ms are started for syscalls. With one P
//     they settle within the warm-up. The goroutines still hand batches to
//     each other at every read and channel operation: the path runs the
//     same code.
func TestAllocPathFramerToFlush(t *testing.T) {
	const warm, lines, round = 200_000, 1_000_000, 8 * pathChunk
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, policy := range []buffer.Policy{buffer.Block, buffer.DropOldest} {
		t.Run("overflow="+policy.String(), func(t *testing.T) {
			defer debug.SetGCPercent(debug.SetGCPercent(-1))
			w := startWholePath(t, policy, 0)
			run := func(n, round int) {
				for ; n > 0; n -= round {
					w.send(t, round)
					w.wait(t)
				}
			}
			run(warm, 4*round)
			filtered, audited := w.p.m.FilteredTotal(), w.p.m.EgressAudited.Get()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			run(lines, round)
			runtime.ReadMemStats(&after)
			if d, l := w.p.m.DroppedTotal(), w.lost(); d+l != 0 {
				t.Fatalf("dropped %d lines before the output and %d in it; want none", d, l)
			}
			if w.p.m.FilteredTotal() == filtered {
				t.Fatal("no line filtered: the chain did not run")
			}
			if w.p.m.EgressAudited.Get() == audited {
				t.Fatal("no line audited: the egress audit did not run")
			}
			if n := w.p.m.EgressPIITotal(); n != 0 {
				t.Fatalf("the egress audit found personal data %d times in redacted lines; want 0", n)
			}
			if n := after.Mallocs - before.Mallocs; n != 0 {
				t.Errorf("%d allocations for %d lines; want 0", n, lines)
			}
		})
	}
}

// TestAllocEgressAudit scans lines as the egress audit does, with every
// detector, and requires no allocation: for a clean line, plain or JSON with
// escapes to decode, and for a line with findings once the warning of the
// minute has been logged.
func TestAllocEgressAudit(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // a collection empties the decoding buffers' pool
	p, err := New(Options{Workers: 1, AuditEvery: 1, Logger: slog.New(slog.DiscardHandler)},
		&Config{Outputs: []output.Config{capture.Config(capture.Unique("alloc-audit"))}})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	w := &worker{p: p, gen: p.cur.Load()} // not running: the test's own
	for _, c := range []struct {
		name, line string
		found      bool
	}{
		{"clean", auditClean, false},
		{"clean_json", auditCleanJSON, false},
		{"ssn", auditSSN, true},
		{"escaped_ssn", auditEscaped, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := p.m.EgressPIITotal()
			line := []byte(c.line)
			if n := testing.AllocsPerRun(1000, func() { w.auditLine(line, 1) }); n != 0 {
				t.Errorf("%.1f allocations a line; want 0", n)
			}
			if found := p.m.EgressPIITotal() > before; found != c.found {
				t.Errorf("found something: %v; want %v", found, c.found)
			}
		})
	}
}
