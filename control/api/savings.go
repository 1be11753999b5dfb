package api

import (
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/rdb"
)

// Response bodies of GET /savings and the /shadow routes.
type (
	// fleetSavings is GET /savings's answer: the live figures summed over
	// the fleet, per output and per rule, each instance's own, and with
	// ?shadow=true the shadow's beside them.
	fleetSavings struct {
		Totals    savingsTotals       `json:"totals"`
		Outputs   []rdb.OutputSavings `json:"outputs"`
		Rules     []rdb.RuleSavings   `json:"rules"`
		Instances []instanceSavings   `json:"instances"`
		Shadow    *fleetShadow        `json:"shadow,omitempty"`
	}
	savingsTotals struct {
		Instances        int     `json:"instances"`
		LinesReceived    uint64  `json:"lines_received"`
		BytesReceived    uint64  `json:"bytes_received"`
		BytesEmitted     uint64  `json:"bytes_emitted"`
		ReductionPercent float64 `json:"reduction_percent"`
		USDPerMonth      float64 `json:"usd_per_month"`
		USDSavedPerMonth float64 `json:"usd_saved_per_month"`
	}
	instanceSavings struct {
		ID      string       `json:"id"`
		Version string       `json:"version"`
		Savings *rdb.Savings `json:"savings"`
	}
	// fleetShadow sums the shadow's figures over the instances that run
	// it.
	fleetShadow struct {
		// Versions are the shadow versions the instances run, sorted.
		Versions         []string          `json:"versions"`
		Instances        int               `json:"instances"`
		LinesIn          uint64            `json:"lines_in"`
		BytesIn          uint64            `json:"bytes_in"`
		LinesOut         uint64            `json:"lines_out"`
		BytesOut         uint64            `json:"bytes_out"`
		LinesSkipped     uint64            `json:"lines_skipped"`
		ReductionPercent float64           `json:"reduction_percent"`
		Rules            []rdb.RuleSavings `json:"rules"`
		// Errors say which instances refused the shadow, and why.
		Errors []string `json:"errors,omitempty"`
	}
	// shadowDeleted is DELETE /shadow's answer.
	shadowDeleted struct {
		Status              string `json:"status"`
		Version             string `json:"version"`
		SubscribersNotified int64  `json:"subscribers_notified"`
	}
)

var (
	examplePrice        = 0.1
	exampleCost         = 25.92
	exampleSaved        = 6.48
	exampleOutputSaving = rdb.OutputSavings{Name: "http:http://collector:9000", LinesIn: 900, BytesIn: 90000, BytesOut: 12000,
		BytesReceived: 100000, ReductionPercent: 88, BytesInPerSecond: 100, CostPerGB: &examplePrice, USDPerMonth: &exampleCost, USDSavedPerMonth: &exampleSaved}
	exampleRuleSaving = rdb.RuleSavings{ID: "drop_debug", LinesDropped: 100, BytesDropped: 10000}
	exampleRedacted   = rdb.RuleSavings{ID: "redact_ssn", LinesRedacted: 12, LinesRedactedBy: map[string]uint64{"us_ssn": 12}}
	exampleSavings    = rdb.Savings{WindowSeconds: 3600, LinesReceived: 1000, BytesReceived: 100000, BytesEmitted: 90000,
		ReductionPercent: 10, USDPerMonth: exampleCost, USDSavedPerMonth: exampleSaved,
		Outputs: []rdb.OutputSavings{exampleOutputSaving}, Rules: []rdb.RuleSavings{exampleRuleSaving, exampleRedacted}}
	exampleFleetSavings = fleetSavings{
		Totals: savingsTotals{Instances: 1, LinesReceived: 1000, BytesReceived: 100000, BytesEmitted: 90000, ReductionPercent: 10,
			USDPerMonth: exampleCost, USDSavedPerMonth: exampleSaved},
		Outputs:   []rdb.OutputSavings{exampleOutputSaving},
		Rules:     []rdb.RuleSavings{exampleRuleSaving, exampleRedacted},
		Instances: []instanceSavings{{ID: "host-a-1234", Version: "7", Savings: &exampleSavings}},
		Shadow: &fleetShadow{Versions: []string{"shadow-1732262400000"}, Instances: 1, LinesIn: 1000, BytesIn: 100000,
			LinesOut: 600, BytesOut: 55000, ReductionPercent: 45,
			Rules: []rdb.RuleSavings{{ID: "drop_debug", LinesDropped: 100, BytesDropped: 10000}, {ID: "drop_info", LinesDropped: 300, BytesDropped: 35000}}},
	}
	exampleShadowMan = manifest.Manifest{Version: "shadow-1732262400000", Timestamp: 1732262400, Pipelines: exampleMan.Pipelines}
	exampleShadowPub = published{Status: "shadow", Manifest: &exampleShadowMan, SubscribersNotified: 3}
)

