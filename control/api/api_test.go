package api

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/record"
)

// TestRoutes walks every route through success and its documented failures,
// in order, on one API.
func TestRoutes(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	steps := []struct {
		method, target, body string
		wantStatus           int
		want                 string // the exact JSON body, or "" to skip
	}{
		{"GET", "/", "", 200, `{"status":"ok","service":"streamgate-control-plane"}`},
		{"GET", "/rules", "", 200, `[]`},
		{"POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`, 200,
			`{"status":"added","rule":{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}}`},
		{"POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"X"}}`, 400, `{"detail":"Rule ID drop_debug already exists"}`},
		{"POST", "/rules", `{"id":"b","type":"filter","params":{"value":"B"}}`, 200, ""},
		{"GET", "/rules", "", 200,
			`[{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},{"id":"b","type":"filter","params":{"value":"B"}}]`},
		{"GET", "/rules/drop_debug", "", 200, `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`},
		{"GET", "/rules/nope", "", 404, `{"detail":"Rule not found"}`},
		{"PUT", "/rules/drop_debug", `{"type":"filter","params":{"value":"TRACE"}}`, 200,
			`{"status":"updated","rule":{"id":"drop_debug","type":"filter","params":{"value":"TRACE"}}}`},
		{"PUT", "/rules/drop_debug", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`, 200, ""},
		{"PUT", "/rules/drop_debug", `{"id":"other","type":"filter","params":{"value":"X"}}`, 400,
			`{"detail":"id: \"other\" does not match the path's rule id, \"drop_debug\""}`},
		{"PUT", "/rules/nope", `{"type":"filter","params":{"value":"X"}}`, 404, `{"detail":"Rule not found"}`},
		{"DELETE", "/rules/nope", "", 404, `{"detail":"Rule not found"}`},
		{"DELETE", "/rules/b", "", 200, `{"status":"deleted","id":"b"}`},
		{"GET", "/rules", "", 200, `[{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}]`},
		{"GET", "/outputs", "", 200, `[]`},
		{"POST", "/outputs", `{"type":"http","url":"http://sink:9000","headers":{"DD-API-KEY":"k1"}}`, 200,
			`{"status":"added","output":{"type":"http","url":"http://sink:9000","headers":{"DD-API-KEY":"********"}}}`},
		{"POST", "/outputs", `{"type":"http","url":"http://sink:9000"}`, 400, `{"detail":"Output URL already exists"}`},
		{"POST", "/outputs", `{"type":"console","url":null,"headers":null}`, 200, `{"status":"added","output":{"type":"console"}}`},
		{"GET", "/outputs", "", 200,
			`[{"type":"http","url":"http://sink:9000","headers":{"DD-API-KEY":"********"}},{"type":"console"}]`},
		{"DELETE", "/outputs/console", "", 200, `{"status":"deleted","output":{"type":"console"}}`},
		{"DELETE", "/outputs/console", "", 404, `{"detail":"Output \"console\" not found"}`},
		{"GET", "/outputs", "", 200, `[{"type":"http","url":"http://sink:9000","headers":{"DD-API-KEY":"********"}}]`},
		{"POST", "/outputs", `{"type":"console"}`, 200, ""},
		{"DELETE", "/outputs", "", 200, `{"status":"cleared"}`},
		{"GET", "/outputs", "", 200, `[]`},
		{"GET", "/config/batch_size", "", 200, `{"batch_size":100}`},
		{"POST", "/config/batch_size?size=500", "", 200, `{"status":"updated","batch_size":500}`},
		{"POST", "/config/batch_size", `{"batch_size":250}`, 200, `{"status":"updated","batch_size":250}`},
		{"GET", "/config/batch_size", "", 200, `{"batch_size":250}`},
		{"POST", "/publish", "", 200, ""},
		{"GET", "/manifests", "", 200, ""},
		{"POST", "/manifests/1/rollback", "", 200, ""},
		{"POST", "/manifests/99/rollback", "", 404, `{"detail":"Manifest version 99 not found"}`},
		{"GET", "/manifests/99", "", 404, `{"detail":"Manifest version 99 not found"}`},
		{"GET", "/fleet", "", 200, `{"instances":[]}`},
		{"GET", "/nope", "", 404, `{"detail":"Not Found"}`},
		{"GET", "/rules/", "", 404, `{"detail":"Not Found"}`},
		{"PATCH", "/rules/drop_debug", "", 405, ""},
		{"POST", "/", "", 405, ""},
		{"DELETE", "/publish", "", 405, ""},
	}
	for _, st := range steps {
		name := st.method + " " + st.target
		r := a.do(st.method, st.target, st.body)
		if r.status != st.wantStatus {
			t.Fatalf("%s: got status %d (body %s); want %d", name, r.status, r.body, st.wantStatus)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: got Content-Type %q; want application/json", name, ct)
		}
		if st.want != "" && !sameJSON(r.body, []byte(st.want)) {
			t.Fatalf("%s: got body %s; want %s", name, r.body, st.want)
		}
		if r.status >= 400 && r.detail() == "" {
			t.Fatalf("%s: got body %s; want a detail", name, r.body)
		}
	}
}

func TestMethodNotAllowed(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	cases := []struct {
		method, target, wantAllow string
	}{
		{"PATCH", "/rules/x", "GET, PUT, DELETE, HEAD"},
		{"PUT", "/rules", "GET, POST, HEAD"},
		{"GET", "/publish", "POST"},
		{"GET", "/outputs/console", "DELETE"},
		{"POST", "/", "GET, HEAD"},
	}
	for _, tc := range cases {
		r := a.do(tc.method, tc.target, "")
		if r.status != 405 || r.header.Get("Allow") != tc.wantAllow || !strings.Contains(r.detail(), "not allowed") {
			t.Errorf("%s %s: got %d, Allow %q, body %s; want 405, Allow %q and a JSON detail",
				tc.method, tc.target, r.status, r.header.Get("Allow"), r.body, tc.wantAllow)
		}
	}
}

func TestValidationErrors(t *testing.T) {
	cases := []struct {
		name, method, target, body string
		wantStatus                 int
		wantDetail                 string // a substring
	}{
		{"regex does not compile", "POST", "/rules", `{"id":"r","type":"redact","params":{"pattern":"(unclosed"}}`, 400, "params.pattern: cannot compile"},
		{"unknown processor type", "POST", "/rules", `{"id":"r","type":"nope"}`, 400, `type: unknown processor type "nope"`},
		{"filter without value", "POST", "/rules", `{"id":"r","type":"filter","params":{}}`, 400, "params: one of value"},
		{"params of the wrong type", "POST", "/rules", `{"id":"r","type":"filter","params":{"value":5}}`, 400, "params.value: "},
		{"params not an object", "POST", "/rules", `{"id":"r","type":"filter","params":"DEBUG"}`, 400, "params: must be a JSON object"},
		{"missing id", "POST", "/rules", `{"type":"filter","params":{"value":"X"}}`, 400, "id: required"},
		{"null id", "POST", "/rules", `{"id":null,"type":"filter","params":{"value":"X"}}`, 400, "id: required"},
		{"empty id", "POST", "/rules", `{"id":"","type":"filter","params":{"value":"X"}}`, 400, "id: must not be empty"},
		{"missing type", "POST", "/rules", `{"id":"r"}`, 400, "type: required"},
		{"id of the wrong type", "POST", "/rules", `{"id":5,"type":"filter"}`, 400, "id: want string; got number"},
		{"unknown field", "POST", "/rules", `{"id":"r","type":"filter","x":1}`, 400, `body: unknown field "x"`},
		{"invalid JSON", "POST", "/rules", `{"id" "r"}`, 400, "body: invalid JSON at offset 6"},
		{"truncated JSON", "POST", "/rules", `{"id":"r",`, 400, "body: invalid JSON: unexpected end of input"},
		{"trailing data", "POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}} {}`, 400, "body: unexpected data after the JSON object"},
		{"empty body", "POST", "/rules", ``, 400, "body: required"},
		{"array body", "POST", "/rules", `[]`, 400, "body: want a JSON object"},
		{"null body", "POST", "/rules", `null`, 400, "body: want a JSON object"},
		{"bad on_overload", "POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"},"on_overload":"maybe"}`, 400, "on_overload: "},
		{"put invalid rule", "PUT", "/rules/r", `{"type":"redact","params":{"pattern":"["}}`, 400, "params.pattern: "},
		{"put without type", "PUT", "/rules/r", `{"params":{"value":"X"}}`, 400, "type: required"},
		{"http output without url", "POST", "/outputs", `{"type":"http"}`, 400, "url: required for http output"},
		{"output without type", "POST", "/outputs", `{"url":"http://a"}`, 400, "type: required"},
		{"unknown output type", "POST", "/outputs", `{"type":"pigeon"}`, 400, `type: unknown output type "pigeon"`},
		{"console with url", "POST", "/outputs", `{"type":"console","url":"http://a"}`, 400, "url: not used by console output"},
		{"header of the wrong type", "POST", "/outputs", `{"type":"http","url":"http://a","headers":{"K":12345}}`, 400, "headers: want string; got number"},
		{"output unknown field", "POST", "/outputs", `{"type":"http","url":"http://a","auth":"x"}`, 400, `body: unknown field "auth"`},
		{"batch size 0", "POST", "/config/batch_size?size=0", "", 400, "batch_size: must be between 1 and 10000; got 0"},
		{"batch size 10001", "POST", "/config/batch_size?size=10001", "", 400, "batch_size: must be between 1 and 10000; got 10001"},
		{"batch size abc", "POST", "/config/batch_size?size=abc", "", 400, `size: want an integer; got "abc"`},
		{"batch size empty", "POST", "/config/batch_size?size=", "", 400, `size: want an integer; got ""`},
		{"batch size body 0", "POST", "/config/batch_size", `{"batch_size":0}`, 400, "batch_size: must be between"},
		{"batch size body 10001", "POST", "/config/batch_size", `{"batch_size":10001}`, 400, "batch_size: must be between"},
		{"batch size body abc", "POST", "/config/batch_size", `{"batch_size":"abc"}`, 400, "batch_size: want integer; got string"},
		{"batch size body fraction", "POST", "/config/batch_size", `{"batch_size":1.5}`, 400, "batch_size: want integer; got number"},
		{"batch size body missing", "POST", "/config/batch_size", `{}`, 400, "batch_size: required"},
		{"batch size nothing", "POST", "/config/batch_size", ``, 400, "batch_size: required"},
		{"body too large", "POST", "/rules", `{"id":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "body: larger than the limit of 1048576 bytes"},
	}
	a := newTestAPI(t, Options{}, store.Options{})
	if r := a.do("POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}}`); r.status != 200 {
		t.Fatalf("got %d %s; want 200", r.status, r.body)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := a.do(tc.method, tc.target, tc.body)
			if r.status != tc.wantStatus || !strings.Contains(r.detail(), tc.wantDetail) {
				t.Fatalf("got %d %s; want %d with a detail containing %q", r.status, r.body, tc.wantStatus, tc.wantDetail)
			}
		})
	}
}

