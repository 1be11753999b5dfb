package api

import (
	"encoding/json"
	"fmt"
	"maps"
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
	"streamgate/dataplane/spec"
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
		"Rule":           reflect.TypeFor[processor.Config](),
		"Output":         reflect.TypeFor[output.Config](),
		"Pipeline":       reflect.TypeFor[manifest.Pipeline](),
		"Manifest":       reflect.TypeFor[manifest.Manifest](),
		"Heartbeat":      reflect.TypeFor[rdb.Heartbeat](),
		"Savings":        reflect.TypeFor[rdb.Savings](),
		"FleetSavings":   reflect.TypeFor[fleetSavings](),
		"ShadowDeleted":  reflect.TypeFor[shadowDeleted](),
		"Published":      reflect.TypeFor[published](),
		"PreviewRequest": reflect.TypeFor[previewRequest](),
		"Preview":        reflect.TypeFor[preview](),
		"Health":         reflect.TypeFor[health](),
		"Error":          reflect.TypeFor[errorBody](),
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

// TestOpenAPIDocumentsRegistries checks both directions between the
// registries and /openapi.json: every registered processor and output type
// is listed and has its schema, with exactly the params its spec has; and
// every documented type, param and value is accepted by the API.
func TestOpenAPIDocumentsRegistries(t *testing.T) {
	all := schemas()
	if got, want := all["Rule"].Properties["type"].Enum, processor.Types(); !slices.Equal(got, want) {
		t.Errorf("Rule.type: got %v; want every registered processor type %v", got, want)
	}
	if got, want := all["Output"].Properties["type"].Enum, output.Types(); !slices.Equal(got, want) {
		t.Errorf("Output.type: got %v; want every registered output type %v", got, want)
	}
	// The hash action needs a key wherever rules are validated.
	if err := processor.SetHashKey([]byte("openapi-test-key-0123456789")); err != nil {
		t.Fatal(err)
	}
	check := func(kind, typ, name string, sp *spec.Component, extra []string, post func(a *testAPI, params map[string]any) *result) {
		t.Helper()
		sc, ok := all[name]
		if !ok {
			t.Errorf("%s type %s: no schema %s", kind, typ, name)
			return
		}
		var got []string
		for p := range sc.Properties {
			got = append(got, p)
		}
		sort.Strings(got)
		want := append(sp.ParamNames(), extra...)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("schema %s: got properties %v; want %v", name, got, want)
		}
		// Every example is accepted; so is every documented value of a
		// param, in one of the examples that use it (another param of an
		// example may call for another value).
		var examples []map[string]any
		for _, ex := range sp.Examples {
			var params map[string]any
			if err := json.Unmarshal([]byte(ex), &params); err != nil {
				t.Fatalf("%s example %s: %v", name, ex, err)
			}
			if r := post(newTestAPI(t, Options{}, store.Options{}), params); r.status != 200 {
				t.Errorf("%s %s with %v: got %d %s; want it accepted", kind, typ, params, r.status, r.body)
			}
			examples = append(examples, params)
		}
		for p, ps := range sc.Properties {
			for _, v := range ps.Enum {
				var refusals []string
				for _, params := range examples {
					if _, ok := params[p]; !ok {
						continue
					}
					alt := maps.Clone(params)
					alt[p] = v
					r := post(newTestAPI(t, Options{}, store.Options{}), alt)
					if r.status == 200 {
						refusals = nil
						break
					}
					refusals = append(refusals, fmt.Sprintf("%v: %d %s", alt, r.status, r.body))
				}
				if refusals != nil {
					t.Errorf("%s %s: %s %q is documented but refused: %v", kind, typ, p, v, refusals)
				}
			}
		}
	}
	for _, typ := range processor.Types() {
		sp, _ := processor.Spec(typ)
		check("processor", typ, componentName(typ, "Params"), sp, nil, func(a *testAPI, params map[string]any) *result {
			body, _ := json.Marshal(map[string]any{"id": "x", "type": typ, "params": params})
			return a.do("POST", "/rules", string(body))
		})
	}
	for _, typ := range output.Types() {
		sp, _ := output.Spec(typ)
		check("output", typ, componentName(typ, "Output"), sp, []string{"type"}, func(a *testAPI, params map[string]any) *result {
			o := maps.Clone(params)
			o["type"] = typ
			body, _ := json.Marshal(o)
			return a.do("POST", "/outputs", string(body))
		})
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
