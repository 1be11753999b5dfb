// Package metrics declares every counter of the data plane once and writes
// them in the Prometheus text format.
//
// Each data-plane instance owns one *Metrics, so tests can run several
// instances in one process and check each instance's accounting on its own.
//
// Accounting: every line received is, at every moment, in exactly one state:
//
//	received = filtered + dropped + in_pipeline + emitted
//
// and for every output o:
//
//	emitted = delivered[o] + output_dropped[o] + in_output[o]
//
// Datagrams the kernel drops on a UDP socket before they are read are
// counted apart (UDPKernelDrops): their lines were never received.
package metrics

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/buildinfo"
	"streamgate/dataplane/match"
)

// Reasons for dropping a line before it reaches the outputs.
const (
	ReasonBufferFull = "buffer_full" // ring full under drop_newest or drop_oldest
	ReasonOversize   = "oversize"    // line longer than the configured maximum
	ReasonShutdown   = "shutdown"    // still queued when the shutdown deadline passed
	ReasonTruncated  = "truncated"   // cut short: connection reset or closed at shutdown mid-line
)

// Reasons for an output dropping a line.
const (
	ReasonOutputFailed = "output_failed" // retries exhausted or a permanent error
	ReasonQueueFull    = "queue_full"    // the output fell behind and its queue was full
)

// Ingest listeners, as the listener label of the ingest counters names them.
const (
	ListenerTCP  = "tcp"
	ListenerHTTP = "http"
)

// Reasons for an ingest listener refusing a connection or a request
// (IngestRefused).
const (
	RefusedMaxConnections = "max_connections" // the listener held its most connections: accepted and closed at once
	RefusedTLSHandshake   = "tls_handshake"   // the TLS handshake failed or did not finish in time
	RefusedBodyBudget     = "body_budget"     // HTTP: the request bodies in flight would exceed their budget (429)
	RefusedMaxRequests    = "max_requests"    // HTTP: the most requests were being served (429)
	RefusedBodyTooLarge   = "body_too_large"  // HTTP: the body is over the per-request limit (413)
)

// Reasons for an ingest listener closing a connection it had accepted
// (IngestClosed). An unfinished TCP line on it is dropped and counted as
// truncated.
const (
	ClosedIdleTimeout = "idle_timeout" // nothing received for the idle timeout
	ClosedReadTimeout = "read_timeout" // HTTP: a request not read in full within the read timeout
	ClosedLineBudget  = "line_budget"  // TCP: it held the most unfinished-line bytes when they went over budget
)

// Metrics is the set of counters of one data-plane instance.
type Metrics struct {
	set *vm.Set

	// Received counts lines read from any source, oversize ones included.
	Received *vm.Counter
	// Emitted counts lines the pipeline handed to the outputs.
	Emitted *vm.Counter
	// Bypassed counts lines that skipped processors while the breaker was open.
	Bypassed *vm.Counter
	// BreakerOpened counts transitions of the breaker to open.
	BreakerOpened *vm.Counter
	// Reloads counts applied configurations; ReloadErrors rejected ones.
	Reloads      *vm.Counter
	ReloadErrors *vm.Counter
	// UDPKernelDrops counts datagrams the kernel dropped on a UDP ingest
	// socket, mostly because its receive buffer was full, before the proxy
	// could read them. They are outside the line accounting: the kernel does
	// not say how many lines they held, so they never count as received.
	UDPKernelDrops *vm.Counter
	// EgressAudited counts the emitted lines the egress audit scanned
	// again; EgressPII counts what it found in them.
	EgressAudited *vm.Counter

	mu       sync.Mutex
	dropped  map[string]*vm.Counter   // by reason; mu
	filtered map[string]*vm.Counter   // by rule; mu
	outputs  map[string]*outputCounts // by output name; mu
	refused  map[string]*vm.Counter   // by listener and reason; mu
	closed   map[string]*vm.Counter   // by listener and reason; mu
}

