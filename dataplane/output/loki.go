package output

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

const (
	lokiPushPath = "/loki/api/v1/push"
	// defaultMaxStreams and maxMaxStreams bound max_streams.
	defaultMaxStreams = 100
	maxMaxStreams     = 10000
	// lokiMaxLabels is Loki's default bound on the labels of a stream
	// (max_label_names_per_series); a push with more is refused whole.
	lokiMaxLabels = 15
	// lokiMaxLabelValue bounds a label value taken from a line; Loki's
	// default bound is 2048 bytes (max_label_value_length).
	lokiMaxLabelValue = 1024
	// lokiMaxTenantID is Loki's bound on a tenant ID.
	lokiMaxTenantID = 150
	// lokiOverflowLabel marks the stream of the lines whose own stream
	// would pass max_streams.
	lokiOverflowLabel = "streamgate_overflow"
	// lokiStreamIdle is how long a stream must go unused before its place
	// under max_streams may be given to another; lokiSweepEvery how often,
	// at most, the full set of streams is searched for such streams.
	lokiStreamIdle = time.Hour
	lokiSweepEvery = time.Minute
)

// lokiDefaultLabels are the labels of a loki output given none: Loki
// refuses a stream without labels.
var lokiDefaultLabels = map[string]string{"job": "streamgate"}

