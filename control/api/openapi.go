package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/spec"
)

// schema is the subset of an OpenAPI 3.0 schema object the API needs.
type schema struct {
	Ref         string             `json:"$ref,omitempty"`
	Type        string             `json:"type,omitempty"`
	Format      string             `json:"format,omitempty"`
	Description string             `json:"description,omitempty"`
	Enum        []string           `json:"enum,omitempty"`
	Minimum     *int               `json:"minimum,omitempty"`
	Maximum     *int               `json:"maximum,omitempty"`
	Nullable    bool               `json:"nullable,omitempty"`
	Default     any                `json:"default,omitempty"`
	Properties  map[string]*schema `json:"properties,omitempty"`
	Required    []string           `json:"required,omitempty"`
	Items       *schema            `json:"items,omitempty"`
	OneOf       []*schema          `json:"oneOf,omitempty"`
	Example     json.RawMessage    `json:"example,omitempty"`
	// AdditionalProperties describes the values of a map.
	AdditionalProperties *schema `json:"additionalProperties,omitempty"`
}

func ref(name string) *schema { return &schema{Ref: "#/components/schemas/" + name} }

func arrayOf(items *schema) *schema { return &schema{Type: "array", Items: items} }

// property is a named schema, for object.
type property struct {
	name     string
	schema   *schema
	required bool
}

func prop(name string, s *schema, required bool) property {
	return property{name: name, schema: s, required: required}
}

func object(props ...property) *schema {
	s := &schema{Type: "object", Properties: make(map[string]*schema, len(props))}
	for _, p := range props {
		s.Properties[p.name] = p.schema
		if p.required {
			s.Required = append(s.Required, p.name)
		}
	}
	return s
}

func describe(s *schema, doc string) *schema {
	c := *s
	c.Description = doc
	return &c
}

func str(doc string) *schema     { return &schema{Type: "string", Description: doc} }
func integer(doc string) *schema { return &schema{Type: "integer", Description: doc} }

// statusWith is the seed's {"status": ..., name: s} response; name "" leaves
// only the status.
func statusWith(name string, s *schema) *schema {
	props := []property{prop("status", str("What was done."), true)}
	if name != "" {
		props = append(props, prop(name, s, true))
	}
	return object(props...)
}

func batchSizeSchema() *schema {
	lo, hi := manifest.MinBatchSize, manifest.MaxBatchSize
	return &schema{Type: "integer", Minimum: &lo, Maximum: &hi,
		Description: fmt.Sprintf("Lines per batch sent to the outputs, %d to %d.", lo, hi)}
}