// TestSeedParamsAsStrings posts rules as the seed wrote them, every param a
// string.
func TestSeedParamsAsStrings(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	for _, body := range []string{
		`{"id":"drop_test_service","type":"attribute_filter","params":{"attribute":"service.name","operator":"equals","value":"test-service"}}`,
		`{"id":"drop_health","type":"attribute_filter","params":{"path":"attributes/http.target","operator":"contains","value":"/health"}}`,
		// The filter example of the seed's models: key is accepted, and
		// ignored, as the seed's data plane ignored it.
		`{"id":"drop_debug","type":"filter","params":{"key":"level","value":"DEBUG"}}`,
	} {
		if r := a.do("POST", "/rules", body); r.status != 200 {
			t.Fatalf("POST /rules %s: got %d %s; want 200", body, r.status, r.body)
		}
	}
	if r := a.do("PUT", "/rules/drop_debug", `{"type":"filter","params":{"key":"level","value":"TRACE"}}`); r.status != 200 {
		t.Fatalf("PUT /rules/drop_debug: got %d %s; want 200", r.status, r.body)
	}
	if r := a.do("POST", "/rules", `{"id":"k","type":"filter","params":{"key":5,"value":"X"}}`); r.status != 400 || r.detail() != "params.key: cannot decode number into string" {
		t.Fatalf("POST /rules with a numeric key: got %d %s; want 400 naming params.key", r.status, r.body)
	}
	// The published manifest keeps key, as the seed's did, and loads.
	var p published
	if r := a.do("POST", "/publish", ""); r.status != 200 {
		t.Fatalf("POST /publish: got %d %s; want 200", r.status, r.body)
	} else {
		r.decode(t, &p)
	}
	if got := string(p.Manifest.Pipelines[0].Processors[2].Params); !sameJSON([]byte(got), []byte(`{"key":"level","value":"TRACE"}`)) {
		t.Fatalf("published params: got %s; want the key kept", got)
	}
}

