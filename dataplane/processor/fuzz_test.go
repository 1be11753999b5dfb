package processor

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// ssnShape matches ddd-dd-dddd not preceded or followed by a digit, the
// shape the ssn detector must leave none of.
var ssnShape = regexp.MustCompile(`(?:^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}(?:[^0-9]|$)`)

func FuzzDetectors(f *testing.F) {
	for _, s := range []string{
		"SSN: 123-45-6789",
		"123-45-6789-12-3456 1123-45-6789 000-00-0000",
		"card 4111 1111 1111 1111 and 4111-1111-1111-1111 ts=1732262400123",
		"order 12 4111 1111 1111 1111 34 378282246310005 6011111111111117",
		"5500005555555559x 4111111111111112",
		"mail john.doe+tag@example.co.uk, a@b@c.com a@b.com.c@d.com",
		"from 192.168.1.10:8080 1.2.3.4.5 v1.2.3.4 10.0.0.1.",
		"\xff123-45-6789\xfe",
		"",
	} {
		f.Add([]byte(s))
	}
	names := make([]string, 0, len(detectors))
	for n := range detectors {
		names = append(names, n)
	}
	slices.Sort(names)
	procs := make([]Processor, len(names))
	for i, n := range names {
		procs[i] = build(f, "redact", `{"detector": "`+n+`"}`)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for i, name := range names {
			d := detectors[name]
			prev, found := 0, false
			for s, e := d(line, 0); s >= 0; s, e = d(line, e) {
				if s < prev || e <= s || e > len(line) {
					t.Fatalf("%s in %q: got finding [%d, %d) after %d; want an ordered finding within the line", name, line, s, e, prev)
				}
				prev, found = e, true
			}
			once := processLine(procs[i], string(line))
			if !found && once != string(line) {
				t.Fatalf("%s on %q: got %q; want the line unchanged", name, line, once)
			}
			if twice := processLine(procs[i], once); twice != once {
				t.Fatalf("%s on %q: got %q redacted once and %q twice; want the same", name, line, once, twice)
			}
			if name == "ssn" && ssnShape.MatchString(once) {
				t.Fatalf("ssn on %q: got %q; want no ddd-dd-dddd left", line, once)
			}
		}
	})
}

// refLookup is jsonLookup written with gjson's parser, for valid JSON.
func refLookup(doc []byte, keys []string) (string, bool) {
	r := gjson.ParseBytes(doc)
	for _, k := range keys {
		if !r.IsObject() {
			return "", false
		}
		var v gjson.Result
		found := false
		r.ForEach(func(key, val gjson.Result) bool {
			if key.Str == k {
				v, found = val, true
				return false
			}
			return true
		})
		if !found {
			return "", false
		}
		r = v
	}
	return r.Raw, true
}

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
		valid := gjson.ValidBytes(line)
		ps := procs
		if keys := strings.Split(path, "/"); !slices.Contains(keys, "") {
			if i := skipSpace(line, 0); valid && i < len(line) && line[i] == '{' {
				got, gotOK := jsonLookup(line, keys)
				want, wantOK := refLookup(line, keys)
				if gotOK != wantOK || string(got) != want {
					t.Fatalf("jsonLookup(%q, %q): got %q, %v; want %q, %v", line, keys, got, gotOK, want, wantOK)
				}
			}
			params, _ := json.Marshal(map[string]string{"path": path, "operator": "contains", "value": "e"})
			ps = append(ps[:len(ps):len(ps)], build(t, "attribute_filter", string(params)))
		}
		for _, p := range ps {
			if out := process(p, string(line)); len(out) == 0 && !valid {
				t.Fatalf("attribute_filter on %q: got it dropped; want invalid JSON kept", line)
			}
		}
	})
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
		want := string(re.ReplaceAll(line, []byte(repl)))
		if got := processLine(s.P, string(line)); got != want {
			t.Fatalf("redact %s on %q: got %q; want %q", params, line, got, want)
		}
	})
}
