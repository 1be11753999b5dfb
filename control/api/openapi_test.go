package api

import (
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

// regexpAll returns the first submatch of every match of expr in s.
func regexpAll(expr, s string) []string {
	var out []string
	for _, m := range regexp.MustCompile(expr).FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// jsonFields lists the JSON field names of struct type t.
func jsonFields(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// TestSchemasMatchTypes keeps the documented schemas in step with the Go
// types the API encodes and decodes.
func TestSchemasMatchTypes(t *testing.T) {
	types := map[string]reflect.Type{
		"Rule":      reflect.TypeFor[processor.Config](),
		"Output":    reflect.TypeFor[output.Config](),
		"Pipeline":  reflect.TypeFor[manifest.Pipeline](),
		"Manifest":  reflect.TypeFor[manifest.Manifest](),
		"Heartbeat": reflect.TypeFor[rdb.Heartbeat](),
		"Published": reflect.TypeFor[published](),
		"Health":    reflect.TypeFor[health](),
		"Error":     reflect.TypeFor[errorBody](),
	}
	all := schemas()
	for name, typ := range types {
		s, ok := all[name]
		if !ok {
			t.Fatalf("schema %s is not defined", name)
		}
		var got []string
		for p := range s.Properties {
			got = append(got, p)
		}
		sort.Strings(got)
		if want := jsonFields(typ); !slices.Equal(got, want) {
			t.Errorf("schema %s: got properties %v; want the fields of %v: %v", name, got, typ, want)
		}
	}
}

// TestDocumentedEnumsAccepted checks that the documented output types and
// formats are ones output.Validate accepts.
func TestDocumentedEnumsAccepted(t *testing.T) {
	for _, typ := range outputTypes {
		c := output.Config{Type: typ}
		if typ == "http" {
			c.URL = "http://sink:9000"
		}
		if err := output.Validate(&c); err != nil {
			t.Errorf("type %q: got %v; want it accepted", typ, err)
		}
	}
	for _, f := range outputFormats {
		c := output.Config{Type: "http", URL: "http://sink:9000", Format: f}
		if err := output.Validate(&c); err != nil {
			t.Errorf("format %q: got %v; want it accepted", f, err)
		}
	}
}

// TestExamplesAreValid checks that the documented request examples are
// accepted by the routes they document.
func TestExamplesAreValid(t *testing.T) {
	for i := range routes {
		rt := &routes[i]
		if rt.body == nil || rt.body.example == nil {
			continue
		}
		t.Run(rt.id, func(t *testing.T) {
			a := newTestAPI(t, Options{}, store.Options{})
			path := rt.path
			for _, p := range rt.params {
				if p.in == "path" {
					path = strings.ReplaceAll(path, "{"+p.name+"}", p.example.(string))
				}
			}
			if rt.method == "PUT" {
				// Replace needs a rule to replace.
				if r := a.do("POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`); r.status != 200 {
					t.Fatalf("got %d %s; want 200", r.status, r.body)
				}
			}
			if r := a.do(rt.method, path, pretty(rt.body.example)); r.status != 200 {
				t.Fatalf("%s %s with the documented example: got %d %s; want 200", rt.method, path, r.status, r.body)
			}
		})
	}
}
