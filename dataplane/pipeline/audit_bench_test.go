package pipeline

import (
	"log/slog"
	"testing"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/output"
)

// BenchmarkEgressAuditLine scans one line as the egress audit does, with
// every detector: what a sampled line costs. At 1 line in
// DefaultAuditEvery, an emitted line pays a hundredth of it.
func BenchmarkEgressAuditLine(b *testing.B) {
	p, err := New(Options{Workers: 1, AuditEvery: 1, Logger: slog.New(slog.DiscardHandler)},
		&Config{Outputs: []output.Config{capture.Config(capture.Unique("bench-audit"))}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(b.Context())
	w := &worker{p: p, gen: p.cur.Load()} // not running: the benchmark's own
	for _, c := range []struct{ name, line string }{
		{"line=clean", pathTexts[0]},
		{"line=redacted", "2024-11-22T05:27:33.127Z INFO  [kyc] verified ssn=XXX-XX-XXXX spouse ssn=XXX-XX-XXXX"},
		{"line=clean_json", auditCleanJSON},
		{"line=leak", auditSSN},
	} {
		b.Run(c.name, func(b *testing.B) {
			line := []byte(c.line)
			b.ReportAllocs()
			b.SetBytes(int64(len(line)))
			for b.Loop() {
				w.auditLine(line, 1)
			}
		})
	}
}
