// Package manifest is the configuration contract between the control plane and
// the data plane: its schema, its strict decoding, its validation and its
// compilation into a pipeline configuration. The control plane validates with
// this same package, so the API rejects exactly what a data plane would.
//
// A manifest looks like
//
//	{"version": "7", "timestamp": 1732262400,
//	 "pipelines": [{"name": "default_pipeline",
//	   "processors": [{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}],
//	   "outputs": [{"type": "http", "url": "http://collector:9000", "headers": {"DD-API-KEY": "..."}}],
//	   "batch_size": 100}]}
//
// Fields beyond the seed's are optional, so a manifest written by the seed's
// control plane loads unchanged, and one written here loads in the seed's
// data plane.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
)

// Limits of a manifest.
const (
	MinBatchSize = 1
	MaxBatchSize = 10000
	// DefaultBatchSize is the batch size of a pipeline that sets none.
	DefaultBatchSize = 100
	// MaxSize bounds the encoded manifest, so a corrupt key cannot make a
	// data plane allocate without bound.
	MaxSize = 8 << 20
	// MaxRules bounds the rules of a pipeline. A manifest with more is
	// refused before any rule is built.
	MaxRules = 1000
	// MaxRegexBytes bounds the memory of the compiled programs of all the
	// regular expressions of a manifest together, as
	// match.Regex.ProgramBytes counts them; each is bounded on its own by
	// match.MaxRegexProgram.
	MaxRegexBytes = 16 << 20
)

// Overload policies: what processors do while the breaker is open.
const (
	// PolicyKeepRedaction bypasses filters but keeps redacting (the default):
	// overload never leaks PII.
	PolicyKeepRedaction = "keep_redaction"
	// PolicyBypassAll bypasses every processor (the seed's fail-open).
	PolicyBypassAll = "bypass_all"
)

// Manifest is the whole configuration of a data plane.
type Manifest struct {
	// Version identifies the manifest. It is written as a JSON string (the
	// seed's "1.0") and may be read from a number.
	Version Version `json:"version"`
	// Timestamp is when it was published, in Unix seconds.
	Timestamp int64      `json:"timestamp,omitempty"`
	Pipelines []Pipeline `json:"pipelines"`
}

// Pipeline is a processor chain with its outputs.
type Pipeline struct {
	Name       string             `json:"name"`
	Processors []processor.Config `json:"processors"`
	Outputs    []output.Config    `json:"outputs"`
	// BatchSize is in lines, 1..10000; nil means 100.
	BatchSize *int `json:"batch_size,omitempty"`
	// OverloadPolicy is keep_redaction (default) or bypass_all.
	OverloadPolicy string `json:"overload_policy,omitempty"`
}

// Version is a manifest version: a string that also decodes from a number.
type Version string

// UnmarshalJSON implements json.Unmarshaler.
func (v *Version) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Version(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("version: want a string or a number")
	}
	*v = Version(n.String())
	return nil
}

// Parse decodes and validates a manifest. Unknown fields are errors; all
// errors are reported together, each naming its field. A manifest that
// does not decode is refused before it is validated: a syntax error is
// said with its line and column; unknown fields and values of the wrong
// type, all of them, each with its line, column and field
// (`line 3, column 49: pipelines[0].processors[0].parms: unknown field`).
func Parse(data []byte) (*Manifest, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("cannot parse manifest: %d bytes exceeds the limit of %d", len(data), MaxSize)
	}
	var m Manifest
	if err := decodeStrict(data, &m); err != nil {
		return nil, err
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// decodeStrict decodes exactly one JSON value, rejecting unknown fields and
// trailing data. Unknown fields and values of the wrong type are returned
// joined, each with its position and field (checkShape); other errors
// start "cannot parse manifest" and say where they stand.
func decodeStrict(data []byte, dst any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(dst); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			// Offset counts the byte at fault.
			return fmt.Errorf("cannot parse manifest: %s: %w", position(data, se.Offset-1), err)
		}
		if errs := checkShape(data, reflect.TypeOf(dst)); len(errs) > 0 {
			return errors.Join(errs...)
		}
		// What checkShape leaves to the decoder: a json.Unmarshaler's error.
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fmt.Errorf("cannot parse manifest: %s: %s: cannot decode %s into %s", position(data, te.Offset), te.Field, te.Value, te.Type)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return fmt.Errorf("cannot parse manifest: %s: unknown field %s", position(data, keyOffset(data, name)), name)
		}
		return fmt.Errorf("cannot parse manifest: %w", err)
	}
	if d.More() {
		return fmt.Errorf("cannot parse manifest: %s: unexpected data after the manifest", position(data, d.InputOffset()))
	}
	return nil
}

