package processor

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestRegistryDocumented checks both directions between the registry and
// its documentation: every type has a complete spec whose examples build,
// every documented value of every param is accepted, and a param the spec
// does not list is refused with the list of those it does.
func TestRegistryDocumented(t *testing.T) {
	if len(Types()) == 0 {
		t.Fatal("Types(): got none; want the built-in processors")
	}
	for _, name := range Types() {
		sp, ok := Spec(name)
		if !ok || sp == nil {
			t.Fatalf("Spec(%q): got none; want the type's spec", name)
		}
		if err := sp.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		for _, ex := range sp.Examples {
			if _, err := Build(Config{ID: "x", Type: name, Params: json.RawMessage(ex)}); err != nil {
				t.Errorf("%s example %s: got %v; want it built", name, ex, err)
			}
		}
		for _, p := range sp.Params {
			for _, v := range p.Enum {
				ex := exampleWith(t, sp.Examples, p.Name)
				ex[p.Name] = v
				params, _ := json.Marshal(ex)
				if _, err := Build(Config{ID: "x", Type: name, Params: params}); err != nil {
					t.Errorf("%s with %s: got %v; want the documented value accepted", name, params, err)
				}
			}
		}
		err := buildErr(t, name, `{"not_a_param": 1}`)
		want := `params: unknown field "not_a_param": ` + name + " takes " + strings.Join(sp.ParamNames(), ", ")
		if err.Error() != want {
			t.Errorf("%s with an unknown param: got %q; want %q", name, err, want)
		}
	}
}

// exampleWith returns, decoded, the first example that uses param.
func exampleWith(t *testing.T, examples []string, param string) map[string]any {
	t.Helper()
	for _, ex := range examples {
		var m map[string]any
		if err := json.Unmarshal([]byte(ex), &m); err != nil {
			t.Fatalf("example %s: %v", ex, err)
		}
		if _, ok := m[param]; ok {
			return m
		}
	}
	t.Fatalf("no example uses %s", param)
	return nil
}

// TestBuiltinsHaveSpecs: only types registered by tests may lack a spec.
func TestBuiltinsHaveSpecs(t *testing.T) {
	for name, typ := range registry {
		if typ.Spec == nil {
			t.Errorf("processor type %q has no spec", name)
		}
	}
}