// boolQuery parses the boolean query parameter name; false when absent.
func boolQuery(r *http.Request, name string) (bool, error) {
	q := r.URL.Query()
	if !q.Has(name) {
		return false, nil
	}
	v := q.Get(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		if len(v) > 32 {
			v = v[:32] + "..."
		}
		return false, badRequest("%s: want true or false; got %q", name, v)
	}
	return b, nil
}

func (s *server) savings(r *http.Request) (any, error) {
	shadow, err := boolQuery(r, "shadow")
	if err != nil {
		return nil, err
	}
	hbs, err := s.listFleet(r)
	if err != nil {
		return nil, err
	}
	return sumSavings(hbs, shadow), nil
}

// listFleet returns the live heartbeats, or a 503.
func (s *server) listFleet(r *http.Request) ([]rdb.Heartbeat, error) {
	if s.redis == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: no Redis client configured for the fleet"}
	}
	hbs, err := rdb.ListFleet(r.Context(), s.redis)
	if err != nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: " + err.Error()}
	}
	return hbs, nil
}

// sumSavings sums the savings of the heartbeats hbs; with shadow, the
// shadow's too, and each instance's shadow is kept in its savings.
func sumSavings(hbs []rdb.Heartbeat, shadow bool) fleetSavings {
	res := fleetSavings{Outputs: []rdb.OutputSavings{}, Rules: []rdb.RuleSavings{}, Instances: []instanceSavings{}}
	t := &res.Totals
	outputs := make(map[string]*rdb.OutputSavings)
	rules := make(map[string]*rdb.RuleSavings)
	var fs *fleetShadow
	shadowRules := make(map[string]*rdb.RuleSavings)
	if shadow {
		fs = &fleetShadow{Versions: []string{}, Rules: []rdb.RuleSavings{}}
	}
	for _, hb := range hbs {
		sv := hb.Savings
		if sv == nil { // a data plane that reports none
			continue
		}
		t.Instances++
		t.LinesReceived += sv.LinesReceived
		t.BytesReceived += sv.BytesReceived
		t.BytesEmitted += sv.BytesEmitted
		t.USDPerMonth += sv.USDPerMonth
		t.USDSavedPerMonth += sv.USDSavedPerMonth
		for _, o := range sv.Outputs {
			sum := outputs[o.Name]
			if sum == nil {
				sum = &rdb.OutputSavings{Name: o.Name, CostPerGB: o.CostPerGB}
				outputs[o.Name] = sum
			}
			sum.LinesIn += o.LinesIn
			sum.BytesIn += o.BytesIn
			sum.BytesOut += o.BytesOut
			sum.BytesReceived += o.BytesReceived
			sum.BytesInPerSecond += o.BytesInPerSecond
			sum.USDPerMonth = addUSD(sum.USDPerMonth, o.USDPerMonth)
			sum.USDSavedPerMonth = addUSD(sum.USDSavedPerMonth, o.USDSavedPerMonth)
		}
		addRules(rules, sv.Rules)
		inst := instanceSavings{ID: hb.ID, Version: hb.Version, Savings: sv}
		if fs != nil && sv.Shadow != nil {
			sh := sv.Shadow
			if sh.Error != "" {
				fs.Errors = append(fs.Errors, hb.ID+": "+sh.Error)
			}
			if sh.Version != "" && !slices.Contains(fs.Versions, sh.Version) {
				fs.Versions = append(fs.Versions, sh.Version)
			}
			if sh.LinesIn+sh.LinesSkipped > 0 || sh.Error == "" {
				fs.Instances++
			}
			fs.LinesIn += sh.LinesIn
			fs.BytesIn += sh.BytesIn
			fs.LinesOut += sh.LinesOut
			fs.BytesOut += sh.BytesOut
			fs.LinesSkipped += sh.LinesSkipped
			addRules(shadowRules, sh.Rules)
		}
		if !shadow {
			c := *sv
			c.Shadow = nil
			inst.Savings = &c
		}
		res.Instances = append(res.Instances, inst)
	}
	t.ReductionPercent = rdb.Percent(t.BytesEmitted, t.BytesReceived)
	t.USDPerMonth, t.USDSavedPerMonth = cents(t.USDPerMonth), cents(t.USDSavedPerMonth)
	for _, o := range outputs {
		o.ReductionPercent = rdb.Percent(o.BytesOut, o.BytesReceived)
		o.BytesInPerSecond = math.Round(o.BytesInPerSecond*10) / 10
		res.Outputs = append(res.Outputs, *o)
	}
	slices.SortFunc(res.Outputs, func(a, b rdb.OutputSavings) int { return strings.Compare(a.Name, b.Name) })
	res.Rules = sortedRules(rules)
	if fs != nil {
		slices.Sort(fs.Versions)
		fs.ReductionPercent = rdb.Percent(fs.BytesOut, fs.BytesIn)
		fs.Rules = sortedRules(shadowRules)
		res.Shadow = fs
	}
	return res
}

