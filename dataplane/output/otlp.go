package output

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
	"google.golang.org/protobuf/encoding/protowire"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// otlpOutput exports each batch as one OTLP/HTTP logs request: a protobuf
// ExportLogsServiceRequest POSTed to <url>/v1/logs. It encodes the protobuf
// itself, field by field (the messages of opentelemetry-proto's
// collector/logs/v1, logs/v1, common/v1 and resource/v1), so that a batch
// costs no message objects.
type otlpOutput struct {
	h   *httpOutput
	now func() time.Time
}

const (
	otlpLogsPath = "/v1/logs"
	// otlpScopeName is the instrumentation scope of every record.
	otlpScopeName = "streamgate"
	// otlpMaxMessage bounds the collector's message kept in an error.
	otlpMaxMessage = 200
)

var otlpSpec = spec.Component{
	Summary: "Exports each batch to an OpenTelemetry collector or backend over OTLP/HTTP (protobuf, POST <url>/v1/logs): a text line is a record's body, a JSON line's body, severity, attributes, resource, scope, times, flags and trace context fill the record's; retries 429, 502, 503 and 504, honouring Retry-After, and counts the records a partial success rejects.",
	Params: []spec.Param{
		{Name: "url", Kind: spec.String, Required: true, Description: "Base URL of the OTLP/HTTP receiver, http:// or https:// (http://localhost:4318); /v1/logs is appended unless the path already ends with it. Its credentials and query values are masked wherever it is shown."},
		{Name: "headers", Kind: spec.StringMap, Description: "Request headers, such as a backend's API key. Their values are never shown, logged or put in metrics."},
		{Name: "gzip", Kind: spec.Boolean, Default: "false", Description: "Compress request bodies."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on one request, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a request that failed with a connection error, a timeout, 429, 502, 503 or 504 is retried before the batch is dropped and counted; other statuses are not retried, as OTLP requires; a 4xx other than 408 and 429 keeps the batch as a dead letter. Records a partial success rejects are counted as dropped (reason rejected), the others of their batch as delivered."},
		tlsParams("an https:// url")[0],
		tlsParams("an https:// url")[1],
	},
	Examples: []string{
		`{"url": "http://localhost:4318", "gzip": true}`,
		`{"url": "https://otlp.example/otlp", "headers": {"Authorization": "Bearer ..."}, "timeout_ms": 5000, "max_retries": 10}`,
		`{"url": "https://collector.internal:4318", "tls_ca_file": "/etc/streamgate/otel-ca.pem"}`,
		`{"url": "https://10.0.0.9:4318", "tls_insecure_skip_verify": true}`,
	},
}

func validateOTLP(c *Config) error {
	u, err := validateAPIURL("otlp", c.URL)
	if err != nil {
		return err
	}
	if err := validateTLS(c, u.Scheme == "https", "https://"); err != nil {
		return err
	}
	return validateRequestFields(c)
}

func newOTLP(c *Config) (Output, error) {
	return newOTLPOutput(c, defaultRetryTiming)
}

func newOTLPOutput(c *Config, t retryTiming) (*otlpOutput, error) {
	u, err := validateAPIURL("otlp", c.URL)
	if err != nil {
		return nil, err
	}
	h, err := newAPIClient(c, endpointURL(u, otlpLogsPath, nil), nil, t)
	if err != nil {
		return nil, err
	}
	return &otlpOutput{h: h, now: time.Now}, nil
}

// Field numbers of the OTLP messages written.
const (
	// ExportLogsServiceRequest
	fRequestResourceLogs protowire.Number = 1
	// ResourceLogs
	fResourceLogsResource  protowire.Number = 1
	fResourceLogsScopeLogs protowire.Number = 2
	// Resource
	fResourceAttributes protowire.Number = 1
	// ScopeLogs
	fScopeLogsScope      protowire.Number = 1
	fScopeLogsLogRecords protowire.Number = 2
	// InstrumentationScope
	fScopeName       protowire.Number = 1
	fScopeVersion    protowire.Number = 2
	fScopeAttributes protowire.Number = 3
	// LogRecord
	fRecordTime         protowire.Number = 1
	fRecordSeverityNum  protowire.Number = 2
	fRecordSeverityText protowire.Number = 3
	fRecordBody         protowire.Number = 5
	fRecordAttributes   protowire.Number = 6
	fRecordDropped      protowire.Number = 7
	fRecordFlags        protowire.Number = 8
	fRecordTraceID      protowire.Number = 9
	fRecordSpanID       protowire.Number = 10
	fRecordObserved     protowire.Number = 11
	fRecordEventName    protowire.Number = 12
	// KeyValue
	fKeyValueKey   protowire.Number = 1
	fKeyValueValue protowire.Number = 2
	// AnyValue
	fAnyString protowire.Number = 1
	fAnyBool   protowire.Number = 2
	fAnyInt    protowire.Number = 3
	fAnyDouble protowire.Number = 4
	fAnyArray  protowire.Number = 5
	fAnyKVList protowire.Number = 6
	// ArrayValue and KeyValueList
	fListValues protowire.Number = 1
	// ExportLogsServiceResponse, ExportLogsPartialSuccess
	fResponsePartial  protowire.Number = 1
	fPartialRejected  protowire.Number = 1
	fPartialErrorText protowire.Number = 2
)

// otlpScope is the scope field of every ScopeLogs.
var otlpScope = func() []byte {
	var scope []byte
	scope = protowire.AppendTag(scope, fScopeName, protowire.BytesType)
	scope = protowire.AppendString(scope, otlpScopeName)
	b := protowire.AppendTag(nil, fScopeLogsScope, protowire.BytesType)
	return protowire.AppendBytes(b, scope)
}()

// zeros makes room for a message's length before its contents.
var zeros [binary.MaxVarintLen64]byte

// openField appends the tag of the length-delimited field num and returns
// where its contents start, for closeField.
func openField(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return b, len(b)
}

// closeField puts the length of the contents appended since start before
// them.
func closeField(b []byte, start int) []byte {
	n := len(b) - start
	k := protowire.SizeVarint(uint64(n))
	b = append(b, zeros[:k]...)
	copy(b[start+k:], b[start:start+n])
	protowire.AppendVarint(b[start:start], uint64(n)) // writes in place
	return b
}

// appendStringField appends the string field num holding s, with bytes
// that are not UTF-8 replaced by U+FFFD, as protobuf strings must be.
func appendStringField(b []byte, num protowire.Number, s []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	if utf8.Valid(s) {
		return protowire.AppendBytes(b, s)
	}
	start := len(b)
	b = appendValidUTF8(b, s)
	return closeField(b, start)
}

// appendValidUTF8 appends s with each invalid byte replaced by U+FFFD.
func appendValidUTF8(dst, s []byte) []byte {
	for len(s) > 0 {
		r, size := utf8.DecodeRune(s)
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[:size]...)
		}
		s = s[size:]
	}
	return dst
}

