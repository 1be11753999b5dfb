package drill

import (
	"context"
	"fmt"
	"sync"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

// filterRedact drops DEBUG lines and redacts SSNs and card numbers; %s is
// the output.
const filterRedact = `{"version":"chaos","pipelines":[{"name":"default_pipeline","processors":[
	{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}},
	{"id":"redact_ssn","type":"redact","params":{"detector":"ssn"}},
	{"id":"redact_cards","type":"redact","params":{"detector":"credit_card"}}],
	"outputs":[%s],"batch_size":100}]}`

// rssBoundMB is the resident memory the overloaded proxy must stay under:
// its buffers are bounded (16 MiB of ring, 8 MiB per output queue), and
// this leaves room for batches in flight, the runtime and the GC's slack.
const rssBoundMB = 256

// overload measures the proxy's capacity with filter and redaction rules,
// then sends five times that for 30 s under drop_oldest.
func (d *Drills) overload(ctx context.Context, sc *result.ChaosScenario) error {
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	mf := fmt.Sprintf(filterRedact, out.JSON)

	// Capacity: closed loop under block, where nothing is dropped.
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name + "-capacity", Manifest: mf, Flags: []string{"-overflow", "block"}})
	if err != nil {
		return err
	}
	sum, err := d.rig.Send(lab.Load{Target: "tcp://" + px.TCP, Lines: 1_000_000, Conns: 4})
	px.Stop()
	if err != nil {
		return err
	}
	capacity := sum.LinesPerS
	if err := s.Reset(); err != nil {
		return err
	}

	px, err = d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: mf, Flags: []string{"-overflow", "drop_oldest"}})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	var (
		mu      sync.Mutex
		rss     float64
		engaged bool
	)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if r, err := px.Proc.RSSMB(); err == nil {
				mu.Lock()
				rss = max(rss, r)
				mu.Unlock()
			}
			if c, err := px.Counters(); err == nil && c.Metrics["streamgate_breaker_open_workers"] > 0 {
				mu.Lock()
				engaged = true
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	rate := int(5 * capacity)
	sum, err = d.rig.Send(lab.Load{Target: "tcp://" + px.TCP, Rate: rate, Duration: 30 * time.Second, Conns: 4})
	loadEnd := time.Now()
	if err != nil {
		close(stop)
		return err
	}
	// One sender on these cores cannot write 5× what the proxy processes:
	// say what it did write.
	fault(sc, "%d lines/s asked of the sender for 30 s, 5× the proxy's measured capacity of %.0f lines/s; it wrote %.0f lines/s, %.1f× capacity",
		rate, capacity, sum.LinesPerS, sum.LinesPerS/capacity)
	// Released: the breaker closed again and the backlog is gone.
	var released time.Duration
	closed := false
	for time.Since(loadEnd) < 60*time.Second {
		c, err := px.Counters()
		if err != nil {
			close(stop)
			return err
		}
		if c.Metrics["streamgate_breaker_open_workers"] == 0 && c.InPipeline() == 0 {
			released, closed = time.Since(loadEnd), true
			break
		}
		sleepCtx(ctx, 20*time.Millisecond)
	}
	close(stop)
	<-sampled
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sum.Sent, Out: out.Name})
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, out.Name, st)
	peak, _ := px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(peak)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(released.Seconds())
	opened := int64(c.BreakerOpened - base.Counters.BreakerOpened)
	bypassed := int64(c.Bypassed - base.Counters.Bypassed)
	mu.Lock()
	defer mu.Unlock()
	alive := true
	select {
	case <-px.Proc.Exited():
		alive = false
	default:
	}
	check(sc, "process stayed up", alive, "proxy running after the overload: %v", alive)
	check(sc, "memory bounded", peak < rssBoundMB, "peak RSS %.1f MB (bound %d MB); sampled peak %.1f MB", peak, rssBoundMB, rss)
	check(sc, "breaker engaged", opened > 0 && engaged, "opened %d times, %d lines bypassed filters", opened, bypassed)
	check(sc, "breaker released", closed, "breaker closed and backlog drained %s after the load stopped", recText(closed, released))
	leaks := st.PIILeaks - base.Sink.PIILeaks
	check(sc, "no PII leaked", leaks == 0, "%d unredacted SSNs or card numbers at the sink, of %d lines delivered", leaks, sc.Delivered)
	return nil
}
