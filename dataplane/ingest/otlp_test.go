package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func intv(n int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
}

func dbl(f float64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: f}}
}

// logsOf wraps records in one resource and scope.
func logsOf(res []*commonpb.KeyValue, scope *commonpb.InstrumentationScope, recs ...*logspb.LogRecord) *logspb.LogsData {
	rl := &logspb.ResourceLogs{ScopeLogs: []*logspb.ScopeLogs{{Scope: scope, LogRecords: recs}}}
	if res != nil {
		rl.Resource = &resourcepb.Resource{Attributes: res}
	}
	return &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{rl}}
}

// linesOf returns the lines of d's records.
func otlpLinesOf(d *logspb.LogsData) []string {
	var w otlpLines
	var out []string
	w.each(d, func(line []byte) { out = append(out, string(line)) })
	return out
}

// TestOTLPLines: every field of a log record, its resource and its scope
// lands in its member of the line.
func TestOTLPLines(t *testing.T) {
	trace := []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	span := []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
	for _, tc := range []struct {
		name string
		rec  *logspb.LogRecord
		want string
	}{
		{"empty", &logspb.LogRecord{}, `{}`},
		{"times", &logspb.LogRecord{TimeUnixNano: 1767225600000000001, ObservedTimeUnixNano: 1767225600000000002},
			`{"timeUnixNano":"1767225600000000001","observedTimeUnixNano":"1767225600000000002"}`},
		{"severity", &logspb.LogRecord{SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_ERROR, SeverityText: "Error"},
			`{"severityNumber":17,"severityText":"Error"}`},
		{"severity number alone names it", &logspb.LogRecord{SeverityNumber: logspb.SeverityNumber_SEVERITY_NUMBER_WARN2},
			`{"severityNumber":14,"severityText":"WARN2"}`},
		{"unknown severity number", &logspb.LogRecord{SeverityNumber: 99}, `{"severityNumber":99}`},
		{"severity text alone", &logspb.LogRecord{SeverityText: "notice"}, `{"severityText":"notice"}`},
		{"string body escaped", &logspb.LogRecord{Body: sv("a \"quoted\"\nline\x01 <b>")},
			`{"body":"a \"quoted\"\nline\u0001 <b>"}`},
		{"invalid UTF-8 body", &logspb.LogRecord{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0xff, 0x00}}}},
			`{"body":"/wA="}`},
		{"empty body value", &logspb.LogRecord{Body: &commonpb.AnyValue{}}, `{"body":null}`},
		{"bool and int", &logspb.LogRecord{Attributes: []*commonpb.KeyValue{
			kv("ok", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
			kv("n", intv(-9223372036854775808)),
		}}, `{"attributes":{"ok":true,"n":-9223372036854775808}}`},
		{"doubles stay doubles", &logspb.LogRecord{Attributes: []*commonpb.KeyValue{
			kv("one", dbl(1)), kv("half", dbl(0.5)), kv("big", dbl(1e21)), kv("neg", dbl(-2)),
			kv("nan", dbl(math.NaN())), kv("inf", dbl(math.Inf(1))), kv("ninf", dbl(math.Inf(-1))),
		}}, `{"attributes":{"one":1.0,"half":0.5,"big":1e+21,"neg":-2.0,"nan":"NaN","inf":"Infinity","ninf":"-Infinity"}}`},
		{"nested body", &logspb.LogRecord{Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
			kv("msg", sv("hi")),
			kv("list", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{intv(1), sv("two"), {}}}}}),
			kv("empty", &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{}}}),
		}}}}}, `{"body":{"msg":"hi","list":[1,"two",null],"empty":{}}}`},
		{"attribute keys escaped, repeated kept", &logspb.LogRecord{Attributes: []*commonpb.KeyValue{kv("a\"b", sv("1")), kv("k", sv("x")), kv("k", sv("y"))}},
			`{"attributes":{"a\"b":"1","k":"x","k":"y"}}`},
		{"counts and flags", &logspb.LogRecord{DroppedAttributesCount: 3, Flags: 1},
			`{"droppedAttributesCount":3,"flags":1}`},
		{"trace context", &logspb.LogRecord{TraceId: trace, SpanId: span},
			`{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}`},
		{"zero ids left out", &logspb.LogRecord{TraceId: make([]byte, 16), SpanId: make([]byte, 8)}, `{}`},
		{"event name", &logspb.LogRecord{EventName: "browser.click"}, `{"eventName":"browser.click"}`},
		{"all in order", &logspb.LogRecord{
			TimeUnixNano: 2, ObservedTimeUnixNano: 3, SeverityNumber: 9, SeverityText: "INFO", Body: sv("b"),
			Attributes: []*commonpb.KeyValue{kv("a", sv("1"))}, DroppedAttributesCount: 1, Flags: 1,
			TraceId: trace, SpanId: span, EventName: "e",
		}, `{"timeUnixNano":"2","observedTimeUnixNano":"3","severityNumber":9,"severityText":"INFO","body":"b","attributes":{"a":"1"},"droppedAttributesCount":1,"flags":1,"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","eventName":"e"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := otlpLinesOf(logsOf(nil, nil, tc.rec))
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %q; want %q", got, tc.want)
			}
		})
	}
}

// TestOTLPLinesResourceAndScope: the resource's attributes and the scope
// follow every record's own members; an empty scope is left out.
func TestOTLPLinesResourceAndScope(t *testing.T) {
	for _, tc := range []struct {
		name  string
		res   []*commonpb.KeyValue
		scope *commonpb.InstrumentationScope
		want  string
	}{
		{"resource", []*commonpb.KeyValue{kv("service.name", sv("checkout"))}, nil,
			`{"body":"x","resource":{"attributes":{"service.name":"checkout"}}}`},
		{"scope", nil, &commonpb.InstrumentationScope{Name: "lib", Version: "1.2", Attributes: []*commonpb.KeyValue{kv("k", intv(1))}},
			`{"body":"x","scope":{"name":"lib","version":"1.2","attributes":{"k":1}}}`},
		{"scope version alone", nil, &commonpb.InstrumentationScope{Version: "1"}, `{"body":"x","scope":{"version":"1"}}`},
		{"empty scope", nil, &commonpb.InstrumentationScope{}, `{"body":"x"}`},
		{"both", []*commonpb.KeyValue{kv("host.name", sv("h"))}, &commonpb.InstrumentationScope{Name: "lib"},
			`{"body":"x","resource":{"attributes":{"host.name":"h"}},"scope":{"name":"lib"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := otlpLinesOf(logsOf(tc.res, tc.scope, &logspb.LogRecord{Body: sv("x")}))
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("got %q; want %q", got, tc.want)
			}
		})
	}
	// Two resources, two scopes: each record carries its own.
	d := &logspb.LogsData{ResourceLogs: []*logspb.ResourceLogs{
		{Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("r", sv("1"))}}, ScopeLogs: []*logspb.ScopeLogs{
			{Scope: &commonpb.InstrumentationScope{Name: "a"}, LogRecords: []*logspb.LogRecord{{Body: sv("1")}, {Body: sv("2")}}},
			{LogRecords: []*logspb.LogRecord{{Body: sv("3")}}},
		}},
		{ScopeLogs: []*logspb.ScopeLogs{{LogRecords: []*logspb.LogRecord{{Body: sv("4")}}}}},
	}}
	want := []string{
		`{"body":"1","resource":{"attributes":{"r":"1"}},"scope":{"name":"a"}}`,
		`{"body":"2","resource":{"attributes":{"r":"1"}},"scope":{"name":"a"}}`,
		`{"body":"3","resource":{"attributes":{"r":"1"}}}`,
		`{"body":"4"}`,
	}
	if got := otlpLinesOf(d); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// otlpJSONRequest is a request in OTLP's JSON encoding: hex IDs, integers
