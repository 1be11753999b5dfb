// Package drill runs StreamGate's fault drills: the real binaries (the
// proxy, the control plane, the load generator and the blackhole sink) as
// separate processes on loopback, with faults injected while lines flow.
// Each drill accounts for every line it sent: delivered (distinct lines at
// the sink), filtered or dropped with a counted reason; what none of those
// explains is lost uncounted, and must be 0.
package drill

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	lgsink "streamgate/loadgen/sink"
)

// Config says what to run.
type Config struct {
	// StreamGate and Loadgen are the binaries; RedisServer is redis-server
	// ("" skips the drills that need it).
	StreamGate, Loadgen, RedisServer string
	// Short is CI's subset: one Redis restart with a publish during the
	// outage, one sink outage, one Kafka broker restart, one batch of bad
	// input, the slowbody and halflines memory attacks, a SIGKILL during a
	// short sink outage with a disk buffer, and a dead-letter storm.
	Short bool
	// FuzzTime is how long each fuzz target runs (0: not at all), and
	// FuzzParallel how many targets run at once; Repo is the repository
	// root the fuzz targets are run from.
	FuzzTime     time.Duration
	FuzzParallel int
	FuzzTargets  []FuzzTarget
	Repo         string
	Logger       *slog.Logger
}

// Drills runs the drills.
type Drills struct {
	cfg Config
	rig lab.Rig // starts the proxies, sinks and senders; its Dir holds the temporary files
	log *slog.Logger
}

// New prepares the drills; Close removes their temporary files.
func New(cfg Config) (*Drills, error) {
	rig, err := lab.NewRig(cfg.StreamGate, cfg.Loadgen, "streamgate-chaos")
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FuzzParallel < 1 {
		cfg.FuzzParallel = 1
	}
	return &Drills{cfg: cfg, rig: rig, log: cfg.Logger}, nil
}

// Close removes temporary files.
func (d *Drills) Close() error { return d.rig.Close() }

// drill is one scenario.
type drill struct {
	name, description string
	run               func(ctx context.Context, sc *result.ChaosScenario) error
	short             bool // part of CI's subset
}

func (d *Drills) drills() []drill {
	return []drill{
		{"redis_restarts", "a real redis-server killed (SIGKILL) and restarted under load, a manifest published during each outage", d.redisRestarts, true},
		{"embedded_redis_restarts", "the embedded Redis (miniredis) stopped and restarted under load, a manifest published during each outage", d.embeddedRestarts, false},
		{"http_sink_faults", "the HTTP output's endpoint fails: 500s, 429 + Retry-After, stalls, connection resets, down; a console output runs beside it", d.httpSinkFaults, true},
		{"kafka_restart", "a kafka output's broker (in-process, its log on disk) stopped under load and started again on the same port", d.kafkaRestart, true},
		{"kafka_input_restart", "a Kafka input's broker (in-process, its log on disk) stopped while records are produced and read, and started again on the same port: every acknowledged record reaches the sink", d.kafkaInputRestart, true},
		{"overload", "5× the proxy's capacity for 30 s under drop_oldest, with filter and redaction rules", d.overload, false},
		{"bad_input", "oversize and binary lines, 10,000 connections, slow clients, a UDP flood, bad API bodies, invalid manifests in Redis", d.badInput, true},
		{"slowbody", "30 HTTP requests each sending 31 MiB of a 32 MiB body and stalling, beside a TCP load: the proxy's memory stays bounded", d.slowBody, true},
		{"halflines", "1,000 TCP connections each holding an unfinished line of ~1 MB, beside a TCP load: the proxy's memory stays bounded", d.halfLines, true},
		{"sigterm", "SIGTERM under load with a healthy sink: everything accepted is delivered", d.sigterm, false},
		{"sigkill", "SIGKILL under load: how many accepted lines were only in memory", d.sigkill, false},
		{"disk_sigkill", "an http output with a disk buffer (sync interval), its sink down under load, the proxy killed (SIGKILL) during the outage and restarted on the same -data-dir: every line on disk is delivered", d.diskSigkill, true},
		{"disk_full", "an 8 MiB disk buffer filled during a sink outage under load: drops counted as disk_full, nothing else lost", d.diskFull, false},
		{"disk_corrupt", "a disk buffer's files damaged between a clean stop and a restart (a torn tail, flipped bytes): the damaged records are counted, every other line delivered", d.diskCorrupt, false},
		{"dead_letter_storm", "the http output's destination refuses every request (400) under load: every batch a dead letter; then it accepts, and streamgate dlq replay delivers them all once", d.deadLetterStorm, true},
		{"nestedjson", "1 MB lines of JSON nested up to 500,000 levels deep through an attribute_filter, beside a normal load", d.nestedJSON, false},
		{"regexbomb", "200 rules of huge regular expression alternations posted to the API, published, and written to Redis in manifests, under load", d.regexBomb, false},
		{"fuzz", "every fuzz target", d.fuzz, false},
	}
}

