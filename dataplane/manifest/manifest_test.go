package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// run compiles m and runs its chain over lines, returning the kept lines.
func run(t *testing.T, m *Manifest, lines ...string) []string {
	t.Helper()
	cfg, err := m.Compile()
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	b := &record.Batch{}
	for _, l := range lines {
		b.Lines = append(b.Lines, []byte(l))
	}
	processor.NewChain(cfg.Steps...).Run(b, false)
	var out []string
	for _, l := range b.Lines {
		out = append(out, string(l))
	}
	return out
}

// TestSeedPythonManifest loads a manifest exactly as the seed's Python
// control plane wrote it: string version, timestamp, string-valued params,
// a filter rule with the key its models documented ({"key": "level",
// "value": ...}), null url and headers, attribute_filter rules.
func TestSeedPythonManifest(t *testing.T) {
	m, err := Parse(readFixture(t, "seed_python.json"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	cfg, _ := m.Compile()
	if cfg.Version != "1.0" || cfg.BatchSize != 50 || len(cfg.Steps) != 5 || len(cfg.Outputs) != 2 {
		t.Fatalf("compiled: version %q batch %d processors %d outputs %d; want 1.0, 50, 5, 2",
			cfg.Version, cfg.BatchSize, len(cfg.Steps), len(cfg.Outputs))
	}
	got := run(t, m,
		"DEBUG: user login attempt",
		"INFO: payment processed",
		// As in the seed, the filter's key is ignored: its value is
		// matched anywhere in the line, not in a level field.
		"TRACE: cache lookup",
		`{"level":"info","msg":"TRACE id attached"}`,
		"SSN: 123-45-6789",
		`{"resource":{"attributes":{"service.name":"test-service"}},"body":"dropped"}`,
		`{"resource":{"attributes":{"service.name":"checkout"}},"body":"kept"}`,
		`{"attributes":{"http.target":"/health/live"},"body":"dropped"}`,
		`not json at all`,
	)
	want := []string{
		"INFO: payment processed",
		"SSN: XXX-XX-XXXX",
		`{"resource":{"attributes":{"service.name":"checkout"}},"body":"kept"}`,
		`not json at all`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kept lines:\ngot  %q\nwant %q", got, want)
	}
}

// TestRoundTrip checks that what we write parses back the same, keeps the
// seed's field names, and writes version as a string (the seed's data plane
// decodes it into a string).
func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"seed_python.json", "full.json"} {
		t.Run(name, func(t *testing.T) {
			m, err := Parse(readFixture(t, name))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			out, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var generic struct {
				Version   any `json:"version"`
				Pipelines []struct {
					Processors []struct {
						ID, Type string
						Params   map[string]any
					}
				}
			}
			if err := json.Unmarshal(out, &generic); err != nil {
				t.Fatal(err)
			}
			if _, ok := generic.Version.(string); !ok {
				t.Fatalf("version written as %T; want string", generic.Version)
			}
			m2, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse of our own output: %v\n%s", err, out)
			}
			out2, _ := json.Marshal(m2)
			if string(out) != string(out2) {
				t.Fatalf("round trip changed the manifest:\n%s\n%s", out, out2)
			}
		})
	}
}

