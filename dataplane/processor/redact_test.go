package processor

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		name   string
		params string
		in     string
		want   string
	}{
		{
			"seed compatibility",
			`{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`,
			"SSN: 123-45-6789", "SSN: XXX-XX-XXXX",
		},
		{"default replacement", `{"pattern": "\\d{3}-\\d{2}-\\d{4}"}`, "SSN: 123-45-6789", "SSN: [REDACTED]"},
		{"no match", `{"pattern": "\\d{3}-\\d{2}-\\d{4}"}`, "SSN: none", "SSN: none"},
		{"every match", `{"pattern": "\\d+", "replacement": "N"}`, "a1b22c333", "aNbNcN"},
		{"empty replacement", `{"pattern": "secret=\\S+ ?", "replacement": ""}`, "x secret=hunter2 y", "x y"},
		{"submatch", `{"pattern": "user=(\\w+)", "replacement": "user=<$1>"}`, "login user=alice ok", "login user=<alice> ok"},
		{"braced submatch", `{"pattern": "(\\w+)@", "replacement": "${1}_at_"}`, "bob@host", "bob_at_host"},
		{"named submatch", `{"pattern": "(?P<key>token)=\\w+", "replacement": "$key=***"}`, "token=abc def", "token=*** def"},
		{"dollar", `{"pattern": "price=\\d+", "replacement": "price=$$"}`, "price=100", "price=$"},
		{"stray dollar", `{"pattern": "x", "replacement": "$ $"}`, "axb", "a$ $b"},
		{"whole match", `{"pattern": "\\d+", "replacement": "<$0>"}`, "a12b", "a<12>b"},
		{"unmatched group", `{"pattern": "a(x)?b", "replacement": "[$1]"}`, "ab axb", "[] [x]"},
		{"empty matches", `{"pattern": "x*", "replacement": "-"}`, "abxc", "-a-b-c-"},
		{"anchor", `{"pattern": "^\\w+", "replacement": "L"}`, "level msg", "L msg"},

		{"ssn detector", `{"detector": "ssn"}`, "SSN: 123-45-6789, 987-65-4321", "SSN: [REDACTED], [REDACTED]"},
		{"ssn detector replacement", `{"detector": "ssn", "replacement": "XXX-XX-XXXX"}`, "SSN: 123-45-6789", "SSN: XXX-XX-XXXX"},
		{"detector replacement is literal", `{"detector": "ssn", "replacement": "$1"}`, "123-45-6789", "$1"},
		{"credit card detector", `{"detector": "credit_card"}`, "paid with 4111 1111 1111 1111 at 1732262400123", "paid with [REDACTED] at 1732262400123"},
		{"email detector", `{"detector": "email"}`, "to: a.b@example.com.", "to: [REDACTED]."},
		{"ipv4 detector", `{"detector": "ipv4"}`, "client=10.1.2.3:443 version=1.2.3.4.5", "client=[REDACTED]:443 version=1.2.3.4.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, "redact", tt.params)
			if got := processLine(p, tt.in); got != tt.want {
				t.Errorf("redact %s on %q: got %q; want %q", tt.params, tt.in, got, tt.want)
			}
		})
	}
}

// TestRedactPatternMatchesReplaceAll checks that a pattern redacts exactly
// as regexp.Regexp.ReplaceAll does.
func TestRedactPatternMatchesReplaceAll(t *testing.T) {
	patterns := []string{`\d{3}-\d{2}-\d{4}`, `x*`, `a|ab`, `\b`, `(a)(b)?`, `(?P<n>\w)(?P<n>\d)?`, `$`, `^`, `(?m)^`, `é*`, `.`}
	templates := []string{"", "[REDACTED]", "$0", "<$1>", "${1}x", "$1x", "$n", "$$", "$", "${", "${1", "a$é"}
	inputs := []string{"", "a", "ab", "xaxb", "123-45-6789 and 000-00-0000", "héllo wörld", "a\xffb", "aab\nab"}
	for _, pat := range patterns {
		re := regexp.MustCompile(pat)
		for _, tmpl := range templates {
			params, _ := json.Marshal(map[string]string{"pattern": pat, "replacement": tmpl})
			s, err := Build(Config{ID: "test", Type: "redact", Params: params})
			if err != nil {
				if !strings.Contains(err.Error(), "params.replacement: ") {
					t.Errorf("redact %s: got error %v; want none or one naming params.replacement", params, err)
				}
				continue
			}
			for _, in := range inputs {
				want := string(re.ReplaceAll([]byte(in), []byte(tmpl)))
				if got := processLine(s.P, in); got != want {
					t.Errorf("redact %s on %q: got %q; want %q", params, in, got, want)
				}
			}
		}
	}
}

