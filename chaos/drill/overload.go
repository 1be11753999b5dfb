package drill

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

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
	s, err := d.startSink()
	if err != nil {
		return err
	}
	defer s.stop()
	mf := fmt.Sprintf(filterRedact, `{"type":"tcp","url":"tcp://`+s.tcp+`"}`)
	outName := "tcp:tcp://" + s.tcp

	// Capacity: closed loop under block, where nothing is dropped.
	px, err := d.startProxy(proxyOpts{name: sc.Name + "-capacity", manifest: mf, flags: []string{"-overflow", "block"}})
	if err != nil {
		return err
	}
	ld, err := d.startLoad("tcp://"+px.tcp, "-lines", "1000000", "-conns", "4")
	if err != nil {
		px.stop()
		return err
	}
	sum, err := ld.wait()
	px.stop()
	if err != nil {
		return err
	}
	capacity := sum.LinesPerS
	if err := s.reset(); err != nil {
		return err
	}

	px, err = d.startProxy(proxyOpts{name: sc.Name, manifest: mf, flags: []string{"-overflow", "drop_oldest"}})
	if err != nil {
		return err
	}
	defer px.stop()
	base, stBase, err := baseline(ctx, px, s)
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
			if r, err := px.p.RSSMB(); err == nil {
				mu.Lock()
				rss = max(rss, r)
				mu.Unlock()
			}
			if c, err := px.counters(); err == nil && c.Metrics["streamgate_breaker_open_workers"] > 0 {
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
	ld, err = d.startLoad("tcp://"+px.tcp, "-rate", strconv.Itoa(rate), "-duration", "30s", "-conns", "4")
	if err != nil {
		close(stop)
		return err
	}
	sum, err = ld.wait()
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
		c, err := px.counters()
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
	c, st, err := px.settle(ctx, s, float64(sum.Sent), base, outName, stBase.Lines)
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, outName, st, stBase)
	peak, _ := px.p.PeakRSSMB()
	sc.PeakRSSMB = round3(peak)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(released.Seconds())
	opened := int64(c.BreakerOpened - base.BreakerOpened)
	bypassed := int64(c.Bypassed - base.Bypassed)
	mu.Lock()
	defer mu.Unlock()
	alive := true
	select {
	case <-px.p.Exited():
		alive = false
	default:
	}
	check(sc, "process stayed up", alive, "proxy running after the overload: %v", alive)
	check(sc, "memory bounded", peak < rssBoundMB, "peak RSS %.1f MB (bound %d MB); sampled peak %.1f MB", peak, rssBoundMB, rss)
	check(sc, "breaker engaged", opened > 0 && engaged, "opened %d times, %d lines bypassed filters", opened, bypassed)
	check(sc, "breaker released", closed, "breaker closed and backlog drained %s after the load stopped", recText(closed, released))
	leaks := st.PIILeaks - stBase.PIILeaks
	check(sc, "no PII leaked", leaks == 0, "%d unredacted SSNs or card numbers at the sink, of %d lines delivered", leaks, sc.Delivered)
	return nil
}