// as strings, enums as numbers.
const otlpJSONRequest = `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
"scopeLogs":[{"scope":{"name":"app","version":"2"},"logRecords":[{"timeUnixNano":"1767225600000000000","severityNumber":17,
"severityText":"ERROR","body":{"stringValue":"payment failed"},"attributes":[{"key":"http.status_code","value":{"intValue":"502"}}],
"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","flags":1,"unknownField":true}]}]}]}`

const otlpJSONLine = `{"timeUnixNano":"1767225600000000000","severityNumber":17,"severityText":"ERROR","body":"payment failed","attributes":{"http.status_code":502},"flags":1,"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","resource":{"attributes":{"service.name":"checkout"}},"scope":{"name":"app","version":"2"}}`

// TestOTLPDecodeJSON: OTLP JSON decodes as the same protobuf would, hex
// IDs (either case) as bytes, base64 IDs too, unknown fields skipped.
func TestOTLPDecodeJSON(t *testing.T) {
	var d logspb.LogsData
	if err := decodeOTLPLogs([]byte(otlpJSONRequest), true, &d); err != nil {
		t.Fatal(err)
	}
	if got := otlpLinesOf(&d); len(got) != 1 || got[0] != otlpJSONLine {
		t.Fatalf("got %q; want %q", got, otlpJSONLine)
	}
	pb, err := proto.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	var d2 logspb.LogsData
	if err := decodeOTLPLogs(pb, false, &d2); err != nil {
		t.Fatal(err)
	}
	if got := otlpLinesOf(&d2); len(got) != 1 || got[0] != otlpJSONLine {
		t.Fatalf("protobuf: got %q; want %q", got, otlpJSONLine)
	}
	// base64 IDs, as protojson writes them.
	b64 := `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"W47/95gDgQPSabYzgT/GDA==","spanId":"7uGbfsPBsXQ="}]}]}]}`
	d.Reset()
	if err := decodeOTLPLogs([]byte(b64), true, &d); err != nil {
		t.Fatal(err)
	}
	want := `{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}`
	if got := otlpLinesOf(&d); len(got) != 1 || got[0] != want {
		t.Fatalf("base64 IDs: got %q; want %q", got, want)
	}
	for _, bad := range []string{`{"resourceLogs":`, `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}`, `[]`} {
		if err := decodeOTLPLogs([]byte(bad), true, &d); err == nil {
			t.Errorf("%s: decoded; want an error", bad)
		}
	}
	if err := decodeOTLPLogs([]byte{0x0a, 0x05, 0x01}, false, &d); err == nil {
		t.Error("truncated protobuf: decoded; want an error")
	}
}

