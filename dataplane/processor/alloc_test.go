//go:build !race

package processor

import "testing"

// The race detector changes allocation counts, so these tests only run
// without it.

// allocLines are lines of the kinds that flow through a pipeline, none of
// which holds DEBUG, personal data or the attribute the tests look for.
var allocLines = []string{
	"2024-11-22T05:27:33.123Z INFO  [http] GET /api/v1/orders/12345 status=200 duration=12.3ms ts=1732262400123",
	"2024-11-22T05:27:33.124Z WARN  [db] slow query table=orders rows=1532 elapsed=1.52s version=1.2.3.4.5",
	`{"ts":"2024-11-22T05:27:33Z","level":"info","service":{"name":"checkout"},"msg":"order \"placed\"","id":4111}`,
	`{"resource":{"attributes":{"service.name":"payments"}},"attributes":{"http.status_code":200},"body":"ok"}`,
	`{broken json line`,
	"",
}

func TestAllocsNoMatch(t *testing.T) {
	tests := []struct {
		typ, params string
	}{
		{"filter", `{"value": "DEBUG"}`},
		{"filter", `{"values": ["DEBUG", "TRACE", "healthz"]}`},
		{"filter", `{"regex": "level=(debug|trace)"}`},
		{"filter", `{"regex": "(?i)debug"}`},
		{"redact", `{"pattern": "\\d{3}-\\d{2}-\\d{4}"}`},
		{"redact", `{"pattern": "user=(\\w+)", "replacement": "user=$1"}`},
		{"redact", `{"pattern": "(\\d{3})-\\d{2}-(\\d{4})", "replacement": "$1-XX-$2"}`},
		{"redact", `{"pattern": "(?i)\\bsecret=[a-z]{2}"}`},
		{"filter", `{"regex": "\\d{3}-\\d{2}-\\d{4}"}`},
		{"redact", `{"detector": "ssn"}`},
		{"redact", `{"detector": "credit_card"}`},
		{"redact", `{"detector": "email"}`},
		{"redact", `{"detector": "ipv4"}`},
		{"attribute_filter", `{"attribute": "service.name", "value": "test-service"}`},
		{"attribute_filter", `{"attribute": "http.status_code", "value": "500"}`},
		{"attribute_filter", `{"attribute": "user.id", "operator": "contains", "value": "42"}`},
		{"attribute_filter", `{"path": "resource/attributes/service.name", "operator": "regex", "value": "^test"}`},
	}
	for _, tt := range tests {
		p := build(t, tt.typ, tt.params)
		r := newResetter(allocLines...)
		allocs := testing.AllocsPerRun(100, func() {
			b := r.reset()
			p.Process(b)
			if len(b.Lines) != len(allocLines) || len(b.Scratch) != 0 {
				t.Fatalf("%s %s: got %d lines, %d bytes of Scratch; want the batch untouched", tt.typ, tt.params, len(b.Lines), len(b.Scratch))
			}
		})
		if allocs != 0 {
			t.Errorf("%s %s: got %v allocs per batch; want 0", tt.typ, tt.params, allocs)
		}
	}
}

func TestAllocsMatch(t *testing.T) {
	// Dropping lines, and rewriting them once Scratch has room, costs
	// nothing either.
	tests := []struct {
		typ, params string
		line        string
	}{
		{"filter", `{"value": "DEBUG"}`, "05:27:33 DEBUG cache hit"},
		{"filter", `{"regex": "level=(debug|trace)"}`, "level=debug msg=x"},
		{"filter", `{"regex": "\\d{3}-\\d{2}-\\d{4}"}`, "ssn=123-45-6789"},
		// Patterns of a fixed shape do not need the regexp package, which
		// allocates for every line with a match.
		{"redact", `{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`, "ssn=123-45-6789 ssn=987-65-4321"},
		{"redact", `{"pattern": "(\\d{3})-\\d{2}-(\\d{4})", "replacement": "$1-XX-$2"}`, "ssn=123-45-6789 ssn=987-65-4321"},
		{"redact", `{"pattern": "(?i)\\bsecret=[a-z]{2}"}`, "SECRET=ab \u017fecret=cd"},
		{"redact", `{"detector": "ssn"}`, "ssn=123-45-6789 ssn=987-65-4321"},
		{"redact", `{"detector": "credit_card"}`, "card=4111 1111 1111 1111"},
		{"redact", `{"detector": "email"}`, "to=a.b@example.com"},
		{"redact", `{"detector": "ipv4"}`, "client=10.1.2.3"},
		{"attribute_filter", `{"attribute": "service.name", "value": "test-service"}`, `{"service":{"name":"test-service"}}`},
	}
	for _, tt := range tests {
		p := build(t, tt.typ, tt.params)
		r := newResetter(append([]string{tt.line}, allocLines...)...)
		p.Process(r.reset()) // grow Scratch
		allocs := testing.AllocsPerRun(100, func() {
			p.Process(r.reset())
		})
		if allocs != 0 {
			t.Errorf("%s %s on %q: got %v allocs per batch; want 0", tt.typ, tt.params, tt.line, allocs)
		}
	}
}

// TestAllocsRateLimitKeyed: within a second, a line of a key already seen
// costs no allocation; only a new key costs its own, once.
func TestAllocsRateLimitKeyed(t *testing.T) {
	p, ok := build(t, "rate_limit", `{"lines_per_second": 1000000, "key_attribute": "service.name"}`).(*rateLimit)
	if !ok {
		t.Fatal("rate_limit is not a *rateLimit")
	}
	r := newResetter(allocLines...)
	const now = 1732262400
	p.process(r.reset(), now) // the keys' first lines
	allocs := testing.AllocsPerRun(100, func() {
		b := r.reset()
		p.process(b, now)
		if len(b.Lines) != len(allocLines) {
			t.Fatalf("got %d lines; want %d, none over the limit", len(b.Lines), len(allocLines))
		}
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per batch; want 0", allocs)
	}
	if len(p.counts) == 0 {
		t.Fatal("no key counted: the test lines need a service.name")
	}
}
