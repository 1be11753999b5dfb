package processor

import (
	"strconv"
	"sync/atomic"
	"testing"

	"streamgate/dataplane/internal/linemix"
)

func BenchmarkProcessors(b *testing.B) {
	procs := []struct {
		name, typ, params string
	}{
		{"filter_value", "filter", `{"value": "DEBUG"}`},
		{"filter_values", "filter", `{"values": ["DEBUG", "TRACE", "healthcheck"]}`},
		{"filter_regex", "filter", `{"regex": "\\b(DEBUG|TRACE)\\b"}`},
		{"redact_pattern", "redact", `{"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}`},
		{"redact_pattern_groups", "redact", `{"pattern": "(\\d{3})-\\d{2}-(\\d{4})", "replacement": "$1-XX-$2"}`},
		{"redact_pattern_fold", "redact", `{"pattern": "(?i)secret", "replacement": "******"}`},
		{"redact_ssn", "redact", `{"detector": "ssn"}`},
		{"redact_credit_card", "redact", `{"detector": "credit_card"}`},
		{"redact_email", "redact", `{"detector": "email"}`},
		{"redact_ipv4", "redact", `{"detector": "ipv4"}`},
		{"attribute_filter", "attribute_filter", `{"attribute": "service.name", "value": "noisy-service"}`},
		{"sample", "sample", `{"rate": 10, "always_keep": ["ERROR"]}`},
		{"sample_key", "sample", `{"rate": 10, "key_attribute": "service.name"}`},
		{"rate_limit", "rate_limit", `{"lines_per_second": 1000000}`},
		{"rate_limit_key", "rate_limit", `{"lines_per_second": 1000000, "key_regex": "\\[(\\w+)\\]"}`},
		{"dedup", "dedup", `{"window_ms": 1}`},
		{"dedup_mask_digits", "dedup", `{"window_ms": 1, "mask_digits": true}`},
	}
	in := linemix.Lines()
	for _, pc := range procs {
		b.Run("proc="+pc.name, func(b *testing.B) {
			p := build(b, pc.typ, pc.params)
			r := newResetter(in...)
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				p.Process(r.reset())
			}
		})
	}
	b.Run("proc=chain", func(b *testing.B) {
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
		c := NewChain(steps...)
		r := newResetter(in...)
		b.SetBytes(int64(r.b.Size()))
		b.ReportAllocs()
		for b.Loop() {
			c.Run(r.reset(), false)
		}
	})
}

// BenchmarkChainAccounting is the cost of the savings' accounting: a chain
// of a filter, a redactor and a filter run bare, as before the savings
// (counted=no), and with every counter set, lines and bytes, and the
// batch's bytes summed as the workers do (counted=yes), in one process, so
// the two compare under the same load.
func BenchmarkChainAccounting(b *testing.B) {
	in := linemix.Lines()
	for _, counted := range []bool{false, true} {
		name := "counted=no"
		if counted {
			name = "counted=yes"
		}
		b.Run(name, func(b *testing.B) {
			var steps []Step
			for _, c := range []Config{
				{ID: "drop-debug", Type: "filter", Params: []byte(`{"value": "DEBUG"}`)},
				{ID: "ssn", Type: "redact", Params: []byte(`{"detector": "ssn"}`)},
				{ID: "drop-trace", Type: "filter", Params: []byte(`{"value": "TRACE"}`)},
			} {
				s, err := Build(c)
				if err != nil {
					b.Fatal(err)
				}
				if counted {
					s.Filtered, s.FilteredBytes, s.Rewritten = new(benchCounter), new(benchCounter), new(benchCounter)
				}
				steps = append(steps, s)
			}
			c := NewChain(steps...)
			r := newResetter(in...)
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				if counted {
					c.RunCounting(r.reset(), false)
				} else {
					c.Run(r.reset(), false)
				}
			}
		})
	}
}

// benchCounter counts atomically, as the metrics' counters do.
type benchCounter struct{ n atomic.Uint64 }

func (c *benchCounter) Add(n int) { c.n.Add(uint64(n)) }

// BenchmarkRedactByDetector is the cost of counting a rule's redactions by
// detector: every detector in one rule, run bare (by=no) and with a
// counter per detector (by=yes), which replaces each rewritten line once
// more to learn what found what.
func BenchmarkRedactByDetector(b *testing.B) {
	in := linemix.Lines()
	for _, by := range []bool{false, true} {
		name := "by=no"
		if by {
			name = "by=yes"
		}
		b.Run(name, func(b *testing.B) {
			s, err := Build(Config{ID: "pii", Type: "redact", Params: []byte(`{"detector": "all"}`)})
			if err != nil {
				b.Fatal(err)
			}
			s.Rewritten = new(benchCounter)
			if by {
				for range s.P.(Rewriter).Detectors() {
					s.RewrittenBy = append(s.RewrittenBy, new(benchCounter))
				}
			}
			c := NewChain(s)
			r := newResetter(in...)
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				c.Run(r.reset(), false)
			}
		})
	}
}

// BenchmarkDedupUnique runs a dedup over lines that never repeat, as most
// logs are, with its table full of kinds still in their window: the case
// where a new line must find out, cheaply, that there is no room. Short
// lines are hashed whole; long ones are first sketched.
func BenchmarkDedupUnique(b *testing.B) {
	for _, tc := range []struct{ name, pad string }{
		{"short", ""},
		{"long", " user=8f2a41 path=/api/v1/orders/checkout status=200 bytes=5120 upstream=payments-7f9c"},
	} {
		b.Run("lines="+tc.name, func(b *testing.B) {
			d := build(b, "dedup", `{"window_ms": 60000, "max_lines": 10000}`)
			lines := make([]string, 256)
			r := newResetter(lines...)
			n := 0
			fill := func() {
				for i := range lines {
					n++
					lines[i] = "INFO request " + strconv.Itoa(n) + " served" + tc.pad
				}
				r = newResetter(lines...)
			}
			for range 10000 / len(lines) * 2 { // fill the table
				fill()
				d.Process(r.reset())
			}
			fill()
			b.SetBytes(int64(r.b.Size()))
			b.ReportAllocs()
			for b.Loop() {
				d.Process(r.reset())
			}
		})
	}
}
