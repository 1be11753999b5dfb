package ingest

import (
	"fmt"
	"testing"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// benchLogs is a request of n records as an SDK sends them: a resource
// with a few attributes, one scope, records with a body, a severity, a
// timestamp, trace context and three attributes.
func benchLogs(n int) *logspb.LogsData {
	recs := make([]*logspb.LogRecord, n)
	for i := range recs {
		recs[i] = &logspb.LogRecord{
			TimeUnixNano: 1767225600000000000 + uint64(i), ObservedTimeUnixNano: 1767225600000000000 + uint64(i),
			SeverityNumber: 9, SeverityText: "INFO",
			Body: sv(fmt.Sprintf("GET /api/v1/orders/%d 200 in 12ms user=alice@example.com", i)),
			Attributes: []*commonpb.KeyValue{
				kv("http.method", sv("GET")), kv("http.status_code", intv(200)), kv("duration_ms", dbl(12.5)),
			},
			TraceId: []byte("0123456789abcdef"), SpanId: []byte("01234567"),
		}
	}
	return logsOf([]*commonpb.KeyValue{kv("service.name", sv("checkout")), kv("host.name", sv("web-1")), kv("deployment.environment", sv("prod"))},
		&commonpb.InstrumentationScope{Name: "app"}, recs...)
}

// BenchmarkOTLPLogs decodes a request of 512 records and writes their
// lines, protobuf and JSON; bytes are the request's.
func BenchmarkOTLPLogs(b *testing.B) {
	d := benchLogs(512)
	pb, _ := proto.Marshal(d)
	js, _ := protojson.Marshal(d)
	for _, c := range []struct {
		name   string
		body   []byte
		isJSON bool
	}{
		{"encoding=protobuf", pb, false},
		{"encoding=json", js, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			var w otlpLines
			var data logspb.LogsData
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			lines := 0
			for b.Loop() {
				data.Reset()
				if err := decodeOTLPLogs(c.body, c.isJSON, &data); err != nil {
					b.Fatal(err)
				}
				w.each(&data, func([]byte) { lines++ })
			}
			b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkOTLPWire writes the lines of the protobuf request of
// BenchmarkOTLPLogs straight from its bytes (the fast path), beside the
// decoder.
func BenchmarkOTLPWire(b *testing.B) {
	pb, _ := proto.Marshal(benchLogs(512))
	var w wireLines
	b.SetBytes(int64(len(pb)))
	b.ReportAllocs()
	lines := 0
	for b.Loop() {
		if !w.each(pb, func([]byte) { lines++ }) {
			b.Fatal("the fast path did not answer")
		}
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkOTLPLinesOnly writes the lines of decoded records, without the
// decoding.
func BenchmarkOTLPLinesOnly(b *testing.B) {
	d := benchLogs(512)
	var w otlpLines
	b.ReportAllocs()
	for b.Loop() {
		w.each(d, func([]byte) {})
	}
}
