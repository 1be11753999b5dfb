package server

import (
	"math"
	"sync"
	"time"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

// The savings' rates are measured over the last savingsWindow, from
// samples of the counters taken every savingsEvery.
const (
	savingsEvery  = time.Minute
	savingsWindow = time.Hour
)

// secondsPerMonth is the month of the dollar estimates: 30 days.
const secondsPerMonth = 30 * 24 * 3600

// savingsSample is the counters behind the rates at one moment.
type savingsSample struct {
	at       time.Time
	received uint64            // line bytes into the chains
	outputs  map[string]uint64 // line bytes handed to each output
}

// savingsRing keeps the samples of the last savingsWindow, oldest first:
// at most one an interval, so a few dozen.
type savingsRing struct {
	mu      sync.Mutex
	samples []savingsSample // mu
}

// add appends smp and forgets the samples older than window before it.
func (r *savingsRing) add(smp savingsSample, window time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples = append(r.samples, smp)
	i := 0
	for i < len(r.samples)-1 && smp.at.Sub(r.samples[i].at) > window {
		i++
	}
	r.samples = append(r.samples[:0], r.samples[i:]...)
}

// oldest returns the oldest sample no older than window before now; ok is
// false when there is none.
func (r *savingsRing) oldest(now time.Time, window time.Duration) (savingsSample, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, smp := range r.samples {
		if now.Sub(smp.at) <= window {
			return smp, true
		}
	}
	return savingsSample{}, false
}

// sampleSavings reads the counters behind the rates.
func sampleSavings(m *metrics.Metrics, now time.Time) savingsSample {
	smp := savingsSample{at: now, received: m.BytesProcessed.Get(), outputs: make(map[string]uint64)}
	for _, o := range m.OutputBytesAll() {
		smp.outputs[o.Name] = o.BytesIn
	}
	return smp
}

// sampleSavingsEvery samples the counters into s's ring every interval
// until s shuts down.
func (s *Server) sampleSavingsEvery(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case now := <-t.C:
			s.ring.add(sampleSavings(s.m, now), savingsWindow)
		}
	}
}

// rate is the increase of a counter from old to cur per second of window;
// a counter that restarted (an output rebuilt) counts from 0.
func rate(cur, old uint64, window float64) float64 {
	if window <= 0 {
		return 0
	}
	if cur < old {
		old = 0
	}
	return float64(cur-old) / window
}

// outputCosts returns the cost_per_gb of each output of outs that has one,
// by name.
func outputCosts(outs []output.Config) map[string]float64 {
	costs := make(map[string]float64)
	for i := range outs {
		if c := outs[i].CostPerGB; c != nil {
			costs[outs[i].Name()] = *c
		}
	}
	return costs
}

// Savings describes what the rules saved since the data plane started,
// what the outputs cost at the rate of the last hour (or since the start,
// when younger), and what the shadow manifest would do.
func (s *Server) Savings() *rdb.Savings {
	return s.savingsAt(time.Now())
}

