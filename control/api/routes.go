package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	dppreview "streamgate/dataplane/preview"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

// route is one operation of the API: how it is served and how it is
// documented. The table below is the only list of routes; the mux, the
// OpenAPI document and the HTML reference are all built from it.
type route struct {
	method  string
	path    string // OpenAPI path; also the mux pattern, except "/"
	id      string // OpenAPI operationId
	tag     string
	summary string
	doc     string
	params  []param
	body    *requestBody
	ok      response // the 200 response
	errors  []errorResponse
	// usesRedis adds the 503 response, and for a mutating route the 409, to
	// the documentation.
	usesRedis bool
	serve     func(s *server, r *http.Request) (any, error)
}

// param is a path or query parameter.
type param struct {
	name     string
	in       string // "path" or "query"
	doc      string
	required bool
	schema   *schema
	example  any
}

// requestBody documents a JSON request body.
type requestBody struct {
	doc      string
	required bool
	schema   *schema
	example  any
}

// response documents a successful response.
type response struct {
	doc         string
	contentType string // "" means application/json
	schema      *schema
	example     any
}

// errorResponse documents an error status specific to a route; 401, 409, 413
// and 503 are added from the route's method, body and usesRedis.
type errorResponse struct {
	status  int
	doc     string
	example string // the detail
}

// pattern is rt's ServeMux pattern.
func (rt *route) pattern() string {
	return rt.method + " " + muxPath(rt.path)
}

// muxPath turns an OpenAPI path into a ServeMux path: "/" would match every
// path, so it is anchored.
func muxPath(p string) string {
	if p == "/" {
		return "/{$}"
	}
	return p
}

// mutating reports whether rt changes state and so needs the token.
func (rt *route) mutating() bool {
	return rt.method != http.MethodGet && rt.method != http.MethodHead
}

// Examples, written with the types the API encodes so that their fields
// are the real ones.
var (
	exampleFilter = processor.Config{ID: "drop_debug", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)}
	exampleRule   = processor.Config{ID: "redact_ssn", Type: "redact",
		Params: json.RawMessage(`{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}`)}
	exampleOutput = output.Config{Type: "http", URL: "http://collector:9000", Headers: map[string]string{"DD-API-KEY": "<your API key>"}}
	exampleMasked = maskOutput(exampleOutput)
	exampleBatch  = 100
	// examplePreviewRequest and examplePreview are a preview of the draft
	// made of exampleFilter and exampleRule.
	examplePreviewRequest = previewRequest{Lines: []string{"DEBUG cache warm", "INFO user=alice ssn=123-45-6789"}}
	examplePreviewOutput  = "INFO user=alice ssn=XXX-XX-XXXX"
	examplePreview        = preview{Version: "draft", Lines: []previewLine{
		{Kept: false, DroppedBy: "drop_debug"},
		{Kept: true, RewrittenBy: []string{"redact_ssn"}, Output: &examplePreviewOutput,
			Spans: []previewSpan{{Start: 20, End: 31, Rule: "redact_ssn", Detector: "pattern", Action: "mask"}}}},
		Totals: previewTotals{Lines: 2, Kept: 1, Dropped: 1, BytesIn: 47, BytesOut: 31, BytesSaved: 16, SavedPercent: 34,
			DroppedByRule: map[string]int{"drop_debug": 1}, RewrittenByRule: map[string]int{"redact_ssn": 1}}}
	exampleMan = manifest.Manifest{Version: "7", Timestamp: 1732262400, Pipelines: []manifest.Pipeline{{
		Name: store.PipelineName, Processors: []processor.Config{exampleFilter, exampleRule},
		Outputs: []output.Config{exampleMasked}, BatchSize: &exampleBatch,
	}}}
	examplePublished = published{Status: "published", Manifest: &exampleMan, SubscribersNotified: 3}
	exampleHeartbeat = rdb.Heartbeat{ID: "host-a-1234", Host: "host-a", PID: 1234, TCPAddr: ":8081", AdminAddr: "10.0.0.5:8080", AdminScheme: "http",
		Started: 1732262400000, Updated: 1732262460000, Version: "7", Redis: "connected",
		Received: 1000, Emitted: 900, Filtered: 100}
)

