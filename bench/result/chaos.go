package result

// ChaosRun is one `make chaos` run, as written to
// results/chaos/<date>-<commit>.json.
type ChaosRun struct {
	// Date is when the run started, RFC 3339, UTC.
	Date string `json:"date"`
	// Commit is the short git commit of the code exercised; "-dirty" is
	// appended when the tree had uncommitted changes.
	Commit string `json:"commit"`
	// Short is set for CI's subset.
	Short       bool            `json:"short,omitempty"`
	GoVersion   string          `json:"go_version"`
	CPU         string          `json:"cpu"`
	Cores       int             `json:"cores"`
	Command     string          `json:"command"`
	RedisServer string          `json:"redis_server,omitempty"`
	Scenarios   []ChaosScenario `json:"scenarios"`
}

// ChaosScenario is what one fault scenario did to the lines.
type ChaosScenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// FaultsInjected counts the faults; Faults says what they were.
	FaultsInjected int      `json:"faults_injected"`
	Faults         []string `json:"faults,omitempty"`
	// LoadLinesPerS is the load the sender held while the faults ran.
	LoadLinesPerS float64 `json:"load_lines_per_s"`
	// Sent lines; Delivered (distinct lines at the sink), Filtered and
	// Dropped (counted by the proxy, by reason in DroppedByReason) account
	// for them, and LostUncounted is what none of them explains.
	Sent            int64            `json:"sent"`
	Delivered       int64            `json:"delivered"`
	Filtered        int64            `json:"filtered"`
	Dropped         int64            `json:"dropped"`
	DroppedByReason map[string]int64 `json:"dropped_by_reason,omitempty"`
	LostUncounted   int64            `json:"lost_uncounted"`
	// LostOnKill is, for SIGKILL, the accepted lines that were only in the
	// proxy's memory: what a persistent buffer would keep.
	LostOnKill int64 `json:"lost_on_kill,omitempty"`
	// RecoveryS is the longest time from the end of a fault to normal
	// service (config converged, output caught up, breaker closed).
	RecoveryS float64 `json:"recovery_s"`
	// MaxStallS is the longest time no line reached the sink while load ran.
	MaxStallS float64 `json:"max_stall_s,omitempty"`
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// Cases are the checks of the scenario, one line each.
	Cases    []ChaosCase `json:"cases,omitempty"`
	Seconds  float64     `json:"seconds"`
	Passed   bool        `json:"passed"`
	Failures []string    `json:"failures,omitempty"`
}

// ChaosCase is one fault or input and what the proxy did with it.
type ChaosCase struct {
	Name    string `json:"name"`
	Outcome string `json:"outcome"`
	Passed  bool   `json:"passed"`
}

// WriteChaos stores r as dir/<date>-<commit>.json and returns the path.
func WriteChaos(dir string, r *ChaosRun) (string, error) {
	return writeJSON(dir, r.Date, r.Commit, r)
}

// ReadChaos reads every chaos run in dir, oldest first. A missing dir
// holds no runs.
func ReadChaos(dir string) ([]*ChaosRun, error) {
	return readAll[ChaosRun](dir, func(r *ChaosRun) string { return r.Date })
}