// outputCounts are the line counters of one output.
type outputCounts struct {
	delivered *vm.Counter
	dropped   map[string]*vm.Counter // by reason
	pii       map[string]*vm.Counter // egress audit findings, by detector
}

// New returns an empty set of counters.
func New() *Metrics {
	s := vm.NewSet()
	m := &Metrics{
		set:            s,
		Received:       s.NewCounter("streamgate_lines_received_total"),
		Emitted:        s.NewCounter("streamgate_lines_emitted_total"),
		Bypassed:       s.NewCounter("streamgate_breaker_bypassed_lines_total"),
		BreakerOpened:  s.NewCounter("streamgate_breaker_opened_total"),
		Reloads:        s.NewCounter("streamgate_config_reloads_total"),
		ReloadErrors:   s.NewCounter("streamgate_config_reload_errors_total"),
		UDPKernelDrops: s.NewCounter("streamgate_udp_datagrams_dropped_total"),
		EgressAudited:  s.NewCounter("streamgate_egress_audited_lines_total"),
		dropped:        make(map[string]*vm.Counter),
		filtered:       make(map[string]*vm.Counter),
		outputs:        make(map[string]*outputCounts),
		refused:        make(map[string]*vm.Counter),
		closed:         make(map[string]*vm.Counter),
	}
	for _, r := range []string{ReasonBufferFull, ReasonOversize, ReasonShutdown, ReasonTruncated} {
		m.Dropped(r)
	}
	// Process-wide: the JSON scanner counts for every instance at once.
	s.NewGauge("streamgate_json_too_deep_total", func() float64 { return float64(match.JSONTooDeep()) })
	bi := buildinfo.Get()
	s.NewGauge(fmt.Sprintf(`streamgate_build_info{version=%s,commit=%s,goversion=%s}`,
		strconv.Quote(bi.Version), strconv.Quote(bi.Commit), strconv.Quote(bi.GoVersion)), func() float64 { return 1 })
	return m
}

// Dropped returns the counter of lines dropped before the outputs for reason.
// Callers on the hot path look it up once and keep it.
func (m *Metrics) Dropped(reason string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.dropped, reason, func() string {
		return fmt.Sprintf("streamgate_lines_dropped_total{reason=%q}", reason)
	})
}

// DroppedByReason returns the lines dropped so far, by reason.
func (m *Metrics) DroppedByReason() map[string]uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.dropped))
	for r, c := range m.dropped {
		out[r] = c.Get()
	}
	return out
}

// DroppedTotal is the sum of Dropped over all reasons.
func (m *Metrics) DroppedTotal() uint64 { return m.sum(m.dropped) }

// Filtered returns the counter of lines dropped by the rule with the given id.
// Callers look it up when they build the rule, not per line.
func (m *Metrics) Filtered(rule string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.filtered, rule, func() string {
		return "streamgate_lines_filtered_total{rule=" + strconv.Quote(rule) + "}"
	})
}

// FilteredTotal is the sum of Filtered over all rules ever seen.
func (m *Metrics) FilteredTotal() uint64 { return m.sum(m.filtered) }

func (m *Metrics) sum(cs map[string]*vm.Counter) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, c := range cs {
		n += c.Get()
	}
	return n
}

// Delivered returns the counter of lines the named output delivered.
func (m *Metrics) Delivered(output string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outputLocked(output).delivered
}

// OutputDropped returns the counter of lines the named output dropped for reason.
func (m *Metrics) OutputDropped(output, reason string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.outputLocked(output).dropped, reason, func() string {
		return fmt.Sprintf("streamgate_output_lines_dropped_total{output=%q,reason=%q}", output, reason)
	})
}

// counterLocked returns cs[key], registering it first, as the series that
// name returns, if cs has none. Lock should be held.
func (m *Metrics) counterLocked(cs map[string]*vm.Counter, key string, name func() string) *vm.Counter {
	c := cs[key]
	if c == nil {
		c = m.set.GetOrCreateCounter(name())
		cs[key] = c
	}
	return c
}