var (
	paramRuleID     = param{name: "id", in: "path", required: true, doc: "The rule's id.", schema: &schema{Type: "string"}, example: "drop_debug"}
	paramOutputName = param{name: "name", in: "path", required: true,
		doc: "The output's name, as metrics (the output label) and logs show it: the type alone (console); " +
			"the type, ':' and the URL with its credentials and query values masked (http:http://collector:9000); " +
			"or, for a type without a URL, the type and its destination (kafka:k1:9092/logs). " +
			"Its slashes may be written as they are or as %2F; write ? as %3F and # as %23.",
		schema: &schema{Type: "string"}, example: "http:http://collector:9000"}
	paramVersion = param{name: "version", in: "path", required: true, doc: "A version listed by GET /manifests.", schema: &schema{Type: "string"}, example: "3"}

	errRuleNotFound = errorResponse{http.StatusNotFound, "No rule has this id.", "Rule not found"}
	errInvalidRule  = errorResponse{http.StatusBadRequest, "Malformed JSON, unknown or missing field, or a rule that does not build; detail names the field.",
		"params.pattern: cannot compile: error parsing regexp: missing closing ): `(`"}
)

// routes is the API.
var routes = []route{
	{
		method: http.MethodGet, path: "/", id: "health", tag: "service",
		summary: "Health check",
		doc:     "Answers as long as the process serves requests; it does not touch Redis.",
		ok: response{doc: "The service is up.", schema: ref("Health"),
			example: health{Status: "ok", Service: serviceName}},
		serve: (*server).health,
	},
	{
		method: http.MethodGet, path: "/rules", id: "listRules", tag: "rules",
		summary:   "List the draft's rules",
		doc:       "Returns the draft's rules in the order the data planes run them.",
		ok:        response{doc: "The rules, in order.", schema: arrayOf(ref("Rule")), example: []processor.Config{exampleFilter, exampleRule}},
		usesRedis: true,
		serve:     (*server).listRules,
	},
	{
		method: http.MethodPost, path: "/rules", id: "addRule", tag: "rules",
		summary: "Add a rule",
		doc:     "Appends a rule to the draft after checking that it builds exactly as a data plane would build it. It takes effect when the draft is published.",
		body:    &requestBody{doc: "The rule.", required: true, schema: ref("Rule"), example: exampleRule},
		ok: response{doc: "The rule was added.", schema: statusWith("rule", ref("Rule")),
			example: ruleResult{Status: "added", Rule: exampleRule}},
		errors: []errorResponse{
			errInvalidRule,
			{http.StatusBadRequest, "A rule with this id exists.", "Rule ID redact_ssn already exists"},
		},
		usesRedis: true,
		serve:     (*server).addRule,
	},
	{
		method: http.MethodGet, path: "/rules/{id}", id: "getRule", tag: "rules",
		summary:   "Get a rule",
		params:    []param{paramRuleID},
		ok:        response{doc: "The rule.", schema: ref("Rule"), example: exampleFilter},
		errors:    []errorResponse{errRuleNotFound},
		usesRedis: true,
		serve:     (*server).getRule,
	},
	{
		method: http.MethodPut, path: "/rules/{id}", id: "replaceRule", tag: "rules",
		summary: "Replace a rule",
		doc:     "Replaces the rule with this id, keeping its position. The body's id may be omitted; if given it must equal the path's.",
		params:  []param{paramRuleID},
		body: &requestBody{doc: "The new rule.", required: true, schema: ref("Rule"),
			example: map[string]any{"type": "filter", "params": map[string]string{"value": "TRACE"}}},
		ok: response{doc: "The rule was replaced.", schema: statusWith("rule", ref("Rule")),
			example: ruleResult{Status: "updated", Rule: processor.Config{ID: "drop_debug", Type: "filter", Params: json.RawMessage(`{"value":"TRACE"}`)}}},
		errors: []errorResponse{
			errInvalidRule,
			{http.StatusBadRequest, "The body's id differs from the path's.", `id: "other" does not match the path's rule id, "drop_debug"`},
			errRuleNotFound,
		},
		usesRedis: true,
		serve:     (*server).putRule,
	},
	{
		method: http.MethodDelete, path: "/rules/{id}", id: "deleteRule", tag: "rules",
		summary: "Delete a rule",
		params:  []param{paramRuleID},
		ok: response{doc: "The rule was deleted.", schema: statusWith("id", &schema{Type: "string"}),
			example: idResult{Status: "deleted", ID: "drop_debug"}},
		errors:    []errorResponse{errRuleNotFound},
		usesRedis: true,
		serve:     (*server).deleteRule,
	},
	{
		method: http.MethodGet, path: "/outputs", id: "listOutputs", tag: "outputs",
		summary:   "List the draft's outputs",
		doc:       "Header values are masked as " + manifest.Mask + ": they usually hold vendor API keys.",
		ok:        response{doc: "The outputs, in order.", schema: arrayOf(ref("Output")), example: []output.Config{exampleMasked}},
		usesRedis: true,
		serve:     (*server).listOutputs,
	},
	{
		method: http.MethodPost, path: "/outputs", id: "addOutput", tag: "outputs",
		summary: "Add an output",
		doc:     "Appends an output to the draft after validating it. A draft without outputs writes to the console. The echoed output has its header values masked.",
		body:    &requestBody{doc: "The output.", required: true, schema: ref("Output"), example: exampleOutput},
		ok: response{doc: "The output was added.", schema: statusWith("output", ref("Output")),
			example: outputResult{Status: "added", Output: exampleMasked}},
		errors: []errorResponse{
			{http.StatusBadRequest, "Malformed JSON, unknown or missing field, or an invalid output; detail names the field.", "url: required for http output"},
			{http.StatusBadRequest, "An output with this URL exists.", "Output URL already exists"},
		},
		usesRedis: true,
		serve:     (*server).addOutput,
	},
	{
		method: http.MethodDelete, path: "/outputs", id: "clearOutputs", tag: "outputs",
		summary: "Remove every output",
		ok: response{doc: "The draft has no outputs.", schema: statusWith("", nil),
			example: statusResult{Status: "cleared"}},
		usesRedis: true,
		serve:     (*server).clearOutputs,
	},
	{
		method: http.MethodDelete, path: "/outputs/{name}", id: "deleteOutput", tag: "outputs",
		summary: "Remove an output",
		doc: "Removes one output from the draft. Outputs whose names would be the same are numbered #2, #3, ... " +
			"in the order they are listed, so removing one renumbers those after it. The echoed output has its header values masked.",
		params: []param{paramOutputName},
		ok: response{doc: "The output was removed.", schema: statusWith("output", ref("Output")),
			example: outputResult{Status: "deleted", Output: exampleMasked}},
		errors: []errorResponse{{http.StatusNotFound, "No output of the draft has this name; detail names it, masked.",
			`Output "http:http://collector:9001" not found`}},
		usesRedis: true,
		serve:     (*server).deleteOutput,
	},
	{
		method: http.MethodGet, path: "/config/batch_size", id: "getBatchSize", tag: "config",
		summary: "Get the draft's batch size",
		doc:     fmt.Sprintf("Lines per batch sent to the outputs; %d unless set.", store.DefaultBatchSize),
		ok: response{doc: "The batch size.", schema: object(prop("batch_size", batchSizeSchema(), true)),
			example: batchSize{BatchSize: 100}},
		usesRedis: true,
		serve:     (*server).getBatchSize,
	},
	{
		method: http.MethodPost, path: "/config/batch_size", id: "setBatchSize", tag: "config",
		summary: "Set the draft's batch size",
		doc:     "Takes the size from the query (?size=N) or, without one, from a JSON body {\"batch_size\": N}.",
		params: []param{{name: "size", in: "query", doc: "The batch size; when given, the body is ignored.",
			schema: batchSizeSchema(), example: 500}},
		body: &requestBody{doc: "The batch size, when the query has none.", schema: object(prop("batch_size", batchSizeSchema(), true)),
			example: batchSize{BatchSize: 500}},
		ok: response{doc: "The batch size was set.", schema: statusWith("batch_size", batchSizeSchema()),
			example: batchSizeResult{Status: "updated", BatchSize: 500}},
		errors: []errorResponse{{http.StatusBadRequest, "Not an integer, or out of range.",
			fmt.Sprintf("batch_size: must be between %d and %d; got 0", manifest.MinBatchSize, manifest.MaxBatchSize)}},
		usesRedis: true,
		serve:     (*server).setBatchSize,
	},
	{
		method: http.MethodPost, path: "/publish", id: "publish", tag: "manifests",
		summary: "Publish the draft",
		doc: "Turns the draft into a manifest with the next version, validates it as a whole, stores it under " +
			rdb.ConfigKey + " and sends " + rdb.ReloadMessage + " on " + rdb.UpdatesChannel + ". Any body is ignored. " +
			"A draft that does not make a valid manifest is rejected with every problem listed, and nothing is published. " +
			"A valid one that does something unsafe, such as a redact rule skipped under overload, is published, and warnings says what. " +
			"A draft the published manifest already holds (the same rules, outputs and settings, whatever the version and timestamp) " +
			"is not published again unless force is true: the answer is that manifest, with its version, unchanged true and no subscribers notified, " +
			"and the history keeps its rollback points.",
		params: []param{{name: "force", in: "query", doc: "Publish a new version even if the draft is what is published already.",
			schema: &schema{Type: "boolean", Default: false}, example: true}},
		ok: response{doc: "The manifest was published, or was published already (unchanged); header values are masked.",
			schema: ref("Published"), example: examplePublished},
		errors: []errorResponse{
			{http.StatusBadRequest, "The draft does not make a valid manifest; errors lists every problem.",
				"pipelines[0].outputs[1].url: duplicate of outputs[0]"},
			{http.StatusBadRequest, "force is not a boolean.", `force: want true or false; got "yes please"`},
		},
		usesRedis: true,
		serve:     (*server).publish,
	},
	{
		method: http.MethodPost, path: "/preview", id: "preview", tag: "manifests",
		summary: "Preview what the draft does to lines",
		doc: "Runs each line through the rules of the draft, or of the manifest in the body, one at a time and in order, " +
			"as a data plane does with its breaker closed, and says what became of it: the line the outputs would receive, " +
			"or the rule that dropped it, and the rules that rewrote it; with totals and the bytes saved. Nothing is published " +
			"and no output is contacted; no output setting is in the answer. At most " + strconv.Itoa(MaxPreviewLines) + " lines. " +
			"With tap instead of lines, the lines are the next ones a live data plane processes, read from its tap " +
			"(GET /tap on the admin port its heartbeat names in admin_addr) for at most wait_ms: as its outputs receive them, " +
			"after the live rules, so never what they redacted; source says which data plane sent how many. The lines tapped are " +
			"not in the answer, only what the draft makes of them: what a new rule of the draft would redact is not shown.",
		body: &requestBody{doc: "The lines, or a tap to read them from, and optionally a manifest to use instead of the draft.", required: true,
			schema: ref("PreviewRequest"), example: examplePreviewRequest},
		ok: response{doc: "What became of each line, in order.", schema: ref("Preview"), example: examplePreview},
		errors: []errorResponse{
			{http.StatusBadRequest, "No lines, too many, both lines and tap, a tap's n or wait_ms out of bounds, or a draft or manifest that is not valid.", "lines: at most 1000; got 1001"},
			{http.StatusNotFound, "No live data plane has the tap's instance id.", `tap.instance: no live data plane "host-b-99" (live: host-a-1234)`},
			{http.StatusConflict, "No live data plane to tap, none that reports an admin address, or its tap is off (-tap=false).",
				`tap: data plane "host-a-1234" has no tap to read: the tap is off on this data plane (-tap=false)`},
			{http.StatusTooManyRequests, "The data plane has as many taps attached as it allows (-max-taps).",
				`tap: data plane "host-a-1234": 4 taps are attached, the most this data plane allows (-max-taps): try again once one ends`},
			{http.StatusBadGateway, "The data plane's admin port cannot be reached, or answered with an error.",
				`tap: cannot reach the admin port of data plane "host-a-1234" at 10.0.0.5:8080: connection refused`},
			{http.StatusGatewayTimeout, "The data plane sent no line within wait_ms: no traffic, or its admin port does not answer.",
				`tap: data plane "host-a-1234" processed no line within wait_ms=5000: is traffic flowing?`},
		},
		usesRedis: true,
		serve:     (*server).previewLines,
	},
	{
		method: http.MethodGet, path: "/manifests", id: "listManifests", tag: "manifests",
		summary:   "List published manifests",
		doc:       "The most recently published manifests, newest first; header values are masked.",
		ok:        response{doc: "The manifests.", schema: arrayOf(ref("Manifest")), example: []manifest.Manifest{exampleMan}},
		usesRedis: true,
		serve:     (*server).listManifests,
	},
	{
		method: http.MethodGet, path: "/manifests/{version}", id: "getManifest", tag: "manifests",
		summary:   "Get a published manifest",
		doc:       "One manifest of the history; header values are masked.",
		params:    []param{paramVersion},
		ok:        response{doc: "The manifest.", schema: ref("Manifest"), example: exampleMan},
		errors:    []errorResponse{{http.StatusNotFound, "The version is not in the history.", "Manifest version 3 not found"}},
		usesRedis: true,
		serve:     (*server).getManifest,
	},
	{
		method: http.MethodPost, path: "/manifests/{version}/rollback", id: "rollback", tag: "manifests",
		summary: "Roll back to a published manifest",
		doc: "Publishes the pipelines of a manifest from the history as a new manifest with the next version " +
			"(versions only grow), and makes them the draft. Any body is ignored.",
		params: []param{paramVersion},
		ok:     response{doc: "The manifest was published again; header values are masked.", schema: ref("Published"), example: examplePublished},
		errors: []errorResponse{
			{http.StatusNotFound, "The version is not in the history.", "Manifest version 3 not found"},
			{http.StatusBadRequest, "The manifest no longer validates; errors lists every problem.", "pipelines[0].processors[0] (id \"x\").type: unknown processor type \"x\""},
		},
		usesRedis: true,
		serve:     (*server).rollback,
	},
	{
		method: http.MethodGet, path: "/fleet", id: "listFleet", tag: "fleet",
		summary: "List the data planes",
		doc:     "The data planes whose heartbeat has not expired, with the manifest version each runs and its counters.",
		ok: response{doc: "The data planes, sorted by id.", schema: object(prop("instances", arrayOf(ref("Heartbeat")), true)),
			example: fleet{Instances: []rdb.Heartbeat{exampleHeartbeat}}},
		usesRedis: true,
		serve:     (*server).fleet,
	},
	{
		method: http.MethodGet, path: "/openapi.json", id: "openAPI", tag: "service",
		summary: "This API as an OpenAPI 3.0 document",
		ok:      response{doc: "The OpenAPI document.", schema: &schema{Type: "object"}},
		serve:   (*server).openAPIJSON,
	},
	{
		method: http.MethodGet, path: "/docs", id: "docs", tag: "service",
		summary: "This API as an HTML page",
		ok:      response{doc: "The reference you may be reading.", contentType: "text/html", schema: &schema{Type: "string"}},
		serve:   (*server).docsHTML,
	},
	{
		method: http.MethodGet, path: "/ui", id: "dashboard", tag: "service",
		summary: "The dashboard",
		doc: "A page showing the fleet, the live ingest and egress, and the draft, with preview, publish and rollback. " +
			"It loads nothing from elsewhere; the token it asks for is kept in the browser tab's session storage and sent only in the Authorization header.",
		ok:    response{doc: "The dashboard.", contentType: "text/html", schema: &schema{Type: "string"}},
		serve: (*server).uiPage,
	},
	{
		method: http.MethodGet, path: "/ui/{file}", id: "dashboardFile", tag: "service",
		summary: "A file of the dashboard",
		doc:     "The dashboard's script and style sheet.",
		params: []param{{name: "file", in: "path", required: true, doc: "The file's name.",
			schema: &schema{Type: "string"}, example: "app.js"}},
		ok:     response{doc: "The file.", contentType: "text/javascript", schema: &schema{Type: "string"}},
		errors: []errorResponse{{http.StatusNotFound, "No such file.", "Not Found"}},
		serve:  (*server).uiAsset,
	},
}