// otlpScratch is the per-Write memory of the otlp output.
type otlpScratch struct {
	http     httpScratch
	records  []byte // every record's LogRecord field, in order of lines
	resource []byte
	scope    []byte
	spans    []otlpRecord
	key      []byte         // of a group, being built
	index    map[string]int // group key (resource, then scope) to group
	groups   []otlpGroup
	order    []int
}

// otlpRecord is where a line's LogRecord field is in otlpScratch.records,
// its resource's attributes (a JSON object, nil if it has none) and its
// scope (a JSON object, nil if it has none).
type otlpRecord struct {
	start, end int
	resource   []byte
	scope      []byte
	group      int
}

// otlpGroup is the records of one resource and scope.
type otlpGroup struct {
	resource    []byte // attributes, a JSON object; nil for none
	scope       []byte // a JSON object; nil for the default scope
	size        int    // bytes of the LogRecord fields
	count       int    // records
	first, fill int    // where its records start in order; the next free place while it is filled
}

var otlpScratchPool = sync.Pool{New: func() any { return &otlpScratch{index: make(map[string]int)} }}

func putOTLPScratch(s *otlpScratch) {
	if cap(s.http.body) > maxPooledBuffer {
		s.http.body = nil
	}
	if cap(s.http.zout.b) > maxPooledBuffer {
		s.http.zout.b = nil
	}
	if cap(s.key) > maxPooledBuffer {
		s.key = nil
	}
	if cap(s.records) > maxPooledBuffer {
		s.records = nil
	}
	clear(s.index)
	clear(s.spans) // they point into lines
	clear(s.groups)
	otlpScratchPool.Put(s)
}

