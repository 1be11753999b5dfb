package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/google/pprof/profile"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	"streamgate/loadgen/sender"
	lgsink "streamgate/loadgen/sink"
)

// Config says what to run.
type Config struct {
	// StreamGate and Loadgen are the binaries.
	StreamGate, Loadgen string
	// Short is CI's reduced run: one throughput run per scenario, fewer
	// lines, shorter phases.
	Short bool
	// Runs is how many closed-loop throughput runs are made per scenario;
	// the median is reported.
	Runs int
	// Lines per throughput run.
	Lines int
	// LatencyRate (lines/s) and LatencyFor: the open-loop latency phase.
	LatencyRate int
	LatencyFor  time.Duration
	// OverloadFor and IdleFor: the S4 and S5 phases.
	OverloadFor, IdleFor time.Duration
	// Conns is the sender's connection count.
	Conns int
	// ProfileDir keeps the raw CPU profiles; "" discards them.
	ProfileDir string
	Logger     *slog.Logger
}

// FloorGate is the fraction of the lab's floor, measured in the same run,
// under which S1 or S2 fails: a ratio, which holds on a slower or busier
// machine where a number of lines/s would not.
const FloorGate = 0.40

// FloorName is the floor scenario's: the sender straight into the sink.
const FloorName = "F0_floor"

// manifests by scenario; %s is the output.
const (
	rawManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[],
		"outputs":[%s],"batch_size":100}]}`
	// httpManifest is S3's: a vendor takes fuller requests, so the batch
	// is 1000 lines; an idle output still sends after its linger.
	httpManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[],
		"outputs":[%s],"batch_size":1000}]}`
	allDetectorsManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[
		{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},
		{"id":"redact_all","type":"redact","params":{"detector":"all"}}],
		"outputs":[%s],"batch_size":100}]}`
	filterRedactManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[
		{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},
		{"id":"redact_ssn","type":"redact","params":{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}},
		{"id":"redact_cards","type":"redact","params":{"detector":"credit_card"}}],
		"outputs":[%s],"batch_size":100}]}`
)

// rig is a running data plane and the sink its manifest sends to.
type rig struct {
	px   *lab.Proxy
	sink *lab.Sink
	out  lab.Output // the proxy's output to the sink
}

// startRig starts a sink and a data plane whose manifest sends to it over
// output ("tcp" or "http"), under the overflow policy overflow.
func (h *Harness) startRig(name, manifest, output, overflow string) (*rig, error) {
	sink, err := h.lab.StartSink()
	if err != nil {
		return nil, err
	}
	r := &rig{sink: sink, out: sink.TCPOutput()}
	if output == "http" {
		r.out = sink.HTTPOutput()
	}
	r.px, err = h.lab.StartProxy(lab.ProxyOpts{Name: name, Manifest: fmt.Sprintf(manifest, r.out.JSON),
		Flags: []string{"-overflow", overflow, "-pprof"}}) // -pprof: takeProfile reads /debug/pprof/profile
	if err != nil {
		sink.Stop()
		return nil, err
	}
	return r, nil
}

func (r *rig) stop() {
	r.px.Stop()
	r.sink.Stop()
}

// mark zeroes the sink's statistics and marks where a run's accounting
// starts.
func (r *rig) mark(ctx context.Context) (lab.Mark, error) {
	if err := r.sink.Reset(); err != nil {
		return lab.Mark{}, err
	}
	return lab.TakeMark(ctx, r.px, r.sink)
}

// outcome is what a run through a rig gave.
type outcome struct {
	sum            sender.Summary
	sink           lgsink.Stats // the sink's, since the run's mark
	start, settled time.Time    // when the sender started; when the proxy was seen settled
}

// runLoad sends l through the rig from a fresh mark, waits until the proxy
// has settled, and adds the run's line accounting to sc.
func (h *Harness) runLoad(ctx context.Context, r *rig, sc *result.Scenario, l lab.Load) (outcome, error) {
	base, err := r.mark(ctx)
	if err != nil {
		return outcome{}, err
	}
	o := outcome{start: time.Now()}
	if o.sum, err = h.lab.Send(l); err != nil {
		return o, err
	}
	c, s, err := lab.Settle(ctx, r.px, r.sink, lab.Want{Base: base, Sent: o.sum.Sent, Out: r.out.Name})
	if err != nil {
		return o, err
	}
	o.sink, o.settled = s, time.Now()
	h.account(sc, o.sum, c, base.Counters, s)
	return o, nil
}