const serviceName = "streamgate-control-plane"

// Response bodies.
type (
	health struct {
		Status  string `json:"status"`
		Service string `json:"service"`
	}
	ruleResult struct {
		Status string           `json:"status"`
		Rule   processor.Config `json:"rule"`
	}
	outputResult struct {
		Status string        `json:"status"`
		Output output.Config `json:"output"`
	}
	idResult struct {
		Status string `json:"status"`
		ID     string `json:"id"`
	}
	statusResult struct {
		Status string `json:"status"`
	}
	batchSize struct {
		BatchSize int `json:"batch_size"`
	}
	batchSizeResult struct {
		Status    string `json:"status"`
		BatchSize int    `json:"batch_size"`
	}
	// previewRequest is POST /preview's body.
	previewRequest struct {
		Manifest *manifest.Manifest `json:"manifest,omitempty"`
		Lines    []string           `json:"lines,omitempty"`
		// Tap, instead of Lines, reads the lines from a live data
		// plane's tap (previewtap.go).
		Tap *previewTap `json:"tap,omitempty"`
	}
	// preview is POST /preview's answer.
	preview struct {
		Version manifest.Version `json:"version"`
		Lines   []previewLine    `json:"lines"`
		Totals  previewTotals    `json:"totals"`
		// Source says where the lines came from when a tap gave them.
		Source *previewSource `json:"source,omitempty"`
	}
	previewLine struct {
		Kept        bool     `json:"kept"`
		DroppedBy   string   `json:"dropped_by,omitempty"`
		RewrittenBy []string `json:"rewritten_by,omitempty"`
		Output      *string  `json:"output,omitempty"`
		// Spans are where the redact rules found what they replaced (or
		// dropped the line for), never what they found.
		Spans []previewSpan `json:"spans,omitempty"`
	}
	// previewSpan is one finding: its byte offsets in the line given.
	previewSpan struct {
		Start    int    `json:"start"`
		End      int    `json:"end"`
		Rule     string `json:"rule"`
		Detector string `json:"detector"`
		Action   string `json:"action"`
	}
	previewTotals struct {
		Lines           int            `json:"lines"`
		Kept            int            `json:"kept"`
		Dropped         int            `json:"dropped"`
		BytesIn         int            `json:"bytes_in"`
		BytesOut        int            `json:"bytes_out"`
		BytesSaved      int            `json:"bytes_saved"`
		SavedPercent    float64        `json:"saved_percent"`
		DroppedByRule   map[string]int `json:"dropped_by_rule,omitempty"`
		RewrittenByRule map[string]int `json:"rewritten_by_rule,omitempty"`
	}
	published struct {
		Status              string             `json:"status"`
		Manifest            *manifest.Manifest `json:"manifest"`
		SubscribersNotified int64              `json:"subscribers_notified"`
		// Unchanged is set when the draft was published already, and so
		// was not published again.
		Unchanged bool `json:"unchanged,omitempty"`
		// Warnings are manifest.Warnings: valid, published, and unsafe.
		Warnings []string `json:"warnings,omitempty"`
	}
	fleet struct {
		Instances []rdb.Heartbeat `json:"instances"`
	}
)

