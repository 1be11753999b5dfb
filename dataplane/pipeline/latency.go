package pipeline

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// The window of an output's latency percentiles: the batches it delivered
// in the last LatencyWindow, at most the last LatencyWindowBatches of them.
const (
	LatencyWindow        = time.Minute
	LatencyWindowBatches = 512
)

// latencyWindow keeps the latencies of the last LatencyWindowBatches
// batches an output delivered, each with when it was delivered: one atomic
// add and one atomic store per batch, 4 KiB per output, read when /status
// or the heartbeat asks. A sample is packed in a word: the Unix second it
// was delivered in the high 32 bits, the latency in microseconds,
// saturated, in the low 32, 0 for an empty slot.
type latencyWindow struct {
	next  atomic.Uint64
	slots [LatencyWindowBatches]atomic.Uint64
}

// maxLatencyMicros is the largest latency a sample holds, about 71 minutes.
const maxLatencyMicros = math.MaxUint32

// observe records a batch delivered at now after d.
func (w *latencyWindow) observe(now time.Time, d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	us = min(us, maxLatencyMicros)
	i := w.next.Add(1) - 1
	w.slots[i%LatencyWindowBatches].Store(uint64(uint32(now.Unix()))<<32 | us)
}

// appendRecent appends to ds the latencies of the batches delivered within
// LatencyWindow before now.
func (w *latencyWindow) appendRecent(ds []time.Duration, now time.Time) []time.Duration {
	since := now.Add(-LatencyWindow).Unix()
	for i := range w.slots {
		s := w.slots[i].Load()
		if s == 0 || int64(s>>32) <= since {
			continue
		}
		ds = append(ds, time.Duration(s&maxLatencyMicros)*time.Microsecond)
	}
	return ds
}

// percentile is the p-th percentile (0 < p ≤ 1) of sorted, by nearest
// rank; 0 when sorted is empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// latencyPercentiles fills in q's percentiles from the samples ds, which
// it sorts.
func latencyPercentiles(q *OutputQueue, ds []time.Duration) {
	slices.Sort(ds)
	q.LatencyBatches = len(ds)
	q.LatencyP50Seconds = percentile(ds, 0.50).Seconds()
	q.LatencyP99Seconds = percentile(ds, 0.99).Seconds()
}
