package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// otlpRecord is a log record with its resource and scope, as a collector
// sees it.
type otlpRecord struct {
	resource *resourcepb.Resource
	scope    *commonpb.InstrumentationScope
	rec      *logspb.LogRecord
}

func flatten(d *logspb.LogsData) []otlpRecord {
	var out []otlpRecord
	for _, rl := range d.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				out = append(out, otlpRecord{rl.Resource, sl.Scope, r})
			}
		}
	}
	return out
}

// otlpCollector is an OTLP/HTTP receiver that keeps what it receives.
type otlpCollector struct {
	mu   sync.Mutex
	recs []otlpRecord
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var d logspb.LogsData // ExportLogsServiceRequest's wire format
	if err := proto.Unmarshal(body, &d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	c.recs = append(c.recs, flatten(&d)...)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
}

func (c *otlpCollector) records() []otlpRecord {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]otlpRecord(nil), c.recs...)
}

// bytesCodec sends and receives messages as their bytes.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) ([]byte, error) { return *v.(*[]byte), nil }
func (bytesCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = append([]byte(nil), data...)
	return nil
}
func (bytesCodec) Name() string { return "proto" }

func anyStr(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func attr(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

// TestOTLPInRoundTrip: records sent over OTLP/HTTP, protobuf and JSON, and
// over OTLP/gRPC, leave by the otlp output as they came, every field,
// resource and scope kept; attribute_filter rules on service.name,
// log.level and a record attribute drop theirs.
func TestOTLPInRoundTrip(t *testing.T) {
	coll := &otlpCollector{}
	sink := httptest.NewServer(coll)
	defer sink.Close()
	m := mustManifest(t, `{"version": "1", "pipelines": [{"name": "p",
		"processors": [
			{"id": "drop_noisy", "type": "attribute_filter", "params": {"attribute": "service.name", "value": "noisy"}},
			{"id": "drop_debug", "type": "attribute_filter", "params": {"attribute": "log.level", "value": "DEBUG"}},
			{"id": "drop_health", "type": "attribute_filter", "params": {"attribute": "http.target", "value": "/health"}}
		],
		"outputs": [{"type": "otlp", "url": "`+sink.URL+`"}], "batch_size": 100}]}`)
	s := start(t, Options{OTLPHTTPAddr: "127.0.0.1:0", OTLPGRPCAddr: "127.0.0.1:0", Manifest: m})
	cc, err := grpc.NewClient(s.OTLPGRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(bytesCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()

	checkout := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{attr("service.name", anyStr("checkout")), attr("host.name", anyStr("web-1"))}}
	noisy := &resourcepb.Resource{Attributes: []*commonpb.KeyValue{attr("service.name", anyStr("noisy"))}}
	scope := &commonpb.InstrumentationScope{Name: "io.app", Version: "1.4.0", Attributes: []*commonpb.KeyValue{attr("lib", anyStr("slog"))}}
	full := &logspb.LogRecord{
		TimeUnixNano: 1767225600000000001, ObservedTimeUnixNano: 1767225600000000002,
		SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "ERROR",
		Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			attr("msg", anyStr("payment failed")),
			attr("codes", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{
				{Value: &commonpb.AnyValue_IntValue{IntValue: 502}}, {Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 1}}, {Value: &commonpb.AnyValue_BoolValue{BoolValue: true}},
			}}}}),
		}}}},
		Attributes: []*commonpb.KeyValue{
			attr("http.status_code", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 502}}),
			attr("ratio", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.25}}),
		},
		DroppedAttributesCount: 2, Flags: 1,
		TraceId:   []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
		SpanId:    []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
		EventName: "payment.failed",
	}
	plain := &logspb.LogRecord{ObservedTimeUnixNano: 7, SeverityNumber: 9, SeverityText: "INFO", Body: anyStr("order placed")}
	debug := &logspb.LogRecord{ObservedTimeUnixNano: 8, SeverityNumber: 5, SeverityText: "DEBUG", Body: anyStr("cache miss")}
	health := &logspb.LogRecord{ObservedTimeUnixNano: 9, SeverityText: "INFO", Body: anyStr("ok"), Attributes: []*commonpb.KeyValue{attr("http.target", anyStr("/health"))}}
	req := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: checkout, ScopeLogs: []*logspb.ScopeLogs{{Scope: scope, LogRecords: []*logspb.LogRecord{full, debug, health}}}},
		{Resource: noisy, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{plain}}}},
		{Resource: checkout, ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{plain}}}},
	}}
	// What the collector must get: the records no rule drops; a record
	// without a scope leaves with the output's own.
	want := []otlpRecord{
		{checkout, scope, full},
		{checkout, &commonpb.InstrumentationScope{Name: "streamgate"}, plain},
	}

	url := "http://" + s.OTLPHTTPAddr().String() + "/v1/logs"
	pb, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	// OTLP JSON writes IDs in hex, not base64 as protojson does.
	js = bytes.ReplaceAll(js, []byte(`"W47/95gDgQPSabYzgT/GDA=="`), []byte(`"5b8efff798038103d269b633813fc60c"`))
	js = bytes.ReplaceAll(js, []byte(`"7uGbfsPBsXQ="`), []byte(`"eee19b7ec3c1b174"`))
	if !bytes.Contains(js, []byte("5b8efff798038103d269b633813fc60c")) {
		t.Fatalf("the JSON request has no hex trace ID: %s", js)
	}
	for _, c := range []struct {
		name  string
		ctype string // "" for gRPC
		body  []byte
	}{
		{"protobuf", "application/x-protobuf", pb},
		{"json", "application/json", js},
		{"grpc", "", pb},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(coll.records())
			if c.ctype == "" {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				req, resp := c.body, []byte(nil)
				if err := cc.Invoke(ctx, "/opentelemetry.proto.collector.logs.v1.LogsService/Export", &req, &resp); err != nil {
					t.Fatalf("Export: %v", err)
				}
			} else {
				resp, err := http.Post(url, c.ctype, bytes.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d: %s", resp.StatusCode, body)
				}
			}
			waitFor(t, "the records at the collector", func() bool { return len(coll.records()) >= before+len(want) })
			got := coll.records()[before:]
			if len(got) != len(want) {
				t.Fatalf("got %d records; want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if !proto.Equal(g.rec, w.rec) || !proto.Equal(g.resource, w.resource) || !proto.Equal(g.scope, w.scope) {
					t.Errorf("record %d:\ngot  %v\n     %v\n     %v\nwant %v\n     %v\n     %v", i, g.resource, g.scope, g.rec, w.resource, w.scope, w.rec)
				}
			}
		})
	}
	st := s.m
	if n := st.FilteredTotal(); n != 9 {
		t.Errorf("filtered: got %d; want 9 (3 rules, 3 requests)", n)
	}
	if !strings.Contains(s.OTLPHTTPAddr().String(), "127.0.0.1:") {
		t.Errorf("OTLPHTTPAddr: %v", s.OTLPHTTPAddr())
	}
}