func (s *server) health(*http.Request) (any, error) {
	return health{Status: "ok", Service: serviceName}, nil
}

func (s *server) listRules(r *http.Request) (any, error) {
	rules, err := s.st.Rules(r.Context())
	if err != nil {
		return nil, err
	}
	return nonNil(rules), nil
}

func (s *server) addRule(r *http.Request) (any, error) {
	var rule processor.Config
	if err := decodeBody(r, &rule, "id", "type"); err != nil {
		return nil, err
	}
	if err := s.st.AddRule(r.Context(), rule); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, badRequest("Rule ID %s already exists", rule.ID)
		}
		return nil, err
	}
	return ruleResult{Status: "added", Rule: rule}, nil
}

func (s *server) getRule(r *http.Request) (any, error) {
	rule, err := s.st.Rule(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Rule not found")
	}
	if err != nil {
		return nil, err
	}
	return rule, nil
}

func (s *server) putRule(r *http.Request) (any, error) {
	id := r.PathValue("id")
	var rule processor.Config
	if err := decodeBody(r, &rule, "type"); err != nil {
		return nil, err
	}
	if rule.ID != "" && rule.ID != id {
		return nil, badRequest("id: %q does not match the path's rule id, %q", rule.ID, id)
	}
	rule.ID = id
	err := s.st.PutRule(r.Context(), id, rule)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Rule not found")
	}
	if err != nil {
		return nil, err
	}
	return ruleResult{Status: "updated", Rule: rule}, nil
}