// TestPublishEmptyDraft checks the exact bodies that show a manifest without
// rules or outputs: both lists are [], never null, as the seed wrote them.
func TestPublishEmptyDraft(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	timestamp := regexp.MustCompile(`"timestamp":(\d+)`) // the one part not known in advance
	published := func(m string) string { return `{"status":"published","manifest":` + m + `,"subscribers_notified":0}` }
	for _, c := range []struct {
		method, path string
		version      int
		want         func(manifest string) string
	}{
		{"POST", "/publish", 1, published},
		{"GET", "/manifests", 1, func(m string) string { return "[" + m + "]" }},
		{"GET", "/manifests/1", 1, func(m string) string { return m }},
		{"POST", "/manifests/1/rollback", 2, published},
	} {
		r := a.do(c.method, c.path, "")
		ts := timestamp.FindSubmatch(r.body)
		if r.status != 200 || ts == nil {
			t.Fatalf("%s %s: got %d %s; want 200 with a manifest", c.method, c.path, r.status, r.body)
		}
		m := fmt.Sprintf(`{"version":"%d","timestamp":%s,"pipelines":[{"name":"default_pipeline","processors":[],"outputs":[]}]}`, c.version, ts[1])
		if want := c.want(m) + "\n"; string(r.body) != want {
			t.Errorf("%s %s: got body %s; want %s", c.method, c.path, r.body, want)
		}
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret-token"
	mutating := []struct{ method, target, body string }{
		{"POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}}`},
		{"PUT", "/rules/r", `{"type":"filter","params":{"value":"Y"}}`},
		{"DELETE", "/rules/r", ""},
		{"POST", "/outputs", `{"type":"console"}`},
		{"DELETE", "/outputs", ""},
		{"POST", "/config/batch_size?size=10", ""},
		{"POST", "/publish", ""},
		{"POST", "/manifests/1/rollback", ""},
	}
	reads := []string{"/", "/rules", "/rules/r", "/outputs", "/config/batch_size", "/manifests", "/manifests/1", "/fleet", "/openapi.json", "/docs"}

	t.Run("on", func(t *testing.T) {
		a := newTestAPI(t, Options{Token: token}, store.Options{})
		for _, rt := range mutating {
			for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + "x", "Basic " + token, token} {
				r := a.do(rt.method, rt.target, rt.body, "Authorization", auth)
				if r.status != 401 || r.detail() != "missing or invalid bearer token" || r.header.Get("WWW-Authenticate") != "Bearer" {
					t.Fatalf("%s %s with Authorization %q: got %d %s, WWW-Authenticate %q; want 401",
						rt.method, rt.target, auth, r.status, r.body, r.header.Get("WWW-Authenticate"))
				}
			}
			r := a.do(rt.method, rt.target, rt.body, "Authorization", "bearer "+token)
			if r.status != 200 {
				t.Fatalf("%s %s with the token: got %d %s; want 200", rt.method, rt.target, r.status, r.body)
			}
		}
		if r := a.do("POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}}`, "Authorization", "Bearer "+token); r.status != 200 {
			t.Fatalf("got %d %s; want 200", r.status, r.body)
		}
		for _, target := range reads {
			if r := a.do("GET", target, ""); r.status != 200 {
				t.Fatalf("GET %s without a token: got %d %s; want 200", target, r.status, r.body)
			}
		}
		if strings.Contains(a.logs.String(), token) {
			t.Fatalf("the token is in the log:\n%s", a.logs)
		}
	})

	t.Run("off", func(t *testing.T) {
		a := newTestAPI(t, Options{}, store.Options{})
		for _, rt := range mutating {
			if r := a.do(rt.method, rt.target, rt.body); r.status != 200 {
				t.Fatalf("%s %s without a token: got %d %s; want 200", rt.method, rt.target, r.status, r.body)
			}
		}
	})
}

// TestSecretsNeverExposed checks that an output's header value is in Redis,
// where the data planes need it, and nowhere else: not in any response,
// not in the log.
func TestSecretsNeverExposed(t *testing.T) {
	const (
		secret   = "sk-live-0123456789abcdef"
		password = "pw-9f8e7d6c"
	)
	a := newTestAPI(t, Options{}, store.Options{})
	ctx := context.Background()

	var bodies []*result
	add := func(method, target, body string) *result {
		r := a.do(method, target, body)
		if r.status != 200 {
			t.Fatalf("%s %s: got %d %s; want 200", method, target, r.status, r.body)
		}
		bodies = append(bodies, r)
		return r
	}
	add("POST", "/outputs", `{"type":"http","url":"http://sink:9000","headers":{"DD-API-KEY":"`+secret+`"}}`)
	add("POST", "/outputs", `{"type":"http","url":"http://loki:`+password+`@sink2:3100/push"}`)
	add("GET", "/outputs", "")
	add("POST", "/publish", "")
	add("POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}}`)
	add("POST", "/publish", "")
	add("GET", "/manifests", "")
	add("POST", "/manifests/1/rollback", "")
	// Invalid outputs: the errors must not quote the value either.
	for _, body := range []string{
		`{"type":"http","url":"http://other","headers":{"DD-API-KEY":"` + secret + `\u0001"}}`,
		`{"type":"http","url":"http://other","headers":{"DD-API-KEY":"` + secret + `\u0001`,
		`{"type":"http","headers":{"DD-API-KEY":"` + secret + `"}}`,
		`{"type":"http","url":"http://loki:` + password + `@sink2:3100/push"}`, // a duplicate
	} {
		r := a.do("POST", "/outputs", body)
		if r.status != 400 {
			t.Fatalf("POST /outputs %s: got %d %s; want 400", body, r.status, r.body)
		}
		bodies = append(bodies, r)
	}

	for _, r := range bodies {
		if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), password) {
			t.Fatalf("got body %s; want the header value and the URL's password masked", r.body)
		}
	}
	for _, i := range []int{0, 2, 3, 5, 6, 7} { // the responses showing the first output
		if r := bodies[i]; !strings.Contains(string(r.body), `"DD-API-KEY":"`+manifest.Mask+`"`) {
			t.Fatalf("response %d: got %s; want the masked header", i, bodies[i].body)
		}
	}
	for _, i := range []int{1, 2, 3, 5, 6, 7} { // the responses showing the second
		if r := bodies[i]; !strings.Contains(string(r.body), `"url":"http://`+manifest.Mask+`@sink2:3100/push"`) {
			t.Fatalf("response %d: got %s; want the URL's password masked", i, bodies[i].body)
		}
	}
	if logs := a.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, password) {
		t.Fatalf("a secret is in the log:\n%s", logs)
	}

	raw, err := a.rc.Get(ctx, rdb.ConfigKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Pipelines[0].Outputs[0].Headers["DD-API-KEY"]; got != secret {
		t.Fatalf("published manifest: got header %q; want the real value", got)
	}
	if got := m.Pipelines[0].Outputs[1].URL; !strings.Contains(got, password) {
		t.Fatalf("published manifest: got URL %q; want the real password", got)
	}
	if draft, _ := a.mr.Get(store.DraftKey); !strings.Contains(draft, secret) {
		t.Fatalf("draft: got %s; want the real header value", draft)
	}
}

