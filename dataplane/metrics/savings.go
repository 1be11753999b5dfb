package metrics

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"
)

// Per-output families of the savings (OutputCount): the lines and line
// bytes the pipeline handed to an output, and the bytes the output's
// destination accepted, after encoding and compression.
const (
	OutputLinesIn  = "streamgate_output_lines_in_total"
	OutputBytesIn  = "streamgate_output_bytes_in_total"
	OutputBytesOut = "streamgate_output_bytes_out_total"
)

// savingsCounts are the counters of what the chains take in and hand on,
// in line bytes, and of the shadow manifest running beside the live one.
type savingsCounts struct {
	// BytesProcessed counts the line bytes of the batches the processor
	// chains took in; BytesEmitted those of the lines they handed to the
	// outputs. Counted once per batch.
	BytesProcessed *vm.Counter
	BytesEmitted   *vm.Counter

	shadow atomic.Pointer[Shadow]
	set    *vm.Set
	// shadowMu serialises StartShadow and StopShadow.
	shadowMu sync.Mutex
}

func (c *savingsCounts) init(s *vm.Set) {
	c.set = s
	c.BytesProcessed = s.NewCounter("streamgate_bytes_processed_total")
	c.BytesEmitted = s.NewCounter("streamgate_bytes_emitted_total")
}

// FilteredBytes returns the counter of the line bytes the rule with the
// given id filtered, beside Filtered's lines.
func (m *Metrics) FilteredBytes(rule string) *vm.Counter {
	return m.ruleCounter(m.filteredBytes, familyFilteredBytes, rule)
}

// SampledBytes returns the counter of the line bytes the rule with the
// given id sampled out, beside Sampled's lines.
func (m *Metrics) SampledBytes(rule string) *vm.Counter {
	return m.ruleCounter(m.sampledBytes, familySampledBytes, rule)
}

// RuleTotals are what one rule did: the lines and bytes it filtered or
// sampled out (a rule does one or the other) and the lines it redacted.
type RuleTotals struct {
	ID            string
	Filtered      uint64
	FilteredBytes uint64
	Sampled       uint64
	SampledBytes  uint64
	Redacted      uint64
	// RedactedBy is Redacted by the detector that found what was
	// redacted, a line counting once per detector; only detectors that
	// found something are in it, and it is nil when none did.
	RedactedBy map[string]uint64
}

// Rules returns the totals of every rule not retired, sorted by id.
func (m *Metrics) Rules() []RuleTotals {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := ruleTotals(m.filtered, m.filteredBytes, m.sampled, m.sampledBytes, m.redacted)
	for i := range out {
		for detector, c := range m.redactions[out[i].ID] {
			if n := c.Get(); n > 0 {
				if out[i].RedactedBy == nil {
					out[i].RedactedBy = make(map[string]uint64)
				}
				out[i].RedactedBy[detector] = n
			}
		}
	}
	return out
}