func (s *Server) savingsAt(now time.Time) *rdb.Savings {
	m := s.m
	cur := sampleSavings(m, now)
	old, ok := s.ring.oldest(now, savingsWindow)
	if !ok {
		old = cur
	}
	window := now.Sub(old.at).Seconds()
	sv := &rdb.Savings{
		WindowSeconds: round1(window),
		LinesReceived: m.Received.Get(),
		BytesReceived: cur.received,
		BytesEmitted:  m.BytesEmitted.Get(),
		Outputs:       []rdb.OutputSavings{},
		Rules:         []rdb.RuleSavings{},
	}
	sv.ReductionPercent = rdb.Percent(sv.BytesEmitted, sv.BytesReceived)
	received := rate(cur.received, old.received, window)
	var costs map[string]float64
	if c := s.costs.Load(); c != nil {
		costs = *c
	}
	for _, o := range m.OutputBytesAll() {
		os := rdb.OutputSavings{Name: o.Name, LinesIn: o.LinesIn, BytesIn: o.BytesIn, BytesOut: o.BytesOut,
			BytesReceived: o.Received, ReductionPercent: rdb.Percent(o.BytesOut, o.Received),
			BytesInPerSecond: round1(rate(o.BytesIn, old.outputs[o.Name], window))}
		if price, ok := costs[o.Name]; ok {
			perByte := price / 1e9 * secondsPerMonth
			cost := round2(os.BytesInPerSecond * perByte)
			saved := round2(max(0, received-os.BytesInPerSecond) * perByte)
			os.CostPerGB, os.USDPerMonth, os.USDSavedPerMonth = &price, &cost, &saved
			sv.USDPerMonth += cost
			sv.USDSavedPerMonth += saved
		}
		sv.Outputs = append(sv.Outputs, os)
	}
	sv.USDPerMonth, sv.USDSavedPerMonth = round2(sv.USDPerMonth), round2(sv.USDSavedPerMonth)
	for _, r := range m.Rules() {
		sv.Rules = append(sv.Rules, rdb.RuleSavings{ID: r.ID, LinesDropped: r.Filtered + r.Sampled,
			BytesDropped: r.FilteredBytes + r.SampledBytes, LinesRedacted: r.Redacted, LinesRedactedBy: r.RedactedBy})
	}
	sv.Shadow = s.shadowSavings()
	return sv
}

// shadowSavings describes the shadow manifest, or is nil when none runs
// and none was refused.
func (s *Server) shadowSavings() *rdb.ShadowSavings {
	e := s.shadowErr.Load()
	if why := s.p.ShadowError(); why != "" && e == nil {
		e = &Rejection{Err: why}
	}
	sh := s.m.CurrentShadow()
	if sh == nil && e == nil {
		return nil
	}
	ss := &rdb.ShadowSavings{Rules: []rdb.RuleSavings{}}
	if e != nil {
		ss.Version, ss.Error = e.Version, e.Err
	}
	if sh == nil {
		return ss
	}
	ss.Version = sh.Version
	ss.LinesIn, ss.BytesIn, ss.LinesOut, ss.BytesOut, ss.LinesSkipped = sh.LinesIn.Get(), sh.BytesIn.Get(), sh.LinesOut.Get(), sh.BytesOut.Get(), sh.Skipped.Get()
	ss.ReductionPercent = rdb.Percent(ss.BytesOut, ss.BytesIn)
	for _, r := range sh.Rules() {
		ss.Rules = append(ss.Rules, rdb.RuleSavings{ID: r.ID, LinesDropped: r.Filtered, BytesDropped: r.FilteredBytes, LinesRedacted: r.Redacted})
	}
	return ss
}

// round1 rounds to a tenth.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

// round2 rounds dollars to cents.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

// ApplyShadowJSON implements watch.ShadowTarget: it runs the processors
// of the encoded shadow manifest beside the live chain, counting what
// they would do (pipeline.Pipeline.SetShadow), or stops the shadow when
// data is nil. Its outputs and batch size are not used. A manifest that
// does not parse or compile is refused, logged and reported in the
// savings; the shadow running before keeps running.
func (s *Server) ApplyShadowJSON(data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data == nil {
		s.p.SetShadow("", nil)
		s.shadowErr.Store(nil)
		s.log.Info("shadow manifest removed")
		return nil
	}
	m, err := manifest.Parse(data)
	var c *manifest.Compiled
	if err == nil {
		c, err = m.Compile()
	}
	if err != nil {
		s.shadowErr.Store(&Rejection{Version: manifest.PeekVersion(data), Err: err.Error()})
		s.log.Error("shadow manifest rejected; the previous shadow, if any, keeps running", "version", manifest.PeekVersion(data), "err", err)
		return err
	}
	s.p.SetShadow(string(m.Version), processor.NewChain(c.Steps...))
	s.shadowErr.Store(nil)
	s.log.Info("shadow manifest running beside the live one", "version", string(m.Version), "processors", len(c.Steps))
	return nil
}