// outputLocked returns the counters of the named output. Lock should be held.
func (m *Metrics) outputLocked(name string) *outputCounts {
	o := m.outputs[name]
	if o == nil {
		o = &outputCounts{
			delivered: m.set.GetOrCreateCounter("streamgate_output_lines_delivered_total{output=" + strconv.Quote(name) + "}"),
			dropped:   make(map[string]*vm.Counter),
			pii:       make(map[string]*vm.Counter),
		}
		m.outputs[name] = o
	}
	return o
}

// EgressPII returns the counter of the lines on their way to the named
// output in which the egress audit found personal data with detector: of
// the lines it samples, each line counts once per detector that finds
// something in it, however many findings it holds. The counter never says
// what was found. Callers look it up when they start the output, not per
// line.
func (m *Metrics) EgressPII(detector, output string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.outputLocked(output).pii, detector, func() string {
		return fmt.Sprintf("streamgate_egress_pii_total{detector=%q,output=%q}", detector, output)
	})
}

// EgressPIITotal is the sum of EgressPII over all detectors and all outputs
// ever seen: a line sent to two outputs counts twice.
func (m *Metrics) EgressPIITotal() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, o := range m.outputs {
		for _, c := range o.pii {
			n += c.Get()
		}
	}
	return n
}

// OutputTotals are the line counts of one output.
type OutputTotals struct {
	Name      string
	Delivered uint64
	Dropped   uint64 // over all reasons
}

// Outputs returns the totals of every output ever seen, sorted by name.
func (m *Metrics) Outputs() []OutputTotals {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]OutputTotals, 0, len(m.outputs))
	for name, o := range m.outputs {
		t := OutputTotals{Name: name, Delivered: o.delivered.Get()}
		for _, c := range o.dropped {
			t.Dropped += c.Get()
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b OutputTotals) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DeliveredTotal is the sum of Delivered over all outputs ever seen. Every
// output gets every line emitted while it is configured, so with several
// outputs it exceeds Emitted.
func (m *Metrics) DeliveredTotal() uint64 {
	var n uint64
	for _, o := range m.Outputs() {
		n += o.Delivered
	}
	return n
}

// OutputDroppedTotal is the sum of OutputDropped over all outputs ever seen
// and all reasons.
func (m *Metrics) OutputDroppedTotal() uint64 {
	var n uint64
	for _, o := range m.Outputs() {
		n += o.Dropped
	}
	return n
}

// IngestRefused returns the counter of connections or requests the named
// ingest listener refused for reason (Refused*). Listeners look their
// counters up when they start.
func (m *Metrics) IngestRefused(listener, reason string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.refused, listener+"/"+reason, func() string {
		return fmt.Sprintf("streamgate_ingest_refused_total{listener=%q,reason=%q}", listener, reason)
	})
}

// IngestClosed returns the counter of connections the named ingest listener
// closed for reason (Closed*). Listeners look their counters up when they
// start.
func (m *Metrics) IngestClosed(listener, reason string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.closed, listener+"/"+reason, func() string {
		return fmt.Sprintf("streamgate_ingest_closed_total{listener=%q,reason=%q}", listener, reason)
	})
}

// OutputRetries returns the counter of retried requests of the named output.
func (m *Metrics) OutputRetries(output string) *vm.Counter {
	return m.set.GetOrCreateCounter("streamgate_output_retries_total{output=" + strconv.Quote(output) + "}")
}

// Gauge registers f as a gauge; registering the same name twice keeps the first.
func (m *Metrics) Gauge(name string, f func() float64) {
	m.set.GetOrCreateGauge(name, f)
}

// WritePrometheus writes all counters, plus the process's own metrics (RSS,
// CPU, goroutines), in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	vm.WriteProcessMetrics(w)
}