// encodeRequest appends the ExportLogsServiceRequest of lines to dst, the
// records observed at now.
func encodeRequest(s *otlpScratch, dst []byte, lines [][]byte, now time.Time) []byte {
	observed := uint64(now.UnixNano())
	s.records = s.records[:0]
	s.spans = s.spans[:0]
	s.groups = s.groups[:0]
	for _, line := range lines {
		start := len(s.records)
		var res, scope []byte
		s.records, res, scope = appendRecord(s.records, line, observed)
		s.spans = append(s.spans, otlpRecord{start: start, end: len(s.records), resource: res, scope: scope})
	}

	// Group the records by the text of their resource's attributes and
	// of their scope, in order of first appearance, each group's records
	// in order. A NUL, which JSON text never holds, ends the resource.
	for i := range s.spans {
		r := &s.spans[i]
		s.key = append(append(append(s.key[:0], r.resource...), 0), r.scope...)
		g, ok := s.index[string(s.key)]
		if !ok {
			g = len(s.groups)
			s.groups = append(s.groups, otlpGroup{resource: r.resource, scope: r.scope})
			s.index[string(s.key)] = g
		}
		r.group = g
		s.groups[g].size += r.end - r.start
		s.groups[g].count++
	}
	n := 0
	for g := range s.groups {
		s.groups[g].first, s.groups[g].fill = n, n
		n += s.groups[g].count
	}
	s.order = slices.Grow(s.order[:0], len(s.spans))[:len(s.spans)]
	for i := range s.spans {
		g := &s.groups[s.spans[i].group]
		s.order[g.fill] = i
		g.fill++
	}

	dst = slices.Grow(dst, len(s.records)+len(s.groups)*32)
	for g := range s.groups {
		grp := &s.groups[g]
		s.resource = s.resource[:0]
		if grp.resource != nil {
			var start int
			s.resource, start = openField(s.resource, fResourceLogsResource)
			s.resource = appendAttributes(s.resource, fResourceAttributes, parseJSON(grp.resource))
			s.resource = closeField(s.resource, start)
		}
		scope := otlpScope
		if grp.scope != nil {
			s.scope = appendScope(s.scope[:0], parseJSON(grp.scope))
			scope = s.scope
		}
		scopeLen := len(scope) + grp.size
		rlLen := len(s.resource) + protowire.SizeTag(fResourceLogsScopeLogs) + protowire.SizeBytes(scopeLen)
		dst = protowire.AppendTag(dst, fRequestResourceLogs, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(rlLen))
		dst = append(dst, s.resource...)
		dst = protowire.AppendTag(dst, fResourceLogsScopeLogs, protowire.BytesType)
		dst = protowire.AppendVarint(dst, uint64(scopeLen))
		dst = append(dst, scope...)
		for _, i := range s.order[grp.first : grp.first+grp.count] {
			dst = append(dst, s.records[s.spans[i].start:s.spans[i].end]...)
		}
	}
	return dst
}

// parseJSON parses b, valid JSON that is not modified while the result is
// used, without copying it.
func parseJSON(b []byte) gjson.Result {
	return gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b)))
}

// appendScope appends the scope field of a ScopeLogs from the JSON object
// scope: its name, version and attributes.
func appendScope(dst []byte, scope gjson.Result) []byte {
	dst, start := openField(dst, fScopeLogsScope)
	if v := scope.Get("name"); v.Type == gjson.String {
		dst = appendStringField(dst, fScopeName, resultBytes(v))
	}
	if v := scope.Get("version"); v.Type == gjson.String {
		dst = appendStringField(dst, fScopeVersion, resultBytes(v))
	}
	if v := scope.Get("attributes"); v.IsObject() {
		dst = appendAttributes(dst, fScopeAttributes, v)
	}
	return closeField(dst, start)
}

