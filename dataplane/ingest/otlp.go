package ingest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"streamgate/dataplane/match"
)

// OTLP log records become lines of JSON, one per record, with the members
// below, in this order; a member whose field is empty (zero, or no value)
// is left out:
//
//	timeUnixNano, observedTimeUnixNano   strings of decimal nanoseconds
//	severityNumber                       1 to 24
//	severityText                         as sent, or the short name of severityNumber (INFO, WARN2, …) when none was
//	body                                 the body's value
//	attributes                           an object of the record's attributes
//	droppedAttributesCount, flags        numbers
//	traceId, spanId                      lower-case hex
//	eventName                            a string
//	resource                             {"attributes": {…}} of the record's resource
//	scope                                {"name", "version", "attributes": {…}} of its instrumentation scope
//
// These are the names OTLP's JSON encoding uses, and those the otlp output
// reads back, so a record that comes in over OTLP and leaves by the otlp
// output keeps its fields; attribute_filter finds service.name under
// resource.attributes, log.level under severityText, and any record
// attribute under attributes.
//
// A value (AnyValue) becomes its JSON counterpart: a string, a bool, an
// integer, a number (a double is always written with a fraction or an
// exponent, so that it stays a double; NaN and the infinities, which JSON
// lacks, become the strings "NaN", "Infinity" and "-Infinity"), an array,
// an object (a key-value list), base64 text (bytes), or null (no value).
// Schema URLs and the dropped attribute counts of resources and scopes are
// not kept.

// Media types of OTLP/HTTP bodies.
const (
	otlpProtobuf = "application/x-protobuf"
	otlpJSON     = "application/json"
)

// decodeOTLPLogs decodes an ExportLogsServiceRequest, protobuf or OTLP JSON,
// into dst. The request's only field, resource_logs, is LogsData's, with
// the same number and JSON name, so LogsData decodes it. Unknown fields are
// skipped, as OTLP requires of receivers.
func decodeOTLPLogs(body []byte, json bool, dst *logspb.LogsData) error {
	if json {
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, dst); err != nil {
			return fmt.Errorf("cannot decode the OTLP JSON body: %w", err)
		}
		fixJSONIDs(dst)
		return nil
	}
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, dst); err != nil {
		return fmt.Errorf("cannot decode the OTLP protobuf body: %w", err)
	}
	return nil
}

// fixJSONIDs turns the trace and span IDs of a JSON request back into
// bytes. OTLP's JSON encoding writes them as hex, where protojson reads
// base64 for every bytes field; the hex digits are all base64 digits too,
// so protojson read 32 hex digits as 24 bytes, and 16 as 12: encoding
// those bytes again gives the hex text back, which is then decoded. An ID
// sent in base64, as protojson writes it, is kept as it came.
func fixJSONIDs(d *logspb.LogsData) {
	for _, rl := range d.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			for _, r := range sl.LogRecords {
				r.TraceId = hexID(r.TraceId, 16)
				r.SpanId = hexID(r.SpanId, 8)
			}
		}
	}
}

// hexID returns the n-byte ID whose hex text protojson read as base64 into
// b, or b when it was not such text.
func hexID(b []byte, n int) []byte {
	if len(b) != n*3/2 {
		return b
	}
	var text [32]byte
	base64.StdEncoding.Encode(text[:2*n], b)
	id := make([]byte, n)
	if _, err := hex.Decode(id, text[:2*n]); err != nil {
		return b
	}
	return id
}

// otlpLines writes OTLP log records as lines; see the comment at the top
// of this file. It keeps its memory between requests; it is not safe for
// concurrent use.
type otlpLines struct {
	resource []byte // `"resource":{…}` of the current resource, or empty
	scope    []byte // `"scope":{…}` of the current scope, or empty
	line     []byte
}

// each calls emit with the line of every record of d, in order; the line
// is valid until emit returns.
func (w *otlpLines) each(d *logspb.LogsData, emit func(line []byte)) {
	for _, rl := range d.ResourceLogs {
		w.resource = w.resource[:0]
		if attrs := rl.GetResource().GetAttributes(); len(attrs) > 0 {
			w.resource = append(w.resource, `"resource":{"attributes":`...)
			w.resource = appendKeyValues(w.resource, attrs)
			w.resource = append(w.resource, '}')
		}
		for _, sl := range rl.ScopeLogs {
			w.scope = appendScope(w.scope[:0], sl.Scope)
			for _, r := range sl.LogRecords {
				w.line = appendLogRecord(w.line[:0], r, w.resource, w.scope)
				emit(w.line)
			}
		}
	}
}

