package output

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"streamgate/dataplane/record"
)

// benchLines returns n log lines of about 150 bytes: access logs, JSON
// application logs and syslog-style lines with quotes and a tab.
func benchLines(n int) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		id := strconv.Itoa(100000 + i*7919%900000)
		switch i % 3 {
		case 0:
			lines[i] = []byte(`10.1.` + strconv.Itoa(i%256) + `.7 - - [01/May/2024:12:00:00 +0000] "GET /api/v1/orders/` + id +
				` HTTP/1.1" 200 1534 "-" "Mozilla/5.0 (X11; Linux x86_64)" rt=0.042`)
		case 1:
			lines[i] = []byte(`{"ts":"2024-05-01T12:00:00.123Z","level":"info","service":"checkout","msg":"order placed","order_id":"` + id +
				`","user":"u_8812","latency_ms":42.7}`)
		default:
			lines[i] = []byte(`May  1 12:00:00 web-` + strconv.Itoa(i%10) + ` sshd[` + id + `]: Failed password for "admin" from 203.0.113.9 port 52144 ssh2` +
				"\tattempt=3 é")
		}
	}
	return lines
}

func linesSize(lines [][]byte) int64 {
	n := 0
	for _, l := range lines {
		n += len(l)
	}
	return int64(n)
}

func BenchmarkAppendBody(b *testing.B) {
	lines := benchLines(100)
	for _, name := range formatNames() {
		b.Run(name, func(b *testing.B) {
			f := formats[name]
			dst := f.appendBody(nil, lines)
			b.ReportAllocs()
			b.SetBytes(linesSize(lines))
			for b.Loop() {
				dst = f.appendBody(dst[:0], lines)
			}
		})
	}
}

func BenchmarkAppendJSONString(b *testing.B) {
	lines := benchLines(100)
	dst := make([]byte, 0, 2*linesSize(lines))
	b.ReportAllocs()
	b.SetBytes(linesSize(lines))
	for b.Loop() {
		dst = dst[:0]
		for _, l := range lines {
			dst = appendJSONString(dst, l)
		}
	}
}

// BenchmarkHTTPWrite posts 100-line batches to a local fasthttp server that
// discards them.
func BenchmarkHTTPWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(*fasthttp.RequestCtx) {}}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown() })

	lines := benchLines(100)
	batch := record.Get(0)
	for _, l := range lines {
		batch.AppendLine(l)
	}
	for _, tc := range []struct {
		name     string
		format   string
		gzip     bool
		parallel bool // one Write per GOMAXPROCS goroutine, like pipeline lanes
	}{
		{"text", "text", false, false},
		{"ndjson", "ndjson", false, false},
		{"datadog", "datadog", false, false},
		{"ndjson+gzip", "ndjson", true, false},
		{"text/parallel", "text", false, true},
		{"ndjson+gzip/parallel", "ndjson", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o, err := newHTTPOutput(&Config{Type: "http", URL: "http://" + ln.Addr().String() + "/logs", Format: tc.format, Gzip: tc.gzip},
				retryTiming{backoffBase: time.Millisecond, backoffMax: time.Millisecond, retryAfterMax: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			benchWrites(b, o, batch, tc.parallel)
		})
	}
}

// benchWrites writes batch through o b.N times, from one goroutine or,
// with parallel, from one per GOMAXPROCS as pipeline lanes write, and
// reports the lines written a second.
func benchWrites(b *testing.B, o Output, batch *record.Batch, parallel bool) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(linesSize(batch.Lines))
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := o.Write(ctx, batch); err != nil {
					b.Error(err)
					return
				}
			}
		})
	} else {
		for range b.N {
			if err := o.Write(ctx, batch); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)*float64(len(batch.Lines))/b.Elapsed().Seconds(), "lines/s")
}
