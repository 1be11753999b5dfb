package api

import (
	"encoding/json"
	"net/url"
	"testing"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
)

// checkResponse fails unless r is a well-formed answer to untrusted input:
// never a server error, always JSON, and an error always has a detail.
func checkResponse(t *testing.T, what string, r *result) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: got %d %s; want no server error", what, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s: got Content-Type %q; want application/json", what, ct)
	}
	if !json.Valid(r.body) {
		t.Fatalf("%s: got body %q; want JSON", what, r.body)
	}
	if r.status >= 400 && r.detail() == "" {
		t.Fatalf("%s: got %d %s; want a detail", what, r.status, r.body)
	}
}

// partialFrames adds every prefix of each seed, so the fuzzer starts from
// truncated bodies too.
func partialFrames(f *testing.F, seeds ...string) {
	for _, s := range seeds {
		for i := 0; i <= len(s); i += max(1, len(s)/8) {
			f.Add([]byte(s[:i]))
		}
		f.Add([]byte(s))
	}
}

// FuzzRulesBody posts arbitrary bodies to POST /rules and PUT /rules/{id}.
func FuzzRulesBody(f *testing.F) {
	partialFrames(f,
		`{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`,
		`{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}`,
		`{"id":"a","type":"attribute_filter","params":{"path":"attributes/http.target","operator":"regex","value":"^/h"},"on_overload":"run"}`,
		`{"id":"r","type":"redact","params":{"pattern":"(a)","replacement":"$2"}}`,
		`{"ID":"x","Type":"filter","params":{"values":["a",""]}}`,
		`{"id":null,"type":"filter"} {}`,
		`[{"id":"x"}]`, `null`, `"x"`, `{"id":1e999}`,
	)
	a := newTestAPI(f, Options{}, store.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a.mr.FlushAll()
		// A rule to replace, so PUT reaches validation.
		a.do("POST", "/rules", `{"id":"x","type":"filter","params":{"value":"X"}}`)
		checkResponse(t, "POST /rules", a.do("POST", "/rules", string(body)))
		checkResponse(t, "PUT /rules/x", a.do("PUT", "/rules/x", string(body)))
		checkResponse(t, "POST /publish", a.do("POST", "/publish", ""))
	})
}

// FuzzOutputsBody posts arbitrary bodies to POST /outputs, and checks that
// header values never come back.
func FuzzOutputsBody(f *testing.F) {
	partialFrames(f,
		`{"type": "http", "url": "http://host.docker.internal:9000"}`,
		`{"type":"http","url":"https://logs.example.com/v1/input","headers":{"DD-API-KEY":"secret"},"format":"datadog","timeout_ms":500,"max_retries":2,"gzip":true}`,
		`{"type":"console","url":null,"headers":null}`,
		`{"type":"http","url":"http://a","headers":{"Content-Length":"1","X":"\u0001"}}`,
		`{"type":"http","url":"ftp://a","max_retries":-1,"timeout_ms":-5}`,
		`{"type":"http","url":"http://a","headers":{"K":5}}`,
	)
	a := newTestAPI(f, Options{}, store.Options{})
	f.Fuzz(func(t *testing.T, body []byte) {
		a.mr.FlushAll()
		r := a.do("POST", "/outputs", string(body))
		checkResponse(t, "POST /outputs", r)
		if r.status != 200 {
			return
		}
		var res outputResult
		r.decode(t, &res)
		checkMasked(t, "POST /outputs", []output.Config{res.Output})

		r = a.do("GET", "/outputs", "")
		checkResponse(t, "GET /outputs", r)
		var outs []output.Config
		r.decode(t, &outs)
		checkMasked(t, "GET /outputs", outs)

		r = a.do("POST", "/publish", "")
		checkResponse(t, "POST /publish", r)
		if r.status == 200 {
			var p published
			r.decode(t, &p)
			checkMasked(t, "POST /publish", p.Manifest.Pipelines[0].Outputs)
		}
	})
}

// checkMasked fails unless every header value of outs is masked.
func checkMasked(t *testing.T, what string, outs []output.Config) {
	t.Helper()
	for _, o := range outs {
		for name, v := range o.Headers {
			if v != manifest.Mask {
				t.Fatalf("%s: got header %q with value %q; want %q", what, name, v, manifest.Mask)
			}
		}
	}
}

// FuzzBatchSizeBody posts arbitrary bodies and query values to POST
// /config/batch_size.
func FuzzBatchSizeBody(f *testing.F) {
	for _, seed := range []struct{ query, body string }{
		{"500", ""}, {"", `{"batch_size": 500}`}, {"abc", ""}, {"0", ""}, {"10001", ""},
		{"", `{"batch_size": "500"}`}, {"", `{"batch_size": 1e3}`}, {"", `{"batch_size": null}`},
		{"", `{"Batch_Size": 5, "batch_size": null}`}, {"", `{"size": 5}`}, {"-1", `{}`},
		{"99999999999999999999", ""}, {"", `{"batch_size": 5`},
	} {
		f.Add(seed.query, []byte(seed.body))
	}
	a := newTestAPI(f, Options{}, store.Options{})
	f.Fuzz(func(t *testing.T, query string, body []byte) {
		a.mr.FlushAll()
		target := "/config/batch_size"
		if query != "" {
			target += "?size=" + url.QueryEscape(query)
		}
		r := a.do("POST", target, string(body))
		checkResponse(t, "POST "+target, r)
		if r.status != 200 {
			return
		}
		var res batchSizeResult
		r.decode(t, &res)
		if res.BatchSize < manifest.MinBatchSize || res.BatchSize > manifest.MaxBatchSize {
			t.Fatalf("accepted batch size %d; want %d..%d", res.BatchSize, manifest.MinBatchSize, manifest.MaxBatchSize)
		}
	})
}

// FuzzPreviewBody posts arbitrary bodies to POST /preview, with a draft
// that filters and redacts.
func FuzzPreviewBody(f *testing.F) {
	partialFrames(f,
		`{"lines": ["DEBUG cache warm", "INFO user=alice ssn=123-45-6789"]}`,
		`{"manifest": {"version": "9", "pipelines": [{"name": "p", "processors": [{"id": "f", "type": "filter", "params": {"value": "x"}}]}]}, "lines": ["x", "y"]}`,
		`{"lines": [""]}`, `{"lines": null}`, `{"lines": [1]}`, `[]`,
		// From a live tap: with no data plane in the fleet, a 4xx.
		`{"tap": {}}`, `{"tap": {"instance": "dp-1", "n": 5, "wait_ms": 10}}`, `{"tap": {"n": -1, "wait_ms": 1e9}}`,
		`{"lines": ["x"], "tap": {}}`, `{"tap": null, "lines": null}`,
	)
	a := newTestAPI(f, Options{}, store.Options{})
	a.do("POST", "/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
	a.do("POST", "/rules", `{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		checkResponse(t, "POST /preview", a.do("POST", "/preview", string(body)))
	})
}
