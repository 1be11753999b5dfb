package output

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"streamgate/dataplane/match"
)

// fuzzLines splits a fuzz input into lines, as a listener would.
func fuzzLines(in []byte) [][]byte {
	return bytes.Split(in, []byte("\n"))
}

// FuzzElasticsearchBulk: whatever the lines, the bulk body is an action
// and a document per line, each one line of JSON; a document is the line
// itself when it is a JSON object with @timestamp, else an object with
// @timestamp whose message is the line.
func FuzzElasticsearchBulk(f *testing.F) {
	for _, s := range []string{
		`{"a":1}` + "\nplain\n{}\n" + `{"@timestamp":"x","b":[1,{"c":null}]}`,
		"{\"a\":\r1}\n \t{ } \n{\"a\":1}}\n\xff\xfe",
		`{"a":"\u2028\ud800"}` + "\n" + `{"@timestamp":1}`,
	} {
		f.Add([]byte(s))
	}
	action := appendAction(nil, []byte("logs-2024.05.01"))
	ts := []byte("2024-05-01T10:00:00.000Z")
	f.Fuzz(func(t *testing.T, in []byte) {
		lines := fuzzLines(in)
		pending := make([]int, 0, len(lines))
		for i := range lines {
			if i%3 != 1 { // a retry sends some of the lines only
				pending = append(pending, i)
			}
		}
		body := appendBulk(nil, action, ts, lines, pending)
		if len(body) == 0 || body[len(body)-1] != '\n' {
			t.Fatalf("body %q does not end with a newline", body)
		}
		parts := bytes.Split(body[:len(body)-1], []byte("\n"))
		if len(parts) != 2*len(pending) {
			t.Fatalf("%d lines in the body for %d documents", len(parts), len(pending))
		}
		for k, i := range pending {
			if !bytes.Equal(parts[2*k], bytes.TrimSuffix(action, []byte("\n"))) {
				t.Fatalf("action %q; want %q", parts[2*k], action)
			}
			doc := parts[2*k+1]
			var m map[string]any
			if err := json.Unmarshal(doc, &m); err != nil || !utf8.Valid(doc) {
				t.Fatalf("document %q of line %q: %v", doc, lines[i], err)
			}
			if _, ok := m["@timestamp"]; !ok {
				t.Fatalf("document %q has no @timestamp", doc)
			}
			if obj, ok := jsonObject(lines[i]); ok {
				if _, has := match.LookupJSON(obj, esTimestampKey); has && !bytes.Equal(doc, obj) {
					t.Fatalf("document %q; want the line %q as it is", doc, obj)
				}
				continue
			}
			if msg, _ := m["message"].(string); utf8.Valid(lines[i]) && msg != string(lines[i]) {
				t.Fatalf("message %q; want the line %q", msg, lines[i])
			}
		}
	})
}

// FuzzBulkResult: whatever Elasticsearch answers, the documents found busy
// and those refused for good are documents of the request, each once, in
// order; an answer that says nothing failed refuses none.
func FuzzBulkResult(f *testing.F) {
	for _, s := range []string{
		`{"errors":false,"items":[]}`,
		`{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":429}},{"create":{"status":400,"error":{"type":"mapper_parsing_exception","reason":"x"}}}]}`,
		`{"errors":true,"items":[{"index":{"status":503}},{"index":{}},{"index":{"status":"400"}}]}`,
		`{"errors":true,"items":[[],1,{"index":{"status":404,"error":"plain"}}]}`,
		`not json`,
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, n uint8) {
		pending := make([]int, n)
		for i := range pending {
			pending[i] = 2*i + 1
		}
		var ref esRefusals
		busy, err := bulkResult(body, pending, &ref)
		if err != nil {
			if len(busy) > 0 || len(ref.lines) > 0 {
				t.Fatalf("error %v, yet %v busy and %v refused", err, busy, ref.lines)
			}
			return
		}
		seen := append(slices.Clone(busy), ref.lines...)
		slices.Sort(seen)
		if len(seen) > len(pending) || len(slices.Compact(slices.Clone(seen))) != len(seen) {
			t.Fatalf("busy %v and refused %v: more than the %d documents, or one twice", busy, ref.lines, len(pending))
		}
		for _, i := range seen {
			if _, ok := slices.BinarySearch(pending, i); !ok {
				t.Fatalf("line %d is not one of the request's %v", i, pending)
			}
		}
		if !slices.IsSorted(busy) || !slices.IsSorted(ref.lines) {
			t.Fatalf("busy %v, refused %v: not in order", busy, ref.lines)
		}
		if len(ref.response) > MaxResponseExcerpt {
			t.Fatalf("response excerpt of %d bytes", len(ref.response))
		}
		if len(ref.lines) > 0 {
			var e *PermanentError
			if perr := ref.result("es", len(pending), nil, nil); perr == nil || !errors.As(perr, &e) || len(e.Lines) != len(ref.lines) {
				t.Fatalf("refusals %v give %v", ref.lines, perr)
			}
		}
	})
}