// TestDeleteOutput removes outputs by the names metrics and logs give
// them: masked URLs, #2 for a second output of the same name.
func TestDeleteOutput(t *testing.T) {
	const password = "pw-5e4d3c2b"
	a := newTestAPI(t, Options{}, store.Options{})
	for _, body := range []string{
		`{"type":"console"}`,
		`{"type":"http","url":"http://sink:9000","headers":{"K":"header-secret"}}`,
		`{"type":"http","url":"http://u:pw@sink:9000/x?token=A"}`,
		`{"type":"http","url":"http://u:` + password + `@sink:9000/x?token=B"}`,
		`{"type":"tcp","url":"tcp://sink:9100"}`,
	} {
		if r := a.do("POST", "/outputs", body); r.status != 200 {
			t.Fatalf("POST /outputs %s: got %d %s; want 200", body, r.status, r.body)
		}
	}
	masked := "http:http://" + manifest.Mask + "@sink:9000/x?token=" + manifest.Mask
	for i, c := range []struct {
		name       string
		wantStatus int
		want       string // the exact JSON body
		outputs    string // the draft's outputs after, by URL; "" to skip
	}{
		{"tcp:tcp://sink:9100", 200, `{"status":"deleted","output":{"type":"tcp","url":"tcp://sink:9100"}}`,
			`console,http://sink:9000,http://u:pw@sink:9000/x?token=A,http://u:` + password + `@sink:9000/x?token=B`},
		{"tcp:tcp://sink:9100", 404, `{"detail":"Output \"tcp:tcp://sink:9100\" not found"}`, ""},
		// The second output of a name is #2; removing the first makes it the first.
		{masked + "#2", 200, `{"status":"deleted","output":{"type":"http","url":"http://` + manifest.Mask + `@sink:9000/x?token=` + manifest.Mask + `"}}`,
			`console,http://sink:9000,http://u:pw@sink:9000/x?token=A`},
		{masked + "#2", 404, `{"detail":"Output \"` + masked + `#2\" not found"}`, ""},
		// A name written with a real password is masked in the answer and the log.
		{"http:http://u:" + password + "@sink:9000/x?token=A", 404, `{"detail":"Output \"` + masked + `\" not found"}`, ""},
		{"http:http://u:" + password + "@elsewhere", 404, `{"detail":"Output \"http:http://` + manifest.Mask + `@elsewhere\" not found"}`, ""},
		{"http:u:" + password + "@elsewhere", 404, `{"detail":"Output \"http:` + manifest.Mask + `\" not found"}`, ""},
		{masked, 200, `{"status":"deleted","output":{"type":"http","url":"http://` + manifest.Mask + `@sink:9000/x?token=` + manifest.Mask + `"}}`,
			`console,http://sink:9000`},
		{"http:http://sink:9000", 200, `{"status":"deleted","output":{"type":"http","url":"http://sink:9000","headers":{"K":"` + manifest.Mask + `"}}}`,
			`console`},
		{"http", 404, `{"detail":"Output \"http\" not found"}`, ""},
		{"console", 200, `{"status":"deleted","output":{"type":"console"}}`, "-"},
	} {
		// Slashes may be written as they are, or escaped.
		target := "/outputs/" + strings.NewReplacer("?", "%3F", "#", "%23").Replace(c.name)
		if i%2 == 1 {
			target = "/outputs/" + url.PathEscape(c.name)
		}
		r := a.do("DELETE", target, "")
		if r.status != c.wantStatus || !sameJSON(r.body, []byte(c.want)) {
			t.Fatalf("DELETE %s: got %d %s; want %d %s", target, r.status, r.body, c.wantStatus, c.want)
		}
		if c.outputs == "" {
			continue
		}
		// The draft holds the real URLs.
		draft, _ := a.mr.Get(store.DraftKey)
		var d struct{ Outputs []output.Config }
		if err := json.Unmarshal([]byte(draft), &d); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range d.Outputs {
			got = append(got, cmp.Or(o.URL, o.Type))
		}
		if want := strings.Split(c.outputs, ","); c.outputs != "-" && !slices.Equal(got, want) || c.outputs == "-" && len(got) != 0 {
			t.Fatalf("DELETE %s: draft outputs %q; want %q", target, got, c.outputs)
		}
	}
	if logs := a.logs.String(); strings.Contains(logs, password) || !strings.Contains(logs, "/outputs/"+masked) {
		t.Fatalf("log:\n%s\nwant the password masked in the paths logged", logs)
	}
}