var lokiSpec = spec.Component{
	Summary: "Pushes each batch to Grafana Loki (POST /loki/api/v1/push, JSON), its lines grouped into streams by their labels, each with the time it is sent in nanoseconds, in order within a stream.",
	Params: []spec.Param{
		{Name: "url", Kind: spec.String, Required: true, Description: "Base URL of Loki, http:// or https://; /loki/api/v1/push is appended unless the path already ends with it. Its credentials and query values are masked wherever it is shown."},
		{Name: "labels", Kind: spec.StringMap, Default: `{"job": "streamgate"}`, Description: "Labels of every stream. Names are [a-zA-Z_][a-zA-Z0-9_]*, not starting with __."},
		{Name: "label_fields", Kind: spec.Strings, Description: "Members of JSON object lines whose values become labels: a top-level key (service.name), else a path of keys joined by dots (kubernetes.namespace). The label is the field with every character outside [a-zA-Z0-9_] written _ (service_name). A line without the field, or where it is an object, an array, null or longer than 1024 bytes, has no such label. At most 15 labels in all, Loki's default bound."},
		{Name: "max_streams", Kind: spec.Integer, Default: "100", Description: "Bound on the distinct label sets (streams) this output writes, 1 to 10000. A line whose stream would pass it goes, with the labels of labels and streamgate_overflow=\"true\", to an overflow stream, counted in streamgate_loki_overflow_lines_total. A stream unused for an hour gives its place up."},
		{Name: "tenant_id", Kind: spec.String, Description: "Tenant of a multi-tenant Loki, sent as X-Scope-OrgID: up to 150 letters, digits and !-_.*'()."},
		{Name: "headers", Kind: spec.StringMap, Description: "Request headers, such as Authorization. Their values are never shown, logged or put in metrics."},
		{Name: "gzip", Kind: spec.Boolean, Default: "false", Description: "Compress request bodies."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on one request, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a push that failed with a connection error, a timeout, 429 or 5xx is retried before the batch is dropped and counted; other 4xx (a line too long, an entry too old) are not retried: the batch is kept as a dead letter."},
		tlsParams("an https:// url")[0],
		tlsParams("an https:// url")[1],
	},
	Examples: []string{
		`{"url": "http://localhost:3100", "labels": {"job": "streamgate", "env": "prod"}, "label_fields": ["service.name", "level"]}`,
		`{"url": "https://logs.example", "tenant_id": "team-a", "max_streams": 500, "headers": {"Authorization": "Basic ..."}, "gzip": true, "timeout_ms": 5000, "max_retries": 10}`,
		`{"url": "https://loki.internal:3100", "tls_ca_file": "/etc/streamgate/loki-ca.pem"}`,
		`{"url": "https://10.0.0.9:3100", "tls_insecure_skip_verify": true}`,
	},
}

// lokiField is a member of JSON lines that becomes a label.
type lokiField struct {
	label string   // the label's name
	key   []string // the member as one top-level key
	path  []string // the member as a path of keys; nil if it has no dot
}

func validateLoki(c *Config) error {
	u, err := validateAPIURL("loki", c.URL)
	if err != nil {
		return err
	}
	if err := validateTLS(c, u.Scheme == "https", "https://"); err != nil {
		return err
	}
	if _, _, err := lokiLabels(c); err != nil {
		return err
	}
	if c.MaxStreams < 0 || c.MaxStreams > maxMaxStreams {
		return fmt.Errorf("max_streams: must be between 1 and %d, got %d", maxMaxStreams, c.MaxStreams)
	}
	if err := checkTenantID(c.TenantID); err != nil {
		return fmt.Errorf("tenant_id: %w", err)
	}
	return validateRequestFields(c)
}

// lokiLabels returns the static labels of c, sorted by name, and its label
// fields. Its errors name the field.
func lokiLabels(c *Config) ([]header, []lokiField, error) {
	static := c.Labels
	if len(static) == 0 {
		static = lokiDefaultLabels
	}
	labels := make([]header, 0, len(static))
	for name, value := range static {
		labels = append(labels, header{name, value})
	}
	sort.Slice(labels, func(i, j int) bool { return labels[i].name < labels[j].name })
	taken := map[string]string{lokiOverflowLabel: "the overflow label"}
	for _, l := range labels {
		if err := checkLabelName(l.name); err != nil {
			return nil, nil, fmt.Errorf("labels[%q]: %w", l.name, err)
		}
		if l.name == lokiOverflowLabel {
			return nil, nil, fmt.Errorf("labels[%q]: reserved for the overflow stream", l.name)
		}
		switch {
		case l.value == "":
			return nil, nil, fmt.Errorf("labels[%q]: value is empty (Loki drops a label without a value)", l.name)
		case !utf8.ValidString(l.value):
			return nil, nil, fmt.Errorf("labels[%q]: value is not valid UTF-8", l.name)
		case len(l.value) > lokiMaxLabelValue:
			return nil, nil, fmt.Errorf("labels[%q]: value is longer than %d bytes", l.name, lokiMaxLabelValue)
		}
		taken[l.name] = fmt.Sprintf("labels[%q]", l.name)
	}
	fields := make([]lokiField, 0, len(c.LabelFields))
	for i, f := range c.LabelFields {
		if f == "" {
			return nil, nil, fmt.Errorf("label_fields[%d]: empty", i)
		}
		name := labelName(f)
		if strings.HasPrefix(name, "__") {
			return nil, nil, fmt.Errorf("label_fields[%d]: label %s starts with __, which Loki reserves", i, name)
		}
		if by, ok := taken[name]; ok {
			return nil, nil, fmt.Errorf("label_fields[%d]: label %s is already %s", i, name, by)
		}
		taken[name] = fmt.Sprintf("label_fields[%d]", i)
		lf := lokiField{label: name, key: []string{f}}
		if strings.Contains(f, ".") {
			lf.path = strings.Split(f, ".")
		}
		fields = append(fields, lf)
	}
	if n := len(labels) + len(fields); n > lokiMaxLabels {
		return nil, nil, fmt.Errorf("label_fields: %d labels with those of labels, more than Loki's default %d", n, lokiMaxLabels)
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].label < fields[j].label })
	return labels, fields, nil
}

// checkLabelName applies Loki's rules for label names.
func checkLabelName(name string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLabelChar(c) || i == 0 && c >= '0' && c <= '9' {
			return fmt.Errorf("name has invalid character %q at offset %d (want [a-zA-Z_][a-zA-Z0-9_]*)", c, i)
		}
	}
	if strings.HasPrefix(name, "__") {
		return errors.New("names starting with __ are reserved by Loki")
	}
	return nil
}

func isLabelChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// labelName turns a field into a label name: every byte outside
// [a-zA-Z0-9_] becomes _, and a leading digit gets a _ before it.
func labelName(field string) string {
	b := make([]byte, 0, len(field)+1)
	if c := field[0]; c >= '0' && c <= '9' {
		b = append(b, '_')
	}
	for i := 0; i < len(field); i++ {
		if c := field[i]; isLabelChar(c) {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}

// checkTenantID applies Loki's rules for tenant IDs; "" is no tenant.
func checkTenantID(id string) error {
	if id == "" {
		return nil
	}
	if id == "." || id == ".." {
		return fmt.Errorf("%q is not a valid tenant ID", id)
	}
	if len(id) > lokiMaxTenantID {
		return fmt.Errorf("longer than %d bytes", lokiMaxTenantID)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!-_.*'()", c) >= 0 {
			continue
		}
		return fmt.Errorf("has invalid character %q at offset %d (want letters, digits and !-_.*'())", c, i)
	}
	return nil
}

// lokiOutput pushes batches to Loki. Lines are grouped into streams by
// their labels; the streams it has written are remembered, up to
// max_streams, so that a field with unbounded values cannot make Loki's
// index grow without bound.
type lokiOutput struct {
	h      *httpOutput
	static []header
	fields []lokiField
	max    int
	now    func() time.Time
	// lastTS is the last timestamp given to a line, in Unix nanoseconds:
	// each line gets a later one than the line before, so the lines of a
	// stream are in order however close together they are sent.
	lastTS atomic.Int64

	// overflowHead is the stream head of the overflow stream.
	overflowHead []byte
	overflow     *vm.Counter

	mu        sync.Mutex
	streams   map[string]*lokiStream // by key (see streamKey); mu
	lastSweep int64                  // Unix nanoseconds; mu
}

// lokiStream is a stream the output has written.
type lokiStream struct {
	head []byte // `{"stream":{labels},"values":[`
	used int64  // when last written to, Unix nanoseconds; lokiOutput.mu
}

func newLoki(c *Config) (Output, error) {
	return newLokiOutput(c, defaultRetryTiming)
}

func newLokiOutput(c *Config, t retryTiming) (*lokiOutput, error) {
	u, err := validateAPIURL("loki", c.URL)
	if err != nil {
		return nil, err
	}
	static, fields, err := lokiLabels(c)
	if err != nil {
		return nil, err
	}
	var extra map[string]string
	if c.TenantID != "" {
		extra = map[string]string{"X-Scope-OrgID": c.TenantID}
	}
	h, err := newAPIClient(c, endpointURL(u, lokiPushPath, nil), extra, t)
	if err != nil {
		return nil, err
	}
	o := &lokiOutput{
		h:        h,
		static:   static,
		fields:   fields,
		max:      defaultMaxStreams,
		now:      time.Now,
		overflow: counters.GetOrCreateCounter("streamgate_loki_overflow_lines_total{output=" + strconv.Quote(c.Name()) + "}"),
		streams:  make(map[string]*lokiStream),
	}
	if c.MaxStreams > 0 {
		o.max = c.MaxStreams
	}
	overflow := append(append([]header(nil), static...), header{lokiOverflowLabel, "true"})
	sort.Slice(overflow, func(i, j int) bool { return overflow[i].name < overflow[j].name })
	o.overflowHead = appendStreamHead(nil, overflow, nil, nil)
	return o, nil
}

// appendStreamHead appends the head of a stream up to its first value:
// `{"stream":{labels},"values":[`, with the static labels and those of
// fields whose value in vals is not nil, in order of name.
func appendStreamHead(dst []byte, static []header, fields []lokiField, vals [][]byte) []byte {
	dst = append(dst, `{"stream":{`...)
	i, j, first := 0, 0, true
	for i < len(static) || j < len(fields) {
		var name string
		var value []byte
		switch {
		case j == len(fields) || i < len(static) && static[i].name < fields[j].label:
			name, value = static[i].name, []byte(static[i].value)
			i++
		case vals[j] == nil:
			j++
			continue
		default:
			name, value = fields[j].label, vals[j]
			j++
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = appendJSONString(dst, []byte(name))
		dst = append(dst, ':')
		dst = appendJSONString(dst, value)
	}
	return append(dst, `},"values":[`...)
}

// lokiScratch is the per-Write memory of the loki output.
type lokiScratch struct {
	http httpScratch
	key  []byte
	vals [][]byte
	// index maps the key of each stream of the batch to its number, its
	// position in heads; a key over max_streams maps to overflow.
	index    map[string]int
	heads    [][]byte
	overflow int   // number of the overflow stream, -1 until it is needed
	stream   []int // stream number of each line
	count    []int // lines of each stream, then where its lines start in order
	order    []int // the lines, grouped by stream, in order within each
}

var lokiScratchPool = sync.Pool{New: func() any { return &lokiScratch{index: make(map[string]int)} }}

func putLokiScratch(s *lokiScratch) {
	if cap(s.http.body) > maxPooledBuffer {
		s.http.body = nil
	}
	if cap(s.http.zout.b) > maxPooledBuffer {
		s.http.zout.b = nil
	}
	clear(s.index)
	clear(s.heads) // they belong to the output's streams
	clear(s.vals)
	lokiScratchPool.Put(s)
}

// Write pushes b's lines as one request.
func (o *lokiOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	h := o.h
	s := lokiScratchPool.Get().(*lokiScratch)
	defer putLokiScratch(s)
	return h.exchange(func(req *fasthttp.Request, resp *fasthttp.Response) error {
		h.prepare(req, "application/json")
		s.http.body = o.encode(s, s.http.body[:0], b.Lines)
		req.SetBodyRaw(h.compress(&s.http, s.http.body))
		return h.retry(ctx, func() (time.Duration, bool, error) { return h.post(ctx, req, resp) })
	})
}

// encode appends the push request of lines to dst.
func (o *lokiOutput) encode(s *lokiScratch, dst []byte, lines [][]byte) []byte {
	now := o.now()
	o.group(s, lines, now.UnixNano())
	ts := o.timestamps(now.UnixNano(), len(lines))

	n := 16
	for _, l := range lines {
		n += len(l) + 32
	}
	for _, h := range s.heads {
		n += len(h) + 4
	}
	if cap(dst)-len(dst) < n {
		dst = append(make([]byte, 0, len(dst)+n), dst...)
	}
	dst = append(dst, `{"streams":[`...)
	start := 0
	for k, head := range s.heads {
		if k > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, head...)
		end := s.count[k]
		for i, line := range s.order[start:end] {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `["`...)
			dst = strconv.AppendInt(dst, ts+int64(line), 10)
			dst = append(dst, `",`...)
			dst = appendJSONString(dst, lines[line])
			dst = append(dst, ']')
		}
		dst = append(dst, "]}"...)
		start = end
	}
	return append(dst, "]}"...)
}