func (s *server) deleteRule(r *http.Request) (any, error) {
	id := r.PathValue("id")
	err := s.st.DeleteRule(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Rule not found")
	}
	if err != nil {
		return nil, err
	}
	return idResult{Status: "deleted", ID: id}, nil
}

func (s *server) listOutputs(r *http.Request) (any, error) {
	outs, err := s.st.Outputs(r.Context())
	if err != nil {
		return nil, err
	}
	masked := make([]output.Config, len(outs))
	for i, o := range outs {
		masked[i] = maskOutput(o)
	}
	return masked, nil
}

func (s *server) addOutput(r *http.Request) (any, error) {
	var o output.Config
	if err := decodeBody(r, &o, "type"); err != nil {
		return nil, err
	}
	if err := s.st.AddOutput(r.Context(), o); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			return nil, badRequest("Output URL already exists")
		}
		return nil, err
	}
	return outputResult{Status: "added", Output: maskOutput(o)}, nil
}

func (s *server) deleteOutput(r *http.Request) (any, error) {
	name := r.PathValue("name")
	o, err := s.st.DeleteOutput(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf("Output %q not found", manifest.MaskOutputName(name)))
	}
	if err != nil {
		return nil, err
	}
	return outputResult{Status: "deleted", Output: maskOutput(o)}, nil
}

