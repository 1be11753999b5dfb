// Package metrics declares every counter of the data plane once and writes
// them in the Prometheus text format.
//
// Each data-plane instance owns one *Metrics, so tests can run several
// instances in one process and check each instance's accounting on its own.
//
// Accounting: every line received is, at every moment, in exactly one state:
//
//	received = filtered + sampled + dropped + in_pipeline + emitted
//
// and for every output o:
//
//	emitted + replayed[o] + restored[o] = delivered[o] + output_dropped[o] + dead_lettered[o] + queued[o]
//
// where dead_lettered counts the lines o's destination refused for good,
// kept in o's dead-letter file, replayed the lines a replay took out
// of that file again (those it delivered also count in delivered),
// restored the lines o's disk buffer found at start, left by the last run,
// and queued what is queued for o in memory and on disk (the pipeline's
// streamgate_output_queued_lines gauge). While
// the process runs, the file holds dead_lettered - replayed - purged of
// the lines it wrote.
//
// Datagrams the kernel drops on a UDP socket before they are read are
// counted apart (UDPKernelDrops): their lines were never received.
//
// A rule or an output that a reload removes loses its series once nothing
// counts on them (RetireRule, RetireOutput): what they counted moves to
// the same metric without the rule or output label, so that summing a
// metric over its series still counts every line, and the series of a
// manifest's past rules and outputs do not pile up.
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
	"streamgate/dataplane/output"
)

// Every family is written with its # HELP and # TYPE lines, so Prometheus
// and its peers type each series (counter, gauge, summary) instead of
// guessing.
func init() { vm.ExposeMetadata(true) }

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
	ReasonRejected     = "rejected"      // the destination answered for each line and refused it for good, without saying which
	// ReasonDeadLetterFull: refused for good, but the output's dead-letter
	// file was at its bound, or could not be written.
	ReasonDeadLetterFull = "dead_letter_full"
	ReasonDiskFull       = "disk_full"      // the output's disk buffer was full (drop policies)
	ReasonDiskError      = "disk_error"     // the output's disk buffer could not be written
	ReasonDiskCorrupt    = "disk_corrupt"   // in a record of the output's disk buffer that no longer decodes
	ReasonRemoved        = "output_removed" // on the disk of an output a reload removed, not delivered within the drain timeout
)

// Per-output families beside delivered and dropped (OutputCount,
// OutputGauge).
const (
	// OutputRestored counts the lines a disk buffer found at start, left
	// by the last run: they are delivered (or dropped, counted) as if
	// emitted again.
	OutputRestored = "streamgate_output_restored_lines_total"
	// DiskCorrupt counts the records of a disk buffer found corrupt
	// (torn by a crash, or damaged) and skipped.
	DiskCorrupt = "streamgate_disk_corrupt_records_total"

	OutputQueuedLines = "streamgate_output_queued_lines"            // in memory and on disk
	OutputQueuedBytes = "streamgate_output_queued_bytes"            // in memory
	OutputDiskBytes   = "streamgate_output_disk_bytes"              // on disk, not yet delivered
	OutputOldestAge   = "streamgate_output_oldest_line_age_seconds" // of the oldest line on disk being delivered
)

// Ingest listeners, as the listener label of the ingest counters names them.
const (
	ListenerTCP       = "tcp"
	ListenerHTTP      = "http"
	ListenerSyslogTCP = "syslog_tcp"
	ListenerSyslogUDP = "syslog_udp"
	ListenerOTLPHTTP  = "otlp_http"
	ListenerOTLPGRPC  = "otlp_grpc"
)

// Reasons for an ingest listener refusing a connection or a request
// (IngestRefused).
const (
	RefusedMaxConnections = "max_connections" // the listener held its most connections: accepted and closed at once
	RefusedTLSHandshake   = "tls_handshake"   // the TLS handshake failed or did not finish in time
	RefusedBodyBudget     = "body_budget"     // HTTP: the request bodies in flight would exceed their budget (429)
	RefusedMaxRequests    = "max_requests"    // HTTP: the most requests were being served (429)
	RefusedBodyTooLarge   = "body_too_large"  // HTTP: the body is over the per-request limit (413)
	RefusedMalformed      = "malformed"       // OTLP: the body does not decode (400, INVALID_ARGUMENT)
	RefusedMediaType      = "media_type"      // OTLP/HTTP: a content type or encoding it does not take (415)
	RefusedBufferFull     = "buffer_full"     // OTLP: the buffer did not take the records in time (429, RESOURCE_EXHAUSTED)
)

