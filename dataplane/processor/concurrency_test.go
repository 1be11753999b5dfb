package processor

import (
	"slices"
	"sync"
	"testing"

	"streamgate/dataplane/internal/linemix"
)

// TestConcurrentUse runs every processor from several goroutines at once,
// as pipeline workers do; under -race it finds shared mutable state.
func TestConcurrentUse(t *testing.T) {
	procs := []struct{ typ, params string }{
		{"filter", `{"values": ["DEBUG", "TRACE"], "regex": "\\bhealthz?\\b"}`},
		{"redact", `{"pattern": "ssn=(\\d{3})-\\d{2}-\\d{4}", "replacement": "ssn=$1-XX-XXXX"}`},
		{"redact", `{"detector": "ssn"}`},
		{"redact", `{"detector": "credit_card"}`},
		{"redact", `{"detector": "email"}`},
		{"redact", `{"detector": "ipv4"}`},
		{"attribute_filter", `{"attribute": "service.name", "operator": "regex", "value": "^noisy"}`},
	}
	in := linemix.Lines()
	for _, pc := range procs {
		p := build(t, pc.typ, pc.params)
		want := process(p, in...)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for range 20 {
					if got := process(p, in...); !slices.Equal(got, want) {
						t.Errorf("%s %s: got different lines when run concurrently", pc.typ, pc.params)
						return
					}
				}
			})
		}
		wg.Wait()
	}
}
