package api

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/rdb"
)

// words returns n pseudo-random 12-letter words joined by |.
func words(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 7))
	ws := make([]string, n)
	for i := range ws {
		w := make([]byte, 12)
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		ws[i] = string(w)
	}
	return strings.Join(ws, "|")
}

// ruleBody is the body of POST /rules for a rule of typ with params.
func ruleBody(id, typ string, params map[string]any) string {
	b, _ := json.Marshal(map[string]any{"id": id, "type": typ, "params": params})
	return string(b)
}

// TestRuleCostBounds: a rule whose regular expression is over its bound is
// refused by POST /rules, naming the param; so is a rule past the limit
// of a pipeline; a draft whose expressions are over the manifest's bound
// together is refused by POST /publish, naming the rule.
func TestRuleCostBounds(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	r := a.do("POST", "/rules", ruleBody("bomb", "redact", map[string]any{"pattern": words(3000, 1)}))
	if r.status != 400 || !strings.HasPrefix(r.detail(), "params.pattern: would compile to about ") {
		t.Errorf("POST /rules with a 3,000-word alternation: got %d %s; want 400 naming params.pattern", r.status, r.body)
	}

	// Each within its own bound, too many together.
	for i := 0; i < 24; i++ {
		if r := a.do("POST", "/rules", ruleBody(fmt.Sprintf("words%d", i), "filter", map[string]any{"regex": words(800, uint64(i))})); r.status != 200 {
			t.Fatalf("POST /rules %d: got %d %s", i, r.status, r.body)
		}
	}
	r = a.do("POST", "/publish", "")
	if r.status != 400 || !strings.Contains(r.detail(), `(id "words`) || !strings.Contains(r.detail(), "over the limit of 16.0 MiB for all the rules of a manifest") {
		t.Errorf("POST /publish of 24 large expressions: got %d %s; want 400 naming the rule over the manifest's bound", r.status, r.body)
	}
	if a.mr.Exists(rdb.ConfigKey) {
		t.Errorf("a manifest was published; want none")
	}
}

func TestRuleCountBound(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	rules := make([]json.RawMessage, manifest.MaxRules)
	for i := range rules {
		rules[i] = json.RawMessage(fmt.Sprintf(`{"id":"r%d","type":"filter","params":{"value":"v%d"}}`, i, i))
	}
	draft, _ := json.Marshal(map[string]any{"rules": rules, "outputs": []any{}, "batch_size": 100})
	a.mr.Set(store.DraftKey, string(draft))
	r := a.do("POST", "/rules", `{"id":"one_more","type":"filter","params":{"value":"x"}}`)
	if want := "rules: the draft has 1000 rules already, the limit of a pipeline"; r.status != 400 || r.detail() != want {
		t.Errorf("POST /rules past the limit: got %d %s; want 400 %q", r.status, r.body, want)
	}
	if r := a.do("POST", "/publish", ""); r.status != 200 {
		t.Errorf("POST /publish of %d rules: got %d %s; want 200", manifest.MaxRules, r.status, r.body)
	}
}

// TestPublishWarnings: a valid manifest that does something unsafe is
// published, and the answer says what.
func TestPublishWarnings(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	if r := a.do("POST", "/rules", `{"id":"ssn","type":"redact","params":{"detector":"ssn"}}`); r.status != 200 {
		t.Fatalf("POST /rules: %d %s", r.status, r.body)
	}
	var p struct {
		Warnings []string `json:"warnings"`
	}
	r := a.do("POST", "/publish", "")
	r.decode(t, &p)
	if r.status != 200 || len(p.Warnings) != 0 || strings.Contains(string(r.body), "warnings") {
		t.Fatalf("POST /publish of a safe draft: got %d %s; want 200 without warnings", r.status, r.body)
	}
	if r := a.do("PUT", "/rules/ssn", `{"type":"redact","params":{"detector":"ssn","on_overload":"skip"}}`); r.status != 200 {
		t.Fatalf("PUT /rules/ssn: %d %s", r.status, r.body)
	}
	if r := a.do("POST", "/outputs", `{"type":"http","url":"https://10.0.0.7/logs","tls_insecure_skip_verify":true}`); r.status != 200 {
		t.Fatalf("POST /outputs: %d %s", r.status, r.body)
	}
	r = a.do("POST", "/publish", "")
	r.decode(t, &p)
	want := []string{
		`pipelines[0].processors[0] (id "ssn").on_overload: "skip" lets lines leave unredacted while the overload breaker is open`,
		"pipelines[0].outputs[0] (http:https://10.0.0.7/logs).tls_insecure_skip_verify: the endpoint's certificate is not verified, so anyone on the path can read and change what is sent",
	}
	if r.status != 200 || strings.Join(p.Warnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("POST /publish: got %d %s; want 200 with warnings %q", r.status, r.body, want)
	}
}
