package ingest

import (
	"encoding/base64"
	"math"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	"streamgate/dataplane/match"
)

// The protobuf fast path: an ExportLogsServiceRequest as encoders write it
// is turned into lines straight from its bytes, with no message objects.
// It takes the canonical shape only: each singular field at most once, the
// wire type its field has, valid UTF-8 in strings, values nested at most
// wireMaxDepth deep. Anything else, however valid, makes it give up, and
// the request is decoded into messages (decodeOTLPLogs) and written by
// otlpLines; so the lines never depend on the path (FuzzOTLPWire checks
// that both give the same lines wherever the fast path answers).

// wireMaxDepth bounds the nesting of values the fast path follows.
const wireMaxDepth = 64

// Field numbers of the OTLP messages read.
const (
	wRequestResourceLogs = 1

	wResourceLogsResource  = 1
	wResourceLogsScopeLogs = 2
	wResourceLogsSchemaURL = 3
	wResourceAttributes    = 1
	wResourceEntityRefs    = 3

	wScopeLogsScope     = 1
	wScopeLogsRecords   = 2
	wScopeLogsSchemaURL = 3
	wScopeName          = 1
	wScopeVersion       = 2
	wScopeAttributes    = 3

	wRecordTime        = 1
	wRecordSeverityNum = 2
	wRecordSeverityTxt = 3
	wRecordBody        = 5
	wRecordAttributes  = 6
	wRecordDropped     = 7
	wRecordFlags       = 8
	wRecordTraceID     = 9
	wRecordSpanID      = 10
	wRecordObserved    = 11
	wRecordEventName   = 12

	wKeyValueKey   = 1
	wKeyValueValue = 2
	wListValues    = 1 // ArrayValue and KeyValueList

	wAnyString = 1
	wAnyBool   = 2
	wAnyInt    = 3
	wAnyDouble = 4
	wAnyArray  = 5
	wAnyKVList = 6
	wAnyBytes  = 7

	// EntityRef's fields are all strings: schema_url, type, id_keys and
	// description_keys.
	wEntityRefSchemaURL       = 1
	wEntityRefType            = 2
	wEntityRefIDKeys          = 3
	wEntityRefDescriptionKeys = 4
)

// wireField is one field of a message: its number, wire type and value
// (the bytes of a length-delimited field, else the varint or fixed value
// in v).
type wireField struct {
	num  protowire.Number
	typ  protowire.Type
	b    []byte
	v    uint64
	size int // of the whole field, tag included
}

// nextField reads the field at the start of b; ok is false when it does
// not decode (the slow path decides).
func nextField(b []byte) (f wireField, ok bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num > protowire.MaxValidNumber {
		// ConsumeTag takes numbers up to MaxInt32; the decoder refuses
		// those above MaxValidNumber.
		return f, false
	}
	f.num, f.typ = num, typ
	rest := b[n:]
	var m int
	switch typ {
	case protowire.VarintType:
		f.v, m = protowire.ConsumeVarint(rest)
	case protowire.Fixed64Type:
		f.v, m = protowire.ConsumeFixed64(rest)
	case protowire.Fixed32Type:
		var v uint32
		v, m = protowire.ConsumeFixed32(rest)
		f.v = uint64(v)
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(rest)
	default:
		return f, false // groups: the slow path
	}
	if m < 0 {
		return f, false
	}
	f.size = n + m
	return f, true
}

// wireSchema gives the wire type of each known field of a message, by
// number, plus one; 0 for a field it does not know. text has the bit of
// each string field: the decoder refuses one that is not valid UTF-8, so
// singular does too, even for a field the lines leave out.
type wireSchema struct {
	types [16]int8
	text  uint16
}

func schema(fields map[protowire.Number]protowire.Type, text ...protowire.Number) *wireSchema {
	var s wireSchema
	for num, typ := range fields {
		s.types[num] = int8(typ) + 1
	}
	for _, num := range text {
		s.text |= 1 << num
	}
	return &s
}

