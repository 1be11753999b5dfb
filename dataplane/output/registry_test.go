package output

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// exampleConfig decodes a params example of an output type into a Config.
func exampleConfig(t *testing.T, typ, ex string) (*Config, map[string]any) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(ex), &m); err != nil {
		t.Fatalf("%s example %s: %v", typ, ex, err)
	}
	m["type"] = typ
	b, _ := json.Marshal(m)
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s example %s: %v", typ, ex, err)
	}
	return &c, m
}

// TestRegistryDocumented checks both directions between the registry and
// its documentation: every type has a complete spec whose examples are
// valid, every documented value is accepted, and a field the spec leaves
// out is refused, naming the fields the type takes.
func TestRegistryDocumented(t *testing.T) {
	fields := configFields(t)
	for _, typ := range Types() {
		sp, ok := Spec(typ)
		if !ok || sp == nil {
			t.Fatalf("Spec(%q): got none; want the type's spec", typ)
		}
		if err := sp.Validate(); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
		for _, p := range sp.Params {
			if !slices.Contains(fields, p.Name) {
				t.Errorf("%s documents %q, which is not a field of Config (%v)", typ, p.Name, fields)
			}
		}
		for _, ex := range sp.Examples {
			c, m := exampleConfig(t, typ, ex)
			if err := Validate(c); err != nil {
				t.Errorf("%s example %s: got %v; want it valid", typ, ex, err)
			}
			for _, p := range sp.Params {
				if _, used := m[p.Name]; !used {
					continue
				}
				for _, v := range p.Enum {
					m[p.Name] = v
					b, _ := json.Marshal(m)
					var c Config
					json.Unmarshal(b, &c)
					if err := Validate(&c); err != nil {
						t.Errorf("%s with %s: got %v; want the documented value accepted", typ, b, err)
					}
				}
			}
		}
		// Every field of Config that the spec leaves out is refused.
		for _, f := range fields {
			if _, ok := sp.Param(f); ok || f == "type" {
				continue
			}
			c, _ := exampleConfig(t, typ, sp.Examples[0])
			setField(t, c, f)
			err := Validate(c)
			if err == nil || !strings.HasPrefix(err.Error(), f+": not used by "+typ+" output") {
				t.Errorf("%s with %s set: got %v; want %q", typ, f, err, f+": not used by "+typ+" output")
			}
		}
	}
}

// configFields lists the JSON names of Config's fields.
func configFields(t *testing.T) []string {
	t.Helper()
	var names []string
	for f := range reflect.TypeFor[Config]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "-" {
			names = append(names, name)
		}
	}
	return names
}

// setField gives the field of c named name in JSON a non-zero value.
func setField(t *testing.T, c *Config, name string) {
	t.Helper()
	v := reflect.ValueOf(c).Elem()
	for f := range reflect.TypeFor[Config]().Fields() {
		if n, _, _ := strings.Cut(f.Tag.Get("json"), ","); n != name {
			continue
		}
		fv := v.FieldByIndex(f.Index)
		switch fv.Kind() {
		case reflect.String:
			fv.SetString("x")
		case reflect.Int:
			fv.SetInt(1)
		case reflect.Bool:
			fv.SetBool(true)
		case reflect.Map:
			fv.Set(reflect.ValueOf(map[string]string{"X-A": "b"}))
		case reflect.Pointer:
			fv.Set(reflect.New(fv.Type().Elem()))
		case reflect.Slice:
			fv.Set(reflect.Append(reflect.MakeSlice(fv.Type(), 0, 1), reflect.ValueOf("x").Convert(fv.Type().Elem())))
		default:
			t.Fatalf("field %s: cannot set a %s", name, fv.Kind())
		}
		return
	}
	t.Fatalf("Config has no field %s", name)
}
