package manifest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
)

// manifestOf returns a valid manifest of one pipeline with the rules given.
func manifestOf(t *testing.T, rules []processor.Config, outputs ...output.Config) []byte {
	t.Helper()
	if outputs == nil {
		outputs = []output.Config{}
	}
	b, err := json.Marshal(&Manifest{Version: "1", Pipelines: []Pipeline{{Name: "p", Processors: rules, Outputs: outputs}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wordAlternation returns n pseudo-random 12-letter words joined by |, the
// same for the same seed.
func wordAlternation(n int, seed uint64) string {
	r := rand.New(rand.NewPCG(seed, 1))
	words := make([]string, n)
	for i := range words {
		w := make([]byte, 12)
		for j := range w {
			w[j] = byte('a' + r.IntN(26))
		}
		words[i] = string(w)
	}
	return strings.Join(words, "|")
}

func TestMaxRules(t *testing.T) {
	rules := make([]processor.Config, MaxRules+1)
	for i := range rules {
		rules[i] = processor.Config{ID: fmt.Sprintf("r%d", i), Type: "filter", Params: json.RawMessage(`{"value":"x"}`)}
	}
	if _, err := Parse(manifestOf(t, rules[:MaxRules])); err != nil {
		t.Errorf("%d rules: got error %v; want none", MaxRules, err)
	}
	_, err := Parse(manifestOf(t, rules))
	if want := "pipelines[0].processors: 1001 rules, over the limit of 1000 per pipeline"; err == nil || err.Error() != want {
		t.Errorf("%d rules: got error %v; want %q", MaxRules+1, err, want)
	}
}

// TestRegexBudget: a manifest whose regular expressions take more than
// MaxRegexBytes together is refused, naming the rule that crossed it, even
// though each is within its own bound.
func TestRegexBudget(t *testing.T) {
	var rules []processor.Config
	for i := range 40 {
		p, _ := json.Marshal(map[string]string{"regex": wordAlternation(800, uint64(i))})
		rules = append(rules, processor.Config{ID: fmt.Sprintf("words%d", i), Type: "filter", Params: p})
	}
	s, err := processor.Build(rules[0])
	if err != nil {
		t.Fatalf("one rule: %v", err)
	}
	within := MaxRegexBytes / s.RegexBytes // rules that fit
	if _, err := Parse(manifestOf(t, rules[:within-1])); err != nil {
		t.Errorf("%d rules of %d bytes each: got error %v; want none", within-1, s.RegexBytes, err)
	}
	_, err = Parse(manifestOf(t, rules))
	errs := ErrorList(err)
	if len(errs) != 1 {
		t.Fatalf("40 rules: got errors %q; want one", errs)
	}
	if !strings.Contains(errs[0], "(id \"words") || !strings.Contains(errs[0], "over the limit of 16.0 MiB for all the rules of a manifest") {
		t.Errorf("40 rules: got error %q; want one naming the rule that crosses 16 MiB", errs[0])
	}
	var at int
	if _, err := fmt.Sscanf(errs[0], "pipelines[0].processors[%d]", &at); err != nil || at < within-1 || at > within+1 {
		t.Errorf("40 rules: error at rule %d (%v); want about %d: %q", at, err, within, errs[0])
	}
}

// TestRegexLimitNamesTheRule: a rule's expression over its own bound is
// reported with the rule.
func TestRegexLimitNamesTheRule(t *testing.T) {
	p, _ := json.Marshal(map[string]string{"pattern": wordAlternation(3000, 1)})
	rules := []processor.Config{
		{ID: "ok", Type: "filter", Params: json.RawMessage(`{"value":"x"}`)},
		{ID: "bomb", Type: "redact", Params: p},
	}
	_, err := Parse(manifestOf(t, rules))
	if want := `pipelines[0].processors[1] (id "bomb").params.pattern: would compile to about `; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got error %v; want it to start %q", err, want)
	}
}

func TestWarnings(t *testing.T) {
	redact := processor.Config{ID: "ssn", Type: "redact", Params: json.RawMessage(`{"detector":"ssn"}`)}
	redactSkips := processor.Config{ID: "ssn", Type: "redact", Params: json.RawMessage(`{"detector":"ssn","on_overload":"skip"}`)}
	redactSkipsBeside := processor.Config{ID: "ssn", Type: "redact", Params: json.RawMessage(`{"detector":"ssn"}`), OnOverload: "skip"}
	filterRuns := processor.Config{ID: "f", Type: "filter", Params: json.RawMessage(`{"value":"x","on_overload":"run"}`)}
	filter := processor.Config{ID: "f", Type: "filter", Params: json.RawMessage(`{"value":"x"}`)}
	insecure := output.Config{Type: "http", URL: "https://10.0.0.7/logs?token=secret", TLSInsecureSkipVerify: true}
	tests := []struct {
		name    string
		rules   []processor.Config
		policy  string
		outputs []output.Config
		want    []string
	}{
		{"none", []processor.Config{filter, redact}, "", nil, nil},
		{"a filter that runs", []processor.Config{filterRuns}, "", nil, nil},
		{"a redact rule that skips", []processor.Config{filter, redactSkips}, "", nil,
			[]string{`pipelines[0].processors[1] (id "ssn").on_overload: "skip" lets lines leave unredacted while the overload breaker is open`}},
		{"skip beside params", []processor.Config{redactSkipsBeside}, "", nil,
			[]string{`pipelines[0].processors[0] (id "ssn").on_overload: "skip" lets lines leave unredacted while the overload breaker is open`}},
		{"bypass_all with redaction", []processor.Config{filter, redact, {ID: "ssn2", Type: "redact", Params: json.RawMessage(`{"detector":"ssn","on_overload":"skip"}`)}}, PolicyBypassAll, nil,
			[]string{`pipelines[0].overload_policy: "bypass_all" skips every rule while the overload breaker is open, redaction included (2 rules): lines leave unredacted`}},
		{"bypass_all without redaction", []processor.Config{filter}, PolicyBypassAll, nil, nil},
		{"an output that does not verify", nil, "", []output.Config{{Type: "console"}, insecure},
			[]string{"pipelines[0].outputs[1] (http:https://10.0.0.7/logs?token=********).tls_insecure_skip_verify: the endpoint's certificate is not verified, so anyone on the path can read and change what is sent"}},
	}
	for _, tt := range tests {
		m := &Manifest{Version: "1", Pipelines: []Pipeline{{Name: "p", Processors: tt.rules, Outputs: tt.outputs, OverloadPolicy: tt.policy}}}
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := m.Warnings(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got warnings %q; want %q", tt.name, got, tt.want)
		}
	}
}