// appendRecord appends the LogRecord field (of ScopeLogs) of line to dst.
// It returns the attributes of the line's resource and its scope, JSON
// objects that are slices of line, or nil.
func appendRecord(dst, line []byte, observed uint64) ([]byte, []byte, []byte) {
	dst, start := openField(dst, fScopeLogsLogRecords)
	obj, ok := jsonObject(line)
	if !ok {
		dst, bstart := openField(dst, fRecordBody)
		dst = appendStringField(dst, fAnyString, line)
		dst = closeField(dst, bstart)
		dst = protowire.AppendTag(dst, fRecordObserved, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, observed)
		return closeField(dst, start), nil, nil
	}
	var r recordFields
	r.collect(parseJSON(obj))
	dst = r.appendAttributes(dst)
	if r.time != 0 {
		dst = protowire.AppendTag(dst, fRecordTime, protowire.Fixed64Type)
		dst = protowire.AppendFixed64(dst, r.time)
	}
	if r.severityNum != 0 {
		dst = protowire.AppendTag(dst, fRecordSeverityNum, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(r.severityNum))
	}
	if r.at[takenSeverity] != 0 {
		dst = appendStringField(dst, fRecordSeverityText, resultBytes(r.severity))
	}
	if r.at[takenBody] != 0 {
		var bstart int
		dst, bstart = openField(dst, fRecordBody)
		dst = appendAnyValue(dst, r.body)
		dst = closeField(dst, bstart)
	}
	if r.at[takenTraceID] != 0 {
		dst = protowire.AppendTag(dst, fRecordTraceID, protowire.BytesType)
		dst = protowire.AppendBytes(dst, r.ids[:16])
	}
	if r.at[takenSpanID] != 0 {
		dst = protowire.AppendTag(dst, fRecordSpanID, protowire.BytesType)
		dst = protowire.AppendBytes(dst, r.ids[16:])
	}
	if r.at[takenDropped] != 0 {
		dst = protowire.AppendTag(dst, fRecordDropped, protowire.VarintType)
		dst = protowire.AppendVarint(dst, uint64(r.dropped))
	}
	if r.at[takenFlags] != 0 {
		dst = protowire.AppendTag(dst, fRecordFlags, protowire.Fixed32Type)
		dst = protowire.AppendFixed32(dst, r.flags)
	}
	if r.at[takenEventName] != 0 {
		dst = appendStringField(dst, fRecordEventName, resultBytes(r.eventName))
	}
	if r.at[takenObserved] != 0 {
		observed = r.observed
	}
	dst = protowire.AppendTag(dst, fRecordObserved, protowire.Fixed64Type)
	dst = protowire.AppendFixed64(dst, observed)
	var res, scope []byte
	if r.at[takenResource] != 0 {
		res = obj[r.resource.Index : r.resource.Index+len(r.resource.Raw)]
	}
	if r.at[takenScope] != 0 {
		scope = obj[r.scope.Index : r.scope.Index+len(r.scope.Raw)]
	}
	return closeField(dst, start), res, scope
}

// The members of a JSON line that fill a LogRecord's own fields, or the
// resource's; recordFields.at holds where their values are.
const (
	takenBody = iota
	takenSeverity
	takenSeverityNum
	takenTime
	takenAttributes
	takenResource
	takenTraceID
	takenSpanID
	takenObserved
	takenFlags
	takenDropped
	takenEventName
	takenScope
	nTaken
)

// recordFields are the members of a JSON line that fill a LogRecord's own
// fields. A member that cannot fill its field (a severityNumber that is
// not an integer from 1 to 24, a traceId that is not 32 hex digits) is an
// attribute like any other; so is a second member of the same name.
type recordFields struct {
	obj        gjson.Result
	body       gjson.Result
	severity   gjson.Result // a string
	attributes gjson.Result // an object
	resource   gjson.Result // resource.attributes, an object
	scope      gjson.Result // an object
	eventName  gjson.Result // a string
	// at is where in the line the value of each member taken is, 0 for
	// none; values never start at 0, where the line's '{' is.
	at                 [nTaken]int
	bodyRank, timeRank int
	severityRank       int
	time, observed     uint64
	severityNum        int
	flags, dropped     uint32
	ids                [24]byte // trace ID, span ID
}

