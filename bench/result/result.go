// Package result is the schema of a benchmark run as written to
// results/runs/<date>-<commit>.json, and its reading and writing.
package result

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Run is one `make bench` run.
type Run struct {
	// Date is when the run started, RFC 3339, UTC.
	Date string `json:"date"`
	// Commit is the short git commit of the code measured; "-dirty" is
	// appended when the tree had uncommitted changes.
	Commit string `json:"commit"`
	// Short is set for the reduced run CI makes.
	Short bool `json:"short,omitempty"`
	// Environment of the run.
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	CPU        string `json:"cpu"`
	Cores      int    `json:"cores"`
	// Command is the command line that produced the run.
	Command   string     `json:"command"`
	Scenarios []Scenario `json:"scenarios"`
	// Micro holds the Go micro-benchmarks of the hot path.
	Micro []Micro `json:"micro,omitempty"`
	// Detectors is the detectors' precision and recall on the labelled
	// corpus (dataplane/match TestPrecisionRecall).
	Detectors *DetectorScores `json:"detectors,omitempty"`
	// Notes say how the scenarios measure, e.g. which output S1 goes through.
	Notes []string `json:"notes,omitempty"`
}

// Scenario is one end-to-end scenario's figures. A figure that a scenario
// does not measure is zero and omitted.
type Scenario struct {
	// Name is F0_floor, S1_raw, S2_filter_redact, S3_http_output,
	// S4_overload or S5_idle, another S2 or S3 variant (S2D and S3D queue
	// on disk), S6D_disk_backlog, or an S1 variant through another
	// listener (SYSLOG_tcp_octet, SYSLOG_tcp_newline, OTLP_http_ingest).
	Name        string `json:"name"`
	Description string `json:"description"`
	// Output is what the proxy delivers to in this scenario.
	Output string `json:"output,omitempty"`

	// Throughput is the median of Runs, in lines/s received by the proxy
	// (closed loop: the sender goes as fast as the proxy takes lines).
	Throughput float64   `json:"throughput_lines_per_s,omitempty"`
	Runs       []float64 `json:"throughput_runs,omitempty"`
	// FloorFraction is Throughput over the floor scenario's, measured in
	// the same run: the sender straight into the sink, no proxy. It is
	// what the lab lets the proxy reach on this machine, so the fraction
	// compares across machines where lines/s do not.
	FloorFraction float64 `json:"floor_fraction,omitempty"`
	// MemoryFraction is, for a scenario whose output queues on disk,
	// Throughput over that of the same scenario in memory, MemoryScenario,
	// measured in the same run.
	MemoryFraction float64 `json:"memory_fraction,omitempty"`
	MemoryScenario string  `json:"memory_scenario,omitempty"`
	// BaseFraction is, for a scenario that takes the lines of another in
	// another form (syslog, OTLP), Throughput over that of BaseScenario,
	// measured in the same run.
	BaseFraction float64 `json:"base_fraction,omitempty"`
	BaseScenario string  `json:"base_scenario,omitempty"`
	// DiskBacklogBytes is the backlog a disk scenario filled its queue with
	// while the destination was down, and DrainLinesPerS the rate at which
	// it delivered it once the destination was back.
	DiskBacklogBytes int64   `json:"disk_backlog_bytes,omitempty"`
	DrainLinesPerS   float64 `json:"drain_lines_per_s,omitempty"`

	// Latency, end to end (sender's scheduled time to sink), at OpenLoopRate.
	OpenLoopRate float64 `json:"open_loop_lines_per_s,omitempty"`
	P50          float64 `json:"p50_ms,omitempty"`
	P99          float64 `json:"p99_ms,omitempty"`
	P999         float64 `json:"p999_ms,omitempty"`
	Max          float64 `json:"max_ms,omitempty"`
	// SenderLagP99 is how late the sender itself was against its schedule
	// (p99, ms); latency includes it, as it is measured from the schedule.
	SenderLagP99 float64 `json:"sender_schedule_lag_p99_ms,omitempty"`
	// SenderUnsent counts lines the open-loop sender had scheduled but did
	// not write; the latency figures leave them out.
	SenderUnsent int64 `json:"sender_unsent,omitempty"`

	PeakRSSMB      float64 `json:"peak_rss_mb,omitempty"`
	CPUSPerMillion float64 `json:"cpu_s_per_million,omitempty"`
	IdleCPUPercent float64 `json:"idle_cpu_percent,omitempty"`
	Sent           int64   `json:"sent,omitempty"`
	Delivered      int64   `json:"delivered,omitempty"`
	Filtered       int64   `json:"filtered,omitempty"`
	DroppedCounted int64   `json:"dropped_counted,omitempty"`
	Lost           int64   `json:"lost"`      // lines lost uncounted: must be 0
	PIILeaks       int64   `json:"pii_leaks"` // unredacted SSNs or cards at the sink
	// LeakEvery is, for a load that sends no PII, the one line in
	// LeakEvery the sink scanned for leaks; 0, every line.
	LeakEvery       int   `json:"leak_every,omitempty"`
	BreakerOpened   int64 `json:"breaker_opened,omitempty"`
	BreakerBypassed int64 `json:"breaker_bypassed_lines,omitempty"`

	// Profile is the top of a CPU profile of the proxy taken during the
	// throughput runs.
	Profile []ProfileEntry `json:"profile_top,omitempty"`
	// Passed is false when a gate of the scenario failed; Failures say why.
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// ProfileEntry is one function of a CPU profile.
type ProfileEntry struct {
	Function string  `json:"function"`
	FlatPct  float64 `json:"flat_pct"`
	CumPct   float64 `json:"cum_pct"`
}

// Micro is one Go benchmark result.
type Micro struct {
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	MBPerS      float64 `json:"mb_per_s,omitempty"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
}

// Write stores r as dir/<date>-<commit>.json and returns the path.
func Write(dir string, r *Run) (string, error) {
	return writeJSON(dir, r.Date, r.Commit, r)
}

func writeJSON(dir, date, commit string, v any) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("cannot create %s: %w", dir, err)
	}
	if len(date) >= 10 {
		date = date[:10]
	}
	path := filepath.Join(dir, date+"-"+commit+".json")
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", fmt.Errorf("cannot encode run: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("cannot write run: %w", err)
	}
	return path, nil
}

// ReadAll reads every run in dir, oldest first.
func ReadAll(dir string) ([]*Run, error) {
	return readAll[Run](dir, func(r *Run) string { return r.Date })
}

// readAll decodes every JSON file in dir, sorted by date. A missing dir
// holds none.
func readAll[T any](dir string, date func(*T) string) ([]*T, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*T
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", p, err)
		}
		v := new(T)
		if err := json.Unmarshal(b, v); err != nil {
			return nil, fmt.Errorf("cannot decode %s: %w", p, err)
		}
		out = append(out, v)
	}
	sort.SliceStable(out, func(i, j int) bool { return date(out[i]) < date(out[j]) })
	return out, nil
}

// Find returns the scenario with the given name, or nil.
func (r *Run) Find(name string) *Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// DetectorScores is the detectors' precision and recall over a labelled
// corpus of Lines lines.
type DetectorScores struct {
	Lines     int             `json:"lines"`
	Detectors []DetectorScore `json:"detectors"`
}

// DetectorScore is one detector's counts over the corpus.
type DetectorScore struct {
	Detector  string  `json:"detector"`
	Category  string  `json:"category"`
	Positives int     `json:"positives"`
	TP        int     `json:"true_positives"`
	FN        int     `json:"false_negatives"`
	FP        int     `json:"false_positives"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
}