// componentName is the schema name of a processor's params ("filter" →
// "FilterParams") or of an output type ("http" → "HttpOutput").
func componentName(typ, suffix string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(typ, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + suffix
}

// costSchema is the schema of the cost_per_gb every output takes.
func costSchema() *schema {
	s := paramSchema(&output.CostSpec.Params[0])
	s.Minimum = new(int)
	return s
}

// paramSchema is the schema of one documented param.
func paramSchema(p *spec.Param) *schema {
	s := &schema{Description: p.Description, Enum: p.Enum}
	switch p.Kind {
	case spec.String:
		s.Type = "string"
	case spec.Strings:
		s.Type, s.Items = "array", &schema{Type: "string"}
		s.Description += " A single string is taken as a list of one."
	case spec.Integer:
		s.Type = "integer"
	case spec.Number:
		s.Type = "number"
	case spec.Boolean:
		s.Type = "boolean"
	case spec.StringMap:
		s.Type, s.AdditionalProperties = "object", &schema{Type: "string"}
	}
	if p.Default != "" {
		// The default in the type of the param, as JSON has it.
		var v any
		if json.Unmarshal([]byte(p.Default), &v) != nil || s.Type == "string" {
			v = p.Default
		}
		s.Default = v
	}
	return s
}

// componentSchema documents a processor's params or an output type's
// fields; extra are properties every component of its kind has.
func componentSchema(sp *spec.Component, extra ...property) *schema {
	props := append([]property(nil), extra...)
	for i := range sp.Params {
		p := &sp.Params[i]
		props = append(props, prop(p.Name, paramSchema(p), p.Required))
	}
	s := describe(object(props...), sp.Summary)
	if len(sp.Examples) > 0 {
		s.Example = json.RawMessage(sp.Examples[0])
	}
	return s
}

// componentSchemas are the schemas of every registered processor's params
// and every output type.
func componentSchemas() map[string]*schema {
	out := make(map[string]*schema)
	for _, typ := range processor.Types() {
		if sp, ok := processor.Spec(typ); ok && sp != nil {
			out[componentName(typ, "Params")] = componentSchema(sp)
		}
	}
	for _, typ := range output.Types() {
		if sp, ok := output.Spec(typ); ok && sp != nil {
			s := componentSchema(sp, prop("type", &schema{Type: "string", Enum: []string{typ}}, true))
			if len(sp.Examples) > 0 {
				// The example of an output is the whole object, type included.
				var m map[string]any
				json.Unmarshal([]byte(sp.Examples[0]), &m)
				m["type"] = typ
				s.Example, _ = json.Marshal(m)
			}
			out[componentName(typ, "Output")] = s
		}
	}
	return out
}

// typeDoc lists the registered types with their summaries, for the
// description of a type field.
func typeDoc(types []string, summary func(string) string) string {
	var b strings.Builder
	for i, typ := range types {
		if i > 0 {
			b.WriteString(" ")
		}
		b.WriteString(typ + ": " + summary(typ))
	}
	return b.String()
}

// outputField documents a field of output.Config from the output types
// that take it: the description of the http output's, the most general,
// or else of the first, and which types take it; each type's own is in its
// <Type>Output schema.
func outputField(name string) *schema {
	var s *schema
	var users []string
	for _, typ := range output.Types() {
		sp, ok := output.Spec(typ)
		if !ok || sp == nil {
			continue
		}
		if p, ok := sp.Param(name); ok {
			if s == nil || typ == "http" {
				s = paramSchema(p)
			}
			users = append(users, typ)
		}
	}
	if s == nil {
		return &schema{Description: "Used by no output type."}
	}
	s.Description = "For " + strings.Join(users, ", ") + ". " + s.Description
	return s
}

// schemas are the named schemas of the OpenAPI document. Their properties
// are the JSON fields of the Go types they describe; a test keeps them in
// step.
func schemas() map[string]*schema {
	var params []*schema
	for _, typ := range processor.Types() {
		params = append(params, ref(componentName(typ, "Params")))
	}
	processorSummary := func(typ string) string { sp, _ := processor.Spec(typ); return sp.Summary }
	outputSummary := func(typ string) string { sp, _ := output.Spec(typ); return sp.Summary }
	url, headers := outputField("url"), outputField("headers")
	url.Nullable, headers.Nullable = true, true
	url.Description += " Unique among the draft's outputs."
	headers.Description += " Their values are masked as " + manifest.Mask + " in every response."
	all := map[string]*schema{
		"Rule": describe(object(
			prop("id", str("Unique among the draft's rules."), true),
			prop("type", &schema{Type: "string", Enum: processor.Types(), Description: typeDoc(processor.Types(), processorSummary)}, true),
			prop("params", &schema{OneOf: params, Description: "Depend on the type: the <type>Params schema of the type. " +
				"String values are accepted for every param, as the original prototype wrote them."}, false),
			prop("on_overload", &schema{Type: "string", Enum: []string{"run", "skip"},
				Description: "Whether the rule runs while the overload breaker is open; by default redact runs and the rest skip. " +
					"The same as the params' on_overload, which the types document; set it in one place."}, false),
		), "A processing rule."),
		"Output": describe(object(
			prop("type", &schema{Type: "string", Enum: output.Types(), Description: typeDoc(output.Types(), outputSummary)}, true),
			prop("url", url, false),
			prop("headers", headers, false),
			prop("format", outputField("format"), false),
			prop("timeout_ms", outputField("timeout_ms"), false),
			prop("max_retries", outputField("max_retries"), false),
			prop("gzip", outputField("gzip"), false),
			prop("linger_ms", outputField("linger_ms"), false),
			prop("max_in_flight", outputField("max_in_flight"), false),
			prop("index", outputField("index"), false),
			prop("labels", outputField("labels"), false),
			prop("label_fields", outputField("label_fields"), false),
			prop("max_streams", outputField("max_streams"), false),
			prop("tenant_id", outputField("tenant_id"), false),
			prop("tls_ca_file", outputField("tls_ca_file"), false),
			prop("tls_insecure_skip_verify", outputField("tls_insecure_skip_verify"), false),
			prop("brokers", outputField("brokers"), false),
			prop("topic", outputField("topic"), false),
			prop("key_field", outputField("key_field"), false),
			prop("compression", outputField("compression"), false),
			prop("tls", outputField("tls"), false),
			prop("sasl_mechanism", outputField("sasl_mechanism"), false),
			prop("sasl_username", outputField("sasl_username"), false),
			prop("sasl_password_file", outputField("sasl_password_file"), false),
			prop("region", outputField("region"), false),
			prop("log_group", outputField("log_group"), false),
			prop("log_stream", outputField("log_stream"), false),
			prop("create", outputField("create"), false),
			prop("endpoint", outputField("endpoint"), false),
			prop("timestamp_field", outputField("timestamp_field"), false),
			prop("buffer", componentSchema(&output.BufferSpec), false),
			prop("cost_per_gb", costSchema(), false),
		), "Where processed lines are sent. Each type takes the fields its <Type>Output schema lists; setting another is an error."),
		"Pipeline": describe(object(
			prop("name", str("The pipeline's name; the control plane writes "+strconv.Quote("default_pipeline")+"."), true),
			prop("processors", arrayOf(ref("Rule")), true),
			prop("outputs", arrayOf(ref("Output")), true),
			prop("batch_size", batchSizeSchema(), false),
			prop("overload_policy", &schema{Type: "string", Enum: []string{manifest.PolicyKeepRedaction, manifest.PolicyBypassAll},
				Description: "What the processors do while the breaker is open."}, false),
		), "A processor chain with its outputs."),
		"Manifest": describe(object(
			prop("version", str("Decimal, growing with every publish."), true),
			prop("timestamp", &schema{Type: "integer", Format: "int64", Description: "When it was published, in Unix seconds."}, false),
			prop("pipelines", arrayOf(ref("Pipeline")), true),
		), "The configuration every data plane loads."),
		"PreviewRequest": describe(object(
			prop("lines", describe(arrayOf(str("A line, as a data plane would read it.")), "The lines to preview; required unless tap is given, and not with it."), false),
			prop("tap", describe(object(
				prop("instance", str("The id of the data plane to tap, as GET /fleet lists it; absent: the first live one, by id, that reports an admin address."), false),
				prop("n", &schema{Type: "integer", Minimum: new(1), Maximum: new(MaxPreviewLines), Default: DefaultTapPreviewLines,
					Description: "The records to read from the tap: the next lines the data plane processes."}, false),
				prop("wait_ms", &schema{Type: "integer", Minimum: new(1), Maximum: new(int(MaxTapWait.Milliseconds())), Default: DefaultTapWait.Milliseconds(),
					Description: "The longest wait for them, in milliseconds; the preview has the records that came by then."}, false),
			), "Instead of lines: read them from a live data plane's tap (GET /tap on the admin port its heartbeat names in admin_addr). "+
				"The tap sends lines as the outputs receive them, after the live rules; a line they dropped has no text and is not previewed, "+
				"nor is one they skipped while the data plane's breaker was open."), false),
			prop("manifest", ref("Manifest"), false),
		), "Lines to preview, given or from a live tap, through the draft or through manifest when given."),
		"Preview": describe(object(
			prop("version", str(`The manifest previewed: "draft", or the version of the one given.`), true),
			prop("lines", arrayOf(describe(object(
				prop("kept", &schema{Type: "boolean", Description: "Whether the line reaches the outputs."}, true),
				prop("dropped_by", str("The id of the rule that dropped it."), false),
				prop("rewritten_by", arrayOf(str("A rule id.")), false),
				prop("output", str("The line as the outputs would receive it, when kept."), false),
				prop("spans", arrayOf(describe(object(
					prop("start", integer("Byte offset of the finding's start in the line given, before any rule ran."), true),
					prop("end", integer("Byte offset just past its end. A finding in what an earlier rule wrote spans what that rule replaced."), true),
					prop("rule", str("The id of the redact rule that found it."), true),
					prop("detector", str(`What found it: a detector's name, "pattern" for the rule's pattern, or "field:" and the field's path or key.`), true),
					prop("action", str("What the rule does with it: mask, partial, hash or drop."), true),
				), "Where a redact rule found something; never the value found.")), false),
			), "What became of one line.")), true),
			prop("totals", describe(object(
				prop("lines", integer("Lines previewed."), true),
				prop("kept", integer("Lines that reach the outputs."), true),
				prop("dropped", integer("Lines a rule dropped."), true),
				prop("bytes_in", integer("Bytes of the lines previewed."), true),
				prop("bytes_out", integer("Bytes of the lines the outputs would receive."), true),
				prop("bytes_saved", integer("bytes_in - bytes_out."), true),
				prop("saved_percent", &schema{Type: "number", Description: "(bytes_in - bytes_out) / bytes_in, in percent, one decimal."}, true),
				prop("dropped_by_rule", &schema{Type: "object", AdditionalProperties: integer("Lines."), Description: "Lines dropped, by rule id."}, false),
				prop("rewritten_by_rule", &schema{Type: "object", AdditionalProperties: integer("Lines."), Description: "Lines rewritten, by rule id."}, false),
			), "Totals over the lines."), true),
			prop("source", describe(object(
				prop("instance", str("The id of the data plane tapped."), true),
				prop("tapped", integer("Records its tap sent."), true),
				prop("lines", integer("Lines previewed: those records with text."), true),
				prop("dropped_live", integer("Records the live rules dropped: the tap sends no text for them."), true),
				prop("bypassed", integer("Lines not previewed: the live rules skipped them while the breaker was open."), true),
				prop("timed_out", &schema{Type: "boolean", Description: "wait_ms ended the tap before n records came."}, false),
			), "Where the lines came from, when the request gave tap."), false),
		), "What the rules made of each line."),
		"Published": describe(object(
			prop("status", str(`"published"`), true),
			prop("manifest", ref("Manifest"), true),
			prop("subscribers_notified", integer("How many subscribers received the reload announcement; 0 when unchanged."), true),
			prop("unchanged", &schema{Type: "boolean", Description: "True when the draft was the published manifest already, " +
				"so nothing was published: manifest is that one, with its version. Absent otherwise."}, false),
			prop("warnings", &schema{Type: "array", Items: str("What is unsafe, naming its field."),
				Description: "What the manifest, valid and published, does that is unsafe: a redact rule skipped under overload " +
					"(on_overload \"skip\", or the bypass_all policy), an output that does not verify its endpoint's TLS certificate. Absent when there is nothing to say."}, false),
		), "The result of a publish or a rollback."),
		"Heartbeat": describe(object(
			prop("id", str("The instance's id."), true),
			prop("host", str("Its host name."), true),
			prop("pid", integer("Its process id."), true),
			prop("tcp_addr", str("Its TCP ingest address."), false),
			prop("admin_addr", str("Where its admin port answers, host:port; a wildcard bind (:8080, 0.0.0.0:8080) is reported with "+
				"an address of one of its host's interfaces that is up and not loopback, IPv4 first, or 127.0.0.1. Absent without an admin port."), false),
			prop("admin_scheme", &schema{Type: "string", Enum: []string{"http", "https"}, Description: "https when its admin port serves TLS."}, false),
			prop("started_unix_ms", integer("When it started."), true),
			prop("updated_unix_ms", integer("When it last reported."), true),
			prop("version", str(`The manifest version it runs; "" for the built-in default.`), true),
			prop("rejected_version", str("The version of the last manifest it refused."), false),
			prop("last_error", str("Why it refused that manifest."), false),
			prop("redis_status", str(`"connected" or the last Redis error.`), true),
			prop("received", integer("Lines received."), true),
			prop("emitted", integer("Lines delivered."), true),
			prop("filtered", integer("Lines dropped by filter rules."), true),
			prop("sampled", integer("Lines dropped by sample, rate_limit and dedup rules, for cost."), true),
			prop("dropped", integer("Lines dropped for another, counted reason."), true),
			prop("breaker_open_workers", integer("Workers whose overload breaker is open."), true),
			prop("egress_pii", integer("What the egress audit found leaving: sampled lines in which a built-in detector finds personal data, "+
				"counted once per detector and output. Above 0, a redaction rule is missing."), true),
			prop("dead_lettered", integer("Lines its outputs' destinations refused for good (a 4xx other than 408 and 429), kept as dead letters on the data plane's disk; "+
				"its admin API (GET /dlq) lists them and POST /dlq/replay sends them again. Summed over the outputs."), true),
			prop("dead_letter_replayed", integer("Lines a replay took out of the dead letters again, summed over the outputs."), true),
			prop("outputs", arrayOf(describe(object(
				prop("name", str("The output's name, as metrics and logs give it."), true),
				prop("buffer", &schema{Type: "string", Enum: []string{"memory", "disk"}, Description: "Where the output queues."}, true),
				prop("queued_lines", integer("Lines handed to it and not yet delivered, dead-lettered or dropped: in memory and on disk."), true),
				prop("memory_bytes", integer("Bytes of the batches queued in memory."), true),
				prop("disk_bytes", integer("Bytes in its disk buffer not yet delivered."), true),
				prop("oldest_line_age_seconds", &schema{Type: "number", Description: "Age of the oldest line on disk being delivered; 0 when none is."}, true),
				prop("latency_seconds", &schema{Type: "number", Description: "How long the batch it delivered last took from its oldest line being read to delivered; 0 before any."}, false),
				prop("latency_p50_seconds", &schema{Type: "number", Description: "The median of that latency over the batches it delivered in the last minute, at most the last 512; 0 when none."}, false),
				prop("latency_p99_seconds", &schema{Type: "number", Description: "The 99th percentile of that latency over the same batches; 0 when none."}, false),
				prop("latency_window_batches", integer("The batches those percentiles are over."), false),
				prop("delivered", integer("Lines it delivered since the data plane started."), false),
				prop("dropped", integer("Lines it dropped since the data plane started, for any counted reason."), false),
			), "What is queued for one output, and how it delivers.")), false),
			prop("savings", ref("Savings"), false),
			prop("ingest_closed", str("Why its ingest is closed at start: it found no valid manifest to run (Redis unreachable, or its manifest invalid). "+
				"Absent once ingest is open."), false),
			prop("build_version", str(`The StreamGate version it runs; "devel" for a build without one.`), true),
			prop("build_commit", str(`The commit it was built from; "" when unknown.`), true),
			prop("go_version", str("The Go toolchain it was built with."), true),
		), "What a data plane reports about itself."),
		"Health": object(
			prop("status", str(`"ok"`), true),
			prop("service", str(strconv.Quote(serviceName)), true),
		),
		"Error": describe(object(
			prop("detail", str("What is wrong, naming the field."), true),
			prop("errors", arrayOf(&schema{Type: "string"}), false),
		), "Every error response. errors lists every problem when there are several."),
	}
	for name, sc := range componentSchemas() {
		all[name] = sc
	}
	for name, sc := range savingsSchemas() {
		all[name] = sc
	}
	return all
}

// errorDocs describe the error statuses added to routes by their method,
// body and Redis use.
var errorDocs = map[int]errorResponse{
	http.StatusUnauthorized:          {http.StatusUnauthorized, "A token is configured and the request lacks it.", "missing or invalid bearer token"},
	http.StatusConflict:              {http.StatusConflict, "Concurrent updates kept conflicting; try again.", "cannot update draft: too many concurrent updates; try again"},
	http.StatusRequestEntityTooLarge: {http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.", "body: larger than the limit of 1048576 bytes"},
	http.StatusServiceUnavailable:    {http.StatusServiceUnavailable, "Redis cannot be reached.", "redis unavailable: cannot read draft: dial tcp 127.0.0.1:6379: connect: connection refused"},
}

// allErrors returns the error responses of rt, sorted by status.
func (rt *route) allErrors() []errorResponse {
	errs := append([]errorResponse(nil), rt.errors...)
	if rt.mutating() {
		errs = append(errs, errorDocs[http.StatusUnauthorized])
	}
	if rt.body != nil {
		errs = append(errs, errorDocs[http.StatusRequestEntityTooLarge])
	}
	if rt.usesRedis {
		if rt.mutating() {
			errs = append(errs, errorDocs[http.StatusConflict])
		}
		errs = append(errs, errorDocs[http.StatusServiceUnavailable])
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].status < errs[j].status })
	return errs
}