// Names of the members that fill a LogRecord's fields, by precedence.
var (
	bodyKeys     = []string{"body", "message", "msg"}
	severityKeys = []string{"severityText", "level"}
	timeKeys     = []string{"timeUnixNano", "timestamp", "@timestamp", "time"}
)

// collect finds the members of obj that fill the record's fields.
func (r *recordFields) collect(obj gjson.Result) {
	r.obj = obj
	r.bodyRank, r.severityRank, r.timeRank = len(bodyKeys), len(severityKeys), len(timeKeys)
	obj.ForEach(func(k, v gjson.Result) bool {
		key := k.Str
		if rank := keyRank(bodyKeys, key); rank < r.bodyRank {
			r.body, r.bodyRank, r.at[takenBody] = v, rank, v.Index
			return true
		}
		if rank := keyRank(severityKeys, key); rank < r.severityRank && v.Type == gjson.String {
			r.severity, r.severityRank, r.at[takenSeverity] = v, rank, v.Index
			return true
		}
		if rank := keyRank(timeKeys, key); rank < r.timeRank {
			if t, ok := parseTime(key, v); ok {
				r.time, r.timeRank, r.at[takenTime] = t, rank, v.Index
				return true
			}
		}
		switch key {
		case "severityNumber":
			if n := v.Int(); r.at[takenSeverityNum] == 0 && v.Type == gjson.Number && float64(n) == v.Num && n >= 1 && n <= 24 {
				r.severityNum, r.at[takenSeverityNum] = int(n), v.Index
			}
		case "attributes":
			if r.at[takenAttributes] == 0 && v.IsObject() {
				r.attributes, r.at[takenAttributes] = v, v.Index
			}
		case "resource":
			if r.at[takenResource] == 0 && v.IsObject() {
				if a := v.Get("attributes"); a.IsObject() {
					r.resource, r.at[takenResource] = a, v.Index
				}
			}
		case "observedTimeUnixNano":
			if t, ok := parseTime(key, v); ok && r.at[takenObserved] == 0 {
				r.observed, r.at[takenObserved] = t, v.Index
			}
		case "flags":
			if n, ok := uint32Value(v); ok && r.at[takenFlags] == 0 {
				r.flags, r.at[takenFlags] = n, v.Index
			}
		case "droppedAttributesCount":
			if n, ok := uint32Value(v); ok && r.at[takenDropped] == 0 {
				r.dropped, r.at[takenDropped] = n, v.Index
			}
		case "eventName":
			if v.Type == gjson.String && r.at[takenEventName] == 0 {
				r.eventName, r.at[takenEventName] = v, v.Index
			}
		case "scope":
			if v.IsObject() && r.at[takenScope] == 0 {
				r.scope, r.at[takenScope] = v, v.Index
			}
		case "traceId":
			if r.at[takenTraceID] == 0 && hexID(r.ids[:16], v) {
				r.at[takenTraceID] = v.Index
			}
		case "spanId":
			if r.at[takenSpanID] == 0 && hexID(r.ids[16:], v) {
				r.at[takenSpanID] = v.Index
			}
		}
		return true
	})
	if r.at[takenSeverityNum] == 0 && r.at[takenSeverity] != 0 {
		r.severityNum = severityNumber(r.severity.Str)
	}
}

// uint32Value reads v, an integer from 0 to 2³²-1.
func uint32Value(v gjson.Result) (uint32, bool) {
	if v.Type != gjson.Number || !isInteger(v.Raw) {
		return 0, false
	}
	n, err := strconv.ParseUint(v.Raw, 10, 32)
	return uint32(n), err == nil
}

// keyRank is the position of key in keys, len(keys) if it is not there.
func keyRank(keys []string, key string) int {
	for i, k := range keys {
		if k == key {
			return i
		}
	}
	return len(keys)
}

// taken reports whether the member whose value is v fills a field.
func (r *recordFields) taken(v gjson.Result) bool {
	for _, at := range r.at {
		if at == v.Index {
			return true
		}
	}
	return false
}

// appendAttributes appends the record's attributes: the members of its
// attributes object, then every member of the line that fills no field.
func (r *recordFields) appendAttributes(dst []byte) []byte {
	if r.at[takenAttributes] != 0 {
		dst = appendAttributes(dst, fRecordAttributes, r.attributes)
	}
	r.obj.ForEach(func(k, v gjson.Result) bool {
		if !r.taken(v) {
			dst = appendKeyValue(dst, fRecordAttributes, k, v)
		}
		return true
	})
	return dst
}