// How the wait of an acknowledged HTTP ingest request ended (IngestAck).
const (
	AckOK      = "ok"      // every line settled: answered 202
	AckFailed  = "failed"  // a line was dropped: answered 503
	AckTimeout = "timeout" // not all settled within the ack timeout (or the client left): 503
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
	// BufferWaits counts the pushes that found their ring full and waited
	// for room (see pipeline.Options.OverflowWait).
	BufferWaits *vm.Counter
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
	dropped  map[string]*vm.Counter // by reason; mu
	filtered map[string]*vm.Counter // by rule; mu
	sampled  map[string]*vm.Counter // by rule; mu
	redacted map[string]*vm.Counter // by rule; mu
	// redactions are Redactions' counters, by rule then detector; mu.
	redactions map[string]map[string]*vm.Counter
	// filteredBytes and sampledBytes are the line bytes of Filtered and
	// Sampled, by rule; mu.
	filteredBytes map[string]*vm.Counter
	sampledBytes  map[string]*vm.Counter
	// The savings and the shadow's counters: see savings.go.
	savingsCounts
	outputs map[string]*outputCounts // by output name; mu
	refused map[string]*vm.Counter   // by listener and reason; mu
	closed  map[string]*vm.Counter   // by listener and reason; mu
	// retired holds what the rules and outputs removed by a reload
	// counted, in series without their rule or output label; mu.
	retired retiredCounts
}

// retiredCounts are the series of removed rules and outputs: the same
// metrics without the rule or output label. Each is created when a first
// rule or output is retired.
type retiredCounts struct {
	filtered      *vm.Counter
	sampled       *vm.Counter
	redacted      *vm.Counter
	filteredBytes *vm.Counter
	sampledBytes  *vm.Counter
	delivered     *vm.Counter
	dropped       map[string]*vm.Counter // by reason
	counts        map[string]*vm.Counter // by family
	pii           map[string]*vm.Counter // by detector
	redactions    map[string]*vm.Counter // by detector
	dead          deadLetterCounts
}

// outputCounts are the line counters of one output.
type outputCounts struct {
	delivered *vm.Counter
	dropped   map[string]*vm.Counter // by reason
	counts    map[string]*vm.Counter // OutputCount's, by family
	gauges    []string               // OutputGauge's and OutputHistogram's series
	pii       map[string]*vm.Counter // egress audit findings, by detector
	dead      deadLetterCounts
	// processedAtStart is BytesProcessed when its savings counters were
	// created (OutputSavings).
	processedAtStart uint64
}

// deadLetterCounts are the lines an output kept as dead letters, and took
// out of them again. Each is created when first looked up.
type deadLetterCounts struct {
	lettered *vm.Counter // streamgate_output_dead_lettered_total
	replayed *vm.Counter // streamgate_output_dead_letter_replayed_total
	purged   *vm.Counter // streamgate_output_dead_letter_purged_total
}

// The dead-letter metrics, in the order of deadLetterCounts.
var deadLetterMetrics = [3]string{
	"streamgate_output_dead_lettered_total",
	"streamgate_output_dead_letter_replayed_total",
	"streamgate_output_dead_letter_purged_total",
}

