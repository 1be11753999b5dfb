package pipeline

import (
	"context"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/ingest"
	"streamgate/dataplane/output"
)

// The whole path carries lines of pathLineLen bytes, newline included,
// written pathChunk lines at a time to each of pathConns connections. There
// are as many workers as connections, and connections get consecutive keys,
// so every worker has lines to process.
const (
	pathLineLen = 150
	pathChunk   = 400
	pathConns   = 2
)

// pathTexts are the lines the whole path carries, in turn: kept as they
// are, dropped by the filter, and rewritten by the redactor once or twice.
var pathTexts = []string{
	"2024-11-22T05:27:33.123Z INFO  [http] GET /api/v1/orders/12345 status=200 duration=12.3ms",
	"2024-11-22T05:27:33.124Z DEBUG [cache] hit key=orders:12345",
	"2024-11-22T05:27:33.125Z INFO  [signup] user created ssn=123-45-6789",
	"2024-11-22T05:27:33.126Z WARN  [db] slow query table=orders rows=1532 elapsed=1.52s",
	"2024-11-22T05:27:33.127Z INFO  [kyc] verified ssn=987-65-4321 spouse ssn=555-12-3456",
}

// wholePath is the data path of a data plane from the socket to the output:
// TCP connections into an ingest listener, whose framer pushes the lines it
// reads, a batch a read, into a pipeline running a filter and a redactor,
// whose workers flush them to an output that counts and discards them.
type wholePath struct {
	p     *Pipeline
	out   *outputRunner // the output's counters
	conns []net.Conn
	chunk []byte // pathChunk lines, pathTexts in turn
	sent  uint64 // lines written to the connections
}

// startWholePath starts a whole path whose rings overflow by policy, with
// the egress audit scanning 1 line in auditEvery (Options.AuditEvery); the
// test's cleanup stops it.
func startWholePath(tb testing.TB, policy buffer.Policy, auditEvery int, set ...func(*Options)) *wholePath {
	tb.Helper()
	registerDiscard()
	// A short flush interval: the last lines sent need not wait long.
	opts := Options{Workers: pathConns, Overflow: policy, FlushInterval: time.Millisecond, AuditEvery: auditEvery}
	for _, f := range set {
		f(&opts)
	}
	p, err := New(opts, &Config{Chain: filterRedact(tb), Outputs: []output.Config{{Type: "bench-discard"}}})
	if err != nil {
		tb.Fatal(err)
	}
	tcp, err := ingest.ListenTCP("127.0.0.1:0", ingest.Config{Sink: p, OverflowWait: p.OverflowWait(), Metrics: p.Metrics()})
	if err != nil {
		tb.Fatal(err)
	}
	go tcp.Serve()
	w := &wholePath{p: p, out: p.cur.Load().outs[0]}
	tb.Cleanup(func() {
		for _, c := range w.conns {
			c.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := tcp.Shutdown(ctx); err != nil {
			tb.Errorf("ingest shutdown: %v", err)
		}
		if err := p.Close(ctx); err != nil {
			tb.Errorf("pipeline close: %v", err)
		}
		// The pools now hold batches grown larger than the bounds of
		// other tests allow for. Two collections empty them: the first
		// moves them to the victim cache, the second drops them.
		runtime.GC()
		runtime.GC()
	})
	for range pathConns {
		c, err := net.Dial("tcp", tcp.Addr().String())
		if err != nil {
			tb.Fatal(err)
		}
		w.conns = append(w.conns, c)
	}
	for i := range pathChunk {
		t := pathTexts[i%len(pathTexts)]
		w.chunk = append(w.chunk, t...)
		w.chunk = append(w.chunk, ' ')
		w.chunk = append(w.chunk, strings.Repeat("x", pathLineLen-len(t)-2)...)
		w.chunk = append(w.chunk, '\n')
	}
	return w
}

// send writes n lines, a chunk at a time to each connection in turn.
func (w *wholePath) send(tb testing.TB, n int) {
	for n > 0 {
		for _, c := range w.conns {
			k := min(n, pathChunk)
			if _, err := c.Write(w.chunk[:k*pathLineLen]); err != nil {
				tb.Fatalf("write: %v", err)
			}
			n -= k
			w.sent += uint64(k)
			if n == 0 {
				break
			}
		}
	}
}

// wait waits until every line sent has been delivered, filtered or dropped.
func (w *wholePath) wait(tb testing.TB) {
	deadline := time.Now().Add(20 * time.Second)
	for w.accounted() < w.sent {
		if time.Now().After(deadline) {
			tb.Fatalf("%d of %d lines accounted for after 20s", w.accounted(), w.sent)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// accounted is the number of lines delivered, filtered or dropped so far.
func (w *wholePath) accounted() uint64 {
	return w.out.delivered.Get() + w.lost() + w.p.m.FilteredTotal() + w.p.m.DroppedTotal()
}

// lost is the number of lines the output dropped.
func (w *wholePath) lost() uint64 {
	return w.out.failed.Get() + w.out.queueFull.Get() + w.out.abandoned.Get()
}

// BenchmarkPathFramerToFlush sends lines over TCP through the whole path:
// framer, ring, worker with a filter and a redactor, flush, output. An
// operation is one write of pathChunk lines, as a busy client sends them.
// The egress audit is off (the baseline) or at its default rate.
func BenchmarkPathFramerToFlush(b *testing.B) {
	for _, c := range []struct {
		name  string
		every int
	}{
		{"audit=off", -1},
		{"audit=" + strconv.Itoa(DefaultAuditEvery), DefaultAuditEvery},
	} {
		b.Run(c.name, func(b *testing.B) {
			w := startWholePath(b, buffer.Block, c.every)
			w.send(b, 20*pathConns*pathChunk) // fills the pools
			w.wait(b)
			b.ReportAllocs()
			b.SetBytes(pathChunk * pathLineLen)
			b.ResetTimer()
			w.send(b, b.N*pathChunk)
			w.wait(b)
			b.StopTimer()
			if d, l := w.p.m.DroppedTotal(), w.lost(); d+l != 0 {
				b.Fatalf("dropped %d lines before the output and %d in it; want none under block", d, l)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*pathChunk), "ns/line")
		})
	}
}