func TestRestartKeepsState(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	for _, rq := range []struct{ method, target, body string }{
		{"POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`},
		{"POST", "/outputs", `{"type":"http","url":"http://sink:9000"}`},
		{"POST", "/config/batch_size?size=42", ""},
		{"POST", "/publish", ""},
		{"POST", "/publish?force=true", ""},
	} {
		if r := a.do(rq.method, rq.target, rq.body); r.status != 200 {
			t.Fatalf("%s %s: got %d %s; want 200", rq.method, rq.target, r.status, r.body)
		}
	}
	before := map[string]string{}
	for _, target := range []string{"/rules", "/outputs", "/config/batch_size", "/manifests"} {
		before[target] = string(a.do("GET", target, "").body)
	}

	a.start(Options{}, store.Options{})

	for target, want := range before {
		if got := string(a.do("GET", target, "").body); got != want {
			t.Fatalf("GET %s after restart: got %s; want %s", target, got, want)
		}
	}
	var p published
	a.do("POST", "/publish?force=true", "").decode(t, &p)
	if p.Manifest.Version != "3" {
		t.Fatalf("publish after restart: got version %q; want 3", p.Manifest.Version)
	}
}

// TestVersionsGrow publishes, restarts, publishes and rolls back, and checks
// that every manifest gets a bigger version than the one before.
func TestVersionsGrow(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	var got []string
	step := func(target string) {
		t.Helper()
		var p published
		r := a.do("POST", target, "")
		if r.status != 200 {
			t.Fatalf("POST %s: got %d %s; want 200", target, r.status, r.body)
		}
		r.decode(t, &p)
		got = append(got, string(p.Manifest.Version))
	}
	step("/publish")
	step("/publish?force=true")
	a.start(Options{}, store.Options{})
	step("/publish?force=1")
	step("/manifests/1/rollback")
	a.start(Options{}, store.Options{})
	step("/manifests/2/rollback")
	step("/publish?force=true")
	if want := []string{"1", "2", "3", "4", "5", "6"}; !slices.Equal(got, want) {
		t.Fatalf("got versions %v; want %v", got, want)
	}
}

func TestHistoryCapped(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{History: 3})
	for range 5 {
		if r := a.do("POST", "/publish?force=true", ""); r.status != 200 {
			t.Fatalf("got %d %s; want 200", r.status, r.body)
		}
	}
	var ms []manifest.Manifest
	a.do("GET", "/manifests", "").decode(t, &ms)
	var got []string
	for _, m := range ms {
		got = append(got, string(m.Version))
	}
	if want := []string{"5", "4", "3"}; !slices.Equal(got, want) {
		t.Fatalf("got versions %v; want %v", got, want)
	}
	if r := a.do("POST", "/manifests/2/rollback", ""); r.status != 404 {
		t.Fatalf("rollback to a trimmed version: got %d %s; want 404", r.status, r.body)
	}
}

func TestRollback(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	for _, rq := range []struct{ method, target, body string }{
		{"POST", "/rules", `{"id":"old","type":"filter","params":{"value":"OLD"}}`},
		{"POST", "/outputs", `{"type":"http","url":"http://old:9000","headers":{"K":"old-secret"}}`},
		{"POST", "/config/batch_size?size=10", ""},
		{"POST", "/publish", ""},
		{"DELETE", "/rules/old", ""},
		{"POST", "/rules", `{"id":"new","type":"filter","params":{"value":"NEW"}}`},
		{"DELETE", "/outputs", ""},
		{"POST", "/config/batch_size?size=20", ""},
		{"POST", "/publish", ""},
	} {
		if r := a.do(rq.method, rq.target, rq.body); r.status != 200 {
			t.Fatalf("%s %s: got %d %s; want 200", rq.method, rq.target, r.status, r.body)
		}
	}

	r := a.do("POST", "/manifests/1/rollback", "")
	var p published
	r.decode(t, &p)
	if p.Status != "published" || p.Manifest.Version != "3" {
		t.Fatalf("got %s; want a publish of version 3", r.body)
	}
	want := `[{"id":"old","type":"filter","params":{"value":"OLD"}}]`
	if got, _ := json.Marshal(p.Manifest.Pipelines[0].Processors); !sameJSON(got, []byte(want)) {
		t.Fatalf("rolled back rules: got %s; want %s", got, want)
	}
	if got := a.do("GET", "/rules", "").body; !sameJSON(got, []byte(want)) {
		t.Fatalf("draft rules after rollback: got %s; want %s", got, want)
	}
	if got := a.do("GET", "/config/batch_size", "").body; !sameJSON(got, []byte(`{"batch_size":10}`)) {
		t.Fatalf("draft batch size after rollback: got %s; want 10", got)
	}
	// The live manifest has the old output with its real header value.
	raw, _ := a.mr.Get(rdb.ConfigKey)
	live, err := manifest.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if live.Version != "3" || live.Pipelines[0].Outputs[0].Headers["K"] != "old-secret" {
		t.Fatalf("live manifest: got %s; want version 3 with the old output", raw)
	}
}

// TestSeedUsageExample runs the seed README's "Usage Example" against the
// API, as its curl commands send it, and checks each published manifest
// with the data plane's parser and chain.
func TestSeedUsageExample(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	json := []string{"Content-Type", "application/json"}
	// curl -d '' sends an empty form.
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}

	publish := func(wantVersion string) *manifest.Manifest {
		t.Helper()
		r := a.do("POST", "/publish", "", form...)
		var p struct {
			Status      string `json:"status"`
			Subscribers *int64 `json:"subscribers_notified"`
		}
		r.decode(t, &p)
		if r.status != 200 || p.Status != "published" || p.Subscribers == nil {
			t.Fatalf("POST /publish: got %d %s; want 200 with status and subscribers_notified", r.status, r.body)
		}
		raw, _ := a.mr.Get(rdb.ConfigKey)
		m, err := manifest.Parse([]byte(raw))
		if err != nil {
			t.Fatalf("published manifest %s does not parse: %v", raw, err)
		}
		if m.Version != manifest.Version(wantVersion) {
			t.Fatalf("got version %q; want %q", m.Version, wantVersion)
		}
		return m
	}
	run := func(m *manifest.Manifest, line string) string {
		t.Helper()
		cfg, err := m.Compile()
		if err != nil {
			t.Fatal(err)
		}
		b := &record.Batch{Lines: [][]byte{[]byte(line)}}
		processor.NewChain(cfg.Steps...).Run(b, false)
		if len(b.Lines) == 0 {
			return "(nothing - filtered)"
		}
		return string(b.Lines[0])
	}

	// 2. Add Filter Rule (Drop DEBUG logs)
	if r := a.do("POST", "/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`, json...); r.status != 200 {
		t.Fatalf("got %d %s; want 200", r.status, r.body)
	}
	m := publish("1")
	// 3. Verify Hot-Reload
	for line, want := range map[string]string{
		"DEBUG: user login attempt": "(nothing - filtered)",
		"INFO: payment processed":   "INFO: payment processed",
	} {
		if got := run(m, line); got != want {
			t.Fatalf("manifest 1 on %q: got %q; want %q", line, got, want)
		}
	}

	// 4. Redact PII
	if r := a.do("POST", "/rules", `{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}`, json...); r.status != 200 {
		t.Fatalf("got %d %s; want 200", r.status, r.body)
	}
	m = publish("2")
	if got := run(m, "SSN: 123-45-6789"); got != "SSN: XXX-XX-XXXX" {
		t.Fatalf("manifest 2: got %q; want %q", got, "SSN: XXX-XX-XXXX")
	}

	// 5. Forward to External API
	if r := a.do("POST", "/outputs", `{"type": "http", "url": "http://host.docker.internal:9000"}`, json...); r.status != 200 {
		t.Fatalf("got %d %s; want 200", r.status, r.body)
	}
	m = publish("3")
	if outs := m.Pipelines[0].Outputs; len(outs) != 1 || outs[0].URL != "http://host.docker.internal:9000" {
		t.Fatalf("manifest 3: got outputs %+v; want the http output", outs)
	}
}