// counters returns pointers to c's counters, in the order of
// deadLetterMetrics.
func (c *deadLetterCounts) counters() [3]**vm.Counter {
	return [3]**vm.Counter{&c.lettered, &c.replayed, &c.purged}
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
		BufferWaits:    s.NewCounter("streamgate_buffer_waits_total"),
		Reloads:        s.NewCounter("streamgate_config_reloads_total"),
		ReloadErrors:   s.NewCounter("streamgate_config_reload_errors_total"),
		UDPKernelDrops: s.NewCounter("streamgate_udp_datagrams_dropped_total"),
		EgressAudited:  s.NewCounter("streamgate_egress_audited_lines_total"),
		dropped:        make(map[string]*vm.Counter),
		filtered:       make(map[string]*vm.Counter),
		sampled:        make(map[string]*vm.Counter),
		redacted:       make(map[string]*vm.Counter),
		redactions:     make(map[string]map[string]*vm.Counter),
		filteredBytes:  make(map[string]*vm.Counter),
		sampledBytes:   make(map[string]*vm.Counter),
		outputs:        make(map[string]*outputCounts),
		retired: retiredCounts{
			dropped: make(map[string]*vm.Counter),
			counts:  make(map[string]*vm.Counter),
			pii:     make(map[string]*vm.Counter),
		},
		refused: make(map[string]*vm.Counter),
		closed:  make(map[string]*vm.Counter),
	}
	for _, r := range []string{ReasonBufferFull, ReasonOversize, ReasonShutdown, ReasonTruncated} {
		m.Dropped(r)
	}
	m.savingsCounts.init(s)
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
	return m.ruleCounter(m.filtered, familyFiltered, rule)
}

// Families of the per-rule counters (Filtered, Sampled, Redacted and
// their bytes), which RetireRule moves to their series without label.
const (
	familyFiltered      = "streamgate_lines_filtered_total"
	familySampled       = "streamgate_lines_sampled_total"
	familyRedacted      = "streamgate_lines_redacted_total"
	familyFilteredBytes = "streamgate_bytes_filtered_total"
	familySampledBytes  = "streamgate_bytes_sampled_total"
)

// ruleCounter returns cs[rule], registering it first as the rule's series
// of family.
func (m *Metrics) ruleCounter(cs map[string]*vm.Counter, family, rule string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(cs, rule, func() string {
		return family + "{rule=" + strconv.Quote(rule) + "}"
	})
}

// FilteredTotal is the sum of Filtered over all rules ever seen, those
// retired included.
func (m *Metrics) FilteredTotal() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sumLocked(m.filtered) + get(m.retired.filtered)
}

// Sampled returns the counter of lines the rule with the given id sampled
// out for cost (sample, rate_limit, dedup). Callers look it up when they
// build the rule, not per line.
func (m *Metrics) Sampled(rule string) *vm.Counter {
	return m.ruleCounter(m.sampled, familySampled, rule)
}

// SampledTotal is the sum of Sampled over all rules ever seen, retired
// included.
func (m *Metrics) SampledTotal() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sumLocked(m.sampled) + get(m.retired.sampled)
}

func (m *Metrics) sum(cs map[string]*vm.Counter) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sumLocked(cs)
}

// sumLocked sums cs. Lock should be held.
func (m *Metrics) sumLocked(cs map[string]*vm.Counter) uint64 {
	var n uint64
	for _, c := range cs {
		n += c.Get()
	}
	return n
}

// get returns c's value; 0 for nil.
func get(c *vm.Counter) uint64 {
	if c == nil {
		return 0
	}
	return c.Get()
}

// RetireRule removes the series of the rule with the given id, for a rule a
// reload removed: what it counted moves to the series without a rule label,
// streamgate_lines_filtered_total (or _sampled_total, _redacted_total,
// streamgate_bytes_filtered_total, _sampled_total), which holds the
// lines filtered (or sampled) by rules since removed, so the sum over the
// metric still counts every line. The caller must make sure nothing counts on the rule's counter
// any more; a rule that comes back starts a new series from 0.
func (m *Metrics) RetireRule(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	retire := func(cs map[string]*vm.Counter, name string, total **vm.Counter) {
		c := cs[id]
		if c == nil {
			return
		}
		delete(cs, id)
		m.set.UnregisterMetric(name + "{rule=" + strconv.Quote(id) + "}")
		if *total == nil {
			*total = m.set.GetOrCreateCounter(name)
		}
		(*total).Add(int(c.Get()))
	}
	retire(m.filtered, familyFiltered, &m.retired.filtered)
	retire(m.sampled, familySampled, &m.retired.sampled)
	retire(m.redacted, familyRedacted, &m.retired.redacted)
	for detector, c := range m.redactions[id] {
		m.set.UnregisterMetric(redactionsSeries(id, detector))
		if m.retired.redactions == nil {
			m.retired.redactions = make(map[string]*vm.Counter)
		}
		m.counterLocked(m.retired.redactions, detector, func() string {
			return familyRedactions + "{detector=" + strconv.Quote(detector) + "}"
		}).Add(int(c.Get()))
	}
	delete(m.redactions, id)
	retire(m.filteredBytes, familyFilteredBytes, &m.retired.filteredBytes)
	retire(m.sampledBytes, familySampledBytes, &m.retired.sampledBytes)
}

