// Package output holds the sinks that batches of processed lines are written
// to, and their registry.
//
// An output is one file plus one line in registry.go. Batching, fan-out,
// queueing and accounting live in the pipeline; an output only writes.
package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// Output writes batches to one destination.
//
// The pipeline calls Write from one goroutine per lane (one lane per pipeline
// worker), so Write must be safe for concurrent use. Write must not keep b or
// any line after it returns; it returns nil once the whole batch is delivered,
// and an error once it has given up on the batch (the pipeline then counts the
// batch's lines as dropped). Write honours ctx: when ctx is done it stops
// retrying and returns.
type Output interface {
	Write(ctx context.Context, b *record.Batch) error
	// Close flushes what Write buffered and releases resources.
	Close() error
}

// LaneWriter is implemented by outputs that keep each lane's batches in
// order at the destination only when they know which lane writes: the tcp
// output gives every lane a connection of its own. The pipeline calls
// WriteLane instead of Write when an output has it, with lane numbers from 0
// to the number of workers - 1, and never twice at once for one lane.
type LaneWriter interface {
	WriteLane(ctx context.Context, lane int, b *record.Batch) error
}

// Streamer is implemented by outputs that write lines to a stream, a socket
// or a terminal, where a batch is one write and not one request: a small
// batch costs them little more than a large one. When every output of a
// pipeline streams, a worker that has nothing more to process flushes at
// once instead of holding its lines back, up to the flush interval, to fill
// a batch; under load batches still fill up to the batch size. Outputs that
// make a request per batch, such as http, leave it unimplemented: a vendor
// is better served by fewer, fuller requests.
type Streamer interface {
	Streams()
}

// Lingerer is implemented by outputs that make a request per batch yet
// would rather send a small batch soon than a full one late while they
// have nothing to do, such as http: when a worker has nothing more to
// process and the output has no batch of that worker queued or in flight,
// the worker sends its pending lines Linger after the first of them,
// instead of waiting up to the flush interval for a full batch. While the
// output is busy, batches fill up as before: fewer, fuller requests.
type Lingerer interface {
	Linger() time.Duration
}

// Config is how an output is written in a manifest. Fields beyond the seed's
// type, url and headers are optional and additive.
type Config struct {
	Type    string            `json:"type"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`

	// Format is the HTTP body format: "text" (newline-joined, the default),
	// "ndjson", "json_array", "datadog" or "splunk_hec".
	Format string `json:"format,omitempty"`
	// TimeoutMS bounds one HTTP request; 0 means 10 s.
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// MaxRetries is how often a failed request is retried; nil means 5.
	MaxRetries *int `json:"max_retries,omitempty"`
	// Gzip compresses request bodies.
	Gzip bool `json:"gzip,omitempty"`
	// LingerMS is how long an idle HTTP output lets a batch wait for more
	// lines; nil means 2 ms.
	LingerMS *int `json:"linger_ms,omitempty"`
	// MaxInFlight bounds an HTTP output's requests at once; nil means 4.
	MaxInFlight *int `json:"max_in_flight,omitempty"`

	// Index is the elasticsearch output's index (or data stream), possibly
	// a pattern with %Y, %m and %d.
	Index string `json:"index,omitempty"`
	// Labels are the loki output's static stream labels.
	Labels map[string]string `json:"labels,omitempty"`
	// LabelFields are the JSON fields the loki output turns into labels.
	LabelFields StringList `json:"label_fields,omitempty"`
	// MaxStreams bounds the loki output's streams; 0 means 100.
	MaxStreams int `json:"max_streams,omitempty"`
	// TenantID is the loki output's tenant (X-Scope-OrgID).
	TenantID string `json:"tenant_id,omitempty"`
	// TLSCAFile is a PEM file of the CAs that verify the endpoint's
	// certificate, instead of the system's (https and tls URLs).
	TLSCAFile string `json:"tls_ca_file,omitempty"`
	// TLSInsecureSkipVerify accepts any certificate from the endpoint.
	TLSInsecureSkipVerify bool `json:"tls_insecure_skip_verify,omitempty"`

	// NameSuffix is appended to Name, to tell apart outputs of one manifest
	// whose masked URLs are the same ("#2", "#3", ...). Not part of the
	// manifest: compiling one sets it.
	NameSuffix string `json:"-"`
}

// Name identifies the output in metrics and logs, e.g. "console" or
// "http:http://host:9000/path". It shows no header value, and the URL as
// MaskURL shows it: without credentials or query values (a token in the
// path, as some vendors' intake URLs have, is not recognised). Two configs
// whose URLs differ only in what MaskURL hides would share a name; a
// manifest tells them apart with NameSuffix.
func (c *Config) Name() string {
	if c.URL == "" {
		return c.Type
	}
	return c.Type + ":" + MaskURL(c.URL) + c.NameSuffix
}

// Mask replaces a secret value wherever one would be shown.
const Mask = "********"