func TestPublishNotifiesSubscribers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := newTestAPI(t, Options{}, store.Options{})
	sub := newClient(t, a.mr).Subscribe(ctx, rdb.UpdatesChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is confirmed
		t.Fatal(err)
	}

	r := a.do("POST", "/publish", "")
	var p published
	r.decode(t, &p)
	if r.status != 200 || p.SubscribersNotified != 1 {
		t.Fatalf("got %d %s; want 200 with subscribers_notified 1", r.status, r.body)
	}
	msg, err := sub.ReceiveMessage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Channel != rdb.UpdatesChannel || msg.Payload != rdb.ReloadMessage {
		t.Fatalf("got %q on %q; want %q on %q", msg.Payload, msg.Channel, rdb.ReloadMessage, rdb.UpdatesChannel)
	}
}

// TestPublishUnchanged: a draft that is what is published already is not
// published again, unless forced, so it neither pushes a rollback point
// out of the history nor reloads the data planes.
func TestPublishUnchanged(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := newTestAPI(t, Options{}, store.Options{})
	sub := newClient(t, a.mr).Subscribe(ctx, rdb.UpdatesChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription is confirmed
		t.Fatal(err)
	}
	// Every PUBLISH the API sends is counted; each publish sends its
	// RELOAD before it answers.
	var reloads atomic.Int64
	a.rc.AddHook(publishCounter{&reloads})
	type answer struct {
		Status      string             `json:"status"`
		Manifest    *manifest.Manifest `json:"manifest"`
		Subscribers int64              `json:"subscribers_notified"`
		Unchanged   *bool              `json:"unchanged"`
	}
	for _, step := range []struct {
		name         string
		method, path string
		body         string
		version      string // of the manifest answered; "" for a call that is not a publish
		unchanged    bool
		history      int
	}{
		{name: "first publish", method: "POST", path: "/rules", body: `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG","on_overload":"run"}}`},
		{name: "first publish", method: "POST", path: "/publish", version: "1", history: 1},
		{name: "same draft", method: "POST", path: "/publish", version: "1", unchanged: true, history: 1},
		{name: "force=false", method: "POST", path: "/publish?force=false", version: "1", unchanged: true, history: 1},
		// The same params written in another order and spacing are the same rule.
		{name: "params reordered", method: "PUT", path: "/rules/drop_debug", body: `{"type":"filter","params":{ "on_overload": "run", "value": "DEBUG" }}`},
		{name: "params reordered", method: "POST", path: "/publish", version: "1", unchanged: true, history: 1},
		{name: "forced", method: "POST", path: "/publish?force=true", version: "2", history: 2},
		{name: "forced again, then unchanged", method: "POST", path: "/publish", version: "2", unchanged: true, history: 2},
		{name: "batch size changed", method: "POST", path: "/config/batch_size?size=50", body: ""},
		{name: "batch size changed", method: "POST", path: "/publish", version: "3", history: 3},
		{name: "output added", method: "POST", path: "/outputs", body: `{"type":"http","url":"http://sink:9000","headers":{"K":"secret"}}`},
		{name: "output added", method: "POST", path: "/publish", version: "4", history: 4},
		{name: "header value changed", method: "DELETE", path: "/outputs"},
		{name: "header value changed", method: "POST", path: "/outputs", body: `{"type":"http","url":"http://sink:9000","headers":{"K":"other"}}`},
		{name: "header value changed", method: "POST", path: "/publish", version: "5", history: 5},
		// A rollback publishes a new version, and makes it the draft.
		{name: "rolled back", method: "POST", path: "/manifests/1/rollback", version: "6", history: 6},
		{name: "after a rollback", method: "POST", path: "/publish", version: "6", unchanged: true, history: 6},
	} {
		before := reloads.Load()
		r := a.do(step.method, step.path, step.body)
		if r.status != 200 {
			t.Fatalf("%s: %s %s: got %d %s; want 200", step.name, step.method, step.path, r.status, r.body)
		}
		if step.version == "" {
			continue
		}
		var got answer
		r.decode(t, &got)
		if got.Status != "published" || got.Manifest == nil || string(got.Manifest.Version) != step.version {
			t.Fatalf("%s: %s %s: got %s; want version %s", step.name, step.method, step.path, r.body, step.version)
		}
		switch {
		case step.unchanged && (got.Unchanged == nil || !*got.Unchanged || got.Subscribers != 0):
			t.Errorf("%s: got %s; want unchanged true and no subscribers notified", step.name, r.body)
		case !step.unchanged && (got.Unchanged != nil || got.Subscribers != 1):
			t.Errorf("%s: got %s; want no unchanged field and 1 subscriber notified", step.name, r.body)
		}
		if strings.Contains(string(r.body), "secret") || strings.Contains(string(r.body), `"other"`) {
			t.Errorf("%s: got %s; want header values masked", step.name, r.body)
		}
		if n, _ := a.rc.LLen(ctx, store.HistoryKey).Result(); int(n) != step.history {
			t.Errorf("%s: history holds %d manifests; want %d", step.name, n, step.history)
		}
		if want := map[bool]int64{true: 0, false: 1}[step.unchanged]; reloads.Load()-before != want {
			t.Errorf("%s: %d RELOADs sent; want %d", step.name, reloads.Load()-before, want)
		}
	}

	// A live manifest written by something else, with other pipelines, is
	// replaced.
	a.mr.Set(rdb.ConfigKey, `{"version":"6","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[]}]}`)
	var got answer
	if r := a.do("POST", "/publish", ""); r.status != 200 {
		t.Fatalf("publish over another live manifest: got %d %s; want 200", r.status, r.body)
	} else if r.decode(t, &got); got.Unchanged != nil || got.Manifest.Version != "7" {
		t.Fatalf("publish over another live manifest: got %s; want version 7 published", r.body)
	}
	// A live manifest that does not parse is never the same.
	a.mr.Set(rdb.ConfigKey, `{"version":"7","pipelines":[{"name":"default_pipeline","processors":[],"bogus":1}]}`)
	if r := a.do("POST", "/publish", ""); r.status != 200 {
		t.Fatalf("publish over an invalid live manifest: got %d %s; want 200", r.status, r.body)
	} else if r.decode(t, &got); got.Unchanged != nil || got.Manifest.Version != "8" {
		t.Fatalf("publish over an invalid live manifest: got %s; want version 8 published", r.body)
	}
}

