package processor

import (
	"fmt"
	"testing"
)

// benchLines returns a batch of 256 realistic lines of about 120 bytes:
// 10% DEBUG, 5% with an SSN, a fifth JSON, and a few with an email address,
// an IP address or a card number.
func benchLines() []string {
	const n = 256
	out := make([]string, 0, n)
	for i := range n {
		ts := fmt.Sprintf("2024-11-22T05:%02d:%02d.%03dZ", i/60%60, i%60, i*37%1000)
		var l string
		switch {
		case i%10 == 3:
			l = fmt.Sprintf("%s DEBUG [cache] lookup key=session:%08x hit=true size=%d ttl=300s shard=%d", ts, i*2654435761, 512+i, i%16)
		case i%20 == 7:
			l = fmt.Sprintf("%s INFO  [kyc] applicant verified ssn=%03d-%02d-%04d score=0.%02d request_id=%06d", ts, 100+i, 10+i%90, 1000+i*7, i%100, i*31)
		case i%5 == 1:
			svc := []string{"checkout", "payments", "noisy-service", "search"}[i/5%4]
			l = fmt.Sprintf(`{"ts":"%s","level":"info","service":{"name":"%s"},"msg":"handled request","status":%d,"dur_ms":%d}`, ts, svc, 200+i%3, i%97)
		case i%25 == 9:
			l = fmt.Sprintf("%s INFO  [mail] sent receipt to user%d@example.com template=receipt_v2 queue=outbound id=%d", ts, i, i*17)
		case i%25 == 14:
			l = fmt.Sprintf("%s WARN  [http] rate limited client=10.%d.%d.%d path=/api/v1/search retry_after=30s", ts, i%256, i*3%256, i*7%256)
		case i%50 == 22:
			l = fmt.Sprintf("%s INFO  [billing] charge ok card=4111 1111 1111 1111 amount=%d.%02d currency=EUR", ts, i, i%100)
		default:
			l = fmt.Sprintf("%s INFO  [http] GET /api/v1/orders/%d status=200 duration=%d.%dms bytes=%d upstream=orders", ts, 10000+i, i%50, i%10, 1000+i*13)
		}
		out = append(out, l)
	}
	return out
}

func BenchmarkProcessors(b *testing.B) {
	procs := []struct {
		name, typ, params string
		// noShapes builds the processor without the shape matcher.
		noShapes bool
	}{
		{"filter_value", "filter", `{"value": "DEBUG"}`, false},
		{"filter_values", "filter", `{"values": ["DEBUG", "TRACE", "healthcheck"]}`, false},
		{"filter_regex", "filter", `{"regex": "\\b(DEBUG|TRACE)\\b"}`, false},
		{"redact_pattern", "redact", `{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`, false},
		{"redact_pattern_regexp", "redact", `{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`, true},
		{"redact_pattern_groups", "redact", `{"pattern": "(\\d{3})-\\d{2}-(\\d{4})", "replacement": "$1-XX-$2"}`, false},
		{"redact_pattern_fold", "redact", `{"pattern": "(?i)secret", "replacement": "******"}`, false},
		{"redact_pattern_fold_regexp", "redact", `{"pattern": "(?i)secret", "replacement": "******"}`, true},
		{"redact_ssn", "redact", `{"detector": "ssn"}`, false},
		{"redact_credit_card", "redact", `{"detector": "credit_card"}`, false},
		{"redact_email", "redact", `{"detector": "email"}`, false},
		{"redact_ipv4", "redact", `{"detector": "ipv4"}`, false},
		{"attribute_filter", "attribute_filter", `{"attribute": "service.name", "value": "noisy-service"}`, false},
	}
	in := benchLines()
	for _, pc := range procs {
		b.Run("proc="+pc.name, func(b *testing.B) {
			shapesDisabled = pc.noShapes
			p := build(b, pc.typ, pc.params)
			shapesDisabled = false
			r := newResetter(in...)
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				p.Process(r.reset())
			}
		})
	}
	for _, name := range []string{"chain", "chain_regexp"} {
		b.Run("proc="+name, func(b *testing.B) {
			shapesDisabled = name == "chain_regexp"
			var steps []Step
			for _, c := range []Config{
				{ID: "drop-debug", Type: "filter", Params: []byte(`{"value": "DEBUG"}`)},
				{ID: "ssn", Type: "redact", Params: []byte(`{"detector": "ssn"}`)},
				{ID: "ssn-regex", Type: "redact", Params: []byte(`{"pattern": "\\d{3}-\\d{2}-\\d{4}"}`)},
			} {
				s, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				steps = append(steps, s)
			}
			shapesDisabled = false
			c := NewChain(steps...)
			r := newResetter(in...)
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				c.Run(r.reset(), false)
			}
		})
	}
}
