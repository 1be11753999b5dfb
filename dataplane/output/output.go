// Package output holds the sinks that batches of processed lines are written
// to, and their registry.
//
// An output is one file plus one line in registry.go. Batching, fan-out,
// queueing and accounting live in the pipeline; an output only writes.
package output

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
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

	// Brokers are the Kafka brokers first contacted, host:port each.
	Brokers StringList `json:"brokers,omitempty"`
	// Topic is the Kafka topic records are produced to.
	Topic string `json:"topic,omitempty"`
	// KeyField is the /-separated path of the JSON member whose value keys
	// a line's record; "" keys none.
	KeyField string `json:"key_field,omitempty"`
	// Compression is the Kafka record batch codec; "" means lz4.
	Compression string `json:"compression,omitempty"`
	// TLS connects over TLS (Kafka); tls_ca_file or
	// tls_insecure_skip_verify imply it.
	TLS bool `json:"tls,omitempty"`
	// SASLMechanism is the Kafka SASL mechanism: "plain", "scram-sha-256"
	// or "scram-sha-512"; "" authenticates with none.
	SASLMechanism string `json:"sasl_mechanism,omitempty"`
	// SASLUsername is the SASL user.
	SASLUsername string `json:"sasl_username,omitempty"`
	// SASLPasswordFile is the file holding the SASL password: the password
	// itself never goes in a manifest.
	SASLPasswordFile string `json:"sasl_password_file,omitempty"`

	// Region is the AWS region (CloudWatch Logs); "" takes the SDK's.
	Region string `json:"region,omitempty"`
	// LogGroup and LogStream are where CloudWatch Logs events go.
	LogGroup  string `json:"log_group,omitempty"`
	LogStream string `json:"log_stream,omitempty"`
	// Create creates a missing log group and stream; nil means true.
	Create *bool `json:"create,omitempty"`
	// Endpoint overrides the service's endpoint URL.
	Endpoint string `json:"endpoint,omitempty"`
	// TimestampField is the /-separated path of the JSON member that holds
	// a line's time; "" stamps each line with the time it is written.
	TimestampField string `json:"timestamp_field,omitempty"`

	// Buffer is where the output's queue lives; nil means in memory. Every
	// type takes it.
	Buffer *BufferConfig `json:"buffer,omitempty"`
	// CostPerGB is what the destination charges to ingest a GB (10^9
	// bytes), in dollars: the savings estimate their cost with it
	// (CostSpec). Every type takes it; nil means unknown.
	CostPerGB *float64 `json:"cost_per_gb,omitempty"`

	// NameSuffix is appended to Name, to tell apart outputs of one manifest
	// whose masked URLs are the same ("#2", "#3", ...). Not part of the
	// manifest: compiling one sets it.
	NameSuffix string `json:"-"`
}

// Name identifies the output in metrics and logs, e.g. "console",
// "http:http://host:9000/path" or, for a type without a url, what its
// type's Destination shows: "kafka:k1:9092,k2:9092/logs". It shows no
// header value, and the URL as
// MaskURL shows it: without credentials or query values (a token in the
// path, as some vendors' intake URLs have, is not recognised). Two configs
// whose URLs differ only in what MaskURL hides would share a name; a
// manifest tells them apart with NameSuffix.
func (c *Config) Name() string {
	if c.URL == "" {
		if t, ok := registry[c.Type]; ok && t.Destination != nil {
			return c.Type + ":" + t.Destination(c) + c.NameSuffix
		}
		return c.Type
	}
	return c.Type + ":" + MaskURL(c.URL) + c.NameSuffix
}

// StringList is a list of strings in a manifest; a single string is read
// as a list of one, as the original prototype's control plane wrote every
// value as a string.
type StringList []string

// UnmarshalJSON reads a JSON array of strings, or one string.
func (l *StringList) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		*l = nil
		return nil
	}
	var one string
	if json.Unmarshal(b, &one) == nil {
		*l = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		// A type error, which the decoder completes with the field's name.
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[StringList]()}
	}
	*l = many
	return nil
}

// jsonKind names the kind of the JSON value b, as a type error says it.
func jsonKind(b []byte) string {
	switch b = bytes.TrimSpace(b); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array with a value that is not a string"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	case b[0] == 'n':
		return "null"
	}
	return "number"
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
	d := *c
	d.CostPerGB = nil          // a price changes no delivery: the output is kept
	b, err := json.Marshal(&d) // map keys are sorted, so this is canonical
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
	// Destination names where a config of a type that has no url writes,
	// for Name: it must show no secret. nil: Name is the type alone.
	Destination func(c *Config) string
}

// registry is filled in by init, not in its declaration: Config.Name reads
// it, and constructors such as loki's call Name.
var registry map[string]Type

func init() {
	registry = map[string]Type{
		"cloudwatch_logs": {Validate: validateCloudWatch, New: newCloudWatch, Spec: &cloudWatchSpec, Destination: cloudWatchDestination},
		"console":         {Validate: validateConsole, New: newConsole, Spec: &consoleSpec},
		"elasticsearch":   {Validate: validateElasticsearch, New: newElasticsearch, Spec: &elasticsearchSpec},
		"http":            {Validate: validateHTTP, New: newHTTP, Spec: &httpSpec},
		"kafka":           {Validate: validateKafka, New: newKafka, Spec: &kafkaSpec, Destination: kafkaDestination},
		"loki":            {Validate: validateLoki, New: newLoki, Spec: &lokiSpec},
		"otlp":            {Validate: validateOTLP, New: newOTLP, Spec: &otlpSpec},
		"tcp":             {Validate: validateTCP, New: newTCP, Spec: &tcpSpec},
	}
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
	if c.Buffer != nil {
		if err := c.Buffer.validate(); err != nil {
			return err
		}
	}
	if err := validateCost(c.CostPerGB); err != nil {
		return err
	}
	for _, f := range c.setFields() {
		if t.Spec == nil {
			break
		}
		if _, ok := t.Spec.Param(f); !ok {
			return fmt.Errorf("%s: not used by %s output (it takes %s, buffer and cost_per_gb)", f, c.Type, paramList(t.Spec))
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
		{"brokers", len(c.Brokers) > 0},
		{"topic", c.Topic != ""},
		{"key_field", c.KeyField != ""},
		{"compression", c.Compression != ""},
		{"tls", c.TLS},
		{"sasl_mechanism", c.SASLMechanism != ""},
		{"sasl_username", c.SASLUsername != ""},
		{"sasl_password_file", c.SASLPasswordFile != ""},
		{"region", c.Region != ""},
		{"log_group", c.LogGroup != ""},
		{"log_stream", c.LogStream != ""},
		{"create", c.Create != nil},
		{"endpoint", c.Endpoint != ""},
		{"timestamp_field", c.TimestampField != ""},
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
