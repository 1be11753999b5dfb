package rdb

import (
	"encoding/json"
	"math"
)

// The shadow manifest: the key ShadowKey holds a manifest that every data
// plane runs beside the live one, on the same lines, without delivering
// what it outputs, to count what it would save; ShadowMessage on
// UpdatesChannel announces that it changed or was removed.
const (
	ShadowKey     = "streamgate_shadow"
	ShadowMessage = "SHADOW"
)

// Savings is what a data plane's rules saved since it started, and what
// that is worth. Bytes are line bytes (without the newline) unless said
// otherwise.
type Savings struct {
	// WindowSeconds is how long the rates behind the dollar estimates are
	// measured over: the last hour, or since the data plane started when
	// it is younger.
	WindowSeconds float64 `json:"window_seconds"`
	// LinesReceived and BytesReceived are what the processor chains took
	// in; BytesEmitted what they handed to the outputs.
	LinesReceived uint64 `json:"lines_received"`
	BytesReceived uint64 `json:"bytes_received"`
	BytesEmitted  uint64 `json:"bytes_emitted"`
	// ReductionPercent is 100 × (1 − BytesEmitted / BytesReceived).
	ReductionPercent float64 `json:"reduction_percent"`
	// USDPerMonth and USDSavedPerMonth sum the outputs' estimates, over
	// the outputs that have a cost_per_gb.
	USDPerMonth      float64 `json:"usd_per_month"`
	USDSavedPerMonth float64 `json:"usd_saved_per_month"`

	Outputs []OutputSavings `json:"outputs"`
	Rules   []RuleSavings   `json:"rules"`
	// Shadow is what the shadow manifest would do, when one runs.
	Shadow *ShadowSavings `json:"shadow,omitempty"`
}

// OutputSavings is what one output was sent, and its cost.
type OutputSavings struct {
	Name string `json:"name"`
	// LinesIn and BytesIn are what the pipeline handed to the output;
	// BytesOut the bytes its destination accepted on the wire, encoded
	// and compressed.
	LinesIn  uint64 `json:"lines_in"`
	BytesIn  uint64 `json:"bytes_in"`
	BytesOut uint64 `json:"bytes_out"`
	// BytesReceived is the line bytes the processor chains took in since
	// the output started (a reload that keeps it keeps its count).
	BytesReceived uint64 `json:"bytes_received"`
	// ReductionPercent is 100 × (1 − BytesOut / BytesReceived): the
	// rules' savings and the encoding's together.
	ReductionPercent float64 `json:"reduction_percent"`
	// BytesInPerSecond is the rate of BytesIn over the window.
	BytesInPerSecond float64 `json:"bytes_in_per_second"`
	// CostPerGB is the output's cost_per_gb; USDPerMonth the cost of
	// BytesInPerSecond for 30 days at that price, and USDSavedPerMonth
	// that of the bytes the rules kept from it (the chains' input rate
	// less BytesInPerSecond). All three are absent without a price.
	CostPerGB        *float64 `json:"cost_per_gb,omitempty"`
	USDPerMonth      *float64 `json:"usd_per_month,omitempty"`
	USDSavedPerMonth *float64 `json:"usd_saved_per_month,omitempty"`
}

// RuleSavings is what one rule did: the lines it filtered or sampled out
// and their bytes, the bytes it saved; and the lines it redacted, in all
// and by the detector that found what it redacted (a line counts once
// per detector; only detectors that found something are listed).
type RuleSavings struct {
	ID              string            `json:"id"`
	LinesDropped    uint64            `json:"lines_dropped"`
	BytesDropped    uint64            `json:"bytes_dropped"`
	LinesRedacted   uint64            `json:"lines_redacted"`
	LinesRedactedBy map[string]uint64 `json:"lines_redacted_by_detector,omitempty"`
}

// ShadowSavings is what the shadow manifest did to the lines it saw,
// since it started on this data plane.
type ShadowSavings struct {
	Version string `json:"version"`
	// Error is why the data plane refused the shadow manifest, or stopped
	// running it (a rule panicked); the counters are then those of the
	// shadow it ran last, if any.
	Error string `json:"error,omitempty"`
	// LinesIn and BytesIn are what it ran on; LinesOut and BytesOut what
	// it would have handed to the outputs. LinesSkipped were not run on:
	// its CPU budget was spent (-shadow-cpu-budget) or the breaker open.
	LinesIn      uint64 `json:"lines_in"`
	BytesIn      uint64 `json:"bytes_in"`
	LinesOut     uint64 `json:"lines_out"`
	BytesOut     uint64 `json:"bytes_out"`
	LinesSkipped uint64 `json:"lines_skipped"`
	// ReductionPercent is 100 × (1 − BytesOut / BytesIn).
	ReductionPercent float64       `json:"reduction_percent"`
	Rules            []RuleSavings `json:"rules"`
}

// MarshalBinary writes s as JSON, for HSet.
func (s *Savings) MarshalBinary() ([]byte, error) { return json.Marshal((*savingsJSON)(s)) }

// ScanRedis reads what MarshalBinary wrote, for Scan.
func (s *Savings) ScanRedis(v string) error { return json.Unmarshal([]byte(v), (*savingsJSON)(s)) }

// savingsJSON is Savings without its methods.
type savingsJSON Savings

// Percent is 100 × (1 − part / whole), rounded to a tenth; 0 when whole
// is 0.
func Percent(part, whole uint64) float64 {
	if whole == 0 {
		return 0
	}
	return math.Round(1000*(1-float64(part)/float64(whole))) / 10
}