func TestVersionFromNumber(t *testing.T) {
	m, err := Parse([]byte(`{"version": 7, "pipelines": [{"name": "p", "processors": []}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "7" {
		t.Fatalf("version: got %q; want %q", m.Version, "7")
	}
}

func TestDefaults(t *testing.T) {
	m, err := Parse([]byte(`{"version": "1", "pipelines": [{"name": "p", "processors": []}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := m.Compile()
	if cfg.BatchSize != 100 {
		t.Fatalf("batch size: got %d; want 100", cfg.BatchSize)
	}
	if len(cfg.Outputs) != 0 || cfg.BypassAll {
		t.Fatalf("outputs %v, bypass_all %v; want none (console by default), false", cfg.Outputs, cfg.BypassAll)
	}
}

// TestInvalid checks that every error names its field, and that all errors
// of a manifest are reported together.
func TestInvalid(t *testing.T) {
	cases := []struct {
		name     string
		manifest string
		want     []string // substrings, one per expected error
	}{
		{"not json", `{"version":`, []string{"cannot parse manifest"}},
		{"trailing data", `{"version":"1","pipelines":[{"name":"p","processors":[]}]} {}`, []string{"unexpected data"}},
		{"unknown top-level field", `{"version":"1","pipelnes":[]}`, []string{`line 1, column 16: pipelnes: unknown field`}},
		{"no pipelines", `{"version":"1","pipelines":[]}`, []string{"pipelines: at least one"}},
		{"two pipelines", `{"version":"1","pipelines":[{"name":"a","processors":[]},{"name":"b","processors":[]}]}`, []string{"pipelines: one pipeline is supported; got 2"}},
		{"batch size zero", `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":0}]}`, []string{"pipelines[0].batch_size: must be between 1 and 10000; got 0"}},
		{"batch size too big", `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":10001}]}`, []string{"pipelines[0].batch_size"}},
		{"batch size not a number", `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":"big"}]}`, []string{"batch_size"}},
		{"unknown processor type", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"x","type":"enrich","params":{}}]}]}`, []string{`pipelines[0].processors[0] (id "x").type: unknown processor type "enrich"`}},
		{"bad regex", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"pattern":"(unclosed","replacement":"x"}}]}]}`, []string{`processors[0] (id "r").params.pattern`}},
		{"typo in params", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"f","type":"filter","params":{"valu":"DEBUG"}}]}]}`, []string{`params: unknown field "valu"`}},
		{"missing id", `{"version":"1","pipelines":[{"name":"p","processors":[{"type":"filter","params":{"value":"x"}}]}]}`, []string{"processors[0].id: must not be empty"}},
		{"duplicate id", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"a","type":"filter","params":{"value":"x"}},{"id":"a","type":"filter","params":{"value":"y"}}]}]}`, []string{"processors[1] (id \"a\").id: duplicate of processors[0]"}},
		{"bad on_overload", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"a","type":"filter","params":{"value":"x"},"on_overload":"maybe"}]}]}`, []string{"on_overload"}},
		{"seed filter key not a string", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"f","type":"filter","params":{"key":5,"value":"x"}}]}]}`, []string{`processors[0] (id "f").params.key: cannot decode number into string`}},
		{"seed filter key alone", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"f","type":"filter","params":{"key":"level"}}]}]}`, []string{`processors[0] (id "f").params: one of value, values or regex is required`}},
		{"key on a redact rule", `{"version":"1","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"key":"level","pattern":"x"}}]}]}`, []string{`processors[0] (id "r").params: unknown field "key"`}},
		{"http output without url", `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"http"}]}]}`, []string{"pipelines[0].outputs[0].url"}},
		{"unknown output type", `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"pigeon"}]}]}`, []string{`pipelines[0].outputs[0].type: unknown output type "pigeon"`}},
		{"duplicate http url", `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"http","url":"http://a:1"},{"type":"http","url":"http://a:1"}]}]}`, []string{"outputs[1].url: duplicate of outputs[0]"}},
		{"bad overload policy", `{"version":"1","pipelines":[{"name":"p","processors":[],"overload_policy":"yolo"}]}`, []string{"pipelines[0].overload_policy"}},
		{"all errors at once", `{"version":"1","pipelines":[{"name":"p","batch_size":0,"processors":[{"id":"r","type":"redact","params":{"pattern":"("}},{"id":"q","type":"nope"}],"outputs":[{"type":"http"}]}]}`,
			[]string{"batch_size", "params.pattern", `unknown processor type "nope"`, "outputs[0].url"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.manifest))
			if err == nil {
				t.Fatalf("Parse: got no error; want %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q; want it to contain %q", err, w)
				}
			}
			for _, secret := range []string{"pw1", "pw2", "token=A", "token=B"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds the secret %q", err, secret)
				}
			}
			if n := len(ErrorList(err)); len(c.want) > 1 && n != len(c.want) {
				t.Errorf("got %d errors; want %d: %q", n, len(c.want), ErrorList(err))
			}
		})
	}
}

