package report

// Scenario names, as in result.Scenario.Name.
const (
	// F0 is the lab's floor: the sender straight into the sink.
	F0 = "F0_floor"
	S1 = "S1_raw"
	S2 = "S2_filter_redact"
	// S2J is S2 on a mix with JSON lines, some of them escaped.
	S2J = "S2J_json_redact"
	// S2A is S2's filter and every built-in detector.
	S2A = "S2A_all_detectors"
	// S2S is S2 and a sample, a rate limit and a dedup that remove none
	// of its lines.
	S2S = "S2S_sample_dedup"
	S3  = "S3_http_output"
	S4  = "S4_overload"
	S5  = "S5_idle"
	// S2D, S3D and S3DA are S2 and S3 with the output's queue on disk
	// (sync interval; S3DA sync always).
	S2D  = "S2D_filter_redact_disk"
	S3D  = "S3D_http_output_disk"
	S3DA = "S3DA_http_output_disk_always"
	// S6D fills a disk queue while the destination is down, then delivers
	// it: its figure is the peak RSS.
	S6D = "S6D_disk_backlog"
	// SYSO and SYSN send S1's lines as syslog messages over TCP, octet
	// counted or newline framed; OTLPH as OTLP/HTTP log records.
	SYSO  = "SYSLOG_tcp_octet"
	SYSN  = "SYSLOG_tcp_newline"
	OTLPH = "OTLP_http_ingest"
	// KAFKAO sends S1's lines to a kafka output.
	KAFKAO = "KAFKA_output"
)

// Targets of DESIGN §4 that apply to every scenario.
const (
	// GoalP99Ms is the p99 goal of S1–S3, in milliseconds.
	GoalP99Ms = 2.0
	// GoalP99Rate is the open-loop rate, in lines/s, at which GoalP99Ms holds.
	GoalP99Rate = 100_000.0
	// GoalRSSMB is the peak RSS goal, in MB.
	GoalRSSMB = 64.0
	// GoalIdleCPUPercent is the idle CPU goal: strictly below it.
	GoalIdleCPUPercent = 1.0
	// GoalFloor is the lab's own goal: the sender straight into the sink,
	// closed loop, in lines/s (2 cores), so that the lab's cost leaves the
	// proxy room to show what it does.
	GoalFloor = 3_500_000.0
)

// Goal holds the seed's figures and our goals for one scenario
// (DESIGN §4). Zero fields do not apply.
type Goal struct {
	// Label is the scenario's short human name.
	Label string
	// Seed describes the seed's figures (M2, 8 cores).
	Seed string
	// Throughput is the throughput goal, in lines/s (2 cores).
	Throughput float64
	// CIFloorFraction is the fraction of the floor, measured in the same
	// run, that CI gates on.
	CIFloorFraction float64
	// P99 is the p99 goal in ms, at GoalP99Rate lines/s open loop.
	P99 float64
	// OfMemory is, for a scenario whose output queues on disk, the
	// fraction of its in-memory scenario's throughput aimed at.
	OfMemory float64
	// OfBase is, for a scenario compared with another (Base), the
	// fraction of Base's throughput aimed at.
	OfBase float64
	Base   string
}