// appendAttributes appends a KeyValue field num for each member of obj.
func appendAttributes(dst []byte, num protowire.Number, obj gjson.Result) []byte {
	obj.ForEach(func(k, v gjson.Result) bool {
		dst = appendKeyValue(dst, num, k, v)
		return true
	})
	return dst
}

// appendKeyValue appends the KeyValue field num of the member k, v.
func appendKeyValue(dst []byte, num protowire.Number, k, v gjson.Result) []byte {
	dst, start := openField(dst, num)
	dst = appendStringField(dst, fKeyValueKey, resultBytes(k))
	var vstart int
	dst, vstart = openField(dst, fKeyValueValue)
	dst = appendAnyValue(dst, v)
	dst = closeField(dst, vstart)
	return closeField(dst, start)
}

// appendAnyValue appends the fields of the AnyValue of the JSON value v: a
// string, a bool, an int (an integer that fits in 64 bits), a double (any
// other number), an array or a key-value list; null is the empty AnyValue.
func appendAnyValue(dst []byte, v gjson.Result) []byte {
	switch v.Type {
	case gjson.String:
		return appendStringField(dst, fAnyString, resultBytes(v))
	case gjson.True, gjson.False:
		dst = protowire.AppendTag(dst, fAnyBool, protowire.VarintType)
		return protowire.AppendVarint(dst, protowire.EncodeBool(v.Type == gjson.True))
	case gjson.Number:
		if isInteger(v.Raw) {
			if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
				dst = protowire.AppendTag(dst, fAnyInt, protowire.VarintType)
				return protowire.AppendVarint(dst, uint64(n))
			}
		}
		dst = protowire.AppendTag(dst, fAnyDouble, protowire.Fixed64Type)
		return protowire.AppendFixed64(dst, math.Float64bits(v.Num))
	case gjson.JSON:
		if v.IsArray() {
			dst, start := openField(dst, fAnyArray)
			v.ForEach(func(_, e gjson.Result) bool {
				var estart int
				dst, estart = openField(dst, fListValues)
				dst = appendAnyValue(dst, e)
				dst = closeField(dst, estart)
				return true
			})
			return closeField(dst, start)
		}
		dst, start := openField(dst, fAnyKVList)
		dst = appendAttributes(dst, fListValues, v)
		return closeField(dst, start)
	}
	return dst // null: no value
}

// isInteger reports whether the JSON number s is written as an integer, so
// that parsing it as one fails only when it is out of range, without
// building an error for every fraction.
func isInteger(s string) bool {
	return strings.IndexAny(s, ".eE") < 0
}