func (s *server) clearOutputs(r *http.Request) (any, error) {
	if err := s.st.ClearOutputs(r.Context()); err != nil {
		return nil, err
	}
	return statusResult{Status: "cleared"}, nil
}

func (s *server) getBatchSize(r *http.Request) (any, error) {
	n, err := s.st.BatchSize(r.Context())
	if err != nil {
		return nil, err
	}
	return batchSize{BatchSize: n}, nil
}

func (s *server) setBatchSize(r *http.Request) (any, error) {
	var n int
	if q := r.URL.Query(); q.Has("size") {
		v := q.Get("size")
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			if len(v) > 32 {
				v = v[:32] + "..."
			}
			return nil, badRequest("size: want an integer; got %q", v)
		}
	} else {
		data, err := readBody(r)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, badRequest(`batch_size: required, as ?size=N or as a JSON body {"batch_size": N}`)
		}
		var b struct {
			BatchSize *int `json:"batch_size"`
		}
		if err := decodeJSON(data, &b); err != nil {
			return nil, err
		}
		if b.BatchSize == nil {
			return nil, badRequest("batch_size: required")
		}
		n = *b.BatchSize
	}
	if err := s.st.SetBatchSize(r.Context(), n); err != nil {
		return nil, err
	}
	return batchSizeResult{Status: "updated", BatchSize: n}, nil
}

