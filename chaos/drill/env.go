package drill

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"streamgate/bench/lab"
	lgsink "streamgate/loadgen/sink"
)

// status is the data plane's GET /status.
type status struct {
	Version  string `json:"version"`
	Rejected string `json:"rejected_version"`
	Error    string `json:"last_error"`
	Redis    string `json:"redis_status"`
}

func proxyStatus(ctx context.Context, px *lab.Proxy) (status, error) {
	var s status
	err := lab.GetJSON(ctx, "http://"+px.Admin+"/status", &s)
	return s, err
}

// unique is the number of distinct well-formed lines the sink received.
func unique(st lgsink.Stats) int64 { return st.Lines - st.Unparsed - st.Duplicated }

// dropReasons returns the lines dropped since base by reason: ingest and
// pipeline reasons as they are, an output's as "<reason> (<output>)".
func dropReasons(c, base lab.Counters) map[string]int64 {
	out := map[string]int64{}
	for k, v := range c.Metrics {
		var name string
		switch {
		case strings.HasPrefix(k, `streamgate_lines_dropped_total{reason="`):
			name = strings.TrimSuffix(strings.TrimPrefix(k, `streamgate_lines_dropped_total{reason="`), `"}`)
		case strings.HasPrefix(k, `streamgate_output_dead_lettered_total{output="`):
			o := strings.TrimSuffix(strings.TrimPrefix(k, `streamgate_output_dead_lettered_total{output="`), `"}`)
			name = "dead_lettered (" + o + ")"
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

// peak is the highest value sampled.
func (p *progress) peak() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var m int64
	for _, s := range p.samples {
		m = max(m, s.n)
	}
	return m
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
