package lab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lgsink "streamgate/loadgen/sink"
)

const sinkOut = "tcp:tcp://127.0.0.1:9100"

// scrape is a proxy's series: received, filtered, emitted, and per output
// delivered and dropped.
type scrape struct {
	received, filtered, emitted float64
	out                         map[string][2]float64 // output → delivered, dropped
}

func (s scrape) metrics() map[string]float64 {
	m := map[string]float64{
		"streamgate_lines_received_total":                    s.received,
		`streamgate_lines_filtered_total{rule="drop_debug"}`: s.filtered,
		"streamgate_lines_emitted_total":                     s.emitted,
	}
	for o, v := range s.out {
		m[`streamgate_output_lines_delivered_total{output="`+o+`"}`] = v[0]
		m[`streamgate_output_lines_dropped_total{output="`+o+`",reason="queue_full"}`] = v[1]
	}
	return m
}

func TestSettleRule(t *testing.T) {
	// At the mark: 1000 lines received and emitted, all delivered to the
	// sink's output; the console, added later, had none of them.
	base := Mark{
		Counters: CountersOf(scrape{received: 1000, emitted: 1000, out: map[string][2]float64{sinkOut: {1000, 0}}}.metrics()),
		Sink:     lgsink.Stats{Lines: 1000},
	}
	cases := []struct {
		name    string
		sent    int64
		others  []string
		now     scrape
		atSink  int64
		settled bool
	}{
		{"everything delivered", 500, nil,
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}}}, 1500, true},
		{"filtered and dropped lines count as handled", 500, nil,
			scrape{1500, 100, 1400, map[string][2]float64{sinkOut: {1350, 50}}}, 1350, true},
		{"not all sent lines received", 500, nil,
			scrape{1499, 0, 1499, map[string][2]float64{sinkOut: {1499, 0}}}, 1499, false},
		{"sent unknown: received is not checked", 0, nil,
			scrape{1200, 0, 1200, map[string][2]float64{sinkOut: {1200, 0}}}, 1200, true},
		{"lines still in the pipeline", 500, nil,
			scrape{1500, 0, 1490, map[string][2]float64{sinkOut: {1490, 0}}}, 1490, false},
		{"lines queued for the sink's output", 500, nil,
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1480, 0}}}, 1480, false},
		{"the sink short of what was delivered to it", 500, nil,
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}}}, 1499, false},
		{"the sink has more: a retried batch delivered twice", 500, nil,
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}}}, 1600, true},
		{"a named output with lines queued", 500, []string{"console"},
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}, "console": {400, 0}}}, 1500, false},
		{"a named output that handled every line since the mark", 500, []string{"console"},
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}, "console": {450, 50}}}, 1500, true},
		{"an output not named may lag", 500, nil,
			scrape{1500, 0, 1500, map[string][2]float64{sinkOut: {1500, 0}, "console": {0, 0}}}, 1500, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := Want{Base: base, Sent: tc.sent, Out: sinkOut, Others: tc.others}
			b := w.backlog(CountersOf(tc.now.metrics()), lgsink.Stats{Lines: tc.atSink})
			if got := b.settled(); got != tc.settled {
				t.Fatalf("settled: got %v; want %v (%s)", got, tc.settled, b)
			}
		})
	}
}

func TestQueuedSince(t *testing.T) {
	base := CountersOf(scrape{received: 100, emitted: 100, out: map[string][2]float64{"console": {100, 0}}}.metrics())
	c := CountersOf(scrape{received: 300, emitted: 300, out: map[string][2]float64{"console": {250, 20}, sinkOut: {150, 10}}}.metrics())
	// The sink's output was added after the mark: it never got the first
	// 100 lines, and Queued would count them.
	if got := c.QueuedSince(base, sinkOut); got != 40 {
		t.Errorf("sink output: got %v; want 40", got)
	}
	if got := c.QueuedSince(base, "console"); got != 30 {
		t.Errorf("console: got %v; want 30", got)
	}
	if got, want := c.Queued(), float64(30+140); got != want {
		t.Errorf("Queued: got %v; want %v", got, want)
	}
}

// fakeStack serves a proxy's /metrics and a sink's /stats; step moves
// them on, one poll at a time, towards a settled state.
type fakeStack struct {
	polls  atomic.Int64
	settle int64 // the poll from which the proxy has settled; 0: never
	px     *Proxy
	sink   *Sink
}

func newFakeStack(t *testing.T, settleAt int64) *fakeStack {
	f := &fakeStack{settle: settleAt}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := f.polls.Add(1)
		delivered := 900
		if f.settle > 0 && n >= f.settle {
			delivered = 1000
		}
		fmt.Fprintf(w, "streamgate_lines_received_total 1000\nstreamgate_lines_emitted_total 1000\n"+
			"streamgate_output_lines_delivered_total{output=%q} %d\n", sinkOut, delivered)
	}))
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"lines":1000}`)
	}))
	t.Cleanup(proxy.Close)
	t.Cleanup(sink.Close)
	f.px = &Proxy{Admin: strings.TrimPrefix(proxy.URL, "http://")}
	f.sink = &Sink{Stats: strings.TrimPrefix(sink.URL, "http://")}
	return f
}

func TestSettle(t *testing.T) {
	f := newFakeStack(t, 5)
	c, st, err := settle(context.Background(), f.px, f.sink, Want{Sent: 1000, Out: sinkOut}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.polls.Load(); got != 5 {
		t.Errorf("polls: got %d; want 5 (settled at the fifth)", got)
	}
	if c.OutputDelivered(sinkOut) != 1000 || st.Lines != 1000 {
		t.Errorf("got delivered %v, sink %d; want the settled 1000, 1000", c.OutputDelivered(sinkOut), st.Lines)
	}
}

func TestSettleTimeout(t *testing.T) {
	f := newFakeStack(t, 0)
	start := time.Now()
	_, _, err := settle(context.Background(), f.px, f.sink, Want{Sent: 1000, Out: sinkOut}, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "100 queued for outputs") {
		t.Fatalf("got %v; want a timeout naming the 100 lines queued", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("gave up after %v; want about 200ms", d)
	}
}

func TestSettleCanceled(t *testing.T) {
	f := newFakeStack(t, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := settle(ctx, f.px, f.sink, Want{Sent: 1000, Out: sinkOut}, time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want the context's error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("returned after %v; want soon after the context ended", d)
	}
}
