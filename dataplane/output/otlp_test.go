package output

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The fake collector decodes requests as LogsData, which is
// ExportLogsServiceRequest on the wire (both are `repeated ResourceLogs
// resource_logs = 1`), so the tests need not build the collector's gRPC
// service package.

func newTestOTLP(t *testing.T, c *Config, timing retryTiming) *otlpOutput {
	t.Helper()
	c.Type = "otlp"
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newOTLPOutput(c, timing)
	if err != nil {
		t.Fatalf("newOTLPOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// decodeLogs decodes an OTLP logs request body.
func decodeLogs(t testing.TB, body []byte) *logspb.LogsData {
	t.Helper()
	var ld logspb.LogsData
	if err := proto.Unmarshal(body, &ld); err != nil {
		t.Fatalf("cannot decode the request as ExportLogsServiceRequest: %v", err)
	}
	return &ld
}

// records returns every log record of ld, in order, with its resource's
// attributes.
func records(ld *logspb.LogsData) (recs []*logspb.LogRecord, res []map[string]any) {
	for _, rl := range ld.ResourceLogs {
		ra := attrMap(rl.GetResource().GetAttributes())
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				recs = append(recs, r)
				res = append(res, ra)
			}
		}
	}
	return recs, res
}

// anyOf turns an AnyValue into a Go value: string, bool, int64, float64,
// []any, map[string]any, or nil for the empty value.
func anyOf(v *commonpb.AnyValue) any {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return x.StringValue
	case *commonpb.AnyValue_BoolValue:
		return x.BoolValue
	case *commonpb.AnyValue_IntValue:
		return x.IntValue
	case *commonpb.AnyValue_DoubleValue:
		return x.DoubleValue
	case *commonpb.AnyValue_ArrayValue:
		out := []any{}
		for _, e := range x.ArrayValue.Values {
			out = append(out, anyOf(e))
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		return attrMap(x.KvlistValue.Values)
	}
	return nil
}

func attrMap(kvs []*commonpb.KeyValue) map[string]any {
	if kvs == nil {
		return nil
	}
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = anyOf(kv.Value)
	}
	return m
}

// fmtAny formats a mapped value for comparison.
func fmtAny(v any) string {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return "null"
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(k + "=" + fmtAny(x[k]))
		}
		return b.String() + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmtAny(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case string:
		return `"` + x + `"`
	case nil:
		return "null"
	}
	return fmt.Sprint(v)
}

