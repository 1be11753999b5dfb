package output

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// elasticsearchOutput indexes each batch through the _bulk API of
// Elasticsearch or OpenSearch: one create action and one document per line.
//
// A bulk request succeeds or fails per document. The documents refused
// with 429 or 5xx (a full write queue, a shard being relocated) are sent
// again, alone, on the retry schedule of the request; those refused with
// any other status (a document that does not fit the mapping) are given
// up, and make Write return a *PermanentError naming them (Lines), which
// wraps a *RejectedError counting them by error type.
type elasticsearchOutput struct {
	h *httpOutput

	// action is the action line of every document when the index is
	// fixed; nil when it is a date pattern.
	action  []byte
	pattern []indexPart
	now     func() time.Time
}

const (
	// esMaxResponseBody bounds the bulk response read: one item per
	// document, filtered down to its status and error type.
	esMaxResponseBody = 16 << 20
	// esMaxIndexLen is Elasticsearch's bound on an index name, in bytes.
	esMaxIndexLen = 255
	// esTimeLayout is the @timestamp given to documents: UTC, milliseconds.
	esTimeLayout = "2006-01-02T15:04:05.000Z"
)

// esFilterPath trims the bulk response down to what Write reads.
var esFilterPath = url.Values{"filter_path": {"errors,items.*.status,items.*.error.type"}}

// esTimestampKey is the member a document is stamped with.
var esTimestampKey = []string{"@timestamp"}

var elasticsearchSpec = spec.Component{
	Summary: "Indexes each line as a document through the Elasticsearch or OpenSearch _bulk API; documents refused as busy (429, 5xx) are retried alone, those refused for good are kept as dead letters.",
	Params: []spec.Param{
		{Name: "url", Kind: spec.String, Required: true, Description: "Base URL of the cluster, http:// or https:// (https://user:password@host:9200 for basic auth); /_bulk is appended. Its credentials and query values are masked wherever it is shown."},
		{Name: "index", Kind: spec.String, Required: true, Description: "Index or data stream the documents are created in. %Y, %m and %d stand for the UTC date when the batch is sent (logs-%Y.%m.%d), %% for a percent sign. A JSON object line is the document as it is, given an @timestamp (the time it is sent) if it has none; any other line becomes {\"@timestamp\": ..., \"message\": \"<line>\"}."},
		{Name: "headers", Kind: spec.StringMap, Description: "Request headers, such as Authorization (ApiKey or Basic credentials). Their values are never shown, logged or put in metrics."},
		{Name: "gzip", Kind: spec.Boolean, Default: "false", Description: "Compress request bodies."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on one request, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a request that failed with a connection error, a timeout, 429 or 5xx, or the documents of a request refused with 429 or 5xx, are retried before the batch is dropped and counted. Documents refused with another status, and a request refused with a 4xx other than 408 and 429, are not retried: they are kept as dead letters, the others of their batch counted as delivered."},
		tlsParams("an https:// url")[0],
		tlsParams("an https:// url")[1],
	},
	Examples: []string{
		`{"url": "http://localhost:9200", "index": "logs-%Y.%m.%d"}`,
		`{"url": "https://es.example:9200", "index": "logs-app-default", "headers": {"Authorization": "ApiKey ..."}, "gzip": true, "timeout_ms": 5000, "max_retries": 10}`,
		`{"url": "https://es.internal:9200", "index": "logs", "tls_ca_file": "/etc/streamgate/es-ca.pem"}`,
		`{"url": "https://10.0.0.9:9200", "index": "logs", "tls_insecure_skip_verify": true}`,
	},
}

func validateElasticsearch(c *Config) error {
	u, err := validateAPIURL("elasticsearch", c.URL)
	if err != nil {
		return err
	}
	if err := validateTLS(c, u.Scheme == "https", "https://"); err != nil {
		return err
	}
	if _, err := parseIndexPattern(c.Index); err != nil {
		return err
	}
	return validateRequestFields(c)
}

// indexPart is a piece of an index pattern: literal text, or a date field
// ('Y', 'm' or 'd') when verb is set.
type indexPart struct {
	text string
	verb byte
}

// parseIndexPattern checks an index name or pattern and splits it into
// parts. Its errors name the index field.
func parseIndexPattern(s string) ([]indexPart, error) {
	if s == "" {
		return nil, errors.New("index: required for elasticsearch output")
	}
	var parts []indexPart
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			lit.WriteByte(c)
			continue
		}
		if i+1 == len(s) {
			return nil, errors.New("index: ends with a lone %")
		}
		i++
		switch v := s[i]; v {
		case '%':
			lit.WriteByte('%')
		case 'Y', 'm', 'd':
			if lit.Len() > 0 {
				parts = append(parts, indexPart{text: lit.String()})
				lit.Reset()
			}
			parts = append(parts, indexPart{verb: v})
		default:
			return nil, fmt.Errorf("index: unknown %%%c (known: %%Y, %%m, %%d, %%%%)", v)
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, indexPart{text: lit.String()})
	}
	// Check the name the pattern gives on the widest date.
	name := string(appendIndex(nil, parts, time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)))
	if err := checkIndexName(name); err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return parts, nil
}