// FuzzLokiPush: whatever the lines, the push is JSON with every line once,
// as a value of one stream, in order within it; a stream's labels are the
// static ones and, from JSON lines, those of label_fields, each a valid
// UTF-8 string of at most 1024 bytes; no more streams than max_streams
// and the overflow stream.
func FuzzLokiPush(f *testing.F) {
	for _, s := range []string{
		`{"service":{"name":"api"},"level":"info"}` + "\n" + `{"service.name":"db","level":7}` + "\nplain",
		`{"service.name":"a\u0000b","level":"\ud800"}` + "\n" + `{"level":["x"]}` + "\n" + `{"level":null,"level":"e"}`,
		`{"level":"a"}` + "\n" + `{"level":"b"}` + "\n" + `{"level":"c"}` + "\n" + `{"level":"d"}`,
		`{"level":"` + strings.Repeat("a", lokiMaxLabelValue+1) + `"}` + "\n" + `{"level":"` + strings.Repeat("é", lokiMaxLabelValue/2) + `"}`,
	} {
		f.Add([]byte(s))
	}
	const maxStreams = 3
	f.Fuzz(func(t *testing.T, in []byte) {
		o := newTestLoki(t, &Config{URL: "http://127.0.0.1:1", Labels: map[string]string{"job": "j"},
			LabelFields: StringList{"service.name", "level"}, MaxStreams: maxStreams}, fastRetries)
		lines := fuzzLines(in)
		s := lokiScratchPool.Get().(*lokiScratch)
		defer putLokiScratch(s)
		body := o.encode(s, nil, lines)
		var push struct {
			Streams []struct {
				Stream map[string]string `json:"stream"`
				Values [][2]string       `json:"values"`
			} `json:"streams"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&push); err != nil || !utf8.Valid(body) {
			t.Fatalf("push %q: %v", body, err)
		}
		if len(push.Streams) > maxStreams+1 {
			t.Fatalf("%d streams; max_streams is %d", len(push.Streams), maxStreams)
		}
		seen := make([]bool, len(lines))
		for _, st := range push.Streams {
			if st.Stream["job"] != "j" || len(st.Values) == 0 {
				t.Fatalf("stream %v: no job label or no values", st)
			}
			for name, v := range st.Stream {
				if !utf8.ValidString(v) || len(v) > lokiMaxLabelValue || checkLabelName(name) != nil {
					t.Fatalf("label %s=%q", name, v)
				}
			}
			last := int64(-1)
			for _, v := range st.Values {
				ts := parseInt(t, v[0])
				if ts <= last {
					t.Fatalf("stream %v: timestamps out of order", st.Stream)
				}
				last = ts
				i := lineOf(lines, v[1], seen)
				if i < 0 {
					t.Fatalf("value %q is no line of %q, or one seen twice", v[1], lines)
				}
				if _, over := st.Stream[lokiOverflowLabel]; over {
					continue
				}
				if !plainJSONObject(lines[i]) {
					continue // not a JSON object the output takes as one: see TestLoki*
				}
				for _, fld := range []struct{ label, key string }{{"service_name", "service.name"}, {"level", "level"}} {
					want, ok := lokiLabelRef(lines[i], fld.key)
					if got, has := st.Stream[fld.label]; has != ok || got != want {
						t.Fatalf("line %q in stream %v; want %s=%q (%v)", lines[i], st.Stream, fld.label, want, ok)
					}
				}
			}
		}
		for i, ok := range seen {
			if !ok {
				t.Fatalf("line %d %q is in no stream", i, lines[i])
			}
		}
	})
}

// lineOf returns the index of the first line not yet seen that is v, its
// invalid UTF-8 written U+FFFD as the output documents, marking it seen;
// -1 if there is none.
func lineOf(lines [][]byte, v string, seen []bool) int {
	for i, l := range lines {
		if !seen[i] && strings.ToValidUTF8(string(l), "\uFFFD") == v {
			seen[i] = true
			return i
		}
	}
	return -1
}

// plainJSONObject reports whether line is a JSON object that encoding/json
// reads the way any reader would: valid UTF-8, nested at most 64 deep
// (deeper lines the outputs send as strings), no key twice in an object.
func plainJSONObject(line []byte) bool {
	return utf8.Valid(line) && json.Valid(line) && bytes.IndexByte(bytes.TrimSpace(line), '{') == 0 &&
		nesting(line) <= maxObjectDepth && uniqueKeys(line)
}

// uniqueKeys reports whether no object of the valid JSON b has a key twice.
func uniqueKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	var open []map[string]bool // the containers open, innermost last; nil for an array
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return true // the end: b is valid
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				open, expectKey = append(open, map[string]bool{}), true
				continue
			case '[':
				open, expectKey = append(open, nil), false
				continue
			}
			open = open[:len(open)-1]
		} else if k, ok := tok.(string); ok && expectKey {
			if open[len(open)-1][k] {
				return false
			}
			open[len(open)-1][k], expectKey = true, false
			continue
		}
		// A value ended: in an object, a key comes next.
		expectKey = len(open) > 0 && open[len(open)-1] != nil
	}
}

// jsonTextRef is what a JSON value compares by (match.JSONText), read with
// encoding/json: a string's contents, an integer as written, any other
// number in its shortest decimal form, "" for null, the JSON of the rest.
func jsonTextRef(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil || isDigits(strings.TrimPrefix(string(v), "-")) {
			return string(v)
		}
		f, _ := strconv.ParseFloat(string(v), 64) // ±Inf beyond float64's range
		return strconv.FormatFloat(f, 'f', -1, 64)
	case nil:
		return ""
	}
	return string(raw)
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// memberRef returns the member of the JSON object line at the key, else at
// the path of keys it makes split at dots, as encoding/json reads it.
func memberRef(line []byte, key string) (json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(line, &obj) != nil {
		return nil, false
	}
	if v, ok := obj[key]; ok {
		return v, true
	}
	parts := strings.Split(key, ".")
	if len(parts) < 2 {
		return nil, false
	}
	for _, p := range parts[:len(parts)-1] {
		var next map[string]json.RawMessage
		if json.Unmarshal(obj[p], &next) != nil {
			return nil, false
		}
		obj = next
	}
	v, ok := obj[parts[len(parts)-1]]
	return v, ok
}

// lokiLabelRef is the value of the label a loki output takes from the
// member key of line, as its spec says: none for a missing member, an
// object, an array, null, or a text empty or over 1024 bytes.
func lokiLabelRef(line []byte, key string) (string, bool) {
	v, ok := memberRef(line, key)
	if !ok {
		return "", false
	}
	switch bytes.TrimSpace(v)[0] {
	case '{', '[', 'n':
		return "", false
	}
	text := jsonTextRef(v)
	if text == "" || len(text) > lokiMaxLabelValue || !utf8.ValidString(text) {
		return "", false
	}
	return text, true
}

func parseInt(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return n
}

// FuzzCloudWatchEvents: whatever the lines, the events are the non-empty
// lines, in order of time (and of the lines at equal times), as valid
// UTF-8 within the service's size; the requests they are cut into keep
// within the service's limits on events, bytes and span.
func FuzzCloudWatchEvents(f *testing.F) {
	for _, s := range []string{
		`{"t":"2024-05-01T10:00:00Z"}` + "\n" + `{"t":1714557600}` + "\n\nplain\n" + `{"t":1714557600123.5}`,
		`{"t":"2024-04-20T10:00:00Z"}` + "\n" + `{"t":"2024-05-01T10:00:00Z"}` + "\n\xff\xfe",
		`{"t":-1}` + "\n" + `{"t":"yesterday"}` + "\n" + `{"t":1e300}`,
	} {
		f.Add([]byte(s), uint16(1))
	}
	f.Add([]byte(`{"t":"2024-05-01T10:00:00Z"}`), uint16(10_001))
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	o := &cloudWatchOutput{tsPath: []string{"t"}, now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, in []byte, copies uint16) {
		lines := fuzzLines(in)
		for range min(int(copies), 20_000/max(len(lines), 1)) - 1 {
			lines = append(lines, lines[:min(len(lines), 20_000-len(lines))]...)
		}
		events := o.events(lines)
		nonEmpty := 0
		for _, l := range lines {
			if len(l) > 0 {
				nonEmpty++
			}
		}
		if len(events) != nonEmpty {
			t.Fatalf("%d events of %d non-empty lines", len(events), nonEmpty)
		}
		lo, hi := now.Add(-cwMaxAge).UnixMilli(), now.Add(cwMaxFuture).UnixMilli()
		for k, e := range events {
			if e.msg == "" || !utf8.ValidString(e.msg) || len(e.msg) > cwMaxMessage {
				t.Fatalf("event %d: message %q", k, e.msg)
			}
			if l := lines[e.idx]; utf8.Valid(l) && !strings.HasPrefix(string(l), e.msg) {
				t.Fatalf("event %d: message %q of line %q", k, e.msg, l)
			}
			if e.ts < lo || e.ts > hi {
				t.Fatalf("event %d: time %d outside [%d, %d]", k, e.ts, lo, hi)
			}
			if k > 0 {
				if p := events[k-1]; p.ts > e.ts || p.ts == e.ts && p.idx > e.idx {
					t.Fatalf("events %d and %d out of order", k-1, k)
				}
			}
		}
		for start := 0; start < len(events); {
			end := cwChunkEnd(events, start)
			chunk := events[start:end]
			if len(chunk) == 0 || len(chunk) > cwMaxEvents || cwRequestBytes(chunk) > cwMaxBytes ||
				chunk[len(chunk)-1].ts-chunk[0].ts > cwMaxSpan.Milliseconds() {
				t.Fatalf("request of events [%d, %d): %d bytes, span %d ms", start, end, cwRequestBytes(chunk), chunk[len(chunk)-1].ts-chunk[0].ts)
			}
			start = end
		}
	})
}

// FuzzKafkaKey: the key of a line that is a plain JSON object (see
// plainJSONObject) is its member's text as encoding/json reads it (see
// jsonTextRef), an object's or array's JSON as written; empty when the
// member is missing or null.
func FuzzKafkaKey(f *testing.F) {
	for _, s := range []string{
		`{"user":{"id":"u-1"}}`, `{"user.id":7}`, `{"user":{"id":{"a":[1]}}}`, `{"user":{"id":"\u00e9\n"}}`,
		`{"user":{"id":null}}`, `{"user":1}`, `plain`, `{"user":{"id":"a","id":"b"}}`,
		`{"user":{"id":1.0}}`, `{"user":{"id":1e400}}`, `{"user":{"id":-0.5e-3}}`, `{"user":{"id":1},"user":2}`,
		`{"user":{"id":"\ud800"}}`, `{"user":{"id":12345678901234567890123}}`,
	} {
		f.Add([]byte(s))
	}
	o := &kafkaOutput{keyPath: []string{"user", "id"}}
	f.Fuzz(func(t *testing.T, line []byte) {
		got := o.key(line)
		if !plainJSONObject(line) {
			return // not JSON, or a key twice: which member wins is not specified
		}
		var want string
		var obj map[string]json.RawMessage
		if json.Unmarshal(line, &obj) != nil {
			t.Fatalf("%q: not an object", line)
		}
		var user map[string]json.RawMessage
		if json.Unmarshal(obj["user"], &user) == nil {
			if v, ok := user["id"]; ok {
				want = jsonTextRef(v)
				if c := bytes.TrimSpace(v)[0]; c == '{' || c == '[' {
					want = string(bytes.TrimSpace(v))
				}
			}
		}
		if string(got) != want {
			t.Fatalf("%q: key %q; want %q", line, got, want)
		}
	})
}

// exportLogsResponse is the descriptor of OTLP's ExportLogsServiceResponse,
// as opentelemetry/proto/collector/logs/v1/logs_service.proto declares it,
// for the protobuf library to decode responses with.
func exportLogsResponse(t testing.TB) protoreflect.MessageDescriptor {
	t.Helper()
	field := func(name string, num int32, typ descriptorpb.FieldDescriptorProto_Type, msg string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(name)}
		if msg != "" {
			f.TypeName = proto.String(msg)
		}
		return f
	}
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("logs_service.proto"), Package: proto.String("opentelemetry.proto.collector.logs.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("ExportLogsServiceResponse"), Field: []*descriptorpb.FieldDescriptorProto{
				field("partial_success", 1, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE, ".opentelemetry.proto.collector.logs.v1.ExportLogsPartialSuccess")}},
			{Name: proto.String("ExportLogsPartialSuccess"), Field: []*descriptorpb.FieldDescriptorProto{
				field("rejected_log_records", 1, descriptorpb.FieldDescriptorProto_TYPE_INT64, ""),
				field("error_message", 2, descriptorpb.FieldDescriptorProto_TYPE_STRING, "")}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("ExportLogsServiceResponse")
}

// FuzzOTLPPartialSuccess: what the otlp output reads from a protobuf
// response is what the protobuf library decodes from it, whenever the
// library can: the records rejected and the message (cut to its bound),
// merged over repeated fields as the library merges them.
func FuzzOTLPPartialSuccess(f *testing.F) {
	f.Add(partialResponse(2, "bad attribute"))
	f.Add(append(partialResponse(2, "first"), partialResponse(5, "")...))
	f.Add(append(partialResponse(1, "a"), 0x10, 0x07))
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Add([]byte{})
	md := exportLogsResponse(f)
	psField := md.Fields().ByName("partial_success")
	f.Fuzz(func(t *testing.T, body []byte) {
		var resp fasthttp.Response
		resp.Header.SetContentType("application/x-protobuf")
		resp.SetBody(body)
		rejected, message := partialSuccess(&resp)
		want := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(body, want); err != nil {
			// Not compared: the output reads what it can (a message of
			// invalid UTF-8 with the bad bytes replaced) or, when the
			// framing is broken, takes it as a full success.
			return
		}
		ps := want.Get(psField).Message()
		wantRejected := ps.Get(ps.Descriptor().Fields().ByName("rejected_log_records")).Int()
		wantMessage := ps.Get(ps.Descriptor().Fields().ByName("error_message")).String()
		if rejected != wantRejected {
			t.Errorf("rejected %d; want %d", rejected, wantRejected)
		}
		if w := truncate(wantMessage, otlpMaxMessage); message != w {
			t.Errorf("message %q; want %q", message, w)
		}
	})
}