// Redacted returns the counter of lines the rule with the given id
// rewrote (redact): outside the line accounting, the lines go on. Callers
// look it up when they build the rule.
func (m *Metrics) Redacted(rule string) *vm.Counter {
	return m.ruleCounter(m.redacted, familyRedacted, rule)
}

// familyRedactions is Redactions' family: the lines a rule redacted, by
// the detector that found what it redacted. A line counts once per
// detector: a line with two card numbers and an email counts once for
// credit_card and once for email. A removed rule's series move to the
// series with the detector label alone.
const familyRedactions = "streamgate_redactions_total"

// Redactions returns the counter of the lines in which detector found
// something the rule with the given id redacted (see familyRedactions).
// detector is a built-in detector's name, "pattern" or "field". Callers
// look it up when they build the rule.
func (m *Metrics) Redactions(rule, detector string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	byDetector := m.redactions[rule]
	if byDetector == nil {
		byDetector = make(map[string]*vm.Counter)
		m.redactions[rule] = byDetector
	}
	return m.counterLocked(byDetector, detector, func() string { return redactionsSeries(rule, detector) })
}

// redactionsSeries is the series of Redactions(rule, detector).
func redactionsSeries(rule, detector string) string {
	return familyRedactions + "{rule=" + strconv.Quote(rule) + ",detector=" + strconv.Quote(detector) + "}"
}

// RetireOutput removes the series of the named output, for an output a
// reload removed: what it counted moves to the same metrics without an
// output label (streamgate_output_lines_delivered_total,
// streamgate_output_lines_dropped_total{reason},
// streamgate_egress_pii_total{detector}, streamgate_output_dead_lettered_total,
// streamgate_output_dead_letter_replayed_total and _purged_total), and its
// waits series goes. The
// caller must make sure nothing counts on the output's counters any more;
// an output that comes back starts new series from 0.
func (m *Metrics) RetireOutput(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.outputs[name]
	delete(m.outputs, name)
	m.set.UnregisterMetric("streamgate_output_waits_total{output=" + strconv.Quote(name) + "}")
	if o == nil {
		return
	}
	r := &m.retired
	m.set.UnregisterMetric("streamgate_output_lines_delivered_total{output=" + strconv.Quote(name) + "}")
	if r.delivered == nil {
		r.delivered = m.set.GetOrCreateCounter("streamgate_output_lines_delivered_total")
	}
	r.delivered.Add(int(o.delivered.Get()))
	for reason, c := range o.dropped {
		m.set.UnregisterMetric(fmt.Sprintf("streamgate_output_lines_dropped_total{output=%q,reason=%q}", name, reason))
		m.counterLocked(r.dropped, reason, func() string {
			return fmt.Sprintf("streamgate_output_lines_dropped_total{reason=%q}", reason)
		}).Add(int(c.Get()))
	}
	for family, c := range o.counts {
		m.set.UnregisterMetric(family + "{output=" + strconv.Quote(name) + "}")
		m.counterLocked(r.counts, family, func() string { return family }).Add(int(c.Get()))
	}
	for _, series := range o.gauges {
		m.set.UnregisterMetric(series)
	}
	for detector, c := range o.pii {
		m.set.UnregisterMetric(fmt.Sprintf("streamgate_egress_pii_total{detector=%q,output=%q}", detector, name))
		m.counterLocked(r.pii, detector, func() string {
			return fmt.Sprintf("streamgate_egress_pii_total{detector=%q}", detector)
		}).Add(int(c.Get()))
	}
	from, to := o.dead.counters(), r.dead.counters()
	for i, c := range from {
		if *c == nil {
			continue
		}
		m.set.UnregisterMetric(deadLetterMetrics[i] + "{output=" + strconv.Quote(name) + "}")
		m.deadLetterLocked(to[i], deadLetterMetrics[i]).Add(int((*c).Get()))
	}
}

