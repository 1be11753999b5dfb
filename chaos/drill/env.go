package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/bench/lab"
	"streamgate/loadgen/sender"
	lgsink "streamgate/loadgen/sink"
)

// proxy is a running data plane.
type proxy struct {
	p                     *lab.Proc
	tcp, udp, http, admin string
	console               *lineCounter // its stdout, when it has a console output
}

// proxyOpts say how to start a data plane.
type proxyOpts struct {
	name     string
	manifest string   // JSON; "" for none
	flags    []string // extra flags
	env      []string // extra environment, e.g. REDIS_ADDR=…
	console  bool     // count the lines it prints on stdout
}

// startProxy starts `streamgate dataplane` on free loopback ports.
func (d *Drills) startProxy(o proxyOpts) (*proxy, error) {
	addrs, err := freeAddrs(4)
	if err != nil {
		return nil, err
	}
	px := &proxy{tcp: addrs[0], udp: addrs[1], http: addrs[2], admin: addrs[3]}
	args := []string{"dataplane", "-host", "127.0.0.1",
		"-tcp-port", port(px.tcp), "-udp-port", port(px.udp), "-http-port", port(px.http),
		"-admin-port", port(px.admin), "-log-level", "warn"}
	if o.manifest != "" {
		mf := filepath.Join(d.tmp, o.name+"-manifest.json")
		if err := os.WriteFile(mf, []byte(o.manifest), 0o644); err != nil {
			return nil, err
		}
		args = append(args, "-manifest", mf)
	}
	args = append(args, o.flags...)
	cmd := exec.Command(d.cfg.StreamGate, args...)
	cmd.Env = append(os.Environ(), "REDIS_ADDR=", "REDIS_HOST=")
	cmd.Env = append(cmd.Env, o.env...)
	var stdout io.Writer = io.Discard
	if o.console {
		px.console = newLineCounter()
		stdout = px.console
	}
	px.p, err = lab.StartWith("streamgate", cmd, stdout)
	if err != nil {
		return nil, err
	}
	if err := lab.WaitHealthy(px.admin, 10*time.Second); err != nil {
		px.p.Kill()
		return nil, fmt.Errorf("streamgate: %w\n%s", err, px.p.Logs())
	}
	return px, nil
}

func (px *proxy) counters() (lab.Counters, error) { return lab.ReadCounters(px.admin) }

// status is the data plane's GET /status.
type status struct {
	Version  string `json:"version"`
	Rejected string `json:"rejected_version"`
	Error    string `json:"last_error"`
	Redis    string `json:"redis_status"`
}

func (px *proxy) status(ctx context.Context) (status, error) {
	var s status
	err := lab.GetJSON(ctx, "http://"+px.admin+"/status", &s)
	return s, err
}

func (px *proxy) stop() error {
	if px == nil || px.p == nil {
		return nil
	}
	return px.p.Stop(20 * time.Second)
}

// sink is a running blackhole sink.
type sink struct {
	p                *lab.Proc
	tcp, http, stats string
}

func (d *Drills) startSink() (*sink, error) {
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	s := &sink{tcp: addrs[0], http: addrs[1], stats: addrs[2]}
	s.p, err = lab.Start("sink", d.cfg.Loadgen, "sink", "-tcp", s.tcp, "-http", s.http, "-stats", s.stats)
	if err != nil {
		return nil, err
	}
	if err := lab.WaitTCP(s.stats, 10*time.Second); err != nil {
		s.p.Kill()
		return nil, fmt.Errorf("sink: %w\n%s", err, s.p.Logs())
	}
	return s, nil
}

// stats is the sink's snapshot.
type stats = lgsink.Stats

func (s *sink) snapshot(ctx context.Context) (lgsink.Stats, error) {
	var st lgsink.Stats
	err := lab.GetJSON(ctx, "http://"+s.stats+"/stats", &st)
	return st, err
}

func (s *sink) reset() error { return lab.Post("http://" + s.stats + "/reset") }

func (s *sink) stop() {
	if s != nil && s.p != nil {
		s.p.Stop(5 * time.Second)
	}
}

// unique is the number of distinct well-formed lines the sink received.
func unique(st lgsink.Stats) int64 { return st.Lines - st.Unparsed - st.Duplicated }

// load is a load generator running in the background.
type load struct {
	p    *lab.Proc
	args []string
}

// startLoad runs loadgen's sender against target with args.
func (d *Drills) startLoad(target string, args ...string) (*load, error) {
	all := append([]string{"send", "-target", target, "-seed", "1"}, args...)
	p, err := lab.Start("loadgen", d.cfg.Loadgen, all...)
	if err != nil {
		return nil, err
	}
	return &load{p: p, args: all}, nil
}

// wait returns the sender's summary once it has finished. A sender that
// failed midway still gives its summary, with the error.
func (l *load) wait() (sender.Summary, error) {
	var s sender.Summary
	werr := l.p.Wait()
	out := strings.TrimSpace(l.p.Stdout())
	if out == "" {
		return s, fmt.Errorf("loadgen %s: %v: no summary\n%s", strings.Join(l.args, " "), werr, l.p.Logs())
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		return s, fmt.Errorf("cannot decode loadgen summary %q: %w", out, err)
	}
	if werr != nil {
		return s, fmt.Errorf("loadgen %s: %w\n%s", strings.Join(l.args, " "), werr, l.p.Logs())
	}
	if s.Cut > 0 {
		return s, fmt.Errorf("loadgen cut %d lines short: the receiver's count cannot be checked against its own", s.Cut)
	}
	return s, nil
}