// knownType reports whether f is a field the schema has (skip false), and
// then whether it has its wire type.
func knownType(f wireField, known *wireSchema) (skip, ok bool) {
	if f.num >= protowire.Number(len(known.types)) || known.types[f.num] == 0 {
		return true, true
	}
	return false, known.types[f.num] == int8(f.typ)+1
}

// Known fields and their wire types, by message.
var (
	wireRequest      = schema(map[protowire.Number]protowire.Type{wRequestResourceLogs: protowire.BytesType})
	wireResourceLogs = schema(map[protowire.Number]protowire.Type{wResourceLogsResource: protowire.BytesType, wResourceLogsScopeLogs: protowire.BytesType,
		wResourceLogsSchemaURL: protowire.BytesType}, wResourceLogsSchemaURL)
	wireResource  = schema(map[protowire.Number]protowire.Type{wResourceAttributes: protowire.BytesType, wResourceEntityRefs: protowire.BytesType})
	wireEntityRef = schema(map[protowire.Number]protowire.Type{wEntityRefSchemaURL: protowire.BytesType, wEntityRefType: protowire.BytesType,
		wEntityRefIDKeys: protowire.BytesType, wEntityRefDescriptionKeys: protowire.BytesType},
		wEntityRefSchemaURL, wEntityRefType, wEntityRefIDKeys, wEntityRefDescriptionKeys)
	wireScopeLogs = schema(map[protowire.Number]protowire.Type{wScopeLogsScope: protowire.BytesType, wScopeLogsRecords: protowire.BytesType,
		wScopeLogsSchemaURL: protowire.BytesType}, wScopeLogsSchemaURL)
	wireScope  = schema(map[protowire.Number]protowire.Type{wScopeName: protowire.BytesType, wScopeVersion: protowire.BytesType, wScopeAttributes: protowire.BytesType})
	wireRecord = schema(map[protowire.Number]protowire.Type{
		wRecordTime: protowire.Fixed64Type, wRecordSeverityNum: protowire.VarintType, wRecordSeverityTxt: protowire.BytesType,
		wRecordBody: protowire.BytesType, wRecordAttributes: protowire.BytesType, wRecordDropped: protowire.VarintType,
		wRecordFlags: protowire.Fixed32Type, wRecordTraceID: protowire.BytesType, wRecordSpanID: protowire.BytesType,
		wRecordObserved: protowire.Fixed64Type, wRecordEventName: protowire.BytesType,
	})
	wireKeyValue = schema(map[protowire.Number]protowire.Type{wKeyValueKey: protowire.BytesType, wKeyValueValue: protowire.BytesType})
	wireList     = schema(map[protowire.Number]protowire.Type{wListValues: protowire.BytesType})
	wireAnyValue = schema(map[protowire.Number]protowire.Type{
		wAnyString: protowire.BytesType, wAnyBool: protowire.VarintType, wAnyInt: protowire.VarintType,
		wAnyDouble: protowire.Fixed64Type, wAnyArray: protowire.BytesType, wAnyKVList: protowire.BytesType,
		wAnyBytes: protowire.BytesType,
	})
)

// singular finds the singular fields of msg (those of known whose bit is
// in singulars) and checks every known field's wire type, and that its
// string fields are valid UTF-8; it fails when a singular field repeats,
// a field does not decode or a string is not UTF-8.
func singular(msg []byte, known *wireSchema, singulars uint64, found *[16]wireField) (seen uint64, ok bool) {
	for len(msg) > 0 {
		f, ok := nextField(msg)
		if !ok {
			return 0, false
		}
		msg = msg[f.size:]
		skip, typeOK := knownType(f, known)
		if skip {
			continue
		}
		if !typeOK || known.text&(1<<f.num) != 0 && !utf8.Valid(f.b) {
			return 0, false
		}
		bit := uint64(1) << f.num
		if singulars&bit == 0 {
			continue
		}
		if seen&bit != 0 {
			return 0, false
		}
		seen |= bit
		found[f.num] = f
	}
	return seen, true
}

// wireLines writes the lines of the request body like otlpLines.each, from
// the bytes; it reports false, having emitted nothing, when the body is
// not of the shape it takes.
type wireLines struct {
	resource []byte
	scope    []byte
	line     []byte
	lines    []byte // every line, back to back
	ends     []int  // where each line ends in lines
}