// otlpSink settles every batch at once, keeping a copy of its lines, or,
// with drop set, recycles it unsettled, as a full buffer under drop_newest
// does; with fail set it returns an error, as a push at shutdown does.
type otlpSink struct {
	mu     sync.Mutex
	lines  []string
	keys   map[uint64]bool
	pushes int
	drop   bool
	fail   bool
	hold   bool
	held   []*record.Batch
}

func (s *otlpSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		record.Put(b)
		return errors.New("closed")
	}
	if s.drop {
		record.Put(b)
		return nil
	}
	if s.hold {
		s.held = append(s.held, b)
		return nil
	}
	if s.keys == nil {
		s.keys = make(map[uint64]bool)
	}
	s.keys[b.Key] = true
	s.pushes++
	for _, l := range b.Lines {
		s.lines = append(s.lines, string(l))
	}
	b.SettleAcks(true)
	record.Put(b)
	return nil
}

func (s *otlpSink) taken() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

func startOTLP(t *testing.T, cfg Config) *OTLPHTTP {
	t.Helper()
	o, err := ListenOTLPHTTP("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go o.Serve()
	t.Cleanup(func() { o.Shutdown(context.Background()) })
	return o
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// readStatus decodes a google.rpc.Status, protobuf or JSON.
func readStatus(t *testing.T, body []byte, isJSON bool) (code int64, msg string) {
	t.Helper()
	if isJSON {
		var s struct {
			Code    int64  `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(body, &s); err != nil {
			t.Fatalf("status %q: %v", body, err)
		}
		return s.Code, s.Message
	}
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			t.Fatalf("status %q: bad tag", body)
		}
		body = body[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(body)
			code, body = int64(v), body[m:]
		case num == 2 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(body)
			msg, body = string(v), body[m:]
		default:
			t.Fatalf("status: unexpected field %d", num)
		}
	}
	return code, msg
}

// TestOTLPHTTPStatus: each kind of request gets the status, the body and
// the counters OTLP/HTTP and the limits say.
func TestOTLPHTTPStatus(t *testing.T) {
	one := logsOf([]*commonpb.KeyValue{kv("service.name", sv("svc"))}, nil, &logspb.LogRecord{Body: sv("hello"), SeverityText: "INFO"})
	pb, _ := proto.Marshal(one)
	jsonBody := []byte(`{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},"scopeLogs":[{"logRecords":[{"body":{"stringValue":"hello"},"severityText":"INFO"}]}]}]}`)
	wantLine := `{"severityText":"INFO","body":"hello","resource":{"attributes":{"service.name":"svc"}}}`
	long, _ := proto.Marshal(logsOf(nil, nil, &logspb.LogRecord{Body: sv("short")}, &logspb.LogRecord{Body: sv(strings.Repeat("x", 300))}))
	const maxBody = 4096
	bomb := gz(bytes.Repeat([]byte{0x0a, 0x00}, maxBody)) // small, but over the limit once decompressed
	for _, tc := range []struct {
		name      string
		method    string
		path      string
		ctype     string
		encoding  string
		body      []byte
		sink      *otlpSink
		status    int
		retry     bool     // Retry-After set
		lines     []string // taken
		rejected  int64    // partial success
		errSubstr string   // in the Status message
		refused   string   // reason counted
	}{
		{name: "protobuf", ctype: "application/x-protobuf", body: pb, status: 200, lines: []string{wantLine}},
		{name: "protobuf, charset", ctype: "application/x-protobuf; charset=utf-8", body: pb, status: 200, lines: []string{wantLine}},
		{name: "json", ctype: "application/json", body: jsonBody, status: 200, lines: []string{wantLine}},
		{name: "gzip protobuf", ctype: "application/x-protobuf", encoding: "gzip", body: gz(pb), status: 200, lines: []string{wantLine}},
		{name: "gzip json", ctype: "application/json", encoding: "gzip", body: gz(jsonBody), status: 200, lines: []string{wantLine}},
		{name: "empty request", ctype: "application/x-protobuf", body: nil, status: 200},
		{name: "record over the line limit", ctype: "application/x-protobuf", body: long, status: 200,
			lines: []string{`{"body":"short"}`}, rejected: 1, errSubstr: "longer than the line limit of 256 bytes"},
		{name: "undecodable protobuf", ctype: "application/x-protobuf", body: []byte{0x0a, 0x09, 0x01}, status: 400, errSubstr: "cannot decode", refused: metrics.RefusedMalformed},
		{name: "undecodable json", ctype: "application/json", body: []byte(`{"resourceLogs":{}`), status: 400, errSubstr: "cannot decode", refused: metrics.RefusedMalformed},
		{name: "bad gzip", ctype: "application/json", encoding: "gzip", body: []byte("not gzip"), status: 400, errSubstr: "gzip", refused: metrics.RefusedMalformed},
		{name: "other content type", ctype: "text/plain", body: pb, status: 415, errSubstr: "want application/x-protobuf or application/json", refused: metrics.RefusedMediaType},
		{name: "other encoding", ctype: "application/x-protobuf", encoding: "br", body: pb, status: 415, errSubstr: `content encoding "br"`, refused: metrics.RefusedMediaType},
		{name: "other path", path: "/v1/traces", ctype: "application/x-protobuf", body: pb, status: 404, errSubstr: "/v1/logs"},
		{name: "GET", method: "GET", ctype: "application/x-protobuf", status: 405, errSubstr: "POST"},
		{name: "body over the limit", ctype: "application/x-protobuf", body: make([]byte, maxBody+1), status: 413, errSubstr: "over the limit of 4096 bytes", refused: metrics.RefusedBodyTooLarge},
		{name: "decompressed body over the limit", ctype: "application/x-protobuf", encoding: "gzip", body: bomb, status: 413, errSubstr: "over the limit", refused: metrics.RefusedBodyTooLarge},
		{name: "buffer full", ctype: "application/x-protobuf", body: pb, sink: &otlpSink{drop: true}, status: 429, retry: true, errSubstr: "buffer is full", refused: metrics.RefusedBufferFull},
		{name: "shutting down", ctype: "application/json", body: jsonBody, sink: &otlpSink{fail: true}, status: 503, errSubstr: "shutting down"},
		{name: "bad ack", path: "/v1/logs?ack=maybe", ctype: "application/json", body: jsonBody, status: 400, errSubstr: "ack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			if tc.sink == nil {
				tc.sink = &otlpSink{}
			}
			o := startOTLP(t, Config{Sink: tc.sink, Metrics: m, MaxLine: 256, Limits: Limits{OTLPMaxBody: maxBody}})
			method, path := tc.method, tc.path
			if method == "" {
				method = "POST"
			}
			if path == "" {
				path = "/v1/logs"
			}
			req, _ := http.NewRequest(method, "http://"+o.Addr().String()+path, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status: got %d (%q); want %d", resp.StatusCode, body, tc.status)
			}
			if got := resp.Header.Get("Retry-After") != ""; got != tc.retry {
				t.Errorf("Retry-After set: got %v; want %v", got, tc.retry)
			}
			isJSON := strings.HasPrefix(tc.ctype, "application/json")
			wantCT := "application/x-protobuf"
			if isJSON {
				wantCT = "application/json"
			}
			if ct := resp.Header.Get("Content-Type"); ct != wantCT {
				t.Errorf("Content-Type: got %q; want %q", ct, wantCT)
			}
			if tc.status == 200 {
				rejected, msg := readExportResponse(t, body, isJSON)
				if rejected != tc.rejected || !strings.Contains(msg, tc.errSubstr) {
					t.Errorf("partial success: got %d %q; want %d %q", rejected, msg, tc.rejected, tc.errSubstr)
				}
			} else {
				code, msg := readStatus(t, body, isJSON)
				if code == 0 || !strings.Contains(msg, tc.errSubstr) {
					t.Errorf("status: got code %d %q; want a code and %q", code, msg, tc.errSubstr)
				}
			}
			if got := tc.sink.taken(); strings.Join(got, "\n") != strings.Join(tc.lines, "\n") {
				t.Errorf("lines: got %q; want %q", got, tc.lines)
			}
			if tc.refused != "" {
				if n := m.IngestRefused(metrics.ListenerOTLPHTTP, tc.refused).Get(); n != 1 {
					t.Errorf("refused %s: got %d; want 1", tc.refused, n)
				}
			}
			if tc.rejected > 0 {
				if n := m.Dropped(metrics.ReasonOversize).Get(); n != uint64(tc.rejected) {
					t.Errorf("dropped oversize: got %d; want %d", n, tc.rejected)
				}
			}
			if n, want := m.Received.Get(), uint64(len(tc.lines))+uint64(tc.rejected); tc.status == 200 && n != want {
				t.Errorf("received: got %d; want %d", n, want)
			}
		})
	}
}

// readExportResponse decodes an ExportLogsServiceResponse's partial
// success, protobuf or JSON.
func readExportResponse(t *testing.T, body []byte, isJSON bool) (rejected int64, msg string) {
	t.Helper()
	if isJSON {
		var r struct {
			PartialSuccess struct {
				RejectedLogRecords int64  `json:"rejectedLogRecords,string"`
				ErrorMessage       string `json:"errorMessage"`
			} `json:"partialSuccess"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("response %q: %v", body, err)
		}
		return r.PartialSuccess.RejectedLogRecords, r.PartialSuccess.ErrorMessage
	}
	if len(body) == 0 {
		return 0, ""
	}
	num, typ, n := protowire.ConsumeTag(body)
	if num != 1 || typ != protowire.BytesType {
		t.Fatalf("response %q: want field 1", body)
	}
	ps, _ := protowire.ConsumeBytes(body[n:])
	for len(ps) > 0 {
		num, typ, n := protowire.ConsumeTag(ps)
		ps = ps[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(ps)
			rejected, ps = int64(v), ps[m:]
		case num == 2 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(ps)
			msg, ps = string(v), ps[m:]
		default:
			t.Fatalf("partial success: unexpected field %d", num)
		}
	}
	return rejected, msg
}