// ruleTotals gathers per-rule counters into RuleTotals, sorted by id.
func ruleTotals(filtered, filteredBytes, sampled, sampledBytes, redacted map[string]*vm.Counter) []RuleTotals {
	byID := make(map[string]*RuleTotals)
	at := func(id string) *RuleTotals {
		t := byID[id]
		if t == nil {
			t = &RuleTotals{ID: id}
			byID[id] = t
		}
		return t
	}
	for id, c := range filtered {
		at(id).Filtered = c.Get()
	}
	for id, c := range filteredBytes {
		at(id).FilteredBytes = c.Get()
	}
	for id, c := range sampled {
		at(id).Sampled = c.Get()
	}
	for id, c := range sampledBytes {
		at(id).SampledBytes = c.Get()
	}
	for id, c := range redacted {
		at(id).Redacted = c.Get()
	}
	out := make([]RuleTotals, 0, len(byID))
	for _, t := range byID {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b RuleTotals) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Shadow is the set of counters of one shadow manifest: a chain that runs
// beside the live one on the same lines, whose output is discarded. Its
// series are removed when another shadow starts or the shadow stops, so
// they always describe the shadow running now.
type Shadow struct {
	// Version is the shadow manifest's version.
	Version string
	// LinesIn and BytesIn count what the shadow chain took in; LinesOut
	// and BytesOut what it would have handed to the outputs. Skipped
	// counts the lines it did not see: its CPU budget was spent, or the
	// breaker was open.
	LinesIn, BytesIn, LinesOut, BytesOut, Skipped *vm.Counter

	set    *vm.Set
	mu     sync.Mutex
	series []string                          // registered; mu
	fam    map[string]map[string]*vm.Counter // by family, then rule; mu
}

// Families of the shadow's per-rule counters.
const (
	shadowDropped      = "streamgate_shadow_lines_dropped_total"
	shadowDroppedBytes = "streamgate_shadow_bytes_dropped_total"
	shadowRedacted     = "streamgate_shadow_lines_redacted_total"
)

// StartShadow returns the counters of a new shadow manifest, version,
// from 0, and removes the series of the previous one.
func (m *Metrics) StartShadow(version string) *Shadow {
	m.shadowMu.Lock()
	defer m.shadowMu.Unlock()
	m.stopShadowLocked()
	sh := &Shadow{Version: version, set: m.set, fam: make(map[string]map[string]*vm.Counter)}
	sh.LinesIn = sh.counter("streamgate_shadow_lines_in_total")
	sh.BytesIn = sh.counter("streamgate_shadow_bytes_in_total")
	sh.LinesOut = sh.counter("streamgate_shadow_lines_out_total")
	sh.BytesOut = sh.counter("streamgate_shadow_bytes_out_total")
	sh.Skipped = sh.counter("streamgate_shadow_lines_skipped_total")
	m.shadow.Store(sh)
	return sh
}

// StopShadow removes the series of the shadow, if one runs.
func (m *Metrics) StopShadow() {
	m.shadowMu.Lock()
	defer m.shadowMu.Unlock()
	m.stopShadowLocked()
}

// stopShadowLocked removes the current shadow's series. Lock shadowMu
// should be held.
func (m *Metrics) stopShadowLocked() {
	old := m.shadow.Swap(nil)
	if old == nil {
		return
	}
	old.mu.Lock()
	defer old.mu.Unlock()
	for _, name := range old.series {
		m.set.UnregisterMetric(name)
	}
	old.series = nil
}

// CurrentShadow returns the counters of the shadow running now, or nil.
func (m *Metrics) CurrentShadow() *Shadow { return m.shadow.Load() }

// counter registers the series name. Lock mu should be held, or sh not
// yet shared.
func (sh *Shadow) counter(name string) *vm.Counter {
	sh.series = append(sh.series, name)
	return sh.set.GetOrCreateCounter(name)
}

// ruleCounter returns the shadow's counter of family for rule.
func (sh *Shadow) ruleCounter(family, rule string) *vm.Counter {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	cs := sh.fam[family]
	if cs == nil {
		cs = make(map[string]*vm.Counter)
		sh.fam[family] = cs
	}
	c := cs[rule]
	if c == nil {
		name := family + "{rule=" + strconv.Quote(rule) + "}"
		if sh.series == nil { // stopped: count, but export nothing
			c = new(vm.Counter)
		} else {
			c = sh.counter(name)
		}
		cs[rule] = c
	}
	return c
}

// Dropped returns the counter of the lines the shadow's rule would have
// filtered or sampled out; DroppedBytes their bytes; Redacted the lines it
// would have rewritten.
func (sh *Shadow) Dropped(rule string) *vm.Counter { return sh.ruleCounter(shadowDropped, rule) }
func (sh *Shadow) DroppedBytes(rule string) *vm.Counter {
	return sh.ruleCounter(shadowDroppedBytes, rule)
}
func (sh *Shadow) Redacted(rule string) *vm.Counter { return sh.ruleCounter(shadowRedacted, rule) }

// Rules returns the shadow's per-rule totals, sorted by id: what a rule
// dropped is in Filtered and FilteredBytes.
func (sh *Shadow) Rules() []RuleTotals {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return ruleTotals(sh.fam[shadowDropped], sh.fam[shadowDroppedBytes], nil, nil, sh.fam[shadowRedacted])
}

// OutputBytes are the savings counters of one output (OutputLinesIn,
// OutputBytesIn, OutputBytesOut), and Received, the line bytes the
// chains took in since the output started.
type OutputBytes struct {
	Name                       string
	LinesIn, BytesIn, BytesOut uint64
	Received                   uint64
}

// OutputSavings returns the named output's counters of OutputLinesIn,
// OutputBytesIn and OutputBytesOut. The first call for an output notes
// BytesProcessed, from which OutputBytesAll measures its Received.
func (m *Metrics) OutputSavings(name string) (linesIn, bytesIn, bytesOut *vm.Counter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.outputLocked(name)
	if o.counts[OutputLinesIn] == nil {
		o.processedAtStart = m.BytesProcessed.Get()
	}
	c := func(family string) *vm.Counter {
		return m.counterLocked(o.counts, family, func() string { return family + "{output=" + strconv.Quote(name) + "}" })
	}
	return c(OutputLinesIn), c(OutputBytesIn), c(OutputBytesOut)
}

// OutputBytesAll returns the savings counters of every output not
// retired that has them, sorted by name.
func (m *Metrics) OutputBytesAll() []OutputBytes {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []OutputBytes
	for name, o := range m.outputs {
		if o.counts[OutputLinesIn] == nil {
			continue
		}
		out = append(out, OutputBytes{Name: name, LinesIn: get(o.counts[OutputLinesIn]),
			BytesIn: get(o.counts[OutputBytesIn]), BytesOut: get(o.counts[OutputBytesOut]),
			Received: m.BytesProcessed.Get() - o.processedAtStart})
	}
	slices.SortFunc(out, func(a, b OutputBytes) int { return strings.Compare(a.Name, b.Name) })
	return out
}