// deadLetterLocked returns *c, registering it first as the series name if
// it is nil. Lock should be held.
func (m *Metrics) deadLetterLocked(c **vm.Counter, name string) *vm.Counter {
	if *c == nil {
		*c = m.set.GetOrCreateCounter(name)
	}
	return *c
}

// deadLetter returns the counter i of deadLetterCounts of the named
// output; of the outputs retired for "".
func (m *Metrics) deadLetter(output string, i int) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	if output == "" {
		return m.deadLetterLocked(m.retired.dead.counters()[i], deadLetterMetrics[i])
	}
	return m.deadLetterLocked(m.outputLocked(output).dead.counters()[i], deadLetterMetrics[i]+"{output="+strconv.Quote(output)+"}")
}

// DeadLettered returns the counter of lines the named output's destination
// refused for good that were kept in its dead-letter file. Lines refused
// that the file could not take count in OutputDropped(output,
// ReasonDeadLetterFull) instead.
func (m *Metrics) DeadLettered(output string) *vm.Counter { return m.deadLetter(output, 0) }

// DeadLetterReplayed returns the counter of lines a replay took out of the
// named output's dead-letter file: delivered (and counted in Delivered
// too), or refused for good by a destination that does not say which
// lines it refused (and counted in OutputDropped, ReasonRejected).
func (m *Metrics) DeadLetterReplayed(output string) *vm.Counter { return m.deadLetter(output, 1) }

// DeadLetterPurged returns the counter of lines purged from the named
// output's dead-letter file; "" is the series without an output label, for
// the files of outputs not running.
func (m *Metrics) DeadLetterPurged(output string) *vm.Counter { return m.deadLetter(output, 2) }

// Delivered returns the counter of lines the named output delivered.
func (m *Metrics) Delivered(output string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.outputLocked(output).delivered
}

// OutputCount returns the named output's counter of family, one of the
// per-output families such as OutputRestored; RetireOutput moves what it
// counted to the family's series without label.
func (m *Metrics) OutputCount(output, family string) *vm.Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counterLocked(m.outputLocked(output).counts, family, func() string {
		return family + "{output=" + strconv.Quote(output) + "}"
	})
}

// OutputCountTotal is the sum of family over every output, those retired
// included.
func (m *Metrics) OutputCountTotal(family string) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := get(m.retired.counts[family])
	for _, o := range m.outputs {
		n += get(o.counts[family])
	}
	return n
}

// OutputGauge registers f as the named output's series of the gauge
// family, such as OutputQueuedLines, unless it has one; RetireOutput
// removes it. f must not take locks that are held while counters are
// looked up.
func (m *Metrics) OutputGauge(output, family string, f func() float64) {
	series := family + "{output=" + strconv.Quote(output) + "}"
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.outputLocked(output)
	if slices.Contains(o.gauges, series) {
		return
	}
	o.gauges = append(o.gauges, series)
	m.set.GetOrCreateGauge(series, f)
}

// Per-output histograms (OutputHistogram).
const (
	// OutputLatency is the time from when a line was read to when the
	// output delivered it, per batch (the batch's oldest line).
	OutputLatency = "streamgate_output_latency_seconds"
	// OutputBatchLines is the number of lines of each batch an output
	// wrote (or, with a disk buffer, persisted).
	OutputBatchLines = "streamgate_output_batch_lines"
)

// Bucket bounds of the per-output histograms.
var (
	LatencyBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	BatchLinesBuckets = []float64{1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}
)

// OutputHistogram returns the named output's histogram of family, with
// buckets; RetireOutput removes it (a histogram has no series without the
// label to move to).
func (m *Metrics) OutputHistogram(output, family string, buckets []float64) *vm.PrometheusHistogram {
	series := family + "{output=" + strconv.Quote(output) + "}"
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.outputLocked(output)
	if !slices.Contains(o.gauges, series) {
		o.gauges = append(o.gauges, series)
	}
	return m.set.GetOrCreatePrometheusHistogramExt(series, buckets)
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
			counts:    make(map[string]*vm.Counter),
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
// ever seen, those retired included: a line sent to two outputs counts
// twice.
func (m *Metrics) EgressPIITotal() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := m.sumLocked(m.retired.pii)
	for _, o := range m.outputs {
		n += m.sumLocked(o.pii)
	}
	return n
}