// Names lists the drills in the order Run runs them.
func Names() []string {
	var out []string
	for _, dr := range (&Drills{}).drills() {
		out = append(out, dr.name)
	}
	return out
}

// Run runs the drills named in only (all when empty; CI's subset when
// Short) and returns their results. A drill that fails to run is reported
// as failed, and the others still run.
func (d *Drills) Run(ctx context.Context, only []string) ([]result.ChaosScenario, error) {
	want, unknown := map[string]bool{}, map[string]bool{}
	for _, n := range only {
		want[n], unknown[n] = true, true
	}
	var out []result.ChaosScenario
	for _, dr := range d.drills() {
		switch {
		case len(want) > 0 && !want[dr.name]:
			continue
		case len(want) == 0 && d.cfg.Short && !dr.short:
			continue
		}
		delete(unknown, dr.name)
		if dr.name == "fuzz" && d.cfg.FuzzTime == 0 {
			if want[dr.name] {
				return out, fmt.Errorf("the fuzz drill needs -fuzztime")
			}
			continue
		}
		sc := result.ChaosScenario{Name: dr.name, Description: dr.description}
		d.log.Info("drill", "name", dr.name)
		start := time.Now()
		if err := dr.run(ctx, &sc); err != nil {
			sc.Failures = append(sc.Failures, err.Error())
		}
		sc.Seconds = round3(time.Since(start).Seconds())
		if sc.LostUncounted != 0 {
			sc.Failures = append(sc.Failures, fmt.Sprintf("%d lines lost uncounted", sc.LostUncounted))
		}
		sc.Passed = len(sc.Failures) == 0
		var failed []string
		for _, c := range sc.Cases {
			if !c.Passed {
				sc.Passed = false
				failed = append(failed, c.Name+": "+c.Outcome)
			}
		}
		d.log.Info("drill done", "name", dr.name, "passed", sc.Passed, "seconds", sc.Seconds,
			"failures", strings.Join(append(sc.Failures, failed...), "; "))
		out = append(out, sc)
		if ctx.Err() != nil {
			break
		}
	}
	if len(unknown) > 0 {
		var names []string
		for n := range unknown {
			names = append(names, n)
		}
		return out, fmt.Errorf("unknown drill %s (have %s)", strings.Join(names, ", "), strings.Join(Names(), ", "))
	}
	return out, nil
}

// account fills sc's line accounting for one output whose lines reach the
// sink: sent lines are delivered (got: distinct lines at the sink),
// filtered, dropped before the outputs, dropped by that output or kept as
// its dead letters, or lost uncounted. Drops of other outputs do not excuse a missing line. It adds
// to what sc holds, so a drill can account for several phases.
func account(sc *result.ChaosScenario, sent int64, c, base lab.Counters, out string, got int64) {
	filtered := int64(c.Filtered - base.Filtered)
	ingest := int64(c.Dropped - base.Dropped)
	// Dead letters are not delivered, and counted: with the drops here.
	outDrop := int64(c.OutputDropped(out) - base.OutputDropped(out) + c.OutputDeadLettered(out) - base.OutputDeadLettered(out))
	sc.Sent += sent
	sc.Delivered += got
	sc.Filtered += filtered
	sc.Dropped += ingest + outDrop
	if sc.DroppedByReason == nil {
		sc.DroppedByReason = map[string]int64{}
	}
	for k, v := range dropReasons(c, base) {
		sc.DroppedByReason[k] += v
	}
	lost := sent - got - filtered - ingest - outDrop
	sc.LostUncounted += max(lost, -lost) // more lines than sent is as wrong as fewer
}

// accountSink is account for sequenced load: got is the distinct
// well-formed lines the sink received since base, and a line too far out
// of order to check fails the drill.
func accountSink(sc *result.ChaosScenario, sent int64, c lab.Counters, base lab.Mark, out string, st lgsink.Stats) {
	account(sc, sent, c, base.Counters, out, unique(st)-unique(base.Sink))
	if late := st.TooLate - base.Sink.TooLate; late > 0 {
		sc.Failures = append(sc.Failures, fmt.Sprintf("%d lines reached the sink too far out of order to check", late))
	}
}

// check records a case.
func check(sc *result.ChaosScenario, name string, ok bool, format string, args ...any) {
	sc.Cases = append(sc.Cases, result.ChaosCase{Name: name, Outcome: fmt.Sprintf(format, args...), Passed: ok})
}

// fault records an injected fault.
func fault(sc *result.ChaosScenario, format string, args ...any) {
	sc.FaultsInjected++
	sc.Faults = append(sc.Faults, fmt.Sprintf(format, args...))
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