// each writes the line of every record of body, and reports true; or
// reports false when the body is not of the shape it takes. Then emit, if
// not nil, is called with each line, in order; emit may call it later too.
func (w *wireLines) each(body []byte, emit func(line []byte)) bool {
	w.lines, w.ends = w.lines[:0], w.ends[:0]
	if !w.request(body) {
		return false
	}
	if emit != nil {
		w.emit(emit)
	}
	return true
}

// emit calls emit with each line the last successful each wrote.
func (w *wireLines) emit(emit func(line []byte)) {
	start := 0
	for _, end := range w.ends {
		emit(w.lines[start:end])
		start = end
	}
}

func (w *wireLines) request(body []byte) bool {
	for len(body) > 0 {
		f, ok := nextField(body)
		if !ok {
			return false
		}
		body = body[f.size:]
		skip, typeOK := knownType(f, wireRequest)
		if skip {
			continue
		}
		if !typeOK || !w.resourceLogs(f.b) {
			return false
		}
	}
	return true
}

func (w *wireLines) resourceLogs(msg []byte) bool {
	var found [16]wireField
	seen, ok := singular(msg, wireResourceLogs, 1<<wResourceLogsResource, &found)
	if !ok {
		return false
	}
	w.resource = w.resource[:0]
	if seen != 0 {
		var attrs [16]wireField
		if _, ok := singular(found[wResourceLogsResource].b, wireResource, 0, &attrs); !ok || !wireEntityRefs(found[wResourceLogsResource].b) {
			return false
		}
		mark := len(w.resource)
		w.resource = append(w.resource, `"resource":{"attributes":`...)
		var n int
		if w.resource, n, ok = appendWireKeyValues(w.resource, found[wResourceLogsResource].b, wResourceAttributes, 0); !ok {
			return false
		}
		if n == 0 {
			w.resource = w.resource[:mark]
		} else {
			w.resource = append(w.resource, '}')
		}
	}
	for len(msg) > 0 {
		f, _ := nextField(msg) // decoded by singular
		msg = msg[f.size:]
		if f.num == wResourceLogsScopeLogs && !w.scopeLogs(f.b) {
			return false
		}
	}
	return true
}

// wireEntityRefs reports whether the entity references of the Resource
// msg, which the lines leave out, are well formed, as the decoder checks.
func wireEntityRefs(msg []byte) bool {
	for len(msg) > 0 {
		f, _ := nextField(msg) // decoded by singular
		msg = msg[f.size:]
		var found [16]wireField
		if f.num == wResourceEntityRefs {
			if _, ok := singular(f.b, wireEntityRef, 0, &found); !ok {
				return false
			}
		}
	}
	return true
}

func (w *wireLines) scopeLogs(msg []byte) bool {
	var found [16]wireField
	seen, ok := singular(msg, wireScopeLogs, 1<<wScopeLogsScope, &found)
	if !ok {
		return false
	}
	w.scope = w.scope[:0]
	if seen != 0 {
		if w.scope, ok = appendWireScope(w.scope, found[wScopeLogsScope].b); !ok {
			return false
		}
	}
	for len(msg) > 0 {
		f, _ := nextField(msg)
		msg = msg[f.size:]
		if f.num != wScopeLogsRecords {
			continue
		}
		if w.line, ok = appendWireRecord(w.line[:0], f.b, w.resource, w.scope); !ok {
			return false
		}
		w.lines = append(w.lines, w.line...)
		w.ends = append(w.ends, len(w.lines))
	}
	return true
}