// publishCounter counts the PUBLISH commands a client sends.
type publishCounter struct{ n *atomic.Int64 }

func (h publishCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h publishCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h publishCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "publish" {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

// TestPublishForceInvalid: force takes a boolean, and a bad one publishes
// nothing.
func TestPublishForceInvalid(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	for _, c := range []struct{ query, detail string }{
		{"force=yes", `force: want true or false; got "yes"`},
		{"force=", `force: want true or false; got ""`},
		{"force=" + strings.Repeat("x", 40), `force: want true or false; got "` + strings.Repeat("x", 32) + `..."`},
	} {
		r := a.do("POST", "/publish?"+c.query, "")
		if r.status != 400 || r.detail() != c.detail {
			t.Errorf("POST /publish?%s: got %d %s; want 400 %q", c.query, r.status, r.body, c.detail)
		}
	}
	if a.mr.Exists(rdb.ConfigKey) {
		t.Fatalf("a manifest was published; want none")
	}
}

// TestPublishInvalidDraft publishes a draft whose rules and outputs are
// valid one by one but not together.
func TestPublishInvalidDraft(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	a.mr.Set(store.DraftKey, `{"rules":[{"id":"a","type":"filter","params":{"value":"X"}},{"id":"a","type":"filter","params":{"value":"Y"}}],`+
		`"outputs":[{"type":"http","url":"http://a"},{"type":"http","url":"http://a"}],"batch_size":0}`)
	r := a.do("POST", "/publish", "")
	var e errorBody
	r.decode(t, &e)
	if r.status != 400 || len(e.Errors) != 2 ||
		!strings.Contains(e.Detail, `pipelines[0].processors[1] (id "a").id: duplicate of processors[0]`) ||
		!strings.Contains(e.Detail, "pipelines[0].outputs[1].url: duplicate of outputs[0]") {
		t.Fatalf("got %d %s; want 400 listing both problems", r.status, r.body)
	}
	if a.mr.Exists(rdb.ConfigKey) {
		t.Fatalf("a manifest was published; want none")
	}
}

func TestFleet(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	hb := rdb.Heartbeat{ID: "dp-1", Host: "host-a", PID: 42, Version: "7", Redis: "connected", Received: 10, Updated: 1,
		Outputs: rdb.OutputQueues{{Name: "http:http://collector:9000", Buffer: "disk", Lines: 12, DiskBytes: 4096, OldestSeconds: 1.5}}}
	if err := rdb.WriteHeartbeat(context.Background(), a.rc, &hb, time.Minute); err != nil {
		t.Fatal(err)
	}
	var f fleet
	r := a.do("GET", "/fleet", "")
	r.decode(t, &f)
	if r.status != 200 || len(f.Instances) != 1 || !reflect.DeepEqual(f.Instances[0], hb) {
		t.Fatalf("got %d %s; want the heartbeat %+v", r.status, r.body, hb)
	}

	noRedis := New(store.New(a.rc, store.Options{}), Options{})
	w := &testAPI{t: t, h: noRedis}
	if r := w.do("GET", "/fleet", ""); r.status != 503 || !strings.HasPrefix(r.detail(), "redis unavailable: ") {
		t.Fatalf("without a client: got %d %s; want 503", r.status, r.body)
	}
}

func TestRedisUnavailable(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	a.mr.Close()
	for _, rq := range []struct{ method, target, body string }{
		{"GET", "/rules", ""},
		{"GET", "/rules/x", ""},
		{"POST", "/rules", `{"id":"r","type":"filter","params":{"value":"X"}}`},
		{"PUT", "/rules/r", `{"type":"filter","params":{"value":"X"}}`},
		{"DELETE", "/rules/r", ""},
		{"GET", "/outputs", ""},
		{"POST", "/outputs", `{"type":"console"}`},
		{"DELETE", "/outputs", ""},
		{"GET", "/config/batch_size", ""},
		{"POST", "/config/batch_size?size=5", ""},
		{"POST", "/publish", ""},
		{"GET", "/manifests", ""},
		{"POST", "/manifests/1/rollback", ""},
		{"GET", "/fleet", ""},
	} {
		r := a.do(rq.method, rq.target, rq.body)
		if r.status != 503 || !strings.HasPrefix(r.detail(), "redis unavailable: ") {
			t.Fatalf("%s %s: got %d %s; want 503 with a detail starting %q", rq.method, rq.target, r.status, r.body, "redis unavailable: ")
		}
	}
	// What does not need Redis still works.
	for _, target := range []string{"/", "/openapi.json", "/docs"} {
		if r := a.do("GET", target, ""); r.status != 200 {
			t.Fatalf("GET %s: got %d; want 200", target, r.status)
		}
	}
}

func TestRequestLog(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	a.do("POST", "/rules", `{"id":"r","type":"filter","params":{"value":"body-marker-9731"}}`)
	a.do("GET", "/rules/nope", "")
	logs := a.logs.String()
	for _, want := range []string{
		"method=POST path=/rules status=200 duration=",
		"method=GET path=/rules/nope status=404 duration=",
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("got log:\n%s\nwant a line with %q", logs, want)
		}
	}
	if strings.Contains(logs, "body-marker-9731") {
		t.Fatalf("got log:\n%s\nwant no request body in it", logs)
	}
}

func TestOpenAPI(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	r := a.do("GET", "/openapi.json", "")
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q; want 200 application/json", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") {
		t.Fatalf("got openapi %q; want 3.0.x", doc.OpenAPI)
	}
	for _, rt := range routes {
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Fatalf("%s %s is missing from the document", rt.method, rt.path)
		}
		if _, ok := op["responses"].(map[string]any)["200"]; !ok {
			t.Fatalf("%s %s: no 200 response", rt.method, rt.path)
		}
	}
	// Every reference resolves.
	for _, ref := range regexpAll(`"\$ref":"#/components/schemas/([A-Za-z]+)"`, string(r.body)) {
		if _, ok := doc.Components.Schemas[ref]; !ok {
			t.Fatalf("reference to schema %q, which is not defined", ref)
		}
	}
	if n := len(doc.Paths); n != 19 {
		t.Fatalf("got %d paths; want 19", n)
	}
}

