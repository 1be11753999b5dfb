// Package metricslib compares, on the data plane's hot path, the two
// Prometheus libraries its counters could be written with:
// VictoriaMetrics/metrics, which it uses, and prometheus/client_golang. The
// pipeline adds to a counter looked up once, per batch and per output, from
// every worker at once; it observes histograms per batch; and /metrics
// writes a few hundred series per scrape.
//
//	cd bench && go test -run XXX -bench . -benchtime 2s ./metricslib
package metricslib

import (
	"io"
	"strconv"
	"testing"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// BenchmarkCounterAdd adds a batch's line count to one labelled counter
// from every P, as the workers and lanes do.
func BenchmarkCounterAdd(b *testing.B) {
	b.Run("victoriametrics", func(b *testing.B) {
		c := vm.NewSet().NewCounter(`streamgate_output_lines_delivered_total{output="http:http://collector:9000"}`)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(100)
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamgate_output_lines_delivered_total"}, []string{"output"})
		c := v.WithLabelValues("http:http://collector:9000")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Add(100)
			}
		})
	})
}

// BenchmarkHistogramObserve records a batch's latency, as each output lane
// does.
func BenchmarkHistogramObserve(b *testing.B) {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
	b.Run("victoriametrics", func(b *testing.B) {
		h := vm.NewSet().NewPrometheusHistogramExt(`streamgate_output_latency_seconds{output="console"}`, buckets)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			v := 0.0
			for pb.Next() {
				h.Update(v)
				v += 0.0001
			}
		})
	})
	b.Run("client_golang", func(b *testing.B) {
		h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "streamgate_output_latency_seconds", Buckets: buckets}, []string{"output"}).WithLabelValues("console")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			v := 0.0
			for pb.Next() {
				h.Observe(v)
				v += 0.0001
			}
		})
	})
}

// BenchmarkExposition writes 300 labelled counter series, a scrape of a
// data plane with a few dozen rules and outputs.
func BenchmarkExposition(b *testing.B) {
	const series = 300
	b.Run("victoriametrics", func(b *testing.B) {
		s := vm.NewSet()
		for i := range series {
			s.NewCounter(`streamgate_lines_filtered_total{rule="rule_` + strconv.Itoa(i) + `"}`).Add(i)
		}
		b.ReportAllocs()
		for b.Loop() {
			s.WritePrometheus(io.Discard)
		}
	})
	b.Run("client_golang", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "streamgate_lines_filtered_total"}, []string{"rule"})
		reg.MustRegister(v)
		for i := range series {
			v.WithLabelValues("rule_" + strconv.Itoa(i)).Add(float64(i))
		}
		b.ReportAllocs()
		for b.Loop() {
			mfs, err := reg.Gather()
			if err != nil {
				b.Fatal(err)
			}
			enc := expfmt.NewEncoder(io.Discard, expfmt.NewFormat(expfmt.TypeTextPlain))
			for _, mf := range mfs {
				if err := enc.Encode(mf); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