// keyOffset returns where the first member named by quoted, a JSON string
// as the decoder quotes it, stands in data as a key: the string followed by
// a colon. The decoder does not say where an unknown field is.
func keyOffset(data []byte, quoted string) int64 {
	for from := 0; ; {
		i := bytes.Index(data[from:], []byte(quoted))
		if i < 0 {
			return int64(len(data))
		}
		i += from
		rest := bytes.TrimLeft(data[i+len(quoted):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			return int64(i)
		}
		from = i + 1
	}
}

// position says where byte offset of data stands, as "line L, column C",
// both counted from 1, the column in bytes.
func position(data []byte, offset int64) string {
	offset = min(max(offset, 0), int64(len(data)))
	before := data[:offset]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// Validate checks every field and returns all errors at once, joined; each
// names its field, e.g. `pipelines[0].processors[1].params.pattern: ...`.
func (m *Manifest) Validate() error {
	_, err := m.Compile()
	return err
}

// Compiled is a valid manifest built: its processors constructed and its
// outputs checked and named, for the data plane to assemble.
type Compiled struct {
	// Version is the manifest's.
	Version string
	// Steps are the rules of the pipeline's chain, in order.
	Steps []processor.Step
	// Outputs are the pipeline's outputs, named apart (output.Config's
	// NameSuffix); empty means console.
	Outputs []output.Config
	// BatchSize is in lines, DefaultBatchSize when the manifest sets none.
	BatchSize int
	// BypassAll is set by the bypass_all overload policy.
	BypassAll bool
}

// Compile validates m, as Validate does, and builds it.
func (m *Manifest) Compile() (*Compiled, error) {
	var errs []error
	failf := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}

	switch len(m.Pipelines) {
	case 0:
		failf("pipelines", "at least one pipeline is required")
		return nil, errors.Join(errs...)
	case 1:
	default:
		failf("pipelines", "one pipeline is supported; got %d", len(m.Pipelines))
	}
	pl := &m.Pipelines[0]
	const at = "pipelines[0]"
	cfg := &Compiled{Version: string(m.Version), BatchSize: DefaultBatchSize}

	if pl.BatchSize != nil {
		if n := *pl.BatchSize; n < MinBatchSize || n > MaxBatchSize {
			failf(at+".batch_size", "must be between %d and %d; got %d", MinBatchSize, MaxBatchSize, n)
		} else {
			cfg.BatchSize = n
		}
	}
	switch pl.OverloadPolicy {
	case "", PolicyKeepRedaction:
	case PolicyBypassAll:
		cfg.BypassAll = true
	default:
		failf(at+".overload_policy", "want %q or %q; got %q", PolicyKeepRedaction, PolicyBypassAll, pl.OverloadPolicy)
	}

	if n := len(pl.Processors); n > MaxRules {
		failf(at+".processors", "%d rules, over the limit of %d per pipeline", n, MaxRules)
		return nil, errors.Join(errs...)
	}
	ids := make(map[string]int)
	regexBytes, overBudget := 0, false
	for i, rc := range pl.Processors {
		field := ruleField(at, i, rc.ID)
		if rc.ID != "" {
			if j, dup := ids[rc.ID]; dup {
				failf(field+".id", "duplicate of processors[%d]", j)
			}
			ids[rc.ID] = i
		}
		s, err := processor.Build(rc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", field, err))
			continue
		}
		regexBytes += s.RegexBytes
		if !overBudget && regexBytes > MaxRegexBytes {
			overBudget = true
			failf(field, "its regular expressions (%s) bring those of the manifest to %s, over the limit of %s for all the rules of a manifest",
				mib(s.RegexBytes), mib(regexBytes), mib(MaxRegexBytes))
		}
		if overBudget {
			// The manifest is refused: keep none of the programs, so
			// checking the rules left costs one program at a time.
			cfg.Steps = nil
			continue
		}
		cfg.Steps = append(cfg.Steps, s)
	}

	// Outputs are told apart in metrics and logs by their names, which mask
	// the URL's credentials and query values: outputs whose masked URLs are
	// the same get the suffixes #2, #3, ... in the order they are listed.
	urls := make(map[string]int)
	suffixes := nameSuffixes(pl.Outputs)
	queues := make(map[string]int) // disk buffers by queue
	for i := range pl.Outputs {
		if oc := &pl.Outputs[i]; oc.Buffer.Disk() {
			id := oc.QueueID()
			if j, dup := queues[id]; dup {
				failf(fmt.Sprintf("%s.outputs[%d].buffer", at, i), "outputs[%d] has the same settings: one disk queue cannot serve two outputs", j)
			}
			queues[id] = i
		}
	}
	for i := range pl.Outputs {
		oc := pl.Outputs[i]
		field := fmt.Sprintf("%s.outputs[%d]", at, i)
		if err := output.Validate(&oc); err != nil {
			errs = append(errs, fmt.Errorf("%s.%w", field, err))
			continue
		}
		if oc.URL != "" {
			if j, dup := urls[oc.URL]; dup {
				failf(field+".url", "duplicate of outputs[%d]", j)
			}
			urls[oc.URL] = i
		}
		oc.NameSuffix = suffixes[i]
		cfg.Outputs = append(cfg.Outputs, oc)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cfg, nil
}

// nameSuffixes returns the output.Config NameSuffix of each of outs, in
// order: "" for the first output of a name, then "#2", "#3", ...
func nameSuffixes(outs []output.Config) []string {
	seen := make(map[string]int, len(outs))
	suffixes := make([]string, len(outs))
	for i := range outs {
		name := outs[i].Name()
		seen[name]++
		if n := seen[name]; n > 1 {
			suffixes[i] = "#" + strconv.Itoa(n)
		}
	}
	return suffixes
}

// OutputNames returns the names that outs, the outputs of one pipeline in
// order, have in metrics and logs once compiled (output.Config.Name with
// its NameSuffix): outputs whose names would be the same get #2, #3, ...
// in the order they are listed.
func OutputNames(outs []output.Config) []string {
	names := nameSuffixes(outs)
	for i := range outs {
		oc := outs[i]
		oc.NameSuffix = names[i]
		names[i] = oc.Name()
	}
	return names
}

// MaskOutputName masks, in name, an output's name as someone wrote it,
// what could be a credential, so that it can be shown and logged: a URL
// as output.MaskURL masks it, keeping a #N suffix. The name of an output
// (OutputNames) comes out unchanged: its URL is masked already.
func MaskOutputName(name string) string {
	typ, rest, ok := strings.Cut(name, ":")
	if !ok {
		return name
	}
	suffix := ""
	if i := strings.LastIndexByte(rest, '#'); i >= 0 && i+1 < len(rest) && strings.Trim(rest[i+1:], "0123456789") == "" {
		rest, suffix = rest[:i], rest[i:]
	}
	switch {
	case strings.Contains(rest, "://"):
		rest = output.MaskURL(rest)
	case strings.Contains(rest, "@"):
		// Not a URL the outputs take, and maybe user:password@host.
		rest = Mask
	}
	return typ + ":" + rest + suffix
}

// ruleField names the rule at index i of the pipeline at, for errors and
// warnings: pipelines[0].processors[1] (id "redact_ssn").
func ruleField(at string, i int, id string) string {
	field := fmt.Sprintf("%s.processors[%d]", at, i)
	if id != "" {
		field += " (id " + strconv.Quote(id) + ")"
	}
	return field
}

// mib writes n bytes in MiB.
func mib(n int) string {
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// Warnings lists what in m is valid and yet unsafe, each naming its field,
// for `streamgate validate` and the publish response to show: a rule that
// runs under overload by default (redact) told to skip, the bypass_all
// policy over such rules, and an output that does not verify its
// endpoint's certificate. It builds nothing, so it is cheap, and says
// nothing of what Validate refuses.
func (m *Manifest) Warnings() []string {
	var out []string
	for p := range m.Pipelines {
		pl := &m.Pipelines[p]
		at := fmt.Sprintf("pipelines[%d]", p)
		protective := 0 // rules that run under overload by default
		for i, rc := range pl.Processors {
			t, ok := processor.TypeOf(rc.Type)
			if !ok || !t.RunOnOverload {
				continue
			}
			protective++
			if run, err := processor.RunsOnOverload(rc); err == nil && !run && pl.OverloadPolicy != PolicyBypassAll {
				out = append(out, ruleField(at, i, rc.ID)+`.on_overload: "skip" lets lines leave unredacted while the overload breaker is open`)
			}
		}
		if pl.OverloadPolicy == PolicyBypassAll && protective > 0 {
			out = append(out, fmt.Sprintf("%s.overload_policy: %q skips every rule while the overload breaker is open, "+
				"redaction included (%d rules): lines leave unredacted", at, PolicyBypassAll, protective))
		}
		for i := range pl.Outputs {
			if oc := &pl.Outputs[i]; oc.TLSInsecureSkipVerify {
				out = append(out, fmt.Sprintf("%s.outputs[%d] (%s).tls_insecure_skip_verify: the endpoint's certificate is not verified, "+
					"so anyone on the path can read and change what is sent", at, i, oc.Name()))
			}
		}
	}
	return out
}

// ErrorList splits an error returned by Parse or Validate into its messages.
func ErrorList(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}

// Redacted returns a copy of m whose output header values and URL
// credentials and query values are masked (output.MaskURL), for logs and API
// responses. The manifest itself keeps the real values.
func (m *Manifest) Redacted() *Manifest {
	c := *m
	c.Pipelines = make([]Pipeline, len(m.Pipelines))
	for i, p := range m.Pipelines {
		// Clone keeps an empty list empty, not nil: it is written as [], as
		// the manifest itself has it, and not as null.
		p.Outputs = slices.Clone(p.Outputs)
		for j := range p.Outputs {
			p.Outputs[j].Headers = MaskHeaders(p.Outputs[j].Headers)
			p.Outputs[j].URL = output.MaskURL(p.Outputs[j].URL)
		}
		c.Pipelines[i] = p
	}
	return &c
}

// Mask replaces a secret value.
const Mask = output.Mask

// MaskHeaders returns a copy of h with every value replaced by Mask.
func MaskHeaders(h map[string]string) map[string]string {
	if h == nil {
		return nil
	}
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = Mask
	}
	return out
}

// PeekVersion returns the version of an encoded manifest, even one that is
// otherwise invalid, or "" if there is none to find. It is for reporting
// which manifest was rejected.
func PeekVersion(data []byte) string {
	var v struct {
		Version Version `json:"version"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	return string(v.Version)
}
