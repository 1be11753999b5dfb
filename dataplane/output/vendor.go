package output

// This file holds what the outputs that speak a destination's own API
// (elasticsearch, loki, otlp) share beyond the http output's client: their
// endpoint URLs, the error of a request the destination took only in part,
// and the counters they keep of their own.

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"

	vm "github.com/VictoriaMetrics/metrics"
)

// newAPIClient builds the HTTP client of an output of type c.Type that
// posts to endpoint, a URL derived from c.URL: an httpOutput whose Write is
// not used, whose retry, post, prepare and compress are. extra headers are
// sent besides c.Headers, and win over them. Errors name c.URL as MaskURL
// shows it.
func newAPIClient(c *Config, endpoint string, extra map[string]string, t retryTiming) (*httpOutput, error) {
	cc := *c
	cc.URL = endpoint
	cc.Format = ""
	if len(extra) > 0 {
		cc.Headers = maps.Clone(c.Headers)
		if cc.Headers == nil {
			cc.Headers = make(map[string]string, len(extra))
		}
		for name, value := range extra {
			for old := range cc.Headers {
				if strings.EqualFold(old, name) {
					delete(cc.Headers, old)
				}
			}
			cc.Headers[name] = value
		}
	}
	h, err := newHTTPOutput(&cc, t)
	if err != nil {
		return nil, err
	}
	h.name = MaskURL(c.URL)
	return h, nil
}

// validateAPIURL checks the url of an output of type typ that posts to an
// http:// or https:// endpoint. Its errors do not repeat the URL.
func validateAPIURL(typ, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("url: required for %s output", typ)
	}
	u, err := parseHTTPURL(raw)
	if err != nil {
		return nil, err
	}
	if u.Fragment != "" {
		return nil, errors.New("url: must not have a fragment")
	}
	return u, nil
}

// endpointURL returns base with path appended to its path, unless the path
// already ends with it, and with query's parameters added to its own.
func endpointURL(base *url.URL, path string, query url.Values) string {
	u := *base
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), path) {
		u.Path = strings.TrimSuffix(u.Path, "/") + path
		if u.RawPath != "" {
			u.RawPath = strings.TrimSuffix(u.RawPath, "/") + path
		}
	}
	if len(query) > 0 {
		q := u.Query()
		for k, vs := range query {
			q[k] = vs
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// RejectedError is the error of a Write whose destination answered for
// each line, and refused some of them for good (a document that does not
// fit the index's mapping, a record the collector cannot take). The
// destination kept the others: retrying the batch would write them twice.
//
// Returned alone (otlp: a partial success says how many records were
// refused, not which), the pipeline counts the lines the destination kept
// as delivered, and those it refused as dropped for reason rejected. A
// destination that says which lines it refused (elasticsearch) wraps it in
// a *PermanentError naming them, and they become dead letters.
type RejectedError struct {
	Output   string // the output's URL as MaskURL shows it
	Rejected int    // lines refused
	Lines    int    // lines in the batch
	// Reasons counts the refusals by the destination's reason (an
	// Elasticsearch error type, a collector's message), when it gave one.
	Reasons map[string]int
}

func (e *RejectedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s refused %d of %d lines", e.Output, e.Rejected, e.Lines)
	if len(e.Reasons) > 0 {
		reasons := make([]string, 0, len(e.Reasons))
		for r := range e.Reasons {
			reasons = append(reasons, r)
		}
		sort.Strings(reasons)
		b.WriteString(" (")
		for i, r := range reasons {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.Quote(r) + ": " + strconv.Itoa(e.Reasons[r]))
		}
		b.WriteString(")")
	}
	b.WriteString(", not retried")
	return b.String()
}

// counters are the outputs' own counters, beside the line states the
// pipeline counts for every output. They are process-wide: outputs do not
// know the data plane instance they run in.
var counters = vm.NewSet()

// WritePrometheus writes the outputs' own counters in the Prometheus text
// format: streamgate_loki_overflow_lines_total{output}, and for the
// http-based outputs streamgate_output_request_duration_seconds{output} (a
// histogram) and streamgate_output_retries_total{output}. They outlive a
// reload that removes their output.
func WritePrometheus(w io.Writer) { counters.WritePrometheus(w) }

// truncate returns s cut to at most n bytes, on a rune boundary, with "…"
// appended when it was cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