// settle waits until the proxy has received want lines (when want > 0),
// holds none in its pipeline, has none queued for sinkOut or the other
// outputs named, and the sink has at least what the proxy delivered to it
// since base. Outputs are named as in metrics, e.g. "tcp:tcp://127.0.0.1:9100";
// they must have run since base.
func (px *proxy) settle(ctx context.Context, s *sink, want float64, base lab.Counters, sinkOut string, sinkBase int64, others ...string) (lab.Counters, lgsink.Stats, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := px.counters()
		if err != nil {
			return c, lgsink.Stats{}, err
		}
		var st lgsink.Stats
		if s != nil {
			if st, err = s.snapshot(ctx); err != nil {
				return c, st, err
			}
		}
		var queued float64
		for _, o := range append(others, sinkOut) {
			queued += queuedSince(c, base, o)
		}
		atSink := float64(st.Lines-sinkBase) >= delivered(c, sinkOut)-delivered(base, sinkOut)
		if c.Received-base.Received >= want && c.InPipeline() == 0 && queued == 0 && atSink {
			return c, st, nil
		}
		if time.Now().After(deadline) {
			return c, st, fmt.Errorf("proxy did not settle: received %.0f of %.0f, %.0f in the pipeline, %.0f queued for outputs, sink has %d",
				c.Received-base.Received, want, c.InPipeline(), queued, st.Lines-sinkBase)
		}
		select {
		case <-ctx.Done():
			return c, st, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// baseline is where a drill's accounting starts: the proxy's counters and
// the sink's stats.
func baseline(ctx context.Context, px *proxy, s *sink) (lab.Counters, stats, error) {
	c, err := px.counters()
	if err != nil {
		return c, stats{}, err
	}
	st, err := s.snapshot(ctx)
	return c, st, err
}

// delivered is one output's delivered series; out is its metrics name,
// e.g. "tcp:tcp://127.0.0.1:9100".
func delivered(c lab.Counters, out string) float64 {
	return c.Metrics["streamgate_output_lines_delivered_total{output="+strconv.Quote(out)+"}"]
}

// queuedSince is the lines emitted since base that output out has not yet
// delivered or dropped. (Emitted less the output's totals would count the
// lines emitted before out existed, e.g. under the default console output.)
func queuedSince(c, base lab.Counters, out string) float64 {
	return c.Emitted - base.Emitted - (delivered(c, out) - delivered(base, out)) - (outDropped(c, out) - outDropped(base, out))
}

// outDropped is one output's dropped lines, all reasons.
func outDropped(c lab.Counters, out string) float64 {
	return lab.SumPrefix(c.Metrics, "streamgate_output_lines_dropped_total{output="+strconv.Quote(out)+",")
}

// dropReasons returns the lines dropped since base by reason: ingest and
// pipeline reasons as they are, an output's as "<reason> (<output>)".
func dropReasons(c, base lab.Counters) map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.Metrics {
		var name string
		switch {
		case strings.HasPrefix(k, `streamgate_lines_dropped_total{reason="`):
			name = strings.TrimSuffix(strings.TrimPrefix(k, `streamgate_lines_dropped_total{reason="`), `"}`)
		case strings.HasPrefix(k, `streamgate_output_lines_dropped_total{output="`):
			rest := strings.TrimPrefix(k, `streamgate_output_lines_dropped_total{output="`)
			o, r, ok := strings.Cut(rest, `",reason="`)
			if !ok {
				continue
			}
			name = strings.TrimSuffix(r, `"}`) + " (" + o + ")"
		default:
			continue
		}
		if n := int64(v - base.Metrics[k]); n != 0 {
			out[name] = n
		}
	}
	return out
}

// lineCounter counts the lines written to it: a console output's stdout.
type lineCounter struct {
	n atomic.Int64
}

func newLineCounter() *lineCounter { return &lineCounter{} }

func (l *lineCounter) Write(b []byte) (int, error) {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	l.n.Add(int64(n))
	return len(b), nil
}

func (l *lineCounter) Lines() int64 { return l.n.Load() }

// progress samples a counter every interval and keeps the longest time it
// stood still, and the slowest rate over any window.
type progress struct {
	once    sync.Once
	mu      sync.Mutex
	stall   time.Duration
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

type sample struct {
	t time.Time
	n int64
}

// watchProgress starts sampling read every interval until stopped.
func watchProgress(read func() (int64, error), interval time.Duration) *progress {
	p := &progress{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		var last sample
		for {
			n, err := read()
			now := time.Now()
			if err == nil {
				p.mu.Lock()
				p.samples = append(p.samples, sample{now, n})
				if last.t.IsZero() || n != last.n {
					last = sample{now, n}
				} else if d := now.Sub(last.t); d > p.stall {
					p.stall = d
				}
				p.mu.Unlock()
			}
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

// end stops sampling and returns the longest stall. It may be called
// again.
func (p *progress) end() time.Duration {
	p.once.Do(func() { close(p.stop) })
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stall
}

// rate is the counter's rate between from and to, from the samples.
func (p *progress) rate(from, to time.Time) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var a, b *sample
	for i := range p.samples {
		s := &p.samples[i]
		if a == nil && !s.t.Before(from) {
			a = s
		}
		if !s.t.After(to) {
			b = s
		}
	}
	if a == nil || b == nil || !b.t.After(a.t) {
		return 0
	}
	return float64(b.n-a.n) / b.t.Sub(a.t).Seconds()
}

func freeAddrs(n int) ([]string, error) {
	ports, err := lab.FreePorts(n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, p := range ports {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out, nil
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// poll calls done every interval until it reports true, and returns nil
// then; or an error once timeout has passed (errTimeout) or ctx has ended.
func poll(ctx context.Context, timeout, interval time.Duration, done func() bool) error {
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		if err := sleepCtx(ctx, interval); err != nil {
			return err
		}
	}
	return nil
}

var errTimeout = errors.New("timed out")