// TestOTLPHTTPBatches: a large request's records go in several batches,
// in order, all under one key.
func TestOTLPHTTPBatches(t *testing.T) {
	var recs []*logspb.LogRecord
	for i := range 5000 {
		recs = append(recs, &logspb.LogRecord{Body: sv(fmt.Sprintf("record %05d %s", i, strings.Repeat("p", 300)))})
	}
	pb, _ := proto.Marshal(logsOf(nil, nil, recs...))
	sink := &otlpSink{}
	o := startOTLP(t, Config{Sink: sink, Metrics: metrics.New()})
	resp, err := http.Post("http://"+o.Addr().String()+"/v1/logs", "application/x-protobuf", bytes.NewReader(pb))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	got := sink.taken()
	if len(got) != len(recs) {
		t.Fatalf("got %d lines; want %d", len(got), len(recs))
	}
	for i, l := range got {
		if !strings.HasPrefix(l, fmt.Sprintf(`{"body":"record %05d `, i)) {
			t.Fatalf("line %d: got %.40q", i, l)
		}
	}
	if len(sink.keys) != 1 || sink.pushes < 2 {
		t.Errorf("got %d batches under %d keys; want several under 1", sink.pushes, len(sink.keys))
	}
}

// TestOTLPHTTPAck: an acknowledged request is answered 200 once its
// records are settled, and 503 with Retry-After when they are not in time.
func TestOTLPHTTPAck(t *testing.T) {
	pb, _ := proto.Marshal(logsOf(nil, nil, &logspb.LogRecord{Body: sv("x")}))
	for _, tc := range []struct {
		name    string
		durable bool
		query   string
		hold    bool
		status  int
		result  string
	}{
		{"settled", true, "", false, 200, metrics.AckOK},
		{"by query", false, "?ack=durable", false, 200, metrics.AckOK},
		{"not settled in time", true, "", true, 503, metrics.AckTimeout},
		{"opted out", true, "?ack=none", true, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New()
			sink := &otlpSink{hold: tc.hold}
			t.Cleanup(func() {
				for _, b := range sink.held {
					record.Put(b)
				}
			})
			o := startOTLP(t, Config{Sink: sink, Metrics: m, Limits: Limits{AckDurable: tc.durable, AckTimeout: 50 * time.Millisecond}})
			resp, err := http.Post("http://"+o.Addr().String()+"/v1/logs"+tc.query, "application/x-protobuf", bytes.NewReader(pb))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status: got %d; want %d", resp.StatusCode, tc.status)
			}
			if tc.status == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			if tc.result != "" {
				if n := m.IngestAck(tc.result).Get(); n != 1 {
					t.Errorf("acks %s: got %d; want 1", tc.result, n)
				}
			}
		})
	}
}