// appendWireScope appends the `"scope":{…}` member of the
// InstrumentationScope msg, as appendScope does.
func appendWireScope(dst, msg []byte) ([]byte, bool) {
	var found [16]wireField
	_, ok := singular(msg, wireScope, 1<<wScopeName|1<<wScopeVersion, &found)
	if !ok {
		return dst, false
	}
	name, version := found[wScopeName].b, found[wScopeVersion].b
	if !utf8.Valid(name) || !utf8.Valid(version) {
		return dst, false
	}
	mark := len(dst)
	dst = append(dst, `"scope":{`...)
	inner := len(dst)
	if len(name) > 0 {
		dst = append(dst, `"name":`...)
		dst = appendJSONBytes(dst, name)
	}
	if len(version) > 0 {
		if len(dst) > inner {
			dst = append(dst, ',')
		}
		dst = append(dst, `"version":`...)
		dst = appendJSONBytes(dst, version)
	}
	attrsAt := len(dst)
	if len(dst) > inner {
		dst = append(dst, ',')
	}
	dst = append(dst, `"attributes":`...)
	var n int
	if dst, n, ok = appendWireKeyValues(dst, msg, wScopeAttributes, 0); !ok {
		return dst[:mark], false
	}
	if n == 0 {
		dst = dst[:attrsAt]
	}
	if len(dst) == inner {
		return dst[:mark], true
	}
	return append(dst, '}'), true
}

// appendWireRecord appends the line of the LogRecord msg, as
// appendLogRecord does.
func appendWireRecord(dst, msg, resource, scope []byte) ([]byte, bool) {
	const singulars = 1<<wRecordTime | 1<<wRecordSeverityNum | 1<<wRecordSeverityTxt | 1<<wRecordBody |
		1<<wRecordDropped | 1<<wRecordFlags | 1<<wRecordTraceID | 1<<wRecordSpanID | 1<<wRecordObserved | 1<<wRecordEventName
	var f [16]wireField
	seen, ok := singular(msg, wireRecord, singulars, &f)
	if !ok {
		return dst, false
	}
	has := func(num int) bool { return seen&(1<<num) != 0 }
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
	if v := f[wRecordTime].v; v != 0 {
		member("timeUnixNano")
		dst = append(dst, '"')
		dst = strconv.AppendUint(dst, v, 10)
		dst = append(dst, '"')
	}
	if v := f[wRecordObserved].v; v != 0 {
		member("observedTimeUnixNano")
		dst = append(dst, '"')
		dst = strconv.AppendUint(dst, v, 10)
		dst = append(dst, '"')
	}
	sev := int32(f[wRecordSeverityNum].v)
	if sev != 0 {
		member("severityNumber")
		dst = strconv.AppendInt(dst, int64(sev), 10)
	}
	if text := f[wRecordSeverityTxt].b; len(text) > 0 {
		if !utf8.Valid(text) {
			return dst, false
		}
		member("severityText")
		dst = appendJSONBytes(dst, text)
	} else if name := severityShortName(sev); name != "" {
		member("severityText")
		dst = appendString(dst, name)
	}
	if has(wRecordBody) {
		member("body")
		if dst, ok = appendWireAnyValue(dst, f[wRecordBody].b, 0); !ok {
			return dst, false
		}
	}
	mark := len(dst)
	member("attributes")
	var n int
	if dst, n, ok = appendWireKeyValues(dst, msg, wRecordAttributes, 0); !ok {
		return dst, false
	}
	if n == 0 {
		dst = dst[:mark]
	}
	if v := uint32(f[wRecordDropped].v); v != 0 {
		member("droppedAttributesCount")
		dst = strconv.AppendUint(dst, uint64(v), 10)
	}
	if v := f[wRecordFlags].v; v != 0 {
		member("flags")
		dst = strconv.AppendUint(dst, v, 10)
	}
	if id := f[wRecordTraceID].b; len(id) > 0 && !allZero(id) {
		member("traceId")
		dst = appendHex(dst, id)
	}
	if id := f[wRecordSpanID].b; len(id) > 0 && !allZero(id) {
		member("spanId")
		dst = appendHex(dst, id)
	}
	if name := f[wRecordEventName].b; len(name) > 0 {
		if !utf8.Valid(name) {
			return dst, false
		}
		member("eventName")
		dst = appendJSONBytes(dst, name)
	}
	for _, m := range [2][]byte{resource, scope} {
		if len(m) > 0 {
			if len(dst) > start {
				dst = append(dst, ',')
			}
			dst = append(dst, m...)
		}
	}
	return append(dst, '}'), true
}