func (s *server) publish(r *http.Request) (any, error) {
	force := false
	if q := r.URL.Query(); q.Has("force") {
		v := q.Get("force")
		var err error
		if force, err = strconv.ParseBool(v); err != nil {
			if len(v) > 32 {
				v = v[:32] + "..."
			}
			return nil, badRequest("force: want true or false; got %q", v)
		}
	}
	if force {
		m, n, err := s.st.Publish(r.Context())
		if err != nil {
			return nil, err
		}
		return publishedResult(m, n), nil
	}
	m, n, unchanged, err := s.st.PublishChanged(r.Context())
	if err != nil {
		return nil, err
	}
	res := publishedResult(m, n)
	res.Unchanged = unchanged
	return res, nil
}

// publishedResult is the answer to a publish or a rollback of m, which n
// subscribers were told of: m masked, and what in it is unsafe.
func publishedResult(m *manifest.Manifest, n int64) published {
	return published{Status: "published", Manifest: m.Redacted(), SubscribersNotified: n, Warnings: m.Warnings()}
}

// MaxPreviewLines bounds the lines of one POST /preview.
const MaxPreviewLines = 1000

// previewLines runs the lines of a POST /preview through the draft, or the
// manifest in the body, as a data plane would (breaker closed), and says
// what became of each. Only the outputs' lines are shown: no output
// setting, so no header or key, is ever in the answer.
func (s *server) previewLines(r *http.Request) (any, error) {
	var req previewRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Tap != nil && req.Lines != nil:
		return nil, badRequest("lines, tap: give one of them, not both")
	case req.Tap == nil && req.Lines == nil:
		return nil, badRequest("lines: required (or tap, to preview lines from a live data plane)")
	case req.Tap == nil && len(req.Lines) == 0:
		return nil, badRequest("lines: required, at least one line")
	case len(req.Lines) > MaxPreviewLines:
		return nil, badRequest("lines: at most %d; got %d", MaxPreviewLines, len(req.Lines))
	}
	m := req.Manifest
	if m == nil {
		var err error
		if m, err = s.st.Draft(r.Context()); err != nil {
			return nil, err
		}
	}
	c, err := m.Compile()
	if err != nil {
		field := "the draft"
		if req.Manifest != nil {
			field = "manifest"
		}
		return nil, badRequest("%s does not make a valid manifest: %v", field, err)
	}
	var src *previewSource
	if req.Tap != nil {
		// Checked first: a draft that does not compile is not worth a tap.
		if req.Lines, src, err = s.tapLines(r.Context(), req.Tap); err != nil {
			return nil, err
		}
	}
	res := preview{Version: m.Version, Lines: make([]previewLine, len(req.Lines)), Source: src}
	t := &res.Totals
	for i, line := range req.Lines {
		p := dppreview.Line(c.Steps, []byte(line))
		pl := previewLine{Kept: p.Kept(), DroppedBy: p.DroppedBy, RewrittenBy: p.Changed}
		for _, sp := range p.Spans {
			pl.Spans = append(pl.Spans, previewSpan{Start: sp.Start, End: sp.End, Rule: sp.Rule, Detector: sp.Detector, Action: sp.Action})
		}
		for _, id := range p.Changed {
			if t.RewrittenByRule == nil {
				t.RewrittenByRule = make(map[string]int)
			}
			t.RewrittenByRule[id]++
		}
		t.Lines++
		t.BytesIn += len(line)
		if p.Kept() {
			out := string(p.Output)
			pl.Output = &out
			t.Kept++
			t.BytesOut += len(out)
		} else {
			t.Dropped++
			if t.DroppedByRule == nil {
				t.DroppedByRule = make(map[string]int)
			}
			t.DroppedByRule[p.DroppedBy]++
		}
		res.Lines[i] = pl
	}
	t.BytesSaved = t.BytesIn - t.BytesOut
	if t.BytesIn > 0 {
		t.SavedPercent = math.Round(1000*float64(t.BytesIn-t.BytesOut)/float64(t.BytesIn)) / 10
	}
	return res, nil
}

