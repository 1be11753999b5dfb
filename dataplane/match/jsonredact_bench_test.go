package match

import "testing"

// BenchmarkJSONAware measures JSON-aware redaction (every detector and a
// pattern, as redactors builds them) on kinds of lines: text, which costs
// what a plain Replacer costs; JSON without a backslash or a finding, the
// fast path, which is not decoded; JSON with escapes; and the attack line,
// decoded and rewritten.
func BenchmarkJSONAware(b *testing.B) {
	lines := []struct{ name, line string }{
		{"text", "2024-11-22T05:27:33.123Z INFO [http] GET /api/v1/orders/12345 status=200 duration=12.3ms"},
		{"json_plain", `{"ts":"2024-11-22T05:27:33Z","level":"info","service":{"name":"checkout"},"msg":"handled request","status":200}`},
		{"json_escaped", `{"ts":"2024-11-22T05:27:33Z","level":"info","msg":"order \"placed\" at \u00e9tage 3","path":"\/api\/v1"}`},
		{"json_attack", attackLine},
	}
	rs := redactors(b)
	names := []string{"ssn", "credit_card", "email", "ipv4", "token"}
	for _, l := range lines {
		line := []byte(l.line)
		b.Run("line="+l.name, func(b *testing.B) {
			dst := make([]byte, 0, 4096)
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				for _, n := range names {
					rs[n].AppendReplace(dst[:0], line)
				}
			}
		})
	}
	// The same detectors without JSON awareness, on the plain JSON line:
	// the fast path's baseline.
	line := []byte(lines[1].line)
	plain := []Replacer{ssn.Replacer("x"), creditCard.Replacer("x"), email.Replacer("x"), ipv4.Replacer("x"), mustReplacer(b, `token=[A-Z]+`, "x")}
	b.Run("line=json_plain/baseline=bytes", func(b *testing.B) {
		dst := make([]byte, 0, 4096)
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		for b.Loop() {
			for _, r := range plain {
				r.AppendReplace(dst[:0], line)
			}
		}
	})
}