// appendWireKeyValues appends, as a JSON object, the KeyValue fields num of
// msg, and counts them.
func appendWireKeyValues(dst, msg []byte, num protowire.Number, depth int) ([]byte, int, bool) {
	dst = append(dst, '{')
	n := 0
	for len(msg) > 0 {
		f, ok := nextField(msg)
		if !ok {
			return dst, 0, false
		}
		msg = msg[f.size:]
		if f.num != num || f.typ != protowire.BytesType {
			continue // checked by the caller
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		key, value, hasValue, ok := keyValue(f.b)
		if !ok || !utf8.Valid(key) {
			return dst, 0, false
		}
		dst = appendJSONBytes(dst, key)
		dst = append(dst, ':')
		if !hasValue {
			dst = append(dst, "null"...)
			continue
		}
		if dst, ok = appendWireAnyValue(dst, value, depth+1); !ok {
			return dst, 0, false
		}
	}
	return append(dst, '}'), n, true
}

// keyValue reads the KeyValue msg, each of its fields at most once.
func keyValue(msg []byte) (key, value []byte, hasValue, ok bool) {
	var seen uint8
	for len(msg) > 0 {
		f, ok := nextField(msg)
		if !ok {
			return nil, nil, false, false
		}
		msg = msg[f.size:]
		skip, typeOK := knownType(f, wireKeyValue)
		if skip {
			continue
		}
		bit := uint8(1) << f.num
		if !typeOK || seen&bit != 0 {
			return nil, nil, false, false
		}
		seen |= bit
		if f.num == wKeyValueKey {
			key = f.b
		} else {
			value, hasValue = f.b, true
		}
	}
	return key, value, hasValue, true
}

// appendWireAnyValue appends the JSON value of the AnyValue msg, as
// appendAnyValue does.
func appendWireAnyValue(dst, msg []byte, depth int) ([]byte, bool) {
	if depth > wireMaxDepth {
		return dst, false
	}
	var f wireField
	set := false
	for rest := msg; len(rest) > 0; {
		g, ok := nextField(rest)
		if !ok {
			return dst, false
		}
		rest = rest[g.size:]
		skip, typeOK := knownType(g, wireAnyValue)
		if skip || !typeOK || set {
			// One value of a known kind, of its wire type; else the slow
			// path (a value of a kind logs do not use is null there, and
			// the last of several wins).
			return dst, false
		}
		f, set = g, true
	}
	if !set {
		return append(dst, "null"...), true
	}
	switch f.num {
	case wAnyString:
		if !utf8.Valid(f.b) {
			return dst, false
		}
		return appendJSONBytes(dst, f.b), true
	case wAnyBool:
		return strconv.AppendBool(dst, f.v != 0), true
	case wAnyInt:
		return strconv.AppendInt(dst, int64(f.v), 10), true
	case wAnyDouble:
		return appendDouble(dst, math.Float64frombits(f.v)), true
	case wAnyBytes:
		dst = append(dst, '"')
		dst = appendBase64(dst, f.b)
		return append(dst, '"'), true
	case wAnyArray:
		if _, ok := singular(f.b, wireList, 0, &[16]wireField{}); !ok {
			return dst, false
		}
		dst = append(dst, '[')
		n := 0
		for rest := f.b; len(rest) > 0; {
			g, _ := nextField(rest)
			rest = rest[g.size:]
			if g.num != wListValues {
				continue
			}
			if n > 0 {
				dst = append(dst, ',')
			}
			n++
			var ok bool
			if dst, ok = appendWireAnyValue(dst, g.b, depth+1); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	case wAnyKVList:
		if _, ok := singular(f.b, wireList, 0, &[16]wireField{}); !ok {
			return dst, false
		}
		dst, _, ok := appendWireKeyValues(dst, f.b, wListValues, depth)
		return dst, ok
	}
	return dst, false
}

// appendJSONBytes appends s, valid UTF-8, as a JSON string.
func appendJSONBytes(dst, s []byte) []byte { return match.AppendJSONString(dst, s) }

// appendBase64 appends the standard base64 of b.
func appendBase64(dst, b []byte) []byte { return base64.StdEncoding.AppendEncode(dst, b) }