func TestRedactKeepsOtherLines(t *testing.T) {
	// The second and third rules rewrite lines that the first one already
	// moved to Scratch; no line may overwrite another.
	steps := []Processor{
		build(t, "redact", `{"detector": "ssn"}`),
		build(t, "redact", `{"detector": "email"}`),
		build(t, "redact", `{"pattern": "id=\\d+", "replacement": "id=?"}`),
	}
	in := []string{
		"ssn 123-45-6789 mail a@b.io id=1",
		"plain line",
		"mail c@d.io",
		"id=22 ssn 987-65-4321",
		"tail",
	}
	want := []string{
		"ssn [REDACTED] mail [REDACTED] id=?",
		"plain line",
		"mail [REDACTED]",
		"id=? ssn [REDACTED]",
		"tail",
	}
	b := newBatch(in...)
	for _, p := range steps {
		p.Process(b)
	}
	if got := lines(b); !slices.Equal(got, want) {
		t.Errorf("redact chain: got %q; want %q", got, want)
	}
	// Appending to a rewritten line must not write into Scratch.
	for i, l := range b.Lines {
		if len(l) != cap(l) {
			t.Errorf("line %d: got cap %d; want cap == len %d", i, cap(l), len(l))
		}
	}
}

func TestRedactParams(t *testing.T) {
	tests := []struct {
		params string
		want   string
	}{
		{`{}`, "params.pattern: one of pattern, detector or fields is required"},
		{`{"replacement": "x"}`, "params.pattern: one of pattern, detector or fields is required"},
		{`{"pattern": "a", "detector": "ssn"}`, "params.detector: must not be set together with pattern"},
		{`{"pattern": ""}`, "params.pattern: must not be empty"},
		{`{"pattern": "(a"}`, "params.pattern: cannot compile: "},
		{`{"pattern": "(a)", "replacement": "$2"}`, "params.replacement: $2 does not name a group"},
		{`{"pattern": "(a)", "replacement": "$1x"}`, "params.replacement: $1x does not name a group"},
		{`{"pattern": "(?P<k>a)", "replacement": "${v}"}`, "params.replacement: $v does not name a group"},
		{`{"detector": "phone"}`, `params.detector: unknown detector or category "phone"`},
		{`{"detector": "emial"}`, `params.detector: unknown detector or category "emial"; did you mean email?`},
		{`{"detector": ""}`, `params.detector: unknown detector or category ""`},
		{`{"detectors": ["ssn", "nope"]}`, `params.detectors: unknown detector or category "nope"`},
		{`{"detector": "ssn", "detectors": ["email"]}`, `params.detectors: must not be set together with detector`},
		{`{"pattern": 1}`, "params.pattern: cannot decode"},
		{`[{"pattern": "a"}]`, "params: must be a JSON object; got array"},
		{`{"patern": "a"}`, `params: unknown field "patern"`},
	}
	for _, tt := range tests {
		checkErr(t, "redact", tt.params, tt.want)
	}
}

func TestRedactRunsOnOverload(t *testing.T) {
	s, err := Build(Config{ID: "r", Type: "redact", Params: json.RawMessage(`{"detector": "ssn"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if !s.RunOnOverload {
		t.Errorf("redact step: got RunOnOverload false; want true")
	}
}

// TestRedactCountsByDetector: a redact rule tells which of its detectors
// found what it redacted, a line counting once per detector, through the
// chain's RewrittenBy.
func TestRedactCountsByDetector(t *testing.T) {
	tests := []struct {
		name   string
		params string
		lines  []string
		want   map[string]int // by label; labels not listed want 0
	}{
		{
			name:   "detectors",
			params: `{"detectors": ["us_ssn", "email"]}`,
			lines: []string{
				"ssn 123-45-6789 and 234-56-7890", // two findings, one line
				"mail bob@example.com ssn 123-45-6789",
				"nothing here",
				`{"msg": "to bob@example.com"}`,
			},
			want: map[string]int{"us_ssn": 2, "email": 2},
		},
		{
			name:   "one detector",
			params: `{"detector": "email"}`,
			lines:  []string{"a@example.com b@example.com", "none", "c@example.com"},
			want:   map[string]int{"email": 2},
		},
		{
			name:   "pattern and fields",
			params: `{"pattern": "secret-\\d+", "fields": ["password"]}`,
			lines:  []string{"id secret-42 password=hunter2", `{"password": "x"}`, "secret-7", "plain"},
			want:   map[string]int{"pattern": 2, "field": 2},
		},
		{
			name:   "fields only",
			params: `{"fields": ["@secrets"]}`,
			lines:  []string{"db_password=x token=y", "ok"},
			want:   map[string]int{"field": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := build(t, "redact", tt.params)
			rw := p.(Rewriter)
			labels := rw.Detectors()
			counters := make([]*counter, len(labels))
			by := make([]interface{ Add(int) }, len(labels))
			for i := range labels {
				counters[i] = new(counter)
				by[i] = counters[i]
			}
			rewritten := 0
			c := NewChain(Step{ID: "r", P: p, Rewritten: addFunc(func(n int) { rewritten += n }), RewrittenBy: by})
			c.Run(newBatch(tt.lines...), false)
			got := make(map[string]int)
			for i, l := range labels {
				if *counters[i] > 0 {
					got[l] = int(*counters[i])
				}
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("by detector %v; want %v (labels %q)", got, tt.want, labels)
			}
			// Without counters, the same lines are rewritten.
			b := newBatch(tt.lines...)
			if n := rw.ProcessCounting(b, nil); n != rewritten {
				t.Errorf("ProcessCounting without counters rewrote %d lines; the chain %d", n, rewritten)
			}
		})
	}
}

// addFunc is a counter that calls a function.
type addFunc func(int)

func (f addFunc) Add(n int) { f(n) }
