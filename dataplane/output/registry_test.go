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
			if _, ok := sp.Param(f); ok || f == "type" || f == "buffer" || f == "cost_per_gb" { // every type takes buffer and cost_per_gb
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
		case reflect.Slice:
			fv.Set(reflect.ValueOf([]string{"x"}).Convert(fv.Type()))
		case reflect.Pointer:
			fv.Set(reflect.New(fv.Type().Elem()))
		default:
			t.Fatalf("field %s: cannot set a %s", name, fv.Kind())
		}
		return
	}
	t.Fatalf("Config has no field %s", name)
}

// TestBufferConfig checks the buffer every output type takes.
func TestBufferConfig(t *testing.T) {
	for _, tc := range []struct {
		buffer string
		err    string // prefix; "" for valid
	}{
		{`{"type":"memory"}`, ""},
		{`{"type":"disk"}`, ""},
		{`{"type":"disk","max_bytes":1073741824,"sync":"always"}`, ""},
		{`{"type":"disk","sync":"interval","sync_interval_ms":250}`, ""},
		{`{"type":"disk","sync":"never"}`, ""},
		{`{}`, "buffer.type: missing"},
		{`{"type":"tape"}`, `buffer.type: unknown buffer type "tape"`},
		{`{"type":"memory","max_bytes":1048576}`, "buffer: a \"memory\" buffer takes no other field"},
		{`{"type":"disk","max_bytes":1000}`, "buffer.max_bytes: want at least"},
		{`{"type":"disk","sync":"sometimes"}`, `buffer.sync: unknown sync mode "sometimes"`},
		{`{"type":"disk","sync_interval_ms":-1}`, "buffer.sync_interval_ms: want 1 to 60000"},
		{`{"type":"disk","sync":"always","sync_interval_ms":100}`, "buffer.sync_interval_ms: only sync \"interval\" takes it"},
	} {
		for _, typ := range Types() {
			sp, _ := Spec(typ)
			c, _ := exampleConfig(t, typ, sp.Examples[0])
			if err := json.Unmarshal([]byte(tc.buffer), &c.Buffer); err != nil {
				t.Fatal(err)
			}
			err := Validate(c)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("%s with buffer %s: got %v; want it valid", typ, tc.buffer, err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Errorf("%s with buffer %s: got %v; want %q", typ, tc.buffer, err, tc.err)
			}
		}
	}
}

// TestQueueID checks that an output's disk queue outlives changes to its
// buffer, and only those.
func TestQueueID(t *testing.T) {
	a := Config{Type: "http", URL: "http://collector:9000/logs", Headers: map[string]string{"DD-API-KEY": "secret-key"}}
	b := a
	b.Buffer = &BufferConfig{Type: BufferDisk, Sync: "always"}
	if a.QueueID() != b.QueueID() {
		t.Errorf("a buffer change moved the queue: %s, %s", a.QueueID(), b.QueueID())
	}
	c := a
	c.Headers = map[string]string{"DD-API-KEY": "other-key"}
	if a.QueueID() == c.QueueID() {
		t.Errorf("two destinations share queue %s", a.QueueID())
	}
	if id := a.QueueID(); strings.Contains(id, "secret") || !strings.HasPrefix(id, "http-") || len(id) != len("http-")+16 {
		t.Errorf("QueueID: got %q; want http- and 16 hex digits", id)
	}
}