// TestOutputsTellApart checks outputs one manifest may hold together: those
// whose URLs differ in more than what metrics and logs mask, and those
// without a URL.
func TestOutputsTellApart(t *testing.T) {
	for _, c := range []struct {
		name    string
		outputs string
	}{
		{"two consoles", `[{"type":"console"},{"type":"console"}]`},
		{"same host, other paths", `[{"type":"http","url":"http://a:1/x"},{"type":"http","url":"http://a:1/y"}]`},
		{"same secret, other paths", `[{"type":"http","url":"http://u:pw@a:1/x?token=A"},{"type":"http","url":"http://u:pw@a:1/y?token=A"}]`},
		{"other query keys", `[{"type":"http","url":"http://a:1/x?token=A"},{"type":"http","url":"http://a:1/x?key=A"}]`},
		{"http and tcp", `[{"type":"http","url":"http://a:1"},{"type":"tcp","url":"tcp://a:1"}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(`{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":` + c.outputs + `}]}`))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if cfg, _ := m.Compile(); len(cfg.Outputs) != 2 {
				t.Fatalf("compiled outputs %+v; want both", cfg.Outputs)
			}
		})
	}
}

func TestRedactedMasksSecrets(t *testing.T) {
	m, err := Parse(readFixture(t, "seed_python.json"))
	if err != nil {
		t.Fatal(err)
	}
	m.Pipelines[0].Outputs[1].URL = "http://user:pw-secret@127.0.0.1:9000/push?token=tok-secret"
	red, _ := json.Marshal(m.Redacted())
	for _, secret := range []string{"secret-key-123", "pw-secret", "tok-secret"} {
		if strings.Contains(string(red), secret) {
			t.Fatalf("redacted manifest still holds %q: %s", secret, red)
		}
	}
	if !strings.Contains(string(red), `"DD-API-KEY":"`+Mask+`"`) {
		t.Fatalf("redacted manifest lost the header name: %s", red)
	}
	if want := `"url":"http://` + Mask + `@127.0.0.1:9000/push?token=` + Mask + `"`; !strings.Contains(string(red), want) {
		t.Fatalf("redacted manifest: got %s; want the url masked as %s", red, want)
	}
	if got := m.Pipelines[0].Outputs[1].Headers["DD-API-KEY"]; got != "secret-key-123" {
		t.Fatalf("Redacted changed the original: header is %q", got)
	}
	if got := m.Pipelines[0].Outputs[1].URL; !strings.Contains(got, "pw-secret") {
		t.Fatalf("Redacted changed the original: url is %q", got)
	}
}