// timestamps reserves n timestamps, one nanosecond apart, after now or
// after the last one handed out, whichever is later, and returns the
// first.
func (o *lokiOutput) timestamps(now int64, n int) int64 {
	for {
		last := o.lastTS.Load()
		first := max(now, last+1)
		if o.lastTS.CompareAndSwap(last, first+int64(n)-1) {
			return first
		}
	}
}

// group sorts lines into streams: s.heads are the heads of the streams of
// the batch, in order of their first line, and s.order the lines, stream
// by stream, each stream's ending at s.count[k].
func (o *lokiOutput) group(s *lokiScratch, lines [][]byte, now int64) {
	s.heads = s.heads[:0]
	s.overflow = -1
	s.stream = s.stream[:0]
	if cap(s.vals) < len(o.fields) {
		s.vals = make([][]byte, len(o.fields))
	}
	s.vals = s.vals[:len(o.fields)]
	overflowed := 0
	for _, line := range lines {
		s.key = o.streamKey(s.key[:0], s.vals, line)
		k, ok := s.index[string(s.key)]
		if !ok {
			if head := o.admit(string(s.key), s.vals, now); head != nil {
				k = len(s.heads)
				s.heads = append(s.heads, head)
			} else {
				if s.overflow < 0 {
					s.overflow = len(s.heads)
					s.heads = append(s.heads, o.overflowHead)
				}
				k = s.overflow
			}
			s.index[string(s.key)] = k
		}
		if k == s.overflow {
			overflowed++
		}
		s.stream = append(s.stream, k)
	}
	if overflowed > 0 {
		o.overflow.Add(overflowed)
	}

	// A counting sort by stream keeps each stream's lines in order.
	s.count = s.count[:0]
	for range s.heads {
		s.count = append(s.count, 0)
	}
	for _, k := range s.stream {
		s.count[k]++
	}
	sum := 0
	for k, c := range s.count {
		s.count[k] = sum
		sum += c
	}
	if cap(s.order) < len(lines) {
		s.order = make([]int, len(lines))
	}
	s.order = s.order[:len(lines)]
	for i, k := range s.stream {
		s.order[s.count[k]] = i
		s.count[k]++
	}
}