// TestOTLPWire: the protobuf fast path answers for bodies as encoders
// write them, with the decoder's lines, and leaves the others to it.
func TestOTLPWire(t *testing.T) {
	all := logsOf([]*commonpb.KeyValue{kv("service.name", sv("checkout"))},
		&commonpb.InstrumentationScope{Name: "lib", Version: "1", Attributes: []*commonpb.KeyValue{kv("k", intv(1))}},
		&logspb.LogRecord{TimeUnixNano: 1, ObservedTimeUnixNano: 2, SeverityNumber: 17, SeverityText: "ERROR",
			Body: &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: []*commonpb.KeyValue{
				kv("msg", sv("hi \"there\"")), kv("none", nil),
				kv("list", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: []*commonpb.AnyValue{intv(-1), dbl(2.5), dbl(3), {}}}}}),
			}}}},
			Attributes: []*commonpb.KeyValue{kv("http.status_code", intv(502)), kv("ok", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
				kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BytesValue{BytesValue: []byte{0, 1}}})},
			DroppedAttributesCount: 1, Flags: 1, TraceId: []byte("0123456789abcdef"), SpanId: make([]byte, 8), EventName: "e"},
		&logspb.LogRecord{SeverityNumber: 13},
		&logspb.LogRecord{})
	all.ResourceLogs = append(all.ResourceLogs, &logspb.ResourceLogs{Resource: &resourcepb.Resource{}, ScopeLogs: []*logspb.ScopeLogs{{Scope: &commonpb.InstrumentationScope{}, LogRecords: []*logspb.LogRecord{{Body: sv("bare")}}}}})
	// Fields the lines leave out, which the fast path checks as the
	// decoder does.
	all.ResourceLogs[0].SchemaUrl = "https://opentelemetry.io/schemas/1.26.0"
	all.ResourceLogs[0].ScopeLogs[0].SchemaUrl = "https://opentelemetry.io/schemas/1.26.0"
	all.ResourceLogs[0].Resource.EntityRefs = []*commonpb.EntityRef{{Type: "service", IdKeys: []string{"service.name"}, DescriptionKeys: []string{"a", "b"}}}
	for _, tc := range []struct {
		name string
		d    *logspb.LogsData
	}{
		{"every field", all},
		{"as an SDK sends", benchLogs(20)},
		{"empty", &logspb.LogsData{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := proto.Marshal(tc.d)
			if err != nil {
				t.Fatal(err)
			}
			var wl wireLines
			var got []string
			if !wl.each(pb, func(line []byte) { got = append(got, string(line)) }) {
				t.Fatal("the fast path did not answer")
			}
			want := otlpLinesOf(tc.d)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
	// Shapes left to the decoder.
	rec := func(fields ...[]byte) []byte {
		var r []byte
		for _, f := range fields {
			r = append(r, f...)
		}
		scope := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), r)
		rl := protowire.AppendBytes(protowire.AppendTag(nil, 2, protowire.BytesType), scope)
		return protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), rl)
	}
	str := func(num protowire.Number, s string) []byte {
		return protowire.AppendString(protowire.AppendTag(nil, num, protowire.BytesType), s)
	}
	anyStr := func(s string) []byte { return str(1, s) }
	msg := func(num protowire.Number, fields ...[]byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, num, protowire.BytesType), bytes.Join(fields, nil))
	}
	// A ResourceLogs whose resource holds an entity reference ref, and
	// one record.
	entity := func(ref []byte) []byte {
		return msg(1, msg(1, msg(3, ref)), msg(2, msg(2, str(3, "a"))))
	}
	for _, tc := range []struct {
		name    string
		body    []byte
		refused bool // by the decoder too
	}{
		{"severity text twice", rec(str(3, "a"), str(3, "b")), false},
		{"body twice", rec(protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), anyStr("a")), protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), anyStr("b"))), false},
		{"two values in one", rec(protowire.AppendBytes(protowire.AppendTag(nil, 5, protowire.BytesType), append(anyStr("a"), protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 1)...))), false},
		{"invalid UTF-8", rec(str(3, "\xff")), true},
		{"wrong wire type", rec(protowire.AppendVarint(protowire.AppendTag(nil, 3, protowire.VarintType), 1)), false},
		{"truncated", rec(str(3, "abc"))[:5], true},
		// The decoder refuses strings that are not UTF-8 in fields the
		// lines leave out too.
		{"resource's schema URL not UTF-8", msg(1, str(3, "0\xa6"), msg(2, msg(2, str(3, "a")))), true},
		{"scope's schema URL not UTF-8", msg(1, msg(2, str(3, "0\xa6"), msg(2, str(3, "a")))), true},
		{"entity type not UTF-8", entity(str(2, "\xff")), true},
		{"entity id key not UTF-8", entity(append(str(3, "ok"), str(3, "\xff")...)), true},
		{"entity reference truncated", entity(str(1, "abc")[:3]), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var wl wireLines
			if wl.each(tc.body, func([]byte) { t.Fatal("emitted a line") }) {
				t.Fatal("the fast path answered; want the decoder")
			}
			var d logspb.LogsData
			if err := decodeOTLPLogs(tc.body, false, &d); tc.refused && err == nil {
				t.Fatal("the decoder took the body; the case is wrong")
			}
		})
	}
}