func TestOTLPMapping(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ts := time.Date(2024, 5, 1, 11, 59, 59, 123456789, time.UTC)
	tests := []struct {
		name, line string
		body       string // fmtAny of the body
		sevText    string
		sevNum     int32
		time       uint64
		attrs      string // fmtAny of the attributes
		resource   string // fmtAny of the resource's attributes
		traceID    string // hex
		spanID     string
	}{
		{name: "plain text", line: "GET /health 200", body: `"GET /health 200"`, attrs: "{}", resource: "null"},
		{name: "invalid UTF-8", line: "a\xffb", body: "\"a\uFFFDb\"", attrs: "{}", resource: "null"},
		{name: "not an object", line: `[1,2]`, body: `"[1,2]"`, attrs: "{}", resource: "null"},
		{name: "broken JSON", line: `{"a":`, body: `"{"a":"`, attrs: "{}", resource: "null"},
		{name: "message and level", line: `{"message":"order placed","level":"warn","order":42}`,
			body: `"order placed"`, sevText: "warn", sevNum: 13, attrs: "{order=42}", resource: "null"},
		{name: "body wins over message", line: `{"msg":"m","body":"b","message":"x"}`,
			body: `"b"`, attrs: `{message="x" msg="m"}`, resource: "null"},
		{name: "structured body", line: `{"body":{"a":[1,"x",true,null]}}`,
			body: `{a=[1 "x" true null]}`, attrs: "{}", resource: "null"},
		{name: "severityText over level", line: `{"severityText":"ERROR","level":"info","severityNumber":18}`,
			sevText: "ERROR", sevNum: 18, body: "null", attrs: `{level="info"}`, resource: "null"},
		{name: "numeric level stays", line: `{"level":30,"msg":"hi"}`, body: `"hi"`, attrs: "{level=30}", resource: "null"},
		{name: "bad severityNumber", line: `{"level":"debug","severityNumber":99}`, sevText: "debug", sevNum: 5,
			body: "null", attrs: "{severityNumber=99}", resource: "null"},
		{name: "attributes object and the rest", line: `{"attributes":{"http.method":"GET","n":1.5},"user":{"id":7},"ok":false,"none":null,"big":12345678901234567890}`,
			body: "null", attrs: `{big=1.2345678901234567e+19 http.method="GET" n=1.5 none=null ok=false user={id=7}}`, resource: "null"},
		{name: "attributes not an object", line: `{"attributes":[1]}`, body: "null", attrs: "{attributes=[1]}", resource: "null"},
		{name: "resource", line: `{"resource":{"attributes":{"service.name":"checkout"}},"message":"x"}`,
			body: `"x"`, attrs: "{}", resource: `{service.name="checkout"}`},
		{name: "resource without attributes", line: `{"resource":{"service":"a"}}`, body: "null",
			attrs: `{resource={service="a"}}`, resource: "null"},
		{name: "RFC 3339 time", line: `{"timestamp":"` + ts.Format(time.RFC3339Nano) + `","msg":"x"}`,
			body: `"x"`, time: uint64(ts.UnixNano()), attrs: "{}", resource: "null"},
		{name: "unix nanos", line: `{"timeUnixNano":"1714564799123456789","time":"2020-01-01T00:00:00Z"}`,
			body: "null", time: 1714564799123456789, attrs: `{time="2020-01-01T00:00:00Z"}`, resource: "null"},
		{name: "bad time", line: `{"time":"yesterday"}`, body: "null", attrs: `{time="yesterday"}`, resource: "null"},
		{name: "trace context", line: `{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","msg":"x"}`,
			body: `"x"`, attrs: "{}", resource: "null", traceID: "5b8efff798038103d269b633813fc60c", spanID: "eee19b7ec3c1b174"},
		{name: "bad trace id", line: `{"traceId":"00000000000000000000000000000000","spanId":"xyz"}`, body: "null",
			attrs: `{spanId="xyz" traceId="00000000000000000000000000000000"}`, resource: "null"},
		{name: "escapes", line: `{"m\u00e9ssage":"a\nb","msg":"\ud83d\ude00"}`, body: `"😀"`, attrs: "{méssage=\"a\nb\"}", resource: "null"},
		{name: "duplicate key", line: `{"msg":"a","msg":"b"}`, body: `"a"`, attrs: `{msg="b"}`, resource: "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &otlpScratch{index: make(map[string]int)}
			ld := decodeLogs(t, encodeRequest(s, nil, [][]byte{[]byte(tt.line)}, now))
			recs, res := records(ld)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1", len(recs))
			}
			r := recs[0]
			if got := fmtAny(anyOf(r.Body)); r.Body == nil && tt.body != "null" || r.Body != nil && got != tt.body {
				t.Errorf("body: got %s; want %s", got, tt.body)
			}
			if r.SeverityText != tt.sevText || int32(r.SeverityNumber) != tt.sevNum {
				t.Errorf("severity: got %q/%d; want %q/%d", r.SeverityText, r.SeverityNumber, tt.sevText, tt.sevNum)
			}
			if r.TimeUnixNano != tt.time {
				t.Errorf("time: got %d; want %d", r.TimeUnixNano, tt.time)
			}
			if r.ObservedTimeUnixNano != uint64(now.UnixNano()) {
				t.Errorf("observed time: got %d; want %d", r.ObservedTimeUnixNano, now.UnixNano())
			}
			if got := fmtAny(attrMapOrEmpty(r.Attributes)); got != tt.attrs {
				t.Errorf("attributes: got %s; want %s", got, tt.attrs)
			}
			if got := fmtAny(res[0]); got != tt.resource {
				t.Errorf("resource: got %s; want %s", got, tt.resource)
			}
			if got := hexOf(r.TraceId); got != tt.traceID {
				t.Errorf("trace id: got %s; want %s", got, tt.traceID)
			}
			if got := hexOf(r.SpanId); got != tt.spanID {
				t.Errorf("span id: got %s; want %s", got, tt.spanID)
			}
			if sl := ld.ResourceLogs[0].ScopeLogs[0]; sl.GetScope().GetName() != otlpScopeName {
				t.Errorf("scope: got %q; want %q", sl.GetScope().GetName(), otlpScopeName)
			}
		})
	}
}