// checkIndexName applies Elasticsearch's rules for index names.
func checkIndexName(name string) error {
	switch {
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a valid index name", name)
	case len(name) > esMaxIndexLen:
		return fmt.Errorf("longer than %d bytes", esMaxIndexLen)
	case name[0] == '-' || name[0] == '_' || name[0] == '+':
		return fmt.Errorf("must not start with %q", name[0])
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c >= 'A' && c <= 'Z':
			return errors.New("must be lower case")
		case c < 0x20 || c == 0x7f || strings.IndexByte(` \/*?"<>|,#:`, c) >= 0:
			return fmt.Errorf("must not contain %q", c)
		}
	}
	return nil
}

// appendIndex appends the index name parts give on t's date.
func appendIndex(dst []byte, parts []indexPart, t time.Time) []byte {
	for _, p := range parts {
		switch p.verb {
		case 0:
			dst = append(dst, p.text...)
		case 'Y':
			dst = appendPadded(dst, t.Year(), 4)
		case 'm':
			dst = appendPadded(dst, int(t.Month()), 2)
		case 'd':
			dst = appendPadded(dst, t.Day(), 2)
		}
	}
	return dst
}

// appendPadded appends n in decimal, left-padded with zeros to width.
func appendPadded(dst []byte, n, width int) []byte {
	var buf [20]byte
	d := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(d); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, d...)
}

// appendAction appends the create action of a document in index.
func appendAction(dst, index []byte) []byte {
	dst = append(dst, `{"create":{"_index":`...)
	dst = appendJSONString(dst, index)
	return append(dst, "}}\n"...)
}

func newElasticsearch(c *Config) (Output, error) {
	return newElasticsearchOutput(c, defaultRetryTiming)
}

func newElasticsearchOutput(c *Config, t retryTiming) (*elasticsearchOutput, error) {
	u, err := validateAPIURL("elasticsearch", c.URL)
	if err != nil {
		return nil, err
	}
	parts, err := parseIndexPattern(c.Index)
	if err != nil {
		return nil, err
	}
	h, err := newAPIClient(c, endpointURL(u, "/_bulk", esFilterPath), nil, t)
	if err != nil {
		return nil, err
	}
	h.client.MaxResponseBodySize = esMaxResponseBody
	o := &elasticsearchOutput{h: h, pattern: parts, now: time.Now}
	if len(parts) == 1 && parts[0].verb == 0 {
		o.action = appendAction(nil, []byte(parts[0].text))
	}
	return o, nil
}

// esScratch is the per-Write memory of the elasticsearch output.
type esScratch struct {
	http    httpScratch
	action  []byte
	index   []byte
	ts      []byte
	pending []int // the lines still to be sent, by index in the batch
}

var esScratchPool = sync.Pool{New: func() any { return new(esScratch) }}

// appendBulk appends the bulk body of the lines of b at pending: for each,
// action and the document.
func appendBulk(dst, action, ts []byte, lines [][]byte, pending []int) []byte {
	for _, i := range pending {
		dst = append(dst, action...)
		dst = appendDocument(dst, ts, lines[i])
		dst = append(dst, '\n')
	}
	return dst
}

// appendDocument appends the document of line: a JSON object as it is,
// stamped with ts if it has no @timestamp member; any other line as the
// message of a document stamped with ts.
func appendDocument(dst, ts, line []byte) []byte {
	obj, ok := jsonObject(line)
	if !ok {
		dst = append(dst, `{"@timestamp":"`...)
		dst = append(dst, ts...)
		dst = append(dst, `","message":`...)
		dst = appendJSONString(dst, line)
		return append(dst, '}')
	}
	if _, has := match.LookupJSON(obj, esTimestampKey); has {
		return append(dst, obj...)
	}
	rest := trimSpace(obj[1:])
	dst = append(dst, `{"@timestamp":"`...)
	dst = append(dst, ts...)
	if rest[0] == '}' {
		return append(dst, `"}`...)
	}
	dst = append(dst, `",`...)
	return append(dst, rest...)
}

// Write sends b's lines as one bulk request, then the documents refused as
// busy again, until all are indexed or refused for good, or the retries
// run out.
func (o *elasticsearchOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	h := o.h
	s := esScratchPool.Get().(*esScratch)
	defer o.putScratch(s)
	return h.exchange(func(req *fasthttp.Request, resp *fasthttp.Response) error {
		now := o.now().UTC()
		action := o.action
		if action == nil {
			s.index = appendIndex(s.index[:0], o.pattern, now)
			s.action = appendAction(s.action[:0], s.index)
			action = s.action
		}
		s.ts = now.AppendFormat(s.ts[:0], esTimeLayout)
		s.pending = s.pending[:0]
		for i := range b.Lines {
			s.pending = append(s.pending, i)
		}

		h.prepare(req, "application/x-ndjson")
		var ref esRefusals
		encoded := -1
		err := h.retry(ctx, func() (time.Duration, bool, error) {
			if encoded != len(s.pending) { // first attempt, or fewer documents left
				s.http.body = appendBulk(s.http.body[:0], action, s.ts, b.Lines, s.pending)
				req.SetBodyRaw(h.compress(&s.http, s.http.body))
				encoded = len(s.pending)
			}
			wait, retry, err := h.post(ctx, req, resp)
			if err != nil {
				return wait, retry, err
			}
			busy, err := bulkResult(resp.Body(), s.pending, &ref)
			if err != nil {
				return 0, false, err
			}
			s.pending = append(s.pending[:0], busy...)
			if len(busy) > 0 {
				return 0, true, &busyError{n: len(busy), sent: encoded}
			}
			return 0, false, nil
		})
		return ref.result(h.name, len(b.Lines), s.pending, err)
	})
}

