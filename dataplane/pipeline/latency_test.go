package pipeline

import (
	"testing"
	"time"
)

// TestLatencyWindow: the percentiles are over the batches delivered in the
// last minute, at most the last LatencyWindowBatches, by nearest rank.
func TestLatencyWindow(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ms := time.Millisecond
	for _, c := range []struct {
		name     string
		observe  func(w *latencyWindow)
		batches  int
		p50, p99 time.Duration
	}{
		{"none", func(*latencyWindow) {}, 0, 0, 0},
		{"one", func(w *latencyWindow) { w.observe(now, 7*ms) }, 1, 7 * ms, 7 * ms},
		{"1 to 100 ms", func(w *latencyWindow) {
			for i := 100; i >= 1; i-- {
				w.observe(now, time.Duration(i)*ms)
			}
		}, 100, 50 * ms, 99 * ms},
		{"a slow batch in 200", func(w *latencyWindow) {
			for i := range 200 {
				d := 10 * ms
				if i == 50 || i == 150 || i == 160 {
					d = 2 * time.Second
				}
				w.observe(now, d)
			}
		}, 200, 10 * ms, 2 * time.Second},
		{"older than a minute left out", func(w *latencyWindow) {
			for range 10 {
				w.observe(now.Add(-LatencyWindow), time.Second)
			}
			w.observe(now.Add(-LatencyWindow+time.Second), 3*ms)
			w.observe(now, 5*ms)
		}, 2, 3 * ms, 5 * ms},
		{"the last 512 batches", func(w *latencyWindow) {
			for range LatencyWindowBatches {
				w.observe(now, time.Hour)
			}
			for range LatencyWindowBatches {
				w.observe(now, ms)
			}
		}, LatencyWindowBatches, ms, ms},
		{"saturated, not wrapped", func(w *latencyWindow) { w.observe(now, 100*time.Hour) }, 1, maxLatencyMicros * time.Microsecond, maxLatencyMicros * time.Microsecond},
		{"negative as 0", func(w *latencyWindow) { w.observe(now, -time.Second) }, 1, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w latencyWindow
			c.observe(&w)
			var q OutputQueue
			latencyPercentiles(&q, w.appendRecent(nil, now))
			if q.LatencyBatches != c.batches || q.LatencyP50Seconds != c.p50.Seconds() || q.LatencyP99Seconds != c.p99.Seconds() {
				t.Errorf("got %d batches, p50 %v s, p99 %v s; want %d, %v, %v",
					q.LatencyBatches, q.LatencyP50Seconds, q.LatencyP99Seconds, c.batches, c.p50.Seconds(), c.p99.Seconds())
			}
		})
	}
}

// BenchmarkLatencyObserve is the cost per batch delivered.
func BenchmarkLatencyObserve(b *testing.B) {
	var w latencyWindow
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.observe(now, 3*time.Millisecond)
		}
	})
}

// BenchmarkLatencyPercentiles is the cost, per output, of a /status or a
// heartbeat with a full window.
func BenchmarkLatencyPercentiles(b *testing.B) {
	var w latencyWindow
	now := time.Now()
	for i := range LatencyWindowBatches {
		w.observe(now, time.Duration(i*7919%1000)*time.Microsecond)
	}
	var ds []time.Duration
	for b.Loop() {
		var q OutputQueue
		ds = w.appendRecent(ds[:0], now)
		latencyPercentiles(&q, ds)
	}
}