func attrMapOrEmpty(kvs []*commonpb.KeyValue) map[string]any {
	if m := attrMap(kvs); m != nil {
		return m
	}
	return map[string]any{}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestSeverityNumber(t *testing.T) {
	for text, want := range map[string]int{"TRACE": 1, "debug": 5, "Info": 9, "notice": 10, "WARNING": 13, "warn": 13,
		"error": 17, "crit": 18, "alert": 19, "fatal": 21, "panic": 21, "verbose": 0, "": 0} {
		if got := severityNumber(text); got != want {
			t.Errorf("severityNumber(%q): got %d; want %d", text, got, want)
		}
	}
}

// TestOTLPGroupsByResource checks that records are grouped by resource,
// in order of the resources' first records, each group in line order.
func TestOTLPGroupsByResource(t *testing.T) {
	resA := `"resource":{"attributes":{"service.name":"a"}}`
	resB := `"resource":{"attributes":{"service.name":"b","k8s.pod.uid":1}}`
	lines := [][]byte{
		[]byte(`{` + resA + `,"msg":"a1"}`),
		[]byte(`plain 1`),
		[]byte(`{` + resB + `,"msg":"b1"}`),
		[]byte(`{` + resA + `,"msg":"a2"}`),
		[]byte(`plain 2`),
		[]byte(`{` + resB + `,"msg":"b2"}`),
	}
	s := &otlpScratch{index: make(map[string]int)}
	ld := decodeLogs(t, encodeRequest(s, nil, lines, time.Now()))
	var got []string
	for _, rl := range ld.ResourceLogs {
		var bodies []string
		for _, r := range rl.ScopeLogs[0].LogRecords {
			bodies = append(bodies, r.Body.GetStringValue())
		}
		got = append(got, fmtAny(attrMap(rl.GetResource().GetAttributes()))+": "+strings.Join(bodies, ","))
	}
	want := []string{
		`{service.name="a"}: a1,a2`,
		`null: plain 1,plain 2`,
		`{k8s.pod.uid=1 service.name="b"}: b1,b2`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("resource groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The scratch is reused: a second batch starts afresh.
	clear(s.index)
	ld = decodeLogs(t, encodeRequest(s, nil, lines[1:2], time.Now()))
	if recs, _ := records(ld); len(ld.ResourceLogs) != 1 || len(recs) != 1 {
		t.Errorf("second batch: %d resources, %d records; want 1, 1", len(ld.ResourceLogs), len(recs))
	}
}

// TestOTLPLargeRecord checks lengths that take more than one byte of
// varint at every level of nesting.
func TestOTLPLargeRecord(t *testing.T) {
	big := strings.Repeat("x", 300000)
	lines := [][]byte{
		[]byte(big),
		[]byte(`{"msg":"` + big + `","attributes":{"a":{"b":["` + big + `"]}}}`),
	}
	s := &otlpScratch{index: make(map[string]int)}
	recs, _ := records(decodeLogs(t, encodeRequest(s, nil, lines, time.Now())))
	if len(recs) != 2 || recs[0].Body.GetStringValue() != big || recs[1].Body.GetStringValue() != big {
		t.Fatalf("large records did not survive the round trip")
	}
	a := attrMap(recs[1].Attributes)["a"].(map[string]any)["b"].([]any)
	if a[0] != big {
		t.Errorf("nested attribute did not survive the round trip")
	}
}

func TestValidateOTLP(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		want string // error prefix; "" for valid
	}{
		{"valid", Config{URL: "http://localhost:4318"}, ""},
		{"valid with path", Config{URL: "https://otlp.example/otlp/v1/logs", Gzip: true}, ""},
		{"no url", Config{}, "url: required for otlp output"},
		{"bad scheme", Config{URL: "grpc://localhost:4317"}, "url: scheme must be http or https"},
		{"no host", Config{URL: "http://"}, "url: host is missing"},
		{"fragment", Config{URL: "http://h/#x"}, "url: must not have a fragment"},
		{"negative timeout", Config{URL: "http://h", TimeoutMS: -1}, "timeout_ms: must not be negative"},
		{"retries", Config{URL: "http://h", MaxRetries: intPtr(101)}, "max_retries: must be between 0 and 100"},
		{"bad header", Config{URL: "http://h", Headers: map[string]string{"Bad Name": "x"}}, `headers["Bad Name"]: name has invalid character`},
		{"format", Config{URL: "http://h", Format: "ndjson"}, "format: not used by otlp output"},
		{"index", Config{URL: "http://h", Index: "x"}, "index: not used by otlp output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.c
			c.Type = "otlp"
			checkValidate(t, &c, tt.want)
		})
	}
}

// checkValidate checks that Validate(c) fails with an error starting with
// want, or succeeds if want is "".
func checkValidate(t *testing.T, c *Config, want string) {
	t.Helper()
	err := Validate(c)
	switch {
	case want == "" && err != nil:
		t.Errorf("Validate: %v; want nil", err)
	case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
		t.Errorf("Validate: %v; want an error starting with %q", err, want)
	}
}

func TestOTLPEndpoint(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"http://localhost:4318", "http://localhost:4318/v1/logs"},
		{"http://localhost:4318/", "http://localhost:4318/v1/logs"},
		{"https://h/otlp", "https://h/otlp/v1/logs"},
		{"https://h/otlp/v1/logs", "https://h/otlp/v1/logs"},
		{"https://u:p@h/otlp?k=v", "https://u:p@h/otlp/v1/logs?k=v"},
	} {
		o := newTestOTLP(t, &Config{URL: tt.url}, fastRetries)
		if o.h.url != tt.want {
			t.Errorf("endpoint of %s: got %s; want %s", tt.url, o.h.url, tt.want)
		}
		if o.h.name != MaskURL(tt.url) {
			t.Errorf("name of %s: got %s; want %s", tt.url, o.h.name, MaskURL(tt.url))
		}
	}
}

