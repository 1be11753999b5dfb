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
	withHashKey(t, []byte("registry-test-key-0123456789"))
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
				// Accepted if it builds in one of the examples that use
				// the param: another param of an example may need
				// another value (keep goes with partial only).
				var errs []string
				for _, ex := range examplesWith(t, sp.Examples, p.Name) {
					ex[p.Name] = v
					params, _ := json.Marshal(ex)
					if _, err := Build(Config{ID: "x", Type: name, Params: params}); err != nil {
						errs = append(errs, string(params)+": "+err.Error())
					} else {
						errs = nil
						break
					}
				}
				if errs != nil {
					t.Errorf("%s: %s %q is documented but refused: %v", name, p.Name, v, errs)
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

// examplesWith returns, decoded, the examples that use param.
func examplesWith(t *testing.T, examples []string, param string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ex := range examples {
		var m map[string]any
		if err := json.Unmarshal([]byte(ex), &m); err != nil {
			t.Fatalf("example %s: %v", ex, err)
		}
		if _, ok := m[param]; ok {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no example uses %s", param)
	}
	return out
}

// TestBuiltinsHaveSpecs: only types registered by tests may lack a spec.
func TestBuiltinsHaveSpecs(t *testing.T) {
	for name, typ := range registry {
		if typ.Spec == nil {
			t.Errorf("processor type %q has no spec", name)
		}
	}
}