// MaskURL returns rawURL with what may be a credential replaced by Mask: the
// whole userinfo (a username alone can be the token), every query value
// (?token=…, ?api_key=…) and every query part without a key (?<token>).
// Query keys are kept, in order, so the result still tells most
// destinations apart; the fragment, never sent, is dropped. The mask is
// written as is, not percent-encoded, so it reads like a masked header. A
// URL with none of these is returned unchanged, so the names of such
// outputs, and the metric series labelled with them, do not change. A URL
// that does not parse, and the opaque part of one such as
// "scheme:user:pass@host", are masked whole: where their secrets are cannot
// be told.
func MaskURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return Mask
	}
	if u.User == nil && u.RawQuery == "" && u.Fragment == "" && u.Opaque == "" {
		return rawURL
	}
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + ":")
	}
	if u.Opaque != "" {
		b.WriteString(Mask)
	} else {
		if u.Scheme != "" || u.Host != "" || u.User != nil {
			b.WriteString("//")
		}
		if u.User != nil {
			b.WriteString(Mask + "@")
		}
		b.WriteString(u.Host)
		b.WriteString(u.EscapedPath())
	}
	sep := "?"
	for part := range strings.SplitSeq(u.RawQuery, "&") {
		if part == "" {
			continue
		}
		b.WriteString(sep)
		sep = "&"
		if key, _, ok := strings.Cut(part, "="); ok {
			b.WriteString(key + "=")
		}
		b.WriteString(Mask)
	}
	return b.String()
}

// Key identifies the output's whole configuration: two configs with the same
// key build interchangeable outputs, so a reload keeps the running one.
func (c *Config) Key() string {
	b, err := json.Marshal(c) // map keys are sorted, so this is canonical
	if err != nil {
		panic("BUG: cannot marshal output config: " + err.Error())
	}
	return string(b)
}

// Type describes an output type.
type Type struct {
	// Validate checks c without side effects. Errors name the field. It
	// sees only configs that set no field the spec leaves out.
	Validate func(c *Config) error
	// New builds the output; c has passed Validate.
	New func(c *Config) (Output, error)
	// Spec documents the type: its summary, the fields of Config it uses
	// (its params) and examples. Validate refuses a config that sets any
	// other field. Every built-in type has one; a type registered without
	// one (a test's) is undocumented and its fields are left to Validate.
	Spec *spec.Component
}

var registry = map[string]Type{
	"console":       {Validate: validateConsole, New: newConsole, Spec: &consoleSpec},
	"elasticsearch": {Validate: validateElasticsearch, New: newElasticsearch, Spec: &elasticsearchSpec},
	"http":          {Validate: validateHTTP, New: newHTTP, Spec: &httpSpec},
	"loki":          {Validate: validateLoki, New: newLoki, Spec: &lokiSpec},
	"otlp":          {Validate: validateOTLP, New: newOTLP, Spec: &otlpSpec},
	"tcp":           {Validate: validateTCP, New: newTCP, Spec: &tcpSpec},
}

// Register adds an output type. It is meant for init functions and tests, and
// fails if the name is taken.
func Register(name string, t Type) error {
	if _, ok := registry[name]; ok {
		return fmt.Errorf("cannot register output type %q: already registered", name)
	}
	if t.Validate == nil || t.New == nil {
		return fmt.Errorf("cannot register output type %q: Validate and New are required", name)
	}
	registry[name] = t
	return nil
}

// Validate checks c. Errors name the offending field, e.g. "url: ...".
func Validate(c *Config) error {
	t, ok := registry[c.Type]
	if !ok {
		return fmt.Errorf("type: unknown output type %q (known: %s)", c.Type, strings.Join(Types(), ", "))
	}
	for _, f := range c.setFields() {
		if t.Spec == nil {
			break
		}
		if _, ok := t.Spec.Param(f); !ok {
			return fmt.Errorf("%s: not used by %s output (it takes %s)", f, c.Type, paramList(t.Spec))
		}
	}
	return t.Validate(c)
}

// setFields returns the JSON names of the fields of c, type aside, that
// are set.
func (c *Config) setFields() []string {
	var set []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"url", c.URL != ""},
		{"headers", len(c.Headers) > 0},
		{"format", c.Format != ""},
		{"timeout_ms", c.TimeoutMS != 0},
		{"max_retries", c.MaxRetries != nil},
		{"gzip", c.Gzip},
		{"linger_ms", c.LingerMS != nil},
		{"max_in_flight", c.MaxInFlight != nil},
		{"index", c.Index != ""},
		{"labels", len(c.Labels) > 0},
		{"label_fields", len(c.LabelFields) > 0},
		{"max_streams", c.MaxStreams != 0},
		{"tenant_id", c.TenantID != ""},
		{"tls_ca_file", c.TLSCAFile != ""},
		{"tls_insecure_skip_verify", c.TLSInsecureSkipVerify},
	} {
		if f.set {
			set = append(set, f.name)
		}
	}
	return set
}

// paramList is the params of an output type as a phrase.
func paramList(sp *spec.Component) string {
	if len(sp.Params) == 0 {
		return "no other field"
	}
	return strings.Join(sp.ParamNames(), ", ")
}

// Spec returns the documentation of the output type called name.
func Spec(name string) (*spec.Component, bool) {
	t, ok := registry[name]
	if !ok {
		return nil, false
	}
	return t.Spec, true
}

// New validates c and builds the output.
func New(c *Config) (Output, error) {
	if err := Validate(c); err != nil {
		return nil, err
	}
	return registry[c.Type].New(c)
}

// Types lists the registered output type names, sorted.
func Types() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("output closed")

// StringList is a list of strings that also decodes from a single string,
// as a manifest's string-only params may be written.
type StringList []string

// UnmarshalJSON implements json.Unmarshaler.
func (l *StringList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = StringList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}