// partialResponse encodes an ExportLogsServiceResponse with a partial
// success.
func partialResponse(rejected int64, message string) []byte {
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(rejected))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, message)
	b := protowire.AppendTag(nil, 1, protowire.BytesType)
	return protowire.AppendBytes(b, ps)
}

func TestOTLPWrite(t *testing.T) {
	tests := []struct {
		name     string
		gzip     bool
		respond  func(n int, w http.ResponseWriter, r *http.Request)
		requests int
		wantErr  string // prefix, "" for none
		rejected int
	}{
		{name: "success", respond: protobufReply(nil), requests: 1},
		{name: "success gzip", gzip: true, respond: protobufReply(nil), requests: 1},
		{name: "empty partial success", respond: protobufReply(partialResponse(0, "")), requests: 1},
		{name: "partial success", respond: protobufReply(partialResponse(2, "bad attribute")), requests: 1,
			wantErr: `http://127.0.0.1`, rejected: 2},
		{name: "partial success in JSON", respond: func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"partialSuccess":{"rejectedLogRecords":"1","errorMessage":"too old"}}`))
		}, requests: 1, wantErr: "http://127.0.0.1", rejected: 1},
		{name: "garbage response", respond: func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write([]byte{0xff, 0xff, 0xff})
		}, requests: 1},
		{name: "503 retried", respond: statuses(503, 503, 200), requests: 3},
		{name: "429 retried", respond: statuses(429, 200), requests: 2},
		{name: "502 and 504 retried", respond: statuses(502, 504, 200), requests: 3},
		{name: "500 not retried", respond: statuses(500), requests: 1, wantErr: "cannot post batch to http://127.0.0.1"},
		{name: "400 not retried", respond: statuses(400), requests: 1, wantErr: "cannot post batch to http://127.0.0.1"},
		{name: "retries run out", respond: statuses(503), requests: 3, wantErr: "cannot post batch to http://127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad []string
			srv := newServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
					bad = append(bad, r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type"))
				}
				tt.respond(n, w, r)
			})
			o := newTestOTLP(t, &Config{URL: srv.URL, Gzip: tt.gzip, MaxRetries: intPtr(2), Headers: map[string]string{"Authorization": "Bearer " + secret}}, fastRetries)
			err := o.Write(context.Background(), batchOf("one", `{"msg":"two","level":"info"}`, "three"))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Write: %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("Write: %v; want an error starting with %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("Write: %q holds a secret", err)
			}
			var re *RejectedError
			if tt.rejected > 0 {
				if !errors.As(err, &re) || re.Rejected != tt.rejected || re.Lines != 3 {
					t.Errorf("Write: %#v; want a RejectedError of %d of 3 lines", err, tt.rejected)
				}
			}
			reqs := srv.requests()
			if len(reqs) != tt.requests {
				t.Fatalf("collector saw %d requests; want %d", len(reqs), tt.requests)
			}
			if len(bad) > 0 {
				t.Errorf("unexpected requests: %v", bad)
			}
			for _, r := range reqs {
				if (r.header.Get("Content-Encoding") == "gzip") != tt.gzip {
					t.Errorf("Content-Encoding %q with gzip %v", r.header.Get("Content-Encoding"), tt.gzip)
				}
				if r.header.Get("Authorization") != "Bearer "+secret {
					t.Errorf("Authorization header not sent")
				}
				recs, _ := records(decodeLogs(t, r.body))
				if len(recs) != 3 || recs[1].Body.GetStringValue() != "two" || recs[1].SeverityNumber != 9 {
					t.Errorf("request body: %v", recs)
				}
			}
		})
	}
}

// protobufReply answers with body as a protobuf response.
func protobufReply(body []byte) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(body)
	}
}

func TestOTLPRetryAfter(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	o := newTestOTLP(t, &Config{URL: srv.URL}, fastRetries)
	start := time.Now()
	if err := o.Write(context.Background(), batchOf("x")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Errorf("Write returned after %v; want at least the 1 s of Retry-After", elapsed)
	}
}

func TestOTLPClosed(t *testing.T) {
	o := newTestOTLP(t, &Config{URL: "http://127.0.0.1:1"}, fastRetries)
	o.Close()
	if err := o.Write(context.Background(), batchOf("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v; want ErrClosed", err)
	}
	if err := o.Write(context.Background(), batchOf()); err != nil {
		t.Errorf("Write of an empty batch: %v; want nil", err)
	}
}

// FuzzOTLPRecord checks that any line becomes exactly one valid log record:
// the request decodes as ExportLogsServiceRequest (strings valid UTF-8,
// lengths right at every level), a line that is not a JSON object is the
// body as it is, and the resource holds one attribute per member of a
// resource.attributes object.
func FuzzOTLPRecord(f *testing.F) {
	for _, s := range []string{
		"plain line",
		"a\xff\xfeb",
		`{"body":{"a":[1,2.5,"x",null,true,{"b":[]}]},"level":"warn","attributes":{"k":"v"}}`,
		`{"resource":{"attributes":{"service.name":"x","n":1}},"msg":"m","traceId":"5b8efff798038103d269b633813fc60c"}`,
		`{"timeUnixNano":1714564799123456789,"severityNumber":24,"spanId":"eee19b7ec3c1b174"}`,
		`{"timestamp":"2024-05-01T12:00:00Z","message":"\ud800","x":1e400,"y":-9223372036854775809}`,
		`{"a\u0000b":"\u0000","":""}`,
		`{"msg":"a","msg":"b","attributes":1,"attributes":{"a":1}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		s := &otlpScratch{index: make(map[string]int)}
		now := time.Unix(1714564800, 0)
		body := encodeRequest(s, nil, [][]byte{line, []byte("next")}, now)
		ld := decodeLogs(t, body)
		recs, res := records(ld)
		if len(recs) != 2 {
			t.Fatalf("%d records for 2 lines", len(recs))
		}
		if recs[1].Body.GetStringValue() != "next" {
			t.Fatalf("the second line's body is %v", recs[1].Body)
		}
		if recs[0].ObservedTimeUnixNano != uint64(now.UnixNano()) {
			t.Fatalf("observed time %d", recs[0].ObservedTimeUnixNano)
		}
		obj, isObj := jsonObject(line)
		if !isObj {
			// Each invalid byte becomes U+FFFD, as []rune does.
			if got, want := recs[0].Body.GetStringValue(), string([]rune(string(line))); got != want || len(recs[0].Attributes) != 0 {
				t.Fatalf("body %q, %d attributes; want %q and none", got, len(recs[0].Attributes), want)
			}
			return
		}
		ra := parseJSON(obj).Get("resource")
		if a := ra.Get("attributes"); ra.IsObject() && a.IsObject() && strings.Index(string(obj), `"resource"`) == strings.LastIndex(string(obj), `"resource"`) {
			n := 0
			a.ForEach(func(_, _ gjson.Result) bool { n++; return true })
			if len(res[0]) > n || n > 0 && len(res[0]) == 0 {
				t.Fatalf("resource has %d attributes; the line's resource.attributes %d members", len(res[0]), n)
			}
		}
		for _, kv := range recs[0].Attributes {
			if !utf8.ValidString(kv.Key) {
				t.Fatalf("attribute key %q is not UTF-8", kv.Key)
			}
		}
		if d, ok := anyOf(recs[0].Body).(float64); ok && math.IsNaN(d) {
			t.Fatalf("NaN body from %q", line)
		}
	})
}