// Goals maps a scenario name to its goal.
var Goals = map[string]Goal{
	F0:     {Label: "floor", Seed: "—", Throughput: GoalFloor},
	S1:     {Label: "raw", Seed: "200,000 lines/s, p99 < 2 ms", Throughput: 2_000_000, CIFloorFraction: 0.40, P99: GoalP99Ms},
	S2:     {Label: "filter + redact", Seed: "150,000 lines/s, p99 < 5 ms", Throughput: 1_500_000, CIFloorFraction: 0.40, P99: GoalP99Ms},
	S2J:    {Label: "filter + redact, JSON", Seed: "—", Throughput: 1_050_000, P99: GoalP99Ms},
	S2A:    {Label: "filter + every detector", Seed: "—", OfBase: GoalAllDetectorsOfS2, Base: S2},
	S2S:    {Label: "filter + redact + sample, rate limit, dedup", Seed: "—", OfBase: GoalSampleDedupOfS2, Base: S2},
	S3:     {Label: "HTTP output", Seed: "50,000 lines/s, p99 < 20 ms", Throughput: 1_000_000, P99: GoalP99Ms},
	S4:     {Label: "overload", Seed: "~50 MB RSS with a 10k-slot buffer"},
	S5:     {Label: "idle", Seed: "idle CPU < 1 %"},
	S2D:    {Label: "filter + redact, disk buffer", Seed: "—", OfMemory: GoalOfMemory},
	S3D:    {Label: "HTTP output, disk buffer", Seed: "—", OfMemory: GoalOfMemory},
	S3DA:   {Label: "HTTP output, disk buffer, sync always", Seed: "—"},
	S6D:    {Label: "disk backlog", Seed: "—"},
	SYSO:   {Label: "raw, syslog over TCP, octet counting", Seed: "—", OfBase: GoalSyslogOfRaw, Base: S1},
	SYSN:   {Label: "raw, syslog over TCP, newline framing", Seed: "—", OfBase: GoalSyslogOfRaw, Base: S1},
	OTLPH:  {Label: "raw, OTLP/HTTP ingest", Seed: "—"},
	KAFKAO: {Label: "raw, Kafka output", Seed: "—"},
}

// GoalSyslogOfRaw is the fraction of S1's throughput the syslog TCP
// listener aims at with the same lines, passed on as received.
const GoalSyslogOfRaw = 0.70

// GoalAllDetectorsOfS2 is the fraction of S2's throughput S2A aims at:
// every built-in detector in one rule.
const GoalAllDetectorsOfS2 = 0.60

// GoalSampleDedupOfS2 is the fraction of S2's throughput S2S aims at:
// sampling, rate limiting and dedup cost at most 5 %.
const GoalSampleDedupOfS2 = 0.95

// GoalOfMemory is the fraction of its in-memory scenario's throughput a
// disk-buffered scenario aims at (DESIGN §4: a disk queue at ≥ 80 % of
// memory speed).
const GoalOfMemory = 0.80

// scenarioOrder is the order scenarios are shown in.
var scenarioOrder = []string{F0, S1, S2, S2J, S2A, S2S, S2D, S3, S3D, S3DA, S4, S5, S6D}

// MeetsThroughput reports whether throughput meets the goal of scenario
// name; ok is false when the scenario has no throughput goal.
func MeetsThroughput(name string, throughput float64) (meets, ok bool) {
	g := Goals[name]
	if g.Throughput == 0 {
		return false, false
	}
	return throughput >= g.Throughput, true
}

// MeetsP99 reports whether a p99 of p99 ms measured at rate lines/s open
// loop meets the goal of scenario name: it must be at most the goal and
// measured at no less than GoalP99Rate. ok is false when the scenario has
// no p99 goal.
func MeetsP99(name string, p99, rate float64) (meets, ok bool) {
	g := Goals[name]
	if g.P99 == 0 {
		return false, false
	}
	return p99 > 0 && p99 <= g.P99 && rate >= GoalP99Rate, true
}

// MeetsRSS reports whether a peak RSS in MB meets the goal.
func MeetsRSS(mb float64) bool { return mb <= GoalRSSMB }

// MeetsIdleCPU reports whether an idle CPU percentage meets the goal.
func MeetsIdleCPU(percent float64) bool { return percent < GoalIdleCPUPercent }

// MeetsOfBase reports whether a scenario's throughput, as the fraction
// frac of its base scenario's, meets the goal of scenario name; ok is
// false when the scenario has no such goal.
func MeetsOfBase(name string, frac float64) (meets, ok bool) {
	g := Goals[name]
	if g.OfBase == 0 {
		return false, false
	}
	return frac >= g.OfBase, true
}

// MeetsOfMemory reports whether a disk-buffered scenario's throughput, as
// the fraction frac of its in-memory scenario's, meets the goal of
// scenario name; ok is false when the scenario has no such goal.
func MeetsOfMemory(name string, frac float64) (meets, ok bool) {
	g := Goals[name]
	if g.OfMemory == 0 {
		return false, false
	}
	return frac >= g.OfMemory, true
}