// addRules adds rs to the sums by id.
func addRules(sums map[string]*rdb.RuleSavings, rs []rdb.RuleSavings) {
	for _, r := range rs {
		sum := sums[r.ID]
		if sum == nil {
			sum = &rdb.RuleSavings{ID: r.ID}
			sums[r.ID] = sum
		}
		sum.LinesDropped += r.LinesDropped
		sum.BytesDropped += r.BytesDropped
		sum.LinesRedacted += r.LinesRedacted
		for d, n := range r.LinesRedactedBy {
			if sum.LinesRedactedBy == nil {
				sum.LinesRedactedBy = make(map[string]uint64)
			}
			sum.LinesRedactedBy[d] += n
		}
	}
}

// sortedRules returns the sums, sorted by id.
func sortedRules(sums map[string]*rdb.RuleSavings) []rdb.RuleSavings {
	out := make([]rdb.RuleSavings, 0, len(sums))
	for _, r := range sums {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b rdb.RuleSavings) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// addUSD adds an estimate to a sum; nil is no estimate.
func addUSD(sum, v *float64) *float64 {
	if v == nil {
		return sum
	}
	n := *v
	if sum != nil {
		n += *sum
	}
	n = cents(n)
	return &n
}

// cents rounds dollars to cents.
func cents(v float64) float64 { return math.Round(v*100) / 100 }

func (s *server) publishShadow(r *http.Request) (any, error) {
	m, n, err := s.st.PublishShadow(r.Context())
	if err != nil {
		return nil, err
	}
	res := publishedResult(m, n)
	res.Status = "shadow"
	return res, nil
}

func (s *server) getShadow(r *http.Request) (any, error) {
	m, err := s.st.Shadow(r.Context())
	if err != nil {
		return nil, shadowNotFound(err)
	}
	return m.Redacted(), nil
}

func (s *server) deleteShadow(r *http.Request) (any, error) {
	v, n, err := s.st.DeleteShadow(r.Context())
	if err != nil {
		return nil, shadowNotFound(err)
	}
	return shadowDeleted{Status: "deleted", Version: v, SubscribersNotified: n}, nil
}

func (s *server) promoteShadow(r *http.Request) (any, error) {
	m, n, err := s.st.PromoteShadow(r.Context())
	if err != nil {
		return nil, shadowNotFound(err)
	}
	return publishedResult(m, n), nil
}

// shadowNotFound turns store.ErrNotFound into the 404 of the /shadow
// routes.
func shadowNotFound(err error) error {
	if isNotFound(err) {
		return notFound("No shadow manifest: publish one with POST /shadow")
	}
	return err
}

// isNotFound reports whether err is the store's ErrNotFound.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

// The savings and shadow routes join the table after GET /fleet.
func init() {
	i := slices.IndexFunc(routes, func(rt route) bool { return rt.path == "/fleet" })
	routes = slices.Insert(routes, i+1, savingsRoutes...)
}

// savingsRoutes are the routes of the savings and the shadow manifest.
var savingsRoutes = []route{
	{
		method: http.MethodGet, path: "/savings", id: "savings", tag: "fleet",
		summary: "What the rules save, over the fleet",
		doc: "Sums the savings the live data planes report in their heartbeats: the line bytes their processor chains took in and handed on, " +
			"per output the lines and bytes it was handed and the bytes it sent (encoded and compressed), per rule the lines and bytes it dropped " +
			"and the lines it redacted, and, for outputs with a cost_per_gb, the dollars a month they cost and the rules save at the rate of the " +
			"last hour (window_seconds says over how long each instance measured it). Counters run from each data plane's start. " +
			"With shadow=true, the shadow manifest's figures are summed beside the live ones.",
		params: []param{{name: "shadow", in: "query", doc: "Add the shadow manifest's figures (shadow), and keep each instance's.",
			schema: &schema{Type: "boolean", Default: false}, example: true}},
		ok: response{doc: "The savings.", schema: ref("FleetSavings"), example: exampleFleetSavings},
		errors: []errorResponse{
			{http.StatusBadRequest, "shadow is not a boolean.", `shadow: want true or false; got "yes"`},
		},
		usesRedis: true,
		serve:     (*server).savings,
	},
	{
		method: http.MethodPost, path: "/shadow", id: "publishShadow", tag: "shadow",
		summary: "Publish the draft as the shadow manifest",
		doc: "Validates the draft as POST /publish does and stores it under " + rdb.ShadowKey + ", announced with " + rdb.ShadowMessage +
			" on " + rdb.UpdatesChannel + ". Every data plane runs its rules beside the live ones, on the same lines, and counts what they " +
			"would drop, redact and save (GET /savings?shadow=true); what they output is discarded, and the live delivery is untouched. " +
			"Its outputs and batch size are not used. It replaces the shadow before it. Any body is ignored.",
		ok: response{doc: "The shadow manifest was published; header values are masked.", schema: ref("Published"), example: exampleShadowPub},
		errors: []errorResponse{
			{http.StatusBadRequest, "The draft does not make a valid manifest; errors lists every problem.",
				"pipelines[0].outputs[1].url: duplicate of outputs[0]"},
		},
		usesRedis: true,
		serve:     (*server).publishShadow,
	},
	{
		method: http.MethodGet, path: "/shadow", id: "getShadow", tag: "shadow",
		summary:   "Get the shadow manifest",
		doc:       "Header values are masked.",
		ok:        response{doc: "The shadow manifest.", schema: ref("Manifest"), example: exampleShadowMan},
		errors:    []errorResponse{errNoShadow},
		usesRedis: true,
		serve:     (*server).getShadow,
	},
	{
		method: http.MethodDelete, path: "/shadow", id: "deleteShadow", tag: "shadow",
		summary: "Stop the shadow manifest",
		doc:     "Removes the shadow manifest; the data planes stop running it and drop its counters.",
		ok: response{doc: "The shadow manifest was removed.", schema: ref("ShadowDeleted"),
			example: shadowDeleted{Status: "deleted", Version: "shadow-1732262400000", SubscribersNotified: 3}},
		errors:    []errorResponse{errNoShadow},
		usesRedis: true,
		serve:     (*server).deleteShadow,
	},
	{
		method: http.MethodPost, path: "/shadow/promote", id: "promoteShadow", tag: "shadow",
		summary: "Publish the shadow manifest for real",
		doc: "Publishes the shadow manifest's pipelines as the live manifest with the next version, as POST /publish does, " +
			"makes them the draft, and removes the shadow. Any body is ignored.",
		ok: response{doc: "The manifest was published; header values are masked.", schema: ref("Published"), example: examplePublished},
		errors: []errorResponse{
			errNoShadow,
			{http.StatusBadRequest, "The shadow no longer makes a valid manifest; errors lists every problem.", "pipelines[0].processors[0] (id \"x\").type: unknown processor type \"x\""},
		},
		usesRedis: true,
		serve:     (*server).promoteShadow,
	},
}

var errNoShadow = errorResponse{http.StatusNotFound, "There is no shadow manifest.", "No shadow manifest: publish one with POST /shadow"}

// savingsSchemas are the schemas of the savings and the shadow routes.
func savingsSchemas() map[string]*schema {
	num := func(doc string) *schema { return &schema{Type: "number", Description: doc} }
	rule := describe(object(
		prop("id", str("The rule's id."), true),
		prop("lines_dropped", integer("Lines it filtered or sampled out."), true),
		prop("bytes_dropped", integer("Their bytes: what it saved."), true),
		prop("lines_redacted", integer("Lines it redacted."), true),
		prop("lines_redacted_by_detector", &schema{Type: "object", AdditionalProperties: integer("Lines."),
			Description: "The lines it redacted, by what found what it redacted: a built-in detector's name, pattern, or field for the values of its fields. " +
				"A line counts once per detector, so these may add up to more than lines_redacted. Only what found something is listed."}, false),
	), "What one rule did.")
	out := describe(object(
		prop("name", str("The output's name, as metrics and logs give it."), true),
		prop("lines_in", integer("Lines handed to it."), true),
		prop("bytes_in", integer("Their bytes."), true),
		prop("bytes_out", integer("Bytes its destination accepted, as sent: encoded and compressed (kafka: before the client's compression)."), true),
		prop("bytes_received", integer("Line bytes the processor chains took in since the output started."), true),
		prop("reduction_percent", num("100 × (1 − bytes_out / bytes_received): the rules' and the encoding's savings together."), true),
		prop("bytes_in_per_second", num("The rate of bytes_in over the window."), true),
		prop("cost_per_gb", num("The output's cost_per_gb; absent without one."), false),
		prop("usd_per_month", num("bytes_in_per_second for 30 days at cost_per_gb; absent without a price."), false),
		prop("usd_saved_per_month", num("The bytes the rules kept from it (the chains' input rate less bytes_in_per_second) for 30 days at cost_per_gb; absent without a price."), false),
	), "What one output was sent, and what it costs.")
	shadow := describe(object(
		prop("version", str("The shadow manifest's version."), true),
		prop("error", str("Why the data plane refused the shadow manifest, or stopped running it (a rule panicked); the counters are those of the shadow it ran last, if any."), false),
		prop("lines_in", integer("Lines the shadow ran on."), true),
		prop("bytes_in", integer("Their bytes."), true),
		prop("lines_out", integer("Lines it would have handed to the outputs."), true),
		prop("bytes_out", integer("Their bytes."), true),
		prop("lines_skipped", integer("Lines it did not run on: its CPU budget (-shadow-cpu-budget) was spent, or the breaker was open."), true),
		prop("reduction_percent", num("100 × (1 − bytes_out / bytes_in)."), true),
		prop("rules", arrayOf(rule), true),
	), "What the shadow manifest did to the lines it saw.")
	return map[string]*schema{
		"Savings": describe(object(
			prop("window_seconds", num("How long the rates are measured over: the last hour, or since the start when younger."), true),
			prop("lines_received", integer("Lines received."), true),
			prop("bytes_received", integer("Line bytes the processor chains took in."), true),
			prop("bytes_emitted", integer("Line bytes they handed to the outputs."), true),
			prop("reduction_percent", num("100 × (1 − bytes_emitted / bytes_received)."), true),
			prop("usd_per_month", num("The outputs' usd_per_month, summed."), true),
			prop("usd_saved_per_month", num("The outputs' usd_saved_per_month, summed."), true),
			prop("outputs", arrayOf(out), true),
			prop("rules", arrayOf(rule), true),
			prop("shadow", shadow, false),
		), "What a data plane's rules saved since it started, and what the shadow manifest would."),
		"FleetSavings": describe(object(
			prop("totals", describe(object(
				prop("instances", integer("Data planes that report savings."), true),
				prop("lines_received", integer("Lines received."), true),
				prop("bytes_received", integer("Line bytes the processor chains took in."), true),
				prop("bytes_emitted", integer("Line bytes they handed to the outputs."), true),
				prop("reduction_percent", num("100 × (1 − bytes_emitted / bytes_received)."), true),
				prop("usd_per_month", num("What the outputs with a price cost, for 30 days at the rate of the window."), true),
				prop("usd_saved_per_month", num("What the rules save on them, likewise."), true),
			), "The live figures, summed over the fleet."), true),
			prop("outputs", arrayOf(out), true),
			prop("rules", arrayOf(rule), true),
			prop("instances", arrayOf(describe(object(
				prop("id", str("The instance's id."), true),
				prop("version", str("The manifest version it runs."), true),
				prop("savings", ref("Savings"), true),
			), "One data plane's savings; its shadow only with shadow=true.")), true),
			prop("shadow", describe(object(
				prop("versions", arrayOf(str("A shadow version.")), true),
				prop("instances", integer("Data planes that run it."), true),
				prop("lines_in", integer("Lines the shadow ran on."), true),
				prop("bytes_in", integer("Their bytes."), true),
				prop("lines_out", integer("Lines it would have handed to the outputs."), true),
				prop("bytes_out", integer("Their bytes."), true),
				prop("lines_skipped", integer("Lines it did not run on."), true),
				prop("reduction_percent", num("100 × (1 − bytes_out / bytes_in)."), true),
				prop("rules", arrayOf(rule), true),
				prop("errors", arrayOf(str("An instance's id and why it refused the shadow.")), false),
			), "The shadow's figures, summed over the fleet; only with shadow=true."), false),
		), "What the rules save, over the fleet."),
		"ShadowDeleted": describe(object(
			prop("status", str(`"deleted"`), true),
			prop("version", str("The version of the shadow removed."), true),
			prop("subscribers_notified", integer("How many subscribers received the announcement."), true),
		), "The shadow manifest was removed."),
	}
}