// appendScope appends the `"scope":{…}` member of s, nothing when s has no
// name, version or attribute.
func appendScope(dst []byte, s *commonpb.InstrumentationScope) []byte {
	if s.GetName() == "" && s.GetVersion() == "" && len(s.GetAttributes()) == 0 {
		return dst
	}
	dst = append(dst, `"scope":{`...)
	sep := false
	if s.Name != "" {
		dst = append(dst, `"name":`...)
		dst = appendString(dst, s.Name)
		sep = true
	}
	if s.Version != "" {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"version":`...)
		dst = appendString(dst, s.Version)
		sep = true
	}
	if len(s.Attributes) > 0 {
		if sep {
			dst = append(dst, ',')
		}
		dst = append(dst, `"attributes":`...)
		dst = appendKeyValues(dst, s.Attributes)
	}
	return append(dst, '}')
}

// appendLogRecord appends the line of r, whose resource and scope members
// are given as JSON text (empty for none).
func appendLogRecord(dst []byte, r *logspb.LogRecord, resource, scope []byte) []byte {
	dst = append(dst, '{')
	start := len(dst)
	member := func(name string) {
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	if r.TimeUnixNano != 0 {
		member("timeUnixNano")
		dst = append(dst, '"')
		dst = strconv.AppendUint(dst, r.TimeUnixNano, 10)
		dst = append(dst, '"')
	}
	if r.ObservedTimeUnixNano != 0 {
		member("observedTimeUnixNano")
		dst = append(dst, '"')
		dst = strconv.AppendUint(dst, r.ObservedTimeUnixNano, 10)
		dst = append(dst, '"')
	}
	if r.SeverityNumber != 0 {
		member("severityNumber")
		dst = strconv.AppendInt(dst, int64(r.SeverityNumber), 10)
	}
	if text := r.SeverityText; text != "" {
		member("severityText")
		dst = appendString(dst, text)
	} else if name := severityShortName(int32(r.SeverityNumber)); name != "" {
		member("severityText")
		dst = appendString(dst, name)
	}
	if r.Body != nil {
		member("body")
		dst = appendAnyValue(dst, r.Body)
	}
	if len(r.Attributes) > 0 {
		member("attributes")
		dst = appendKeyValues(dst, r.Attributes)
	}
	if r.DroppedAttributesCount != 0 {
		member("droppedAttributesCount")
		dst = strconv.AppendUint(dst, uint64(r.DroppedAttributesCount), 10)
	}
	if r.Flags != 0 {
		member("flags")
		dst = strconv.AppendUint(dst, uint64(r.Flags), 10)
	}
	if id := r.TraceId; len(id) > 0 && !allZero(id) {
		member("traceId")
		dst = appendHex(dst, id)
	}
	if id := r.SpanId; len(id) > 0 && !allZero(id) {
		member("spanId")
		dst = appendHex(dst, id)
	}
	if r.EventName != "" {
		member("eventName")
		dst = appendString(dst, r.EventName)
	}
	for _, m := range [2][]byte{resource, scope} {
		if len(m) > 0 {
			if len(dst) > start {
				dst = append(dst, ',')
			}
			dst = append(dst, m...)
		}
	}
	return append(dst, '}')
}

// severityShortNames are the short names of the severity numbers 1 to 24,
// as the OpenTelemetry log data model gives them.
var severityShortNames = [25]string{"",
	"TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4",
	"INFO", "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4",
	"ERROR", "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4"}

func severityShortName(n int32) string {
	if n < 1 || n > 24 {
		return ""
	}
	return severityShortNames[n]
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func appendHex(dst, b []byte) []byte {
	dst = append(dst, '"')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '"')
}

func appendString(dst []byte, s string) []byte {
	// AppendJSONString neither keeps nor writes s: no copy of it is needed.
	return match.AppendJSONString(dst, unsafe.Slice(unsafe.StringData(s), len(s)))
}

// appendKeyValues appends kvs as a JSON object, keys in order (a repeated
// key is written again).
func appendKeyValues(dst []byte, kvs []*commonpb.KeyValue) []byte {
	dst = append(dst, '{')
	for i, kv := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, kv.GetKey())
		dst = append(dst, ':')
		dst = appendAnyValue(dst, kv.GetValue())
	}
	return append(dst, '}')
}

// appendAnyValue appends the JSON value of v; see the comment at the top of
// this file.
func appendAnyValue(dst []byte, v *commonpb.AnyValue) []byte {
	switch x := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return appendString(dst, x.StringValue)
	case *commonpb.AnyValue_BoolValue:
		return strconv.AppendBool(dst, x.BoolValue)
	case *commonpb.AnyValue_IntValue:
		return strconv.AppendInt(dst, x.IntValue, 10)
	case *commonpb.AnyValue_DoubleValue:
		return appendDouble(dst, x.DoubleValue)
	case *commonpb.AnyValue_BytesValue:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, x.BytesValue)
		return append(dst, '"')
	case *commonpb.AnyValue_ArrayValue:
		dst = append(dst, '[')
		for i, e := range x.ArrayValue.GetValues() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendAnyValue(dst, e)
		}
		return append(dst, ']')
	case *commonpb.AnyValue_KvlistValue:
		return appendKeyValues(dst, x.KvlistValue.GetValues())
	}
	return append(dst, "null"...) // no value, or one logs do not use
}

// appendDouble appends f as a JSON number that reads back as a double: with
// a fraction or an exponent, never as an integer.
func appendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	for _, c := range dst[start:] {
		if c == '.' || c == 'e' {
			return dst
		}
	}
	return append(dst, ".0"...)
}
