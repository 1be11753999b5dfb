package match

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

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
	ds := Detectors()
	rs := make([]Replacer, len(ds))
	for i, d := range ds {
		rs[i] = d.Replacer("[REDACTED]")
		for _, ex := range d.Examples {
			f.Add([]byte(ex.Line))
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for i, d := range ds {
			name := d.Name
			prev, found := 0, false
			for s, e := d.Find(line, 0); s >= 0; s, e = d.Find(line, e) {
				if s < prev || e <= s || e > len(line) {
					t.Fatalf("%s in %q: got finding [%d, %d) after %d; want an ordered finding within the line", name, line, s, e, prev)
				}
				prev, found = e, true
			}
			once := replace(rs[i], line)
			if !found && once != string(line) {
				t.Fatalf("%s on %q: got %q; want the line unchanged", name, line, once)
			}
			if twice := replace(rs[i], []byte(once)); twice != once {
				t.Fatalf("%s on %q: got %q redacted once and %q twice; want the same", name, line, once, twice)
			}
			if name == "ssn" && ssnShape.MatchString(once) {
				t.Fatalf("ssn on %q: got %q; want no ddd-dd-dddd left", line, once)
			}
		}
	})
}

// refLookup is LookupJSON written with gjson's parser, for valid JSON.
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

// FuzzLookupJSON compares LookupJSON with gjson's parser on valid JSON
// objects, and checks it terminates within bounds on anything.
func FuzzLookupJSON(f *testing.F) {
	for _, s := range []struct{ doc, path string }{
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
		f.Add([]byte(s.doc), s.path)
	}
	f.Fuzz(func(t *testing.T, doc []byte, path string) {
		keys := strings.Split(path, "/")
		got, gotOK := LookupJSON(doc, keys)
		if gotOK && !isSubslice(doc, got) {
			t.Fatalf("LookupJSON(%q, %q): got %q, not a part of the document", doc, keys, got)
		}
		if slices.Contains(keys, "") || !ValidJSON(doc) || !IsJSONObject(doc) {
			return
		}
		want, wantOK := refLookup(doc, keys)
		if gotOK != wantOK || string(got) != want {
			t.Fatalf("LookupJSON(%q, %q): got %q, %v; want %q, %v", doc, keys, got, gotOK, want, wantOK)
		}
	})
}

// isSubslice reports whether part lies within whole.
func isSubslice(whole, part []byte) bool {
	if len(part) == 0 {
		return true
	}
	for i := 0; i+len(part) <= len(whole); i++ {
		if &whole[i] == &part[0] {
			return true
		}
	}
	return false
}

// FuzzValidJSON compares validJSON with gjson's validator and a count of
// the nesting: it must accept exactly the valid JSON nested at most
// maxJSONDepth deep, and call too deep only what nests deeper.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		`{"a":[1,2,{"b":null}],"c":"\u00e9\n"}`,
		` [ true , false , -0.5e-3 ] `,
		`{"a":1,}`, `[1 2]`, `"\u12"`, `01`, `1.e5`, "\"\x01\"", `{"a" 1}`,
		strings.Repeat("[", 129) + strings.Repeat("]", 129),
		strings.Repeat(`{"a":`, 128) + "0" + strings.Repeat("}", 128),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		got := validJSON(doc)
		valid := gjson.ValidBytes(doc)
		switch {
		case got == jsonOK && (!valid || depth(doc) > maxJSONDepth):
			t.Fatalf("validJSON(%q): got OK; gjson valid %v, depth %d", doc, valid, depth(doc))
		case valid && depth(doc) <= maxJSONDepth && got != jsonOK:
			t.Fatalf("validJSON(%q): got %d; want OK (depth %d)", doc, got, depth(doc))
		case valid && depth(doc) > maxJSONDepth && got != jsonTooDeep_:
			t.Fatalf("validJSON(%q): got %d; want too deep (depth %d)", doc, got, depth(doc))
		case got == jsonTooDeep_ && !bytes.Contains(doc, []byte{'['}) && !bytes.Contains(doc, []byte{'{'}):
			t.Fatalf("validJSON(%q): too deep without a container", doc)
		}
	})
}