func (s *server) listManifests(r *http.Request) (any, error) {
	ms, err := s.st.Manifests(r.Context())
	if err != nil {
		return nil, err
	}
	for i, m := range ms {
		ms[i] = m.Redacted()
	}
	return ms, nil
}

func (s *server) getManifest(r *http.Request) (any, error) {
	v := r.PathValue("version")
	ms, err := s.st.Manifests(r.Context())
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if string(m.Version) == v {
			return m.Redacted(), nil
		}
	}
	return nil, notFound(fmt.Sprintf("Manifest version %s not found", v))
}

func (s *server) rollback(r *http.Request) (any, error) {
	v := r.PathValue("version")
	m, n, err := s.st.Rollback(r.Context(), v)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(fmt.Sprintf("Manifest version %s not found", v))
	}
	if err != nil {
		return nil, err
	}
	return publishedResult(m, n), nil
}

func (s *server) fleet(r *http.Request) (any, error) {
	if s.redis == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: no Redis client configured for the fleet"}
	}
	hbs, err := rdb.ListFleet(r.Context(), s.redis)
	if err != nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: " + err.Error()}
	}
	return fleet{Instances: nonNil(hbs)}, nil
}

func (s *server) openAPIJSON(*http.Request) (any, error) {
	return rawBody{contentType: "application/json", data: s.openAPI}, nil
}

func (s *server) docsHTML(*http.Request) (any, error) {
	return rawBody{contentType: "text/html; charset=utf-8", data: s.docs}, nil
}

// maskOutput returns o with its secrets masked: header values, and the
// credentials and query values of its URL (output.MaskURL), as metrics and
// logs show them.
func maskOutput(o output.Config) output.Config {
	o.Headers = manifest.MaskHeaders(o.Headers)
	o.URL = output.MaskURL(o.URL)
	return o
}

func notFound(detail string) *httpError {
	return &httpError{status: http.StatusNotFound, detail: detail}
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
