package harness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
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

// Gates are the floors CI fails under.
const (
	FloorS1 = 200_000
	FloorS2 = 150_000
)

// proxy is a running data plane with its sink.
type proxy struct {
	p          *lab.Proc
	sink       *lab.Proc
	tcp, admin string // proxy addresses
	http       string // proxy HTTP ingest
	sinkTCP    string
	sinkHTTP   string
	sinkStats  string
}

// manifests by scenario; %s is the output.
const (
	rawManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[],
		"outputs":[%s],"batch_size":100}]}`
	filterRedactManifest = `{"version":"bench","pipelines":[{"name":"default_pipeline","processors":[
		{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},
		{"id":"redact_ssn","type":"redact","params":{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}},
		{"id":"redact_cards","type":"redact","params":{"detector":"credit_card"}}],
		"outputs":[%s],"batch_size":100}]}`
)

// startProxy starts a sink and a data plane whose manifest sends to it.
func (h *Harness) startProxy(name, manifest, output, overflow string) (*proxy, error) {
	ports, err := lab.FreePorts(6)
	if err != nil {
		return nil, err
	}
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }
	px := &proxy{tcp: addr(ports[0]), admin: addr(ports[1]), http: addr(ports[2]),
		sinkTCP: addr(ports[3]), sinkHTTP: addr(ports[4]), sinkStats: addr(ports[5])}
	sink, err := lab.Start("sink", h.cfg.Loadgen, "sink", "-tcp", px.sinkTCP, "-http", px.sinkHTTP, "-stats", px.sinkStats)
	if err != nil {
		return nil, err
	}
	px.sink = sink
	if err := lab.WaitTCP(px.sinkStats, 10*time.Second); err != nil {
		sink.Stop(time.Second)
		return nil, fmt.Errorf("sink: %w\n%s", err, sink.Logs())
	}
	out := map[string]string{
		"tcp":  `{"type":"tcp","url":"tcp://` + px.sinkTCP + `"}`,
		"http": `{"type":"http","url":"http://` + px.sinkHTTP + `/logs"}`,
	}[output]
	mf := filepath.Join(h.tmp, name+".json")
	if err := os.WriteFile(mf, []byte(fmt.Sprintf(manifest, out)), 0o644); err != nil {
		return nil, err
	}
	p, err := lab.Start("streamgate", h.cfg.StreamGate, "dataplane", "-host", "127.0.0.1",
		"-tcp-port", strconv.Itoa(ports[0]), "-admin-port", strconv.Itoa(ports[1]),
		"-http-port", strconv.Itoa(ports[2]), "-udp-port", "off",
		"-manifest", mf, "-overflow", overflow, "-log-level", "warn")
	if err != nil {
		sink.Stop(time.Second)
		return nil, err
	}
	px.p = p
	if err := lab.WaitHealthy(px.admin, 10*time.Second); err != nil {
		px.stop()
		return nil, fmt.Errorf("streamgate: %w\n%s", err, p.Logs())
	}
	return px, nil
}

func (px *proxy) stop() {
	if px.p != nil {
		px.p.Stop(15 * time.Second)
	}
	px.sink.Stop(5 * time.Second)
}

// sinkStats is the sink's snapshot, decoded from its /stats JSON.
type sinkStats = lgsink.Stats

func (px *proxy) sinkSnapshot(ctx context.Context) (sinkStats, error) {
	var s sinkStats
	err := lab.GetJSON(ctx, "http://"+px.sinkStats+"/stats", &s)
	return s, err
}

// sendSummary is the sender's summary, decoded from its JSON output.
type sendSummary = sender.Summary

// send runs the load generator to completion.
func (h *Harness) send(target string, args ...string) (sendSummary, error) {
	all := append([]string{"send", "-target", target, "-conns", strconv.Itoa(h.cfg.Conns), "-seed", "1"}, args...)
	p, err := lab.Start("loadgen", h.cfg.Loadgen, all...)
	if err != nil {
		return sendSummary{}, err
	}
	if err := p.Wait(); err != nil {
		return sendSummary{}, fmt.Errorf("loadgen %s: %w\n%s", strings.Join(all, " "), err, p.Logs())
	}
	var s sendSummary
	if err := json.Unmarshal([]byte(p.Stdout()), &s); err != nil {
		return s, fmt.Errorf("cannot decode loadgen summary %q: %w", p.Stdout(), err)
	}
	return s, nil
}

// counters are the proxy's accounting at one moment.
type counters = lab.Counters

func (px *proxy) counters() (counters, error) { return lab.ReadCounters(px.admin) }

// settle waits until the proxy has received sent lines and has nothing in
// flight: every line is delivered, filtered or dropped, and the sink has
// what the proxy delivered.
func (px *proxy) settle(ctx context.Context, sent float64, base counters) (counters, sinkStats, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := px.counters()
		if err != nil {
			return c, sinkStats{}, err
		}
		s, err := px.sinkSnapshot(ctx)
		if err != nil {
			return c, s, err
		}
		recv := c.Received - base.Received
		inFlight := c.InPipeline()
		outFlight := c.Queued()
		if recv >= sent && inFlight == 0 && outFlight == 0 && float64(s.Lines) >= c.Delivered-base.Delivered {
			return c, s, nil
		}
		if time.Now().After(deadline) {
			return c, s, fmt.Errorf("proxy did not settle: received %.0f of %.0f, in pipeline %.0f, in outputs %.0f, sink %d of %.0f delivered",
				recv, sent, inFlight, outFlight, s.Lines, c.Delivered-base.Delivered)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Harness runs scenarios.
type Harness struct {
	cfg Config
	tmp string
	log *slog.Logger
}

// New prepares a harness; Close removes its temporary files.
func New(cfg Config) (*Harness, error) {
	tmp, err := os.MkdirTemp("", "streamgate-bench")
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Harness{cfg: cfg, tmp: tmp, log: cfg.Logger}, nil
}

// Close removes temporary files.
func (h *Harness) Close() error { return os.RemoveAll(h.tmp) }

// throughputScenario measures S1, S2 or S3: closed-loop throughput (median
// of runs), CPU per million lines, a CPU profile, then open-loop latency.
func (h *Harness) throughputScenario(ctx context.Context, sc *result.Scenario, manifest, output string, mix ...string) error {
	px, err := h.startProxy(sc.Name, manifest, output, "block")
	if err != nil {
		return err
	}
	defer px.stop()
	target := "tcp://" + px.tcp
	send := func(args ...string) (sendSummary, error) { return h.send(target, append(args, mix...)...) }

	var cpuTotal, linesTotal float64
	for run := 0; run < h.cfg.Runs; run++ {
		if err := lab.Post("http://" + px.sinkStats + "/reset"); err != nil {
			return err
		}
		base, err := px.counters()
		if err != nil {
			return err
		}
		cpu0, _ := px.p.CPUSeconds()
		var prof chan []result.ProfileEntry
		if run == 0 {
			prof = h.profile(ctx, px, sc.Name)
		}
		start := time.Now()
		sum, err := send("-lines", strconv.Itoa(h.cfg.Lines), "-rate", "0")
		if err != nil {
			return err
		}
		c, s, err := px.settle(ctx, float64(sum.Sent), base)
		if err != nil {
			return err
		}
		// The run ends when the last line reached the sink, or when the proxy
		// took the last line if nothing reached the sink after it.
		end := time.Now()
		if s.LastNS > 0 {
			end = time.Unix(0, s.LastNS)
		}
		elapsed := end.Sub(start).Seconds()
		tput := float64(sum.Sent) / elapsed
		sc.Runs = append(sc.Runs, math.Round(tput))
		cpu1, _ := px.p.CPUSeconds()
		cpuTotal += cpu1 - cpu0
		linesTotal += float64(sum.Sent)
		h.account(sc, sum, c, base, s)
		if prof != nil {
			sc.Profile = <-prof
		}
		h.log.Info("throughput run", "scenario", sc.Name, "run", run+1, "lines", sum.Sent, "seconds", fmt.Sprintf("%.2f", elapsed), "lines_per_s", int(tput))
	}
	sc.Throughput = median(sc.Runs)
	if linesTotal > 0 {
		sc.CPUSPerMillion = round3(cpuTotal / linesTotal * 1e6)
	}

	// Open loop at a fixed rate: latency from each line's scheduled time.
	if err := lab.Post("http://" + px.sinkStats + "/reset"); err != nil {
		return err
	}
	base, err := px.counters()
	if err != nil {
		return err
	}
	sum, err := send("-rate", strconv.Itoa(h.cfg.LatencyRate), "-duration", h.cfg.LatencyFor.String())
	if err != nil {
		return err
	}
	c, s, err := px.settle(ctx, float64(sum.Sent), base)
	if err != nil {
		return err
	}
	h.account(sc, sum, c, base, s)
	sc.OpenLoopRate = float64(h.cfg.LatencyRate)
	sc.SenderLagP99 = round3(sum.ScheduleLag.P99)
	sc.SenderUnsent = sum.Unsent
	if sum.Unsent > 0 {
		sc.Failures = append(sc.Failures, fmt.Sprintf("the sender could not write %d of %d lines on schedule; the latency figures leave them out", sum.Unsent, sum.Due))
	}
	sc.P50, sc.P99, sc.P999, sc.Max = round3(s.Latency.P50), round3(s.Latency.P99), round3(s.Latency.P999), round3(s.Latency.Max)
	sc.PeakRSSMB, _ = px.p.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// account adds a run's line accounting to sc.
func (h *Harness) account(sc *result.Scenario, sum sendSummary, c, base counters, s sinkStats) {
	filtered := int64(c.Filtered - base.Filtered)
	dropped := int64(c.Dropped - base.Dropped + c.OutDropped - base.OutDropped)
	sc.Sent += sum.Sent
	sc.Delivered += s.Lines
	sc.Filtered += filtered
	sc.DroppedCounted += dropped
	// A line the sink cannot parse was mangled on the way: not delivered. A
	// run that delivered more than it was sent is as wrong as one that lost
	// lines; runs must not cancel each other out.
	lost := sum.Sent - (s.Lines - s.Unparsed) - filtered - dropped + s.Duplicated
	sc.Lost += max(lost, -lost)
	if sum.Cut > 0 {
		sc.Failures = append(sc.Failures, fmt.Sprintf("the sender cut %d lines short: the sink's count cannot be checked against it", sum.Cut))
	}
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
func (h *Harness) profile(ctx context.Context, px *proxy, name string) chan []result.ProfileEntry {
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

func (h *Harness) takeProfile(ctx context.Context, px *proxy, name string, secs int) ([]result.ProfileEntry, error) {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", px.admin, secs)
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
	px, err := h.startProxy(sc.Name, filterRedactManifest, "tcp", "drop_oldest")
	if err != nil {
		return err
	}
	defer px.stop()
	base, err := px.counters()
	if err != nil {
		return err
	}
	prof := h.profile(ctx, px, sc.Name)
	sum, err := h.send("tcp://"+px.tcp, "-rate", strconv.Itoa(rate), "-duration", h.cfg.OverloadFor.String())
	if err != nil {
		return err
	}
	sc.Profile = <-prof
	c, s, err := px.settle(ctx, float64(sum.Sent), base)
	if err != nil {
		return err
	}
	h.account(sc, sum, c, base, s)
	sc.OpenLoopRate = float64(rate)
	sc.Throughput = math.Round(sum.LinesPerS)
	sc.SenderUnsent = sum.Unsent // expected here: the sender is pushed past what it can do
	sc.PeakRSSMB, _ = px.p.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// idle is S5: a proxy with nothing to do, its CPU use over IdleFor.
func (h *Harness) idle(sc *result.Scenario) error {
	px, err := h.startProxy(sc.Name, rawManifest, "tcp", "block")
	if err != nil {
		return err
	}
	defer px.stop()
	time.Sleep(time.Second) // let start-up settle
	c0, err := px.p.CPUSeconds()
	if err != nil {
		return err
	}
	time.Sleep(h.cfg.IdleFor)
	c1, err := px.p.CPUSeconds()
	if err != nil {
		return err
	}
	sc.IdleCPUPercent = round3(100 * (c1 - c0) / h.cfg.IdleFor.Seconds())
	sc.PeakRSSMB, _ = px.p.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

// Run runs every scenario and applies the gates.
func (h *Harness) Run(ctx context.Context) ([]result.Scenario, error) {
	s1 := result.Scenario{Name: "S1_raw", Description: "pass-through, no processors", Output: "tcp → sink"}
	s2 := result.Scenario{Name: "S2_filter_redact", Description: "drop DEBUG, redact SSNs (the seed's regex) and card numbers", Output: "tcp → sink"}
	s3 := result.Scenario{Name: "S3_http_output", Description: "pass-through to an HTTP output (newline text POSTs)", Output: "http → sink"}
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
	noPII := []string{"-ssn", "0", "-card", "0", "-email", "0"}
	step(&s1, func() error { return h.throughputScenario(ctx, &s1, rawManifest, "tcp", noPII...) })
	step(&s2, func() error { return h.throughputScenario(ctx, &s2, filterRedactManifest, "tcp") })
	if !h.cfg.Short {
		step(&s3, func() error { return h.throughputScenario(ctx, &s3, rawManifest, "http", noPII...) })
	}
	rate := int(3 * s2.Throughput)
	if rate == 0 {
		rate = 3 * FloorS2
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
	gate(&s1, s1.Throughput >= FloorS1, "throughput %.0f lines/s is under the floor of %d", s1.Throughput, FloorS1)
	gate(&s2, s2.Throughput >= FloorS2, "throughput %.0f lines/s is under the floor of %d", s2.Throughput, FloorS2)
	gate(&s4, s4.BreakerOpened > 0, "the breaker did not engage under overload")
	out := []result.Scenario{s1, s2}
	if !h.cfg.Short {
		out = append(out, s3)
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