// OutputTotals are the line counts of one output: Emitted + Replayed =
// Delivered + Dropped + DeadLettered + what it has queued.
type OutputTotals struct {
	Name         string
	Delivered    uint64
	Dropped      uint64 // over all reasons
	DeadLettered uint64
	Replayed     uint64 // taken out of its dead letters again
}

// Outputs returns the totals of every output that has not been retired,
// sorted by name.
func (m *Metrics) Outputs() []OutputTotals {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]OutputTotals, 0, len(m.outputs))
	for name, o := range m.outputs {
		t := OutputTotals{Name: name, Delivered: o.delivered.Get(), DeadLettered: get(o.dead.lettered), Replayed: get(o.dead.replayed)}
		for _, c := range o.dropped {
			t.Dropped += c.Get()
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b OutputTotals) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// DeliveredTotal is the sum of Delivered over all outputs ever seen, those
// retired included. Every output gets every line emitted while it is
// configured, so with several outputs it exceeds Emitted.
func (m *Metrics) DeliveredTotal() uint64 {
	m.mu.Lock()
	n := get(m.retired.delivered)
	m.mu.Unlock()
	for _, o := range m.Outputs() {
		n += o.Delivered
	}
	return n
}

// OutputDroppedTotal is the sum of OutputDropped over all outputs ever seen,
// those retired included, and all reasons.
func (m *Metrics) OutputDroppedTotal() uint64 {
	n := m.sum(m.retired.dropped)
	for _, o := range m.Outputs() {
		n += o.Dropped
	}
	return n
}

// DeadLetteredTotal is the sum of DeadLettered over all outputs ever seen,
// those retired included.
func (m *Metrics) DeadLetteredTotal() uint64 {
	m.mu.Lock()
	n := get(m.retired.dead.lettered)
	m.mu.Unlock()
	for _, o := range m.Outputs() {
		n += o.DeadLettered
	}
	return n
}

// DeadLetterReplayedTotal is the sum of DeadLetterReplayed over all
// outputs ever seen, those retired included.
func (m *Metrics) DeadLetterReplayedTotal() uint64 {
	m.mu.Lock()
	n := get(m.retired.dead.replayed)
	m.mu.Unlock()
	for _, o := range m.Outputs() {
		n += o.Replayed
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

// IngestAck returns the counter of acknowledged HTTP ingest requests whose
// wait ended with result (Ack*).
func (m *Metrics) IngestAck(result string) *vm.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf("streamgate_ingest_acks_total{result=%q}", result))
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

// SyslogMalformed returns the counter of the messages the named syslog
// listener received that parse as neither RFC 5424 nor RFC 3164, for
// reason (see ingest.SyslogReasonNames): they are passed on as received.
func (m *Metrics) SyslogMalformed(listener, reason string) *vm.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf("streamgate_syslog_malformed_total{listener=%q,reason=%q}", listener, reason))
}

// OutputWaits returns the counter of the batches a worker held back, its
// queue to the named output full, to wait for room while that output
// delivered (see pipeline.Options.OverflowWait); RetireOutput removes it.
func (m *Metrics) OutputWaits(output string) *vm.Counter {
	return m.set.GetOrCreateCounter("streamgate_output_waits_total{output=" + strconv.Quote(output) + "}")
}

// Gauge registers f as a gauge; registering the same name twice keeps the first.
func (m *Metrics) Gauge(name string, f func() float64) {
	m.set.GetOrCreateGauge(name, f)
}

// WritePrometheus writes all counters, the outputs' own (process-wide, see
// output.WritePrometheus), plus the process's own metrics (RSS, CPU,
// goroutines), in the Prometheus text format.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.set.WritePrometheus(w)
	output.WritePrometheus(w)
	vm.WriteProcessMetrics(w)
}