// Harness runs scenarios.
type Harness struct {
	cfg Config
	lab lab.Rig
	log *slog.Logger
}

// New prepares a harness; Close removes its temporary files.
func New(cfg Config) (*Harness, error) {
	rig, err := lab.NewRig(cfg.StreamGate, cfg.Loadgen, "streamgate-bench")
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Harness{cfg: cfg, lab: rig, log: cfg.Logger}, nil
}

// Close removes temporary files.
func (h *Harness) Close() error { return h.lab.Close() }

// throughputScenario measures S1, S2 or S3: closed-loop throughput (median
// of runs), CPU per million lines, a CPU profile, then open-loop latency.
func (h *Harness) throughputScenario(ctx context.Context, sc *result.Scenario, manifest, output string, mix ...string) error {
	r, err := h.startRig(sc.Name, manifest, output, "block")
	if err != nil {
		return err
	}
	defer r.stop()
	load := lab.Load{Target: "tcp://" + r.px.TCP, Conns: h.cfg.Conns, Flags: mix}
	closed := load
	closed.Lines = int64(h.cfg.Lines)

	var cpuTotal, linesTotal float64
	for run := 0; run < h.cfg.Runs; run++ {
		cpu0, _ := r.px.Proc.CPUSeconds()
		var prof chan []result.ProfileEntry
		if run == 0 {
			prof = h.profile(ctx, r.px, sc.Name)
		}
		o, err := h.runLoad(ctx, r, sc, closed)
		if err != nil {
			return err
		}
		// The run ends when the last line reached the sink, or when the proxy
		// took the last line if nothing reached the sink after it.
		end := o.settled
		if o.sink.LastNS > 0 {
			end = time.Unix(0, o.sink.LastNS)
		}
		elapsed := end.Sub(o.start).Seconds()
		tput := float64(o.sum.Sent) / elapsed
		sc.Runs = append(sc.Runs, math.Round(tput))
		cpu1, _ := r.px.Proc.CPUSeconds()
		cpuTotal += cpu1 - cpu0
		linesTotal += float64(o.sum.Sent)
		if prof != nil {
			sc.Profile = <-prof
		}
		h.log.Info("throughput run", "scenario", sc.Name, "run", run+1, "lines", o.sum.Sent, "seconds", fmt.Sprintf("%.2f", elapsed), "lines_per_s", int(tput))
	}
	sc.Throughput = median(sc.Runs)
	if linesTotal > 0 {
		sc.CPUSPerMillion = round3(cpuTotal / linesTotal * 1e6)
	}

	// Open loop at a fixed rate: latency from each line's scheduled time.
	open := load
	open.Rate, open.Duration = h.cfg.LatencyRate, h.cfg.LatencyFor
	o, err := h.runLoad(ctx, r, sc, open)
	if err != nil {
		return err
	}
	sum, s := o.sum, o.sink
	sc.OpenLoopRate = float64(h.cfg.LatencyRate)
	sc.SenderLagP99 = round3(sum.ScheduleLag.P99)
	sc.SenderUnsent = sum.Unsent
	if sum.Unsent > 0 {
		sc.Failures = append(sc.Failures, fmt.Sprintf("the sender could not write %d of %d lines on schedule; the latency figures leave them out", sum.Unsent, sum.Due))
	}
	sc.P50, sc.P99, sc.P999, sc.Max = round3(s.Latency.P50), round3(s.Latency.P99), round3(s.Latency.P999), round3(s.Latency.Max)
	sc.PeakRSSMB, _ = r.px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// floor measures the lab itself: the sender straight into the sink, no
// proxy, with the lines and connections of S1, closed loop (the median of
// the runs) and open loop at the latency rate. Every scenario's
// throughput is also given as a fraction of it.
func (h *Harness) floor(ctx context.Context, sc *result.Scenario) error {
	sink, err := h.lab.StartSink()
	if err != nil {
		return err
	}
	defer sink.Stop()
	load := lab.Load{Target: "tcp://" + sink.TCP, Conns: h.cfg.Conns, Flags: lab.NoPII()}
	send := func(l lab.Load) (sender.Summary, lgsink.Stats, time.Time, error) {
		if err := sink.Reset(); err != nil {
			return sender.Summary{}, lgsink.Stats{}, time.Time{}, err
		}
		start := time.Now()
		sum, err := h.lab.Send(l)
		if err != nil {
			return sum, lgsink.Stats{}, start, err
		}
		st, err := lab.SettleSink(ctx, sink, sum.Sent)
		if err == nil {
			sc.Sent += sum.Sent
			sc.Delivered += st.Lines
			lost := sum.Sent - (st.Lines - st.Unparsed) + st.Duplicated
			sc.Lost += max(lost, -lost)
		}
		return sum, st, start, err
	}
	closed := load
	closed.Lines = int64(h.cfg.Lines)
	for run := 0; run < h.cfg.Runs; run++ {
		sum, st, start, err := send(closed)
		if err != nil {
			return err
		}
		elapsed := time.Unix(0, st.LastNS).Sub(start).Seconds()
		if st.LastNS == 0 || elapsed <= 0 {
			return fmt.Errorf("the sink saw no line of run %d", run+1)
		}
		tput := float64(sum.Sent) / elapsed
		sc.Runs = append(sc.Runs, math.Round(tput))
		h.log.Info("throughput run", "scenario", sc.Name, "run", run+1, "lines", sum.Sent, "seconds", fmt.Sprintf("%.2f", elapsed), "lines_per_s", int(tput))
	}
	sc.Throughput = median(sc.Runs)
	open := load
	open.Rate, open.Duration = h.cfg.LatencyRate, h.cfg.LatencyFor
	sum, st, _, err := send(open)
	if err != nil {
		return err
	}
	sc.OpenLoopRate = float64(h.cfg.LatencyRate)
	sc.SenderLagP99 = round3(sum.ScheduleLag.P99)
	sc.SenderUnsent = sum.Unsent
	sc.P50, sc.P99, sc.P999, sc.Max = round3(st.Latency.P50), round3(st.Latency.P99), round3(st.Latency.P999), round3(st.Latency.Max)
	return nil
}

// account adds a run's line accounting to sc.
func (h *Harness) account(sc *result.Scenario, sum sender.Summary, c, base lab.Counters, s lgsink.Stats) {
	filtered := int64(c.Filtered - base.Filtered)
	// Dead letters are not delivered, and counted: with the drops here.
	dropped := int64(c.Dropped - base.Dropped + c.OutDropped - base.OutDropped + c.DeadLettered - base.DeadLettered)
	sc.Sent += sum.Sent
	sc.Delivered += s.Lines
	sc.Filtered += filtered
	sc.DroppedCounted += dropped
	// A line the sink cannot parse was mangled on the way: not delivered. A
	// run that delivered more than it was sent is as wrong as one that lost
	// lines; runs must not cancel each other out.
	lost := sum.Sent - (s.Lines - s.Unparsed) - filtered - dropped + s.Duplicated
	sc.Lost += max(lost, -lost)
	if s.TooLate > 0 {
		// Order is kept per connection, so this never happens legitimately,
		// and such a line might be a duplicate masking a loss.
		sc.Failures = append(sc.Failures, fmt.Sprintf("%d lines arrived too far out of order to check", s.TooLate))
	}
	sc.PIILeaks += s.PIILeaks
	sc.BreakerOpened += int64(c.BreakerOpened - base.BreakerOpened)
	sc.BreakerBypassed += int64(c.Bypassed - base.Bypassed)
}

// profile takes a CPU profile of the proxy for a few seconds, in the
// background, and summarises its top functions.
func (h *Harness) profile(ctx context.Context, px *lab.Proxy, name string) chan []result.ProfileEntry {
	out := make(chan []result.ProfileEntry, 1)
	secs := 3
	if h.cfg.Short {
		secs = 1
	}
	go func() {
		top, err := h.takeProfile(ctx, px, name, secs)
		if err != nil {
			h.log.Warn("cannot take cpu profile", "scenario", name, "err", err)
		}
		out <- top
	}()
	return out
}

func (h *Harness) takeProfile(ctx context.Context, px *lab.Proxy, name string, secs int) ([]result.ProfileEntry, error) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", px.Admin, secs)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := lab.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if h.cfg.ProfileDir != "" {
		os.MkdirAll(h.cfg.ProfileDir, 0o755)
		os.WriteFile(filepath.Join(h.cfg.ProfileDir, name+".pprof"), raw, 0o644)
	}
	p, err := profile.ParseData(raw)
	if err != nil {
		return nil, err
	}
	return Top(p, 10), nil
}