func TestDocs(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	r := a.do("GET", "/docs", "")
	if r.status != 200 || r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %q; want 200 text/html", r.status, r.header.Get("Content-Type"))
	}
	if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") {
		t.Fatalf("got Content-Security-Policy %q; want one that loads nothing", csp)
	}
	page := string(r.body)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Fatalf("got %.100s; want an HTML page", page)
	}
	for _, rt := range routes {
		sig := fmt.Sprintf(`<span class="method %s">%s</span><span class="path">%s</span>`, strings.ToLower(rt.method), rt.method, rt.path)
		if !strings.Contains(page, sig) {
			t.Fatalf("the page does not document %s %s", rt.method, rt.path)
		}
	}
	for name := range schemas() {
		if !strings.Contains(page, `id="schema-`+name+`"`) {
			t.Fatalf("the page does not document schema %s", name)
		}
	}
	// Self-contained: nothing is loaded from elsewhere.
	for _, banned := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Fatalf("the page contains %q; want no external resource", banned)
		}
	}
}

func TestHead(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	if r := a.do("HEAD", "/rules", ""); r.status != http.StatusOK {
		t.Fatalf("HEAD /rules: got %d; want 200", r.status)
	}
}

// TestPreview: POST /preview runs lines through the draft, or a manifest
// given in the body, and says what became of each, with totals; it never
// shows an output's settings, and refuses bad input naming the field.
func TestPreview(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	a.do("POST", "/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
	a.do("POST", "/rules", `{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}`)
	a.do("POST", "/outputs", `{"type": "http", "url": "http://collector:9000", "headers": {"DD-API-KEY": "secret-key-123"}}`)

	r := a.do("POST", "/preview", `{"lines": ["DEBUG cache warm", "INFO user=alice ssn=123-45-6789", "INFO plain"]}`)
	var p preview
	r.decode(t, &p)
	if r.status != 200 || p.Version != "draft" || len(p.Lines) != 3 {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	if l := p.Lines[0]; l.Kept || l.DroppedBy != "drop_debug" || l.Output != nil {
		t.Errorf("line 0: %+v; want dropped by drop_debug", l)
	}
	if l := p.Lines[1]; !l.Kept || l.Output == nil || strings.Contains(*l.Output, "6789") || !slices.Equal(l.RewrittenBy, []string{"redact_ssn"}) {
		t.Errorf("line 1: %+v; want kept, redacted by redact_ssn", l)
	}
	if l := p.Lines[2]; !l.Kept || l.Output == nil || *l.Output != "INFO plain" || len(l.RewrittenBy) != 0 {
		t.Errorf("line 2: %+v; want kept unchanged", l)
	}
	if tt := p.Totals; tt.Lines != 3 || tt.Kept != 2 || tt.Dropped != 1 || tt.BytesIn != 57 || tt.BytesSaved != tt.BytesIn-tt.BytesOut ||
		tt.DroppedByRule["drop_debug"] != 1 || tt.RewrittenByRule["redact_ssn"] != 1 || len(tt.RewrittenByRule) != 1 || tt.SavedPercent <= 0 {
		t.Errorf("totals: %+v", tt)
	}
	if got, want := p.Lines[1].Spans, []previewSpan{{Start: 20, End: 31, Rule: "redact_ssn", Detector: "ssn", Action: "mask"}}; !slices.Equal(got, want) {
		t.Errorf("line 1 spans: %+v; want %+v", got, want)
	}
	if p.Lines[0].Spans != nil || p.Lines[2].Spans != nil {
		t.Errorf("spans on a line no redact rule touched: %+v", p.Lines)
	}
	if strings.Contains(string(r.body), "secret-key-123") {
		t.Errorf("the answer shows an output's header value: %s", r.body)
	}
	if strings.Count(string(r.body), "6789") != 0 {
		t.Errorf("the answer shows the value redacted: %s", r.body)
	}

	// The documented example is what the API answers.
	ex := newTestAPI(t, Options{}, store.Options{})
	for _, rule := range []processor.Config{exampleFilter, exampleRule} {
		body, _ := json.Marshal(rule)
		ex.do("POST", "/rules", string(body))
	}
	body, _ := json.Marshal(examplePreviewRequest)
	want, _ := json.Marshal(examplePreview)
	if r := ex.do("POST", "/preview", string(body)); r.status != 200 || strings.TrimSpace(string(r.body)) != string(want) {
		t.Errorf("the example preview: got %d %s; want %s", r.status, r.body, want)
	}

	// A manifest in the body wins over the draft.
	r = a.do("POST", "/preview", `{"manifest": {"version": "9", "pipelines": [{"name": "p", "processors": []}]}, "lines": ["DEBUG kept now"]}`)
	r.decode(t, &p)
	if r.status != 200 || p.Version != "9" || !p.Lines[0].Kept {
		t.Fatalf("with a manifest: got %d %s", r.status, r.body)
	}

	for _, c := range []struct{ body, want string }{
		{`{}`, "lines: required"},
		{`{"lines": []}`, "lines: required, at least one line"},
		{`{"lines": "one"}`, "lines"},
		{`{"lines": ["x"], "manifest": {"version": "1", "pipelines": [{"name": "p", "processors": [{"id": "r", "type": "regex_filter"}]}]}}`, "manifest does not make a valid manifest"},
		{`{"lines": [` + strings.Repeat(`"x",`, MaxPreviewLines) + `"x"]}`, "lines: at most 1000; got 1001"},
	} {
		r := a.do("POST", "/preview", c.body)
		if r.status != 400 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%.60s: got %d %s; want 400 with %q", c.body, r.status, r.body, c.want)
		}
	}
}