// TestRedactedKeepsShape checks that a manifest without secrets encodes the
// same redacted: in particular, an empty list of outputs stays [] and does
// not become null.
func TestRedactedKeepsShape(t *testing.T) {
	for _, c := range []struct{ name, pipeline string }{
		{"empty outputs", `{"name":"p","processors":[],"outputs":[]}`},
		{"no outputs", `{"name":"p","processors":[]}`},
		{"outputs without secrets", `{"name":"p","processors":[],"outputs":[{"type":"console"},{"type":"http","url":"http://sink:9000/logs"}]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Parse([]byte(`{"version":"1","pipelines":[` + c.pipeline + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(m)
			if got, _ := json.Marshal(m.Redacted()); string(got) != string(want) {
				t.Fatalf("redacted: got %s; want %s", got, want)
			}
		})
	}
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and what it
// accepts must survive a round trip through our own encoding.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"seed_python.json", "full.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2]) // truncated
	}
	f.Add([]byte(`{"version":1,"pipelines":[{"name":"p","processors":[{"id":"a","type":"attribute_filter","params":{"path":"a/b","operator":"regex","value":"x+"}}]}]}`))
	f.Add([]byte(`{"pipelines":[{"processors":[{"id":"a","type":"filter","params":{"values":"one"}}],"batch_size":1e9}]}`))
	f.Add([]byte(`null`))
	// Unknown fields and values of the wrong type, which checkShape walks.
	f.Add([]byte(`{"version":true,"pipelines":[{"name":"p","parms":{"a":[1,{"b":2}]},"processors":[{"id":2}],"outputs":[{"type":"kafka","brokers":["a",1],"headers":{"a.b":[]}}],"batch_size":1.5}],"x":null}`))
	f.Add([]byte(`[{"pipelines":"p"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(data)
		if err != nil {
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("cannot marshal an accepted manifest: %v", err)
		}
		if _, err := Parse(out); err != nil {
			t.Fatalf("our encoding of an accepted manifest is rejected: %v\ninput %q\nout %s", err, data, out)
		}
	})
}

// TestOutputNames: outputs whose URLs differ only in what MaskURL hides are
// allowed, and their names, which metrics and logs show, stay distinct.
func TestOutputNames(t *testing.T) {
	m, err := Parse([]byte(`{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[
		{"type":"console"},
		{"type":"http","url":"http://a:1/x?token=A"},
		{"type":"http","url":"http://u:pw@b:1/y"},
		{"type":"http","url":"http://a:1/x?token=B"},
		{"type":"http","url":"http://a:1/x?token=C"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := m.Compile()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, oc := range cfg.Outputs {
		got = append(got, oc.Name())
	}
	want := []string{
		"console",
		"http:http://a:1/x?token=" + Mask,
		"http:http://" + Mask + "@b:1/y",
		"http:http://a:1/x?token=" + Mask + "#2",
		"http:http://a:1/x?token=" + Mask + "#3",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("names: got %q; want %q", got, want)
	}
	if got := OutputNames(m.Pipelines[0].Outputs); !slices.Equal(got, want) {
		t.Fatalf("OutputNames: got %q; want %q, the names compiled", got, want)
	}
}

// TestParsePositions: a manifest that does not decode is refused with the
// line and column of the fault.
func TestParsePositions(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"{\"version\": \"1\",\n \"pipelines\": [\n  {\"name\": \"p\",, }\n ]}", "line 3, column 16: invalid character ','"},
		{"{\"version\": \"1\",\n \"pipelines\": [{\"name\": \"p\",\n   \"processors\": [{\"id\": \"f\", \"type\": \"filter\", \"parms\": {}}]}]}", `line 3, column 49: pipelines[0].processors[0].parms: unknown field`},
		{"{\"version\": \"1\",\n \"pipelines\": [{\"name\": \"p\", \"batch_size\": \"ten\"}]}", "line 2, column 44: pipelines[0].batch_size: want integer; got string"},
		{"{\"version\": \"1\", \"pipelines\": []}\n{}", "line 2, column 1: unexpected data after the manifest"},
	} {
		_, err := Parse([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got %v; want it to contain %q", tt.in, err, tt.want)
		}
	}
}

// TestMaskOutputName: what may be a credential in a name someone wrote is
// masked; the names outputs have come out unchanged.
func TestMaskOutputName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"console", "console"},
		{"http:http://a:1/x", "http:http://a:1/x"},
		{"http:http://a:1/x?token=" + Mask + "#2", "http:http://a:1/x?token=" + Mask + "#2"},
		{"http:http://" + Mask + "@b:1/y#3", "http:http://" + Mask + "@b:1/y#3"},
		{"http:http://u:pw@b:1/y?token=secret#2", "http:http://" + Mask + "@b:1/y?token=" + Mask + "#2"},
		{"http:http://b:1/y#frag", "http:http://b:1/y"},
		{"http:u:pw@b", "http:" + Mask},
		{"kafka:k1:9092,k2:9092/logs", "kafka:k1:9092,k2:9092/logs"},
		{"cloudwatch_logs:eu-west-1:/app:web-1", "cloudwatch_logs:eu-west-1:/app:web-1"},
	} {
		if got := MaskOutputName(tt.in); got != tt.want {
			t.Errorf("MaskOutputName(%q): got %q; want %q", tt.in, got, tt.want)
		}
	}
}

// TestShapeErrors: every unknown field and every value of the wrong type is
// reported, at once, each with its line, column and field, array indexes
// included; nothing else is, since such a manifest is not validated.
func TestShapeErrors(t *testing.T) {
	// pipeline wraps a pipeline's members in a manifest.
	pipeline := func(members string) string {
		return `{"version": "1", "pipelines": [{"name": "p", ` + members + `}]}`
	}
	for _, tt := range []struct {
		name     string
		manifest string
		want     []string // every error, in order
	}{
		{
			name: "unknown field in a rule",
			manifest: "{\"version\": \"1\",\n \"pipelines\": [{\"name\": \"p\",\n" +
				"   \"processors\": [{\"id\": \"f\", \"type\": \"filter\", \"parms\": {\"value\": \"DEBUG\"}}]}]}",
			want: []string{"line 3, column 49: pipelines[0].processors[0].parms: unknown field"},
		},
		{
			name:     "unknown top-level field",
			manifest: `{"version": "1", "pipelnes": []}`,
			want:     []string{"line 1, column 18: pipelnes: unknown field"},
		},
		{
			name: "all at once, in order",
			manifest: "{\"version\": \"1\", \"pipelines\": [{\"name\": \"p\", \"batch_sise\": 10,\n" +
				"  \"processors\": [{\"id\": \"a\", \"type\": \"filter\", \"params\": {\"value\": \"x\"}},\n" +
				"                 {\"id\": 2, \"type\": \"filter\", \"parms\": {\"a\": [1, {\"b\": 2}]}, \"on_overload\": true}],\n" +
				"  \"outputs\": [{\"type\": \"http\", \"ulr\": \"http://a\", \"gzip\": \"yes\"}]}], \"extra\": null}",
			want: []string{
				"line 1, column 46: pipelines[0].batch_sise: unknown field",
				"line 3, column 25: pipelines[0].processors[1].id: want string; got number",
				"line 3, column 46: pipelines[0].processors[1].parms: unknown field",
				"line 3, column 92: pipelines[0].processors[1].on_overload: want string; got boolean",
				"line 4, column 32: pipelines[0].outputs[0].ulr: unknown field",
				"line 4, column 59: pipelines[0].outputs[0].gzip: want boolean; got string",
				"line 4, column 70: extra: unknown field",
			},
		},
		{"batch size a string", pipeline(`"batch_size": "ten"`), []string{"line 1, column 60: pipelines[0].batch_size: want integer; got string"}},
		{"batch size a fraction", pipeline(`"batch_size": 1.5`), []string{"line 1, column 60: pipelines[0].batch_size: want integer; got 1.5"}},
		{"batch size an exponent", pipeline(`"batch_size": 1e9`), []string{"line 1, column 60: pipelines[0].batch_size: want integer; got 1e9"}},
		{"batch size past int", pipeline(`"batch_size": 99999999999999999999`), []string{"line 1, column 60: pipelines[0].batch_size: want integer; got 99999999999999999999"}},
		{"processors an object", pipeline(`"processors": {"id": "a"}`), []string{"line 1, column 60: pipelines[0].processors: want array; got object"}},
		{"pipelines a string", `{"pipelines": "p"}`, []string{"line 1, column 15: pipelines: want array; got string"}},
		{"version a boolean", `{"version": true, "pipelines": []}`, []string{"line 1, column 13: version: want string or number; got boolean"}},
		{"timestamp a string", `{"timestamp": "now", "pipelines": []}`, []string{"line 1, column 15: timestamp: want integer; got string"}},
		{"a header value a number", pipeline(`"outputs": [{"type": "http", "url": "http://a", "headers": {"X-Key": 5, "a.b": [], "ok": "v"}}]`),
			[]string{
				"line 1, column 115: pipelines[0].outputs[0].headers.X-Key: want string; got number",
				`line 1, column 125: pipelines[0].outputs[0].headers["a.b"]: want string; got array`,
			}},
		{"brokers a number", pipeline(`"outputs": [{"type": "kafka", "topic": "t", "brokers": 9092}]`),
			[]string{"line 1, column 101: pipelines[0].outputs[0].brokers: want string or array of strings; got number"}},
		{"a broker a number", pipeline(`"outputs": [{"type": "kafka", "topic": "t", "brokers": ["k1:9092", 9092, null]}]`),
			[]string{"line 1, column 113: pipelines[0].outputs[0].brokers[1]: want string; got number"}},
		{"the manifest an array", `[{"version": "1"}]`, []string{"line 1, column 1: manifest: want object; got array"}},
		{"the manifest a string", `"manifest"`, []string{"line 1, column 1: manifest: want object; got string"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.manifest))
			if got := ErrorList(err); !slices.Equal(got, tt.want) {
				t.Fatalf("Parse(%s):\ngot  %q\nwant %q", tt.manifest, got, tt.want)
			}
		})
	}
}

// TestShapeAccepted: what encoding/json takes, the check of the manifest's
// shape takes too: null for any value, members named in another case,
// params of any shape (the rule's type checks them), a string for a list.
func TestShapeAccepted(t *testing.T) {
	for _, m := range []string{
		`{"version": null, "timestamp": null, "pipelines": [{"name": null, "processors": null, "outputs": null, "batch_size": null, "overload_policy": null}]}`,
		`{"VERSION": "1", "Pipelines": [{"Name": "p", "Processors": [{"ID": "f", "TYPE": "filter", "Params": {"value": "x"}}], "BATCH_SIZE": 5}]}`,
		`{"version": 7, "pipelines": [{"name": "p", "processors": [], "outputs": [{"type": "kafka", "topic": "t", "brokers": "k1:9092,k2:9092"}]}]}`,
		`{"version": "1", "pipelines": [{"name": "p", "processors": [{"id": "f", "type": "filter", "params": {"values": ["a", "b"], "on_overload": "run"}}]}]}`,
	} {
		if _, err := Parse([]byte(m)); err != nil {
			t.Errorf("Parse(%s): %v; want it accepted", m, err)
		}
	}
	// Params are the rule type's to check: their unknown fields are named
	// by the rule, with the params the type takes.
	_, err := Parse([]byte(`{"version": "1", "pipelines": [{"name": "p", "processors": [{"id": "f", "type": "filter", "params": {"valu": "x"}}]}]}`))
	if want := `pipelines[0].processors[0] (id "f").params: unknown field "valu": filter takes`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("unknown param: got %v; want %q...", err, want)
	}
}

// TestShapeErrorsBounded: a manifest with very many unknown fields gets
// maxShapeErrors of them, and how many more there are.
func TestShapeErrorsBounded(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"pipelines": []`)
	for i := range maxShapeErrors + 10 {
		fmt.Fprintf(&b, `, "x%d": {"deep": [1, 2, {"deeper": null}]}`, i)
	}
	b.WriteString(`}`)
	_, err := Parse([]byte(b.String()))
	got := ErrorList(err)
	if len(got) != maxShapeErrors+1 || got[0] != "line 1, column 19: x0: unknown field" ||
		got[maxShapeErrors] != "10 more unknown fields or values of the wrong type not shown" {
		t.Fatalf("got %d errors, first %q, last %q; want %d, the last saying 10 more", len(got), got[0], got[len(got)-1], maxShapeErrors+1)
	}
}