// resultBytes returns the text of a string (unescaped) or the JSON text of
// any other value, as bytes that alias the result where it can.
func resultBytes(v gjson.Result) []byte {
	s := v.Raw
	if v.Type == gjson.String {
		s = v.Str
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// severityNumber maps a severity text to the OpenTelemetry severity number
// of its range, 0 (unspecified) for a text it does not know.
func severityNumber(text string) int {
	switch strings.ToLower(text) {
	case "trace":
		return 1
	case "debug":
		return 5
	case "info", "information", "informational":
		return 9
	case "notice":
		return 10
	case "warn", "warning":
		return 13
	case "error", "err":
		return 17
	case "critical", "crit":
		return 18
	case "alert":
		return 19
	case "fatal", "panic", "emerg", "emergency":
		return 21
	}
	return 0
}

// parseTime reads the time member key: timeUnixNano and
// observedTimeUnixNano are nanoseconds since
// the Unix epoch, a number or a string of digits; the others an RFC 3339
// string. It reports false for a value that is neither, or before 1970.
func parseTime(key string, v gjson.Result) (uint64, bool) {
	if key == "timeUnixNano" || key == "observedTimeUnixNano" {
		var s string
		switch v.Type {
		case gjson.Number:
			s = v.Raw
		case gjson.String:
			s = v.Str
		default:
			return 0, false
		}
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil && n > 0
	}
	if v.Type != gjson.String {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, v.Str)
	if err != nil || t.Before(time.Unix(0, 1)) || t.Year() > 2262 {
		return 0, false
	}
	return uint64(t.UnixNano()), true
}

// hexID decodes v, a string of 2·len(id) hex digits not all zero, into id.
func hexID(id []byte, v gjson.Result) bool {
	if v.Type != gjson.String || len(v.Str) != 2*len(id) {
		return false
	}
	var nonzero byte
	for i := range id {
		hi, lo := unhex(v.Str[2*i]), unhex(v.Str[2*i+1])
		if hi > 15 || lo > 15 {
			return false
		}
		id[i] = hi<<4 | lo
		nonzero |= id[i]
	}
	return nonzero != 0
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// Write exports b's lines as one request.
func (o *otlpOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	h := o.h
	s := otlpScratchPool.Get().(*otlpScratch)
	defer putOTLPScratch(s)
	return h.exchange(func(req *fasthttp.Request, resp *fasthttp.Response) error {
		h.prepare(req, "application/x-protobuf")
		s.http.body = encodeRequest(s, s.http.body[:0], b.Lines, o.now())
		req.SetBodyRaw(h.compress(&s.http, s.http.body))
		var rejected int64
		var message string
		err := h.retry(ctx, func() (time.Duration, bool, error) {
			wait, retry, err := h.post(ctx, req, resp)
			if err != nil {
				var se *statusError
				if retry && errors.As(err, &se) && !otlpRetryable(se.code) {
					retry = false
				}
				return wait, retry, err
			}
			rejected, message = partialSuccess(resp)
			return 0, false, nil
		})
		if err != nil || rejected <= 0 {
			return err
		}
		n := int(min(rejected, int64(len(b.Lines))))
		if message == "" {
			message = "partial success"
		}
		return &RejectedError{Output: h.name, Rejected: n, Lines: len(b.Lines), Reasons: map[string]int{message: n}}
	})
}

// otlpRetryable reports whether OTLP/HTTP allows a request answered with
// code to be retried.
func otlpRetryable(code int) bool {
	switch code {
	case fasthttp.StatusTooManyRequests, fasthttp.StatusBadGateway, fasthttp.StatusServiceUnavailable, fasthttp.StatusGatewayTimeout:
		return true
	}
	return false
}

// partialSuccess reads the partial success of an ExportLogsServiceResponse,
// protobuf or JSON as its content type says: the records the receiver
// rejected and its message. A response it cannot read is a full success.
func partialSuccess(resp *fasthttp.Response) (rejected int64, message string) {
	body := resp.Body()
	if len(body) == 0 {
		return 0, ""
	}
	if bytes.Contains(resp.Header.ContentType(), []byte("json")) {
		if !gjson.ValidBytes(body) {
			return 0, ""
		}
		ps := gjson.GetBytes(body, "partialSuccess")
		return ps.Get("rejectedLogRecords").Int(), truncate(ps.Get("errorMessage").String(), otlpMaxMessage)
	}
	// A message field given more than once is merged, as protobuf
	// decoders do: each occurrence's fields override the earlier ones'.
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return 0, ""
		}
		body = body[n:]
		if num == fResponsePartial && typ == protowire.BytesType {
			ps, m := protowire.ConsumeBytes(body)
			if m < 0 || !readPartial(ps, &rejected, &message) {
				return 0, ""
			}
			body = body[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, body)
		if m < 0 {
			return 0, ""
		}
		body = body[m:]
	}
	return rejected, message
}

// readPartial reads an ExportLogsPartialSuccess into rejected and message,
// the fields it holds overriding theirs; false if it does not decode.
func readPartial(b []byte, rejected *int64, message *string) bool {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case num == fPartialRejected && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return false
			}
			*rejected, b = int64(v), b[m:]
			continue
		case num == fPartialErrorText && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return false
			}
			*message, b = truncate(strings.ToValidUTF8(string(v), "\uFFFD"), otlpMaxMessage), b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return false
		}
		b = b[m:]
	}
	return true
}

// Close makes Write return ErrClosed, ends retry waits and closes the idle
// connections.
func (o *otlpOutput) Close() error { return o.h.Close() }
