package pipeline

import (
	"math"
	"sync/atomic"
	"time"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
)

// The egress audit checks what actually leaves: every Options.AuditEvery-th
// line a worker hands to the outputs is scanned again, as its receiver will
// read it (a JSON line with its strings decoded), with every built-in
// detector. A finding means the chain lacks a rule: it is counted in
// streamgate_egress_pii_total{detector,output} once per output the line goes
// to, and logged at most once a minute per pipeline, with the configuration
// version and the line's position, never its value. The audit changes no
// line.
//
// Sampling is a countdown in each worker, so which lines are scanned is
// deterministic: the AuditEvery-th, 2×AuditEvery-th, … line each worker
// emits. A scanned line without findings costs one pass of each detector
// (a JSON line with escapes is decoded once for all of them) and no
// allocation; only a line with findings is scanned again by each.

// auditor is a built-in detector as the audit runs it.
type auditor struct {
	name string
	r    match.Replacer
}

// DefaultAuditDetectors are the detectors the audit runs unless told
// otherwise: the kinds of personal data that most often leak. Each more
// detector costs a pass over every line scanned.
var DefaultAuditDetectors = []string{"ssn", "credit_card", "email", "ipv4"}

// audit is a pipeline's egress audit: its detectors, JSON-aware, in the
// order of match.Detectors (an output's egress counters are in the same
// order), and any, which finds what any of them finds: a clean JSON line
// with escapes is decoded once for all detectors, not once for each, and
// only a line in which it finds something is scanned by each.
type audit struct {
	auditors []auditor
	any      match.Replacer
}

// newAudit builds the audit of the detectors names selects (names,
// categories or "all"; nil means DefaultAuditDetectors).
func newAudit(names []string) (*audit, error) {
	if names == nil {
		names = DefaultAuditDetectors
	}
	ds, err := match.SelectDetectors(names)
	if err != nil {
		return nil, err
	}
	a := &audit{any: match.JSONAware(anyDetector(ds), false)}
	for _, d := range ds {
		a.auditors = append(a.auditors, auditor{name: d.Name, r: match.JSONAware(d.Replacer(""), false)})
	}
	return a, nil
}

// anyDetector is a match.Replacer that finds what any of its detectors
// finds. It only answers whether there is a finding.
type anyDetector []*match.Detector

// Finds implements match.Replacer.
func (a anyDetector) Finds(line []byte) bool {
	for _, d := range a {
		if s, _ := d.Find(line, 0); s >= 0 {
			return true
		}
	}
	return false
}

// AppendReplace implements match.Replacer: it reports whether any detector
// finds something in line. It rewrites nothing, but with a finding it
// appends line as it is, so that a caller that scans a JSON value with its
// key before it gets the key back, and takes the finding for the value's.
func (a anyDetector) AppendReplace(dst, line []byte) ([]byte, bool) {
	if !a.Finds(line) {
		return dst, false
	}
	return append(dst, line...), true
}

// auditLogEvery rate-limits the warning about personal data leaving.
const auditLogEvery = time.Minute

// auditLog rate-limits the audit's warning for a pipeline: its workers
// share it.
type auditLog struct {
	next atomic.Int64  // Unix nanoseconds before which no warning is logged
	hits atomic.Uint64 // findings since the last warning
}

// firstAudit is a new worker's auditAt: the index of the first line to scan.
func firstAudit(every int) int {
	if every < 0 {
		return math.MaxInt
	}
	return every - 1
}

// audit scans the lines of b, the batch being flushed, that are due, and
// moves auditAt to the next line due after b. flush calls it only when a
// line of b is due, or when the audit is off, which puts the next line due
// out of reach.
func (w *worker) audit(b *record.Batch) {
	every := w.p.opts.AuditEvery
	if every < 0 {
		w.auditAt = math.MaxInt
		return
	}
	i, scanned := w.auditAt, 0
	for ; i < len(b.Lines); i += every {
		w.auditLine(b.Lines[i], w.emitted+uint64(i)+1)
		scanned++
	}
	w.auditAt = i - len(b.Lines)
	w.p.m.EgressAudited.Add(scanned)
}

// auditLine runs the audit's detectors on line, the seq-th this worker emits,
// and counts each that finds something for every output of the current
// generation.
func (w *worker) auditLine(line []byte, seq uint64) {
	a := w.p.auditor
	if !a.any.Finds(line) {
		return
	}
	for k := range a.auditors {
		if !a.auditors[k].r.Finds(line) {
			continue
		}
		for _, r := range w.gen.outs {
			r.pii[k].Inc()
		}
		w.auditFound(k, seq)
	}
}

// auditFound counts a finding of the k-th detector in the seq-th line this
// worker emits, and logs it unless the pipeline logged one less than a
// minute ago. The warning says where the line was and under which
// configuration, and how many findings there were since the last warning:
// not what was found.
func (w *worker) auditFound(k int, seq uint64) {
	a := &w.p.audit
	a.hits.Add(1)
	now := time.Now().UnixNano()
	next := a.next.Load()
	if now < next || !a.next.CompareAndSwap(next, now+int64(auditLogEvery)) {
		return
	}
	hits := a.hits.Swap(0)
	outs := make([]string, 0, len(w.gen.outs))
	for _, r := range w.gen.outs {
		outs = append(outs, r.name)
	}
	w.p.log.Warn("personal data found leaving: a redaction rule is missing",
		"detector", w.p.auditor.auditors[k].name, "outputs", outs, "findings", hits,
		"version", w.gen.cfg.Version, "worker", w.id, "line", seq,
		"audit_every", w.p.opts.AuditEvery)
}
