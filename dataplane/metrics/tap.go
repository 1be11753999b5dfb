package metrics

import (
	"fmt"

	vm "github.com/VictoriaMetrics/metrics"
)

// Reasons for the admin tap leaving something out (TapRefused,
// TapSkipped).
const (
	TapMaxTaps   = "max_taps"    // a tap refused: the most were attached (429)
	TapRateLimit = "rate_limit"  // a line a tap selected, past its lines a second
	TapSlow      = "slow_reader" // a line a tap selected, its reader behind
)

// TapRefused returns the counter of the taps the admin port refused for
// reason (TapMaxTaps).
func (m *Metrics) TapRefused(reason string) *vm.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf("streamgate_tap_refused_total{reason=%q}", reason))
}

// TapSkipped returns the counter of the lines a tap selected but was not
// sent, for reason (TapRateLimit, TapSlow).
func (m *Metrics) TapSkipped(reason string) *vm.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf("streamgate_tap_lines_skipped_total{reason=%q}", reason))
}

// TapSent returns the counter of the lines sent to taps.
func (m *Metrics) TapSent() *vm.Counter {
	return m.set.GetOrCreateCounter("streamgate_tap_lines_sent_total")
}