// esRefusals are the documents of one Write refused for good, one by one,
// in the answers to its bulk requests.
type esRefusals struct {
	lines   []int          // by index in the batch, in the order refused
	reasons map[string]int // by error type
	// status and response are the first refusal's: its status and the
	// item's error, as JSON.
	status   int
	response []byte
}

// add records the refusal of the line at index i with status and the
// item's error.
func (r *esRefusals) add(i, status int, item gjson.Result) {
	if r.reasons == nil {
		r.reasons = make(map[string]int)
		r.status = status
		raw := item.Get("error").Raw
		if raw == "" {
			raw = item.Raw
		}
		r.response = []byte(raw[:min(len(raw), MaxResponseExcerpt)])
	}
	typ := item.Get("error.type").String()
	if typ == "" {
		typ = "status " + strconv.Itoa(status)
	}
	r.reasons[truncate(typ, 64)]++
	r.lines = append(r.lines, i)
}

// result is the error of a Write of n lines that ended with err, the
// lines at pending neither indexed nor refused one by one.
//
// Without refusals it is err, but for a request refused for good after
// earlier ones indexed some of the batch: that PermanentError names the
// lines of the request (pending). With refusals it is a PermanentError
// naming the refused lines, and those of the request refused for good
// if there was one; had err another cause (retries ran out), pending
// are its Failed.
func (r *esRefusals) result(name string, n int, pending []int, err error) error {
	var perm *PermanentError
	permanent := errors.As(err, &perm)
	if len(r.lines) == 0 {
		if permanent && len(pending) < n {
			perm.Lines = slices.Clone(pending)
		}
		return err
	}
	rej := &RejectedError{Output: name, Rejected: len(r.lines), Lines: n, Reasons: r.reasons}
	pe := &PermanentError{Status: r.status, Response: r.response, Lines: slices.Clone(r.lines), Err: rej}
	switch {
	case err == nil:
	case permanent:
		pe.Lines = append(pe.Lines, pending...)
		pe.Err = fmt.Errorf("%w; besides, %w", err, rej)
	default:
		pe.Failed = len(pending)
		pe.Err = fmt.Errorf("%w; besides, %w", err, rej)
	}
	slices.Sort(pe.Lines)
	return pe
}

func (o *elasticsearchOutput) putScratch(s *esScratch) {
	if cap(s.http.body) > maxPooledBuffer {
		s.http.body = nil
	}
	if cap(s.http.zout.b) > maxPooledBuffer {
		s.http.zout.b = nil
	}
	if cap(s.pending) > maxPooledBuffer/8 {
		s.pending = nil
	}
	esScratchPool.Put(s)
}

// busyError is a bulk request some of whose documents were refused as busy.
type busyError struct{ n, sent int }

func (e *busyError) Error() string {
	return fmt.Sprintf("%d of %d documents refused with 429 or 5xx", e.n, e.sent)
}

// bulkResult reads the response to a bulk request of the lines at pending
// (item i answers pending[i]). It returns the lines refused as busy (429,
// 5xx), in order, and records those refused for good in ref. Its error
// says the response cannot be read: then whether the documents were
// indexed is not known.
func bulkResult(body []byte, pending []int, ref *esRefusals) (busy []int, err error) {
	if !gjson.ValidBytes(body) {
		return nil, errors.New("bulk response is not JSON")
	}
	res := gjson.ParseBytes(body)
	if !res.Get("errors").Bool() {
		return nil, nil
	}
	items := res.Get("items").Array()
	if len(items) != len(pending) {
		return nil, fmt.Errorf("bulk response has %d items for %d documents", len(items), len(pending))
	}
	for i, item := range items {
		var r gjson.Result
		item.ForEach(func(_, v gjson.Result) bool { r = v; return false }) // the action's result
		status := int(r.Get("status").Int())
		switch {
		case status >= 200 && status < 300:
		case status == fasthttp.StatusTooManyRequests, status >= 500:
			busy = append(busy, pending[i])
		default:
			ref.add(pending[i], status, r)
		}
	}
	return busy, nil
}

// Close makes Write return ErrClosed, ends retry waits and closes the idle
// connections.
func (o *elasticsearchOutput) Close() error { return o.h.Close() }
