package processor

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"streamgate/dataplane/match"
)

func FuzzAttributeFilter(f *testing.F) {
	for _, s := range []struct{ line, path string }{
		{`{"service":{"name":"test-service"},"msg":"x"}`, "service/name"},
		{`{"resource":{"attributes":{"service.name":"test-service"}}}`, "resource/attributes/service.name"},
		{`{"attributes":{"http.status_code":500},"level":"debug"}`, "attributes/http.status_code"},
		{` { "a" : [1, {"b": "}"}], "c\"d": {"e": null} } `, `c"d/e`},
		{`{"a\u002eb":{"#":true}}`, "a.b/#"},
		{`{"service":{"name":"test-service"}`, "service/name"},
		{`{broken`, "broken"},
		{`[1,2]`, "0"},
		{``, ""},
		{`{"service":{"name":"test-service"},"a":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, "service/name"},
	} {
		f.Add([]byte(s.line), s.path)
	}
	procs := []Processor{
		build(f, "attribute_filter", `{"attribute": "service.name", "value": "test-service"}`),
		build(f, "attribute_filter", `{"attribute": "http.status_code", "value": "500"}`),
		build(f, "attribute_filter", `{"attribute": "log.level", "operator": "contains", "value": "debug"}`),
		build(f, "attribute_filter", `{"attribute": "name", "operator": "regex", "value": "^test"}`),
	}
	f.Fuzz(func(t *testing.T, line []byte, path string) {
		valid := gjson.ValidBytes(line) && nesting(line) <= match.MaxJSONDepth
		ps := procs
		if keys := strings.Split(path, "/"); !slices.Contains(keys, "") {
			params, _ := json.Marshal(map[string]string{"path": path, "operator": "contains", "value": "e"})
			ps = append(ps[:len(ps):len(ps)], build(t, "attribute_filter", string(params)))
		}
		for _, p := range ps {
			if out := process(p, string(line)); len(out) == 0 && !valid {
				t.Fatalf("attribute_filter on %q: got it dropped; want invalid JSON, or JSON nested too deep, kept", line)
			}
		}
	})
}

// nesting is the most containers open at once in the valid JSON doc.
func nesting(doc []byte) int {
	d := json.NewDecoder(bytes.NewReader(doc))
	n, deepest := 0, 0
	for {
		tok, err := d.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			n++
			deepest = max(deepest, n)
		case json.Delim('}'), json.Delim(']'):
			n--
		}
	}
}

func FuzzRedactPattern(f *testing.F) {
	for _, s := range []struct{ pattern, repl, line string }{
		{`\d{3}-\d{2}-\d{4}`, "XXX-XX-XXXX", "SSN: 123-45-6789"},
		{`user=(\w+)`, "user=<$1>", "a user=bob b user=al"},
		{`(?P<k>\w+)=(\d+)`, "${k}=$$", "x=1 y=22"},
		{`x*`, "-", "abxc"},
		{`\b`, "|", "héllo wörld"},
		{`(a)|b`, "[$1]", "ab\xffba"},
		{`(?i)\bk(\d){2}s\b`, "<$1$0>", "k12s \u212a34\u017f"},
		{`a.\x{FFFD}$`, "$0", "a\xff\xfe a\xc5\xbf\xef\xbf\xbd"},
	} {
		f.Add(s.pattern, s.repl, []byte(s.line))
	}
	f.Fuzz(func(t *testing.T, pattern, repl string, line []byte) {
		// Params are JSON, which cannot carry invalid UTF-8.
		if pattern == "" || !utf8.ValidString(pattern) || !utf8.ValidString(repl) {
			return
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return
		}
		var limit *match.RegexLimitError
		if _, err := match.CompileRegex(pattern); errors.As(err, &limit) {
			return // over the bounds on a rule's cost: refused, as tested apart
		}
		params, _ := json.Marshal(map[string]string{"regex": pattern})
		f := build(t, "filter", string(params))
		if got, want := processLine(f, string(line)) == "<dropped>", re.Match(line); got != want {
			t.Fatalf("filter %s on %q: got dropped %v; want %v", params, line, got, want)
		}
		params, _ = json.Marshal(map[string]string{"pattern": pattern, "replacement": repl})
		s, err := Build(Config{ID: "fuzz", Type: "redact", Params: params})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "params.replacement: ") {
				t.Fatalf("redact %s: got error %v; want none or one naming params.replacement", params, err)
			}
			return
		}
		if t := bytes.TrimLeft(line, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			// A JSON line is also scanned with its strings decoded
			// (match.JSONAware), which the regexp package does not do.
			return
		}
		want := string(re.ReplaceAll(line, []byte(repl)))
		if got := processLine(s.P, string(line)); got != want {
			t.Fatalf("redact %s on %q: got %q; want %q", params, line, got, want)
		}
	})
}