// OpenAPI 3.0 document objects; only the fields the API uses.
type (
	openAPIDoc struct {
		OpenAPI    string                           `json:"openapi"`
		Info       openAPIInfo                      `json:"info"`
		Tags       []openAPITag                     `json:"tags"`
		Paths      map[string]map[string]*operation `json:"paths"`
		Components openAPIComponents                `json:"components"`
	}
	openAPIInfo struct {
		Title       string `json:"title"`
		Version     string `json:"version"`
		Description string `json:"description"`
	}
	openAPITag struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	openAPIComponents struct {
		Schemas         map[string]*schema        `json:"schemas"`
		SecuritySchemes map[string]securityScheme `json:"securitySchemes"`
	}
	securityScheme struct {
		Type   string `json:"type"`
		Scheme string `json:"scheme"`
	}
	operation struct {
		OperationID string                 `json:"operationId"`
		Tags        []string               `json:"tags"`
		Summary     string                 `json:"summary"`
		Description string                 `json:"description,omitempty"`
		Parameters  []parameter            `json:"parameters,omitempty"`
		RequestBody *openAPIRequestBody    `json:"requestBody,omitempty"`
		Responses   map[string]*opResponse `json:"responses"`
		Security    []map[string][]string  `json:"security,omitempty"`
	}
	parameter struct {
		Name        string  `json:"name"`
		In          string  `json:"in"`
		Description string  `json:"description,omitempty"`
		Required    bool    `json:"required"`
		Schema      *schema `json:"schema"`
		Example     any     `json:"example,omitempty"`
	}
	openAPIRequestBody struct {
		Description string               `json:"description,omitempty"`
		Required    bool                 `json:"required"`
		Content     map[string]mediaType `json:"content"`
	}
	opResponse struct {
		Description string               `json:"description"`
		Content     map[string]mediaType `json:"content,omitempty"`
	}
	mediaType struct {
		Schema  *schema `json:"schema"`
		Example any     `json:"example,omitempty"`
	}
)