// Top summarises the n functions with the most flat CPU time in p.
func Top(p *profile.Profile, n int) []result.ProfileEntry {
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	flat := map[string]int64{}
	cum := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		seen := map[string]bool{}
		for i, loc := range s.Location {
			for j, line := range loc.Line {
				if line.Function == nil {
					continue
				}
				fn := line.Function.Name
				if i == 0 && j == 0 {
					flat[fn] += v
				}
				if !seen[fn] {
					seen[fn] = true
					cum[fn] += v
				}
			}
		}
	}
	if total == 0 {
		return nil
	}
	names := make([]string, 0, len(flat))
	for fn := range flat {
		names = append(names, fn)
	}
	sort.Slice(names, func(i, j int) bool {
		if flat[names[i]] != flat[names[j]] {
			return flat[names[i]] > flat[names[j]]
		}
		return names[i] < names[j]
	})
	var out []result.ProfileEntry
	for _, fn := range names[:min(n, len(names))] {
		out = append(out, result.ProfileEntry{Function: fn,
			FlatPct: round3(100 * float64(flat[fn]) / float64(total)),
			CumPct:  round3(100 * float64(cum[fn]) / float64(total))})
	}
	return out
}

// overload is S4: the filter+redact proxy under the drop_oldest policy, sent
// rate lines/s (several times what it can take) for a while.
func (h *Harness) overload(ctx context.Context, sc *result.Scenario, rate int) error {
	r, err := h.startRig(sc.Name, filterRedactManifest, "tcp", "drop_oldest")
	if err != nil {
		return err
	}
	defer r.stop()
	prof := h.profile(ctx, r.px, sc.Name)
	o, err := h.runLoad(ctx, r, sc, lab.Load{Target: "tcp://" + r.px.TCP, Conns: h.cfg.Conns, Rate: rate, Duration: h.cfg.OverloadFor})
	sc.Profile = <-prof
	if err != nil {
		return err
	}
	sc.OpenLoopRate = float64(rate)
	sc.Throughput = math.Round(o.sum.LinesPerS)
	sc.SenderUnsent = o.sum.Unsent // expected here: the sender is pushed past what it can do
	sc.PeakRSSMB, _ = r.px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// idle is S5: a proxy with nothing to do, its CPU use over IdleFor.
func (h *Harness) idle(sc *result.Scenario) error {
	r, err := h.startRig(sc.Name, rawManifest, "tcp", "block")
	if err != nil {
		return err
	}
	defer r.stop()
	time.Sleep(time.Second) // let start-up settle
	c0, err := r.px.Proc.CPUSeconds()
	if err != nil {
		return err
	}
	time.Sleep(h.cfg.IdleFor)
	c1, err := r.px.Proc.CPUSeconds()
	if err != nil {
		return err
	}
	sc.IdleCPUPercent = round3(100 * (c1 - c0) / h.cfg.IdleFor.Seconds())
	sc.PeakRSSMB, _ = r.px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// Run runs every scenario and applies the gates.
func (h *Harness) Run(ctx context.Context) ([]result.Scenario, error) {
	f0 := result.Scenario{Name: FloorName, Description: "the lab's floor: the sender straight into the sink, no proxy, S1's lines", Output: "sender → sink"}
	s1 := result.Scenario{Name: "S1_raw", Description: "pass-through, no processors", Output: "tcp → sink"}
	s2 := result.Scenario{Name: "S2_filter_redact", Description: "drop DEBUG, redact SSNs (the seed's regex) and card numbers", Output: "tcp → sink"}
	s2j := result.Scenario{Name: "S2J_json_redact", Description: "S2's rules on 40 % JSON lines, half of them with escaped values (\\u002d, \\u0040, \\/), which redaction decodes", Output: "tcp → sink"}
	s2a := result.Scenario{Name: "S2A_all_detectors", Description: "drop DEBUG, then one redact rule with every built-in detector (detector: all)", Output: "tcp → sink"}
	s3 := result.Scenario{Name: "S3_http_output", Description: "pass-through to an HTTP output (newline text POSTs, batch_size 1000, the output's default linger)", Output: "http → sink"}
	s4 := result.Scenario{Name: "S4_overload", Description: "S2's rules under drop_oldest at 3× S2's throughput", Output: "tcp → sink"}
	s5 := result.Scenario{Name: "S5_idle", Description: "no traffic"}
	var errs []error
	step := func(sc *result.Scenario, f func() error) {
		h.log.Info("scenario", "name", sc.Name)
		if err := f(); err != nil {
			sc.Failures = append(sc.Failures, err.Error())
			errs = append(errs, fmt.Errorf("%s: %w", sc.Name, err))
		}
	}
	// Without redaction rules, lines with PII would reach the sink as sent:
	// the raw scenarios send none.
	noPII := lab.NoPII()
	step(&f0, func() error { return h.floor(ctx, &f0) })
	step(&s1, func() error { return h.throughputScenario(ctx, &s1, rawManifest, "tcp", noPII...) })
	step(&s2, func() error { return h.throughputScenario(ctx, &s2, filterRedactManifest, "tcp") })
	if !h.cfg.Short {
		step(&s2j, func() error {
			return h.throughputScenario(ctx, &s2j, filterRedactManifest, "tcp", "-json", "0.4", "-escaped", "0.5")
		})
		step(&s2a, func() error { return h.throughputScenario(ctx, &s2a, allDetectorsManifest, "tcp") })
		step(&s3, func() error { return h.throughputScenario(ctx, &s3, httpManifest, "http", noPII...) })
	}
	rate := int(3 * s2.Throughput)
	if rate == 0 {
		rate = int(3 * FloorGate * f0.Throughput)
	}
	step(&s4, func() error { return h.overload(ctx, &s4, rate) })
	if !h.cfg.Short {
		step(&s5, func() error { return h.idle(&s5) })
	}

	gate := func(sc *result.Scenario, ok bool, format string, args ...any) {
		if !ok {
			sc.Failures = append(sc.Failures, fmt.Sprintf(format, args...))
		}
	}
	for _, sc := range []*result.Scenario{&s1, &s2, &s2j, &s2a, &s3} {
		if f0.Throughput > 0 && sc.Throughput > 0 {
			sc.FloorFraction = round3(sc.Throughput / f0.Throughput)
		}
	}
	for _, sc := range []*result.Scenario{&s1, &s2} {
		gate(sc, f0.Throughput > 0 && sc.Throughput >= FloorGate*f0.Throughput,
			"throughput %.0f lines/s is under %.0f %% of the lab's floor, %.0f lines/s", sc.Throughput, 100*FloorGate, f0.Throughput)
	}
	gate(&s4, s4.BreakerOpened > 0, "the breaker did not engage under overload")
	out := []result.Scenario{f0, s1, s2}
	if !h.cfg.Short {
		out = append(out, s2j, s2a, s3)
	}
	out = append(out, s4)
	if !h.cfg.Short {
		out = append(out, s5)
	}
	for i := range out {
		sc := &out[i]
		gate(sc, sc.Lost == 0, "%d lines lost uncounted", sc.Lost)
		gate(sc, sc.PIILeaks == 0, "%d unredacted SSNs or card numbers reached the sink", sc.PIILeaks)
		sc.Passed = len(sc.Failures) == 0
	}
	return out, errors.Join(errs...)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return math.Round((s[len(s)/2-1] + s[len(s)/2]) / 2)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