// streamKey appends to dst the key of line's stream: the values of the
// label fields, each ended by 0xff, or 0xfe where the line has none. Those
// bytes never occur in UTF-8, and the values are UTF-8. It sets vals[j] to
// the value of field j, nil where there is none.
func (o *lokiOutput) streamKey(dst []byte, vals [][]byte, line []byte) []byte {
	if len(o.fields) == 0 {
		return dst
	}
	obj, isObj := jsonObject(line)
	for j := range o.fields {
		vals[j] = nil
		if isObj {
			vals[j] = fieldValue(obj, &o.fields[j])
		}
		if vals[j] == nil {
			dst = append(dst, 0xfe)
			continue
		}
		dst = append(dst, vals[j]...)
		dst = append(dst, 0xff)
	}
	return dst
}

// fieldValue returns the text of the member f of the JSON object obj as a
// label value, or nil if it has none that can be one.
func fieldValue(obj []byte, f *lokiField) []byte {
	v, ok := match.LookupJSON(obj, f.key)
	if !ok && f.path != nil {
		v, ok = match.LookupJSON(obj, f.path)
	}
	if !ok || len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '{', '[', 'n':
		return nil
	}
	text := match.JSONText(v)
	if len(text) == 0 || len(text) > lokiMaxLabelValue {
		return nil
	}
	if v[0] == '"' && !utf8.Valid(text) { // an escaped lone surrogate
		return nil
	}
	return text
}

// admit returns the head of the stream with key, whose label field values
// are vals, and marks it used at now: a stream the output has written, or
// a new one while there are fewer than max. It returns nil when the stream
// is new and there is no room for it.
func (o *lokiOutput) admit(key string, vals [][]byte, now int64) []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	if st, ok := o.streams[key]; ok {
		st.used = now
		return st.head
	}
	if len(o.streams) >= o.max && time.Duration(now-o.lastSweep) >= lokiSweepEvery {
		o.lastSweep = now
		for k, st := range o.streams {
			if time.Duration(now-st.used) >= lokiStreamIdle {
				delete(o.streams, k)
			}
		}
	}
	if len(o.streams) >= o.max {
		return nil
	}
	st := &lokiStream{head: appendStreamHead(nil, o.static, o.fields, vals), used: now}
	o.streams[key] = st
	return st.head
}

// Close makes Write return ErrClosed, ends retry waits and closes the idle
// connections.
func (o *lokiOutput) Close() error { return o.h.Close() }