// tags describe the groups of routes, in the order the reference shows them.
var tags = []openAPITag{
	{"service", "The service itself."},
	{"rules", "The draft's processing rules."},
	{"outputs", "The draft's outputs."},
	{"config", "The draft's settings."},
	{"manifests", "Publishing the draft and the published history."},
	{"shadow", "A manifest run beside the live one, to measure what it would save."},
	{"fleet", "The data planes sharing this Redis, and what their rules save."},
}

const apiDescription = "The StreamGate control plane edits a draft configuration (rules, outputs, batch size) " +
	"and publishes it as a versioned manifest that every data plane loads without a restart. " +
	"The draft and the history live in Redis, so a restart loses nothing. " +
	"When the server has a token, POST, PUT and DELETE need the header `Authorization: Bearer <token>`; GET stays open. " +
	"Every error is JSON {\"detail\": \"...\"} naming the offending field."

// openAPIDocument builds the OpenAPI document from routes.
func openAPIDocument() *openAPIDoc {
	doc := &openAPIDoc{
		OpenAPI: "3.0.3",
		Info:    openAPIInfo{Title: "StreamGate control plane", Version: "1", Description: apiDescription},
		Tags:    tags,
		Paths:   make(map[string]map[string]*operation),
		Components: openAPIComponents{
			Schemas:         schemas(),
			SecuritySchemes: map[string]securityScheme{"bearerAuth": {Type: "http", Scheme: "bearer"}},
		},
	}
	for i := range routes {
		rt := &routes[i]
		op := &operation{
			OperationID: rt.id,
			Tags:        []string{rt.tag},
			Summary:     rt.summary,
			Description: rt.doc,
			Responses:   make(map[string]*opResponse),
		}
		for _, p := range rt.params {
			op.Parameters = append(op.Parameters, parameter{Name: p.name, In: p.in, Description: p.doc,
				Required: p.required, Schema: p.schema, Example: p.example})
		}
		if b := rt.body; b != nil {
			op.RequestBody = &openAPIRequestBody{Description: b.doc, Required: b.required,
				Content: map[string]mediaType{"application/json": {Schema: b.schema, Example: b.example}}}
		}
		ct := rt.ok.contentType
		if ct == "" {
			ct = "application/json"
		}
		op.Responses["200"] = &opResponse{Description: rt.ok.doc,
			Content: map[string]mediaType{ct: {Schema: rt.ok.schema, Example: rt.ok.example}}}
		for _, e := range rt.allErrors() {
			code := strconv.Itoa(e.status)
			r, ok := op.Responses[code]
			if !ok {
				r = &opResponse{Content: map[string]mediaType{"application/json": {Schema: ref("Error"), Example: errorBody{Detail: e.example}}}}
				op.Responses[code] = r
			}
			r.Description = strings.TrimSpace(r.Description + " " + e.doc)
		}
		if rt.mutating() {
			op.Security = []map[string][]string{{"bearerAuth": {}}}
		}
		if doc.Paths[rt.path] == nil {
			doc.Paths[rt.path] = make(map[string]*operation)
		}
		doc.Paths[rt.path][strings.ToLower(rt.method)] = op
	}
	return doc
}
