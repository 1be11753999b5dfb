package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

func init() { capture.Register() }

// lineBatch returns a batch with one line per text, under key.
func lineBatch(key uint64, texts ...string) *record.Batch {
	b := record.Get(0)
	b.Key = key
	for _, t := range texts {
		start := len(b.Data)
		b.Data = append(b.Data, t...)
		b.Lines = append(b.Lines, b.Data[start:len(b.Data):len(b.Data)])
	}
	// Lines must point into the final array: rebuild after growth.
	off := 0
	for i, t := range texts {
		b.Lines[i] = b.Data[off : off+len(t) : off+len(t)]
		off += len(t)
	}
	return b
}

// mustStep builds a step through the real registry.
func mustStep(t *testing.T, id, typ, params string) processor.Step {
	t.Helper()
	s, err := processor.Build(processor.Config{ID: id, Type: typ, Params: json.RawMessage(params)})
	if err != nil {
		t.Fatalf("Build %s: %v", id, err)
	}
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func closePipeline(t *testing.T, p *Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// tagger appends "|v=<version>" to every line, marking which chain ran, and
// records in processed the highest version that ran.
type tagger struct {
	v         int
	processed *atomic.Int64
}

func (tg tagger) Process(b *record.Batch) {
	tag := "|v=" + strconv.Itoa(tg.v)
	for i, l := range b.Lines {
		start := len(b.Scratch)
		b.Scratch = append(b.Scratch, l...)
		b.Scratch = append(b.Scratch, tag...)
		b.Lines[i] = b.Scratch[start:len(b.Scratch):len(b.Scratch)]
	}
	// Lines appended before a growth of Scratch stay valid: the old array is
	// never written again.
	for {
		cur := tg.processed.Load()
		if int64(tg.v) <= cur || tg.processed.CompareAndSwap(cur, int64(tg.v)) {
			return
		}
	}
}

// TestSwapWhileFlowing applies 1,000 configurations, alternating chains and
// outputs, while producers push lines. Every line must arrive exactly once,
// processed by exactly one chain, delivered by that chain's output, and the
// chain versions seen by one producer's lines never go backwards.
//
// Swaps and traffic move in lockstep, so the test cannot pass with the lines
// slipping through before or after the swaps: a swap waits until a line has
// been processed by the chain it replaces, and a producer pushes its k-th
// batch only once version (k+1)*swaps/batches is applied. Every version must
// have processed lines.
func TestSwapWhileFlowing(t *testing.T) {
	const producers, perProducer, perBatch, swaps = 4, 25000, 10, 1000
	const batches = perProducer / perBatch
	sinks := [2]string{capture.Unique("swap-even"), capture.Unique("swap-odd")}
	sinkName := func(v int) string { return sinks[v%2] }
	var processed, applied atomic.Int64
	processed.Store(-1)
	config := func(v int) *Config {
		return &Config{
			Version:   strconv.Itoa(v),
			Chain:     processor.NewChain(processor.Step{ID: "tag", Type: "tag", P: tagger{v, &processed}, RunOnOverload: true}),
			Outputs:   []output.Config{capture.Config(sinkName(v))},
			BatchSize: 1 + v%100,
		}
	}
	p, err := New(Options{Workers: 3, Overflow: buffer.Block}, config(0))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for pr := 0; pr < producers; pr++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range batches {
				for applied.Load() < int64((k+1)*swaps/batches) {
					time.Sleep(50 * time.Microsecond)
				}
				texts := make([]string, perBatch)
				for j := range texts {
					texts[j] = fmt.Sprintf("p%d-%d", pr, k*perBatch+j)
				}
				p.m.Received.Add(len(texts))
				if err := p.Push(context.Background(), lineBatch(uint64(pr), texts...), 0); err != nil {
					t.Errorf("Push: %v", err)
					return
				}
			}
		}()
	}
	for v := 1; v <= swaps; v++ {
		waitFor(t, fmt.Sprintf("version %d to process a line", v-1), func() bool {
			return processed.Load() >= int64(v-1)
		})
		if err := p.Apply(config(v)); err != nil {
			t.Fatalf("Apply %d: %v", v, err)
		}
		applied.Store(int64(v))
	}
	wg.Wait()
	closePipeline(t, p)

	seen := make(map[string]int) // line → version
	lastVersion := make(map[string]int)
	for parity := 0; parity < 2; parity++ {
		for _, l := range capture.Get(sinkName(parity)).Lines() {
			body, ver, ok := strings.Cut(l, "|v=")
			if !ok || strings.Contains(ver, "|v=") {
				t.Fatalf("line %q: want exactly one version tag", l)
			}
			v, _ := strconv.Atoi(ver)
			if v%2 != parity {
				t.Fatalf("line %q processed by version %d delivered to the sink of parity %d", l, v, parity)
			}
			if prev, dup := seen[body]; dup {
				t.Fatalf("line %q delivered twice (versions %d and %d)", body, prev, v)
			}
			seen[body] = v
		}
	}
	if got, want := len(seen), producers*perProducer; got != want {
		t.Fatalf("delivered %d distinct lines; want %d", got, want)
	}
	versions := make(map[int]bool)
	for _, v := range seen {
		versions[v] = true
	}
	if len(versions) != swaps+1 {
		for v := 0; v <= swaps; v++ {
			if !versions[v] {
				t.Errorf("version %d delivered no line", v)
			}
		}
		t.Fatalf("%d of %d versions delivered lines; want all", len(versions), swaps+1)
	}
	for pr := 0; pr < producers; pr++ {
		prefix := fmt.Sprintf("p%d", pr)
		for i := 0; i < perProducer; i++ {
			v := seen[fmt.Sprintf("%s-%d", prefix, i)]
			if v < lastVersion[prefix] {
				t.Fatalf("producer %d line %d processed by version %d after a line processed by %d", pr, i, v, lastVersion[prefix])
			}
			lastVersion[prefix] = v
		}
	}
	if got := p.m.Reloads.Get(); got != swaps+1 {
		t.Fatalf("reloads: got %d; want %d", got, swaps+1)
	}
	checkAccounting(t, p.m, 0)
}

// checkAccounting asserts that a quiet pipeline lost nothing uncounted.
func checkAccounting(t *testing.T, m *metrics.Metrics, wantDropped uint64) {
	t.Helper()
	recv, filt, drop, emit := m.Received.Get(), m.FilteredTotal(), m.DroppedTotal(), m.Emitted.Get()
	if recv != filt+drop+emit {
		t.Fatalf("received %d != filtered %d + dropped %d + emitted %d", recv, filt, drop, emit)
	}
	if drop != wantDropped {
		t.Fatalf("dropped: got %d; want %d", drop, wantDropped)
	}
}

// gate blocks the first batch it sees until released, so a test can fill the
// buffer behind a stalled worker deterministically.
type gate struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (g *gate) Process(*record.Batch) {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
}

func TestBreaker(t *testing.T) {
	cases := []struct {
		name      string
		bypassAll bool
	}{
		{"keep_redaction", false},
		{"bypass_all", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const capLines = 100
			sink := capture.Unique("breaker-" + c.name)
			g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
			chain := processor.NewChain(
				processor.Step{ID: "gate", Type: "gate", P: g, RunOnOverload: true},
				mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`),
				mustStep(t, "ssn", "redact", `{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}`),
			)
			// No delay: the breaker opens as soon as the ring reaches 80 %
			// (TestBreakerDelay tests the delay).
			p, err := New(Options{Workers: 1, BufferLines: capLines, Overflow: buffer.DropNewest, BreakerDelay: -1},
				&Config{Chain: chain, Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10, BypassAll: c.bypassAll})
			if err != nil {
				t.Fatal(err)
			}
			push := func(i int) {
				p.m.Received.Inc()
				if err := p.Push(context.Background(), lineBatch(0, fmt.Sprintf("DEBUG ssn=123-45-6789 n=%d", i)), 0); err != nil {
					t.Fatal(err)
				}
			}
			push(0)
			<-g.entered // the worker is stalled inside the chain
			for i := 1; i <= 90; i++ {
				push(i)
			}
			if u := p.rings[0].Usage(); u < 0.8 {
				t.Fatalf("usage before release: got %.2f; want >= 0.80", u)
			}
			close(g.release)
			waitFor(t, "the backlog to drain", func() bool { return p.Queued() == 0 && p.InPipeline() == 0 })

			if got := p.m.BreakerOpened.Get(); got != 1 {
				t.Fatalf("breaker opened %d times; want 1", got)
			}
			if p.BreakerOpen() != 0 {
				t.Fatalf("breaker still open after the backlog drained")
			}
			bypassed := p.m.Bypassed.Get()
			// Hysteresis: open from 90 queued lines down to 50.
			if bypassed < 35 || bypassed > 45 {
				t.Fatalf("bypassed %d lines; want about 40 (open at 80%%, close at 50%%)", bypassed)
			}

			// Pressure over: DEBUG lines are filtered again.
			before := p.m.Filtered("drop_debug").Get()
			for i := 100; i < 110; i++ {
				push(i)
			}
			waitFor(t, "the new lines to be processed", func() bool { return p.InPipeline() == 0 })
			if got := p.m.Filtered("drop_debug").Get() - before; got != 10 {
				t.Fatalf("after the breaker closed, filtered %d of 10 DEBUG lines; want 10", got)
			}
			closePipeline(t, p)

			lines := capture.Get(sink).Lines()
			if uint64(len(lines)) != bypassed {
				t.Fatalf("delivered %d lines; want the %d bypassed ones", len(lines), bypassed)
			}
			for _, l := range lines {
				leaked := strings.Contains(l, "123-45-6789")
				if leaked != c.bypassAll {
					t.Fatalf("line %q: SSN present = %v; want %v", l, leaked, c.bypassAll)
				}
			}
			checkAccounting(t, p.m, 0)
		})
	}
}

// slow sleeps for d on every batch: processing that cannot keep up.
type slow struct{ d time.Duration }

func (s slow) Process(*record.Batch) { time.Sleep(s.d) }

// TestBreakerDelay fills a ring to 90 % behind a stalled worker, then lets
// it drain one line a batch: the breaker opens only once the ring has
// stayed at or above 80 % for longer than the delay of processing. The
// delay is a lower bound of the time the test takes, never an upper one.
func TestBreakerDelay(t *testing.T) {
	for _, c := range []struct {
		name       string
		delay      time.Duration
		perBatch   time.Duration // processing time of each batch
		wantOpened uint64
	}{
		// A burst: the ring drains in far less than the delay.
		{"burst_absorbed", time.Hour, 0, 0},
		// Overload: 2 ms a batch, and ten batches until the ring is below
		// 80 %, 20 ms in all: past the delay of 10 ms.
		{"sustained", 10 * time.Millisecond, 2 * time.Millisecond, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := capture.Unique("breaker-delay")
			g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
			chain := processor.NewChain(
				processor.Step{ID: "gate", Type: "gate", P: g, RunOnOverload: true},
				processor.Step{ID: "slow", Type: "slow", P: slow{c.perBatch}, RunOnOverload: true},
				mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`),
			)
			p, err := New(Options{Workers: 1, BufferLines: 100, Overflow: buffer.DropNewest, BreakerDelay: c.delay},
				&Config{Chain: chain, Outputs: []output.Config{capture.Config(sink)}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 91 {
				p.m.Received.Inc()
				if err := p.Push(context.Background(), lineBatch(0, fmt.Sprintf("DEBUG %d", i)), 0); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					<-g.entered // the worker is stalled inside the chain
				}
			}
			close(g.release)
			waitFor(t, "the backlog to drain", func() bool { return p.InPipeline() == 0 })
			closePipeline(t, p)
			if got := p.m.BreakerOpened.Get(); got != c.wantOpened {
				t.Fatalf("breaker opened %d times; want %d", got, c.wantOpened)
			}
			if bypassed, delivered := p.m.Bypassed.Get(), capture.Get(sink).Len(); c.wantOpened == 0 && (bypassed != 0 || delivered != 0) {
				t.Fatalf("%d lines bypassed the filter, %d delivered; want none", bypassed, delivered)
			}
			checkAccounting(t, p.m, 0)
		})
	}
}

// TestBreakerSawtooth drives a worker's breaker by hand, on a clock of its
// own, through what overload looks like on a busy machine: the ring fills
// and drains many times a second. Dips below 80 % do not start the delay
// afresh, so the breaker opens once the ring has been full for the delay
// in all, and then at each tooth, as it did at each before there was a
// delay; a quiet spell as long as the delay starts it afresh.
func TestBreakerSawtooth(t *testing.T) {
	// 10 teeth full for 3 ms each, then below 80 % for quiet. The time
	// from a check that finds the ring full to the next counts: 3 ms and
	// the first millisecond of a dip, 4 ms a tooth, so that the delay is
	// passed at the sixth.
	const delay, full, teeth = 20 * time.Millisecond, 3 * time.Millisecond, 10
	for _, c := range []struct {
		name      string
		quiet     time.Duration // below 80 % between two teeth
		wantFirst int           // the tooth at which the breaker first opens; 0: never
	}{
		{"dips", time.Millisecond, 6},
		{"quiet spells", delay + time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{Workers: 1, Overflow: buffer.DropNewest, BreakerDelay: delay, Logger: slog.New(slog.DiscardHandler)}.withDefaults()
			r := buffer.New(100, 0, buffer.DropNewest)
			clock := time.Unix(0, 0)
			w := &worker{p: &Pipeline{opts: opts, m: opts.Metrics, log: opts.Logger}, ring: r, now: func() time.Time { return clock }}
			fill := func(n int) {
				for r.Len() < n {
					if err := r.Push(context.Background(), lineBatch(0, "x"), 0); err != nil {
						t.Fatal(err)
					}
				}
				for r.Len() > n {
					record.Put(r.TryPop())
				}
			}
			first := 0
			for tooth := 1; tooth <= teeth; tooth++ {
				fill(90)
				w.breaker()
				clock = clock.Add(full)
				if w.breaker() && first == 0 {
					first = tooth
				}
				fill(10)
				clock = clock.Add(c.quiet)
				w.breaker()
			}
			if first != c.wantFirst {
				t.Fatalf("the breaker first opened at tooth %d; want %d (0: never)", first, c.wantFirst)
			}
		})
	}
}

// TestBreakerIgnoresOutputWaits holds a worker waiting for room in an
// output's queue, its ring at 90 %, for far longer than the breaker's delay:
// the output is behind, not the processing, so the breaker stays closed and
// every DEBUG line is filtered. The output delivers one batch every 20 ms,
// so the worker waits for it rather than dropping.
func TestBreakerIgnoresOutputWaits(t *testing.T) {
	const delay, lines = 200 * time.Millisecond, 92
	sink := capture.Unique("breaker-output-waits")
	gate := make(chan struct{})
	capture.Get(sink).Gate = gate
	chain := processor.NewChain(mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`))
	// A queue of 1 byte holds one batch; a batch is one line.
	p, err := New(Options{Workers: 1, BufferLines: 100, Overflow: buffer.DropNewest, BreakerDelay: delay,
		OutputQueueBytes: 1, OverflowWait: time.Hour},
		&Config{Chain: chain, Outputs: []output.Config{capture.Config(sink)}, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	push := func(text string) {
		p.m.Received.Inc()
		if err := p.Push(context.Background(), lineBatch(0, text), 0); err != nil {
			t.Fatal(err)
		}
	}
	// The first line is written and held at the gate, the second waits
	// for room; then the ring fills behind them, half DEBUG.
	push("INFO 0")
	push("INFO 1")
	waits := p.m.OutputWaits("capture:" + sink)
	waitFor(t, "the worker to wait for room", func() bool { return waits.Get() == 1 })
	for i := 2; i < lines; i++ {
		if i%2 == 0 {
			push(fmt.Sprintf("DEBUG %d", i))
		} else {
			push(fmt.Sprintf("INFO %d", i))
		}
	}
	if u := p.rings[0].Usage(); u < 0.8 {
		t.Fatalf("usage: got %.2f; want >= 0.80", u)
	}
	// Let a batch out every 20 ms: the worker spends well over the delay
	// waiting, the ring staying above 80 %.
	for sent := time.Now(); time.Since(sent) < 4*delay; {
		time.Sleep(20 * time.Millisecond)
		gate <- struct{}{}
	}
	close(gate)
	waitFor(t, "the backlog to drain", func() bool { return p.InPipeline() == 0 })
	closePipeline(t, p)
	if got := p.m.BreakerOpened.Get(); got != 0 {
		t.Fatalf("breaker opened %d times; want 0", got)
	}
	if got := waits.Get(); got < 2 {
		t.Fatalf("the worker waited for room %d times; want several", got)
	}
	if got, want := capture.Get(sink).Len(), lines/2+1; got != want {
		t.Fatalf("delivered %d lines; want the %d INFO ones", got, want)
	}
	checkAccounting(t, p.m, 0)
}

// TestOutputWaitBudget: how long a worker may wait for room in output
// queues, by the state of its ring and breaker.
func TestOutputWaitBudget(t *testing.T) {
	const wait = time.Second
	for _, c := range []struct {
		name             string
		open, hot, full  bool
		hotWait, outWait time.Duration
		want             time.Duration
	}{
		{name: "ring with room", want: wait},
		{name: "ring full, no wait yet", hot: true, full: true, want: wait},
		{name: "ring full, part spent", hot: true, full: true, hotWait: 300 * time.Millisecond, outWait: 200 * time.Millisecond, want: 500 * time.Millisecond},
		{name: "ring full, all spent", hot: true, full: true, hotWait: 1200 * time.Millisecond, want: 0},
		{name: "ring dipped below, all spent", hot: true, hotWait: 1200 * time.Millisecond, want: wait},
		{name: "breaker open", open: true, hot: true, full: true, want: 0},
	} {
		w := &worker{p: &Pipeline{opts: Options{OverflowWait: wait}}, open: c.open, hot: c.hot, full: c.full, hotWait: c.hotWait, outWait: c.outWait}
		if got := w.outputWait(); got != c.want {
			t.Errorf("%s: got %s; want %s", c.name, got, c.want)
		}
	}
	w := &worker{p: &Pipeline{opts: Options{OverflowWait: -1}}}
	if got := w.outputWait(); got != 0 {
		t.Errorf("no overflow wait: got %s; want 0", got)
	}
}

// TestOutputQueueFull sends a burst far larger than an output's queue under
// a drop policy. With a wait, the worker waits for room as long as the
// output delivers, and nothing is lost; without, the batches the queue
// cannot take are dropped for that output (queue_full). The output lets a
// batch out only once the worker is waiting, or once every line is emitted,
// so the queue is full whenever the worker flushes.
func TestOutputQueueFull(t *testing.T) {
	const n = 200
	for _, c := range []struct {
		name        string
		wait        time.Duration
		wantDropped bool
	}{
		{"wait", time.Hour, false},
		{"no_wait", -1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := capture.Unique("queue-full")
			gate := make(chan struct{})
			capture.Get(sink).Gate = gate
			p, err := New(Options{Workers: 1, Overflow: buffer.DropOldest, OutputQueueBytes: 1, OverflowWait: c.wait},
				&Config{Outputs: []output.Config{capture.Config(sink)}, BatchSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			name := "capture:" + sink
			waits, dropped := p.m.OutputWaits(name), p.m.OutputDropped(name, metrics.ReasonQueueFull)
			done := make(chan struct{})
			released := make(chan struct{})
			// The output takes a batch each time the worker waits for
			// room, so that it does; and, lest it starve, after 5 ms
			// without a wait: a batch the worker queued while the lane was
			// empty did not wait.
			go func() {
				defer close(released)
				for let := uint64(0); ; let++ {
					for last := time.Now(); waits.Get() <= let && p.InPipeline() != 0 && time.Since(last) < 5*time.Millisecond; {
						select {
						case <-done:
							return
						case <-time.After(time.Millisecond):
						}
					}
					select {
					case gate <- struct{}{}:
					case <-done:
						return
					}
				}
			}()
			for i := range n {
				p.m.Received.Inc()
				if err := p.Push(context.Background(), lineBatch(0, fmt.Sprintf("line %d", i)), 0); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, "every line delivered or dropped", func() bool {
				return p.InPipeline() == 0 && uint64(capture.Get(sink).Len())+dropped.Get() == n
			})
			close(done)
			<-released
			closePipeline(t, p)
			if got := dropped.Get(); (got != 0) != c.wantDropped {
				t.Fatalf("queue_full drops: got %d; want some: %v", got, c.wantDropped)
			}
			if got := waits.Get(); (got != 0) == c.wantDropped {
				t.Fatalf("waits: got %d; want some: %v", got, !c.wantDropped)
			}
			checkAccounting(t, p.m, 0)
		})
	}
}

// TestNoBreakerUnderBlock fills the ring of a Block pipeline: senders wait,
// nothing is lost, so filters keep running.
func TestNoBreakerUnderBlock(t *testing.T) {
	sink := capture.Unique("block-no-breaker")
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	chain := processor.NewChain(
		processor.Step{ID: "gate", Type: "gate", P: g},
		mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`),
	)
	p, err := New(Options{Workers: 1, BufferLines: 10, Overflow: buffer.Block},
		&Config{Chain: chain, Outputs: []output.Config{capture.Config(sink)}})
	if err != nil {
		t.Fatal(err)
	}
	p.m.Received.Add(1)
	if err := p.Push(context.Background(), lineBatch(0, "INFO first"), 0); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 50; i++ { // 5 times the ring: most pushes wait
			p.m.Received.Add(1)
			if err := p.Push(context.Background(), lineBatch(0, fmt.Sprintf("DEBUG %d", i)), 0); err != nil {
				t.Error(err)
			}
		}
	}()
	waitFor(t, "the ring to fill", func() bool { return p.rings[0].Usage() >= 1 })
	close(g.release)
	<-done
	closePipeline(t, p)
	if got := p.m.BreakerOpened.Get(); got != 0 {
		t.Fatalf("breaker opened %d times under block; want 0", got)
	}
	if got := capture.Get(sink).Lines(); len(got) != 1 || got[0] != "INFO first" {
		t.Fatalf("delivered %q; want only the INFO line", got)
	}
	checkAccounting(t, p.m, 0)
}

// TestSlowOutputIsolated blocks one output completely: the other output and
// the pipeline keep going, and the blocked output's overflow is counted.
// Lines go in rounds, each delivered to the fast output before the next, so
// the fast output never lags and the blocked one deterministically fills
// its queue.
func TestSlowOutputIsolated(t *testing.T) {
	const rounds, perRound = 200, 100
	const n = rounds * perRound
	fast, slow := capture.Unique("iso-fast"), capture.Unique("iso-slow")
	capture.Get(slow).Gate = make(chan struct{})
	p, err := New(Options{Workers: 2, OutputQueueBytes: 1 << 20, Overflow: buffer.DropNewest, FlushInterval: time.Millisecond},
		&Config{Outputs: []output.Config{capture.Config(fast), capture.Config(slow)}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < rounds; r++ {
		for i := r * perRound; i < (r+1)*perRound; i++ {
			p.m.Received.Inc()
			if err := p.Push(context.Background(), lineBatch(uint64(i%7), fmt.Sprintf("line %d", i)), 0); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the fast output to get the round", func() bool { return capture.Get(fast).Len() == (r+1)*perRound })
	}
	if got := capture.Get(slow).Len(); got != 0 {
		t.Fatalf("blocked output delivered %d lines; want 0", got)
	}
	close(capture.Get(slow).Gate)
	closePipeline(t, p)

	m := p.m
	slowDelivered := m.Delivered("capture:" + slow).Get()
	slowDropped := m.OutputDropped("capture:"+slow, metrics.ReasonQueueFull).Get()
	if slowDropped == 0 {
		t.Fatalf("blocked output dropped nothing; want its queue overflow counted")
	}
	if slowDelivered+slowDropped != n {
		t.Fatalf("blocked output: delivered %d + dropped %d; want %d", slowDelivered, slowDropped, n)
	}
	if got := m.Delivered("capture:" + fast).Get(); got != n {
		t.Fatalf("fast output delivered %d; want %d", got, n)
	}
	checkAccounting(t, m, 0)
}

// TestLargeBatchThroughEmptyQueue sends output batches larger than the
// output's whole queue: an empty queue takes them, nothing is dropped.
func TestLargeBatchThroughEmptyQueue(t *testing.T) {
	sink := capture.Unique("large")
	p, err := New(Options{Workers: 1, OutputQueueBytes: 1024, Overflow: buffer.DropNewest},
		&Config{Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 4000)
	for i := 0; i < 30; i++ {
		p.m.Received.Inc()
		if err := p.Push(context.Background(), lineBatch(1, line), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the line to be delivered", func() bool { return p.InPipeline() == 0 && capture.Get(sink).Len() == i+1 })
	}
	closePipeline(t, p)
	if got := p.m.OutputDropped("capture:"+sink, metrics.ReasonQueueFull).Get(); got != 0 {
		t.Fatalf("queue_full drops: got %d; want 0", got)
	}
}

// TestApplyFailureKeepsOldConfig checks that an output that cannot be built
// leaves the running configuration untouched.
func TestApplyFailureKeepsOldConfig(t *testing.T) {
	sink := capture.Unique("apply-fail")
	p, err := New(Options{Workers: 1}, &Config{Version: "1", Outputs: []output.Config{capture.Config(sink)}})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	err = p.Apply(&Config{Version: "2", Outputs: []output.Config{{Type: "http"}}})
	if err == nil || !strings.Contains(err.Error(), "url") {
		t.Fatalf("Apply with an http output without url: got %v; want an error naming url", err)
	}
	if got := p.Version(); got != "1" {
		t.Fatalf("version after a failed Apply: got %q; want %q", got, "1")
	}
	p.m.Received.Inc()
	if err := p.Push(context.Background(), lineBatch(1, "still flowing"), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the line to reach the old output", func() bool { return capture.Get(sink).Len() == 1 })
}

// laneOutput records which lane wrote each line; it has only WriteLane's
// contract, so a plain Write is a test failure.
type laneOutput struct {
	mu    sync.Mutex
	lane  map[string]int // line → lane
	plain int            // calls to Write
}

func (o *laneOutput) Write(context.Context, *record.Batch) error {
	o.mu.Lock()
	o.plain++
	o.mu.Unlock()
	return nil
}

func (o *laneOutput) WriteLane(_ context.Context, lane int, b *record.Batch) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range b.Lines {
		o.lane[string(l)] = lane
	}
	return nil
}

func (o *laneOutput) Close() error { return nil }

var lanes = struct {
	once sync.Once
	out  map[string]*laneOutput
	mu   sync.Mutex
}{out: map[string]*laneOutput{}}

// TestLaneWriter checks that an output implementing output.LaneWriter gets
// each worker's batches through WriteLane with that worker's lane number, so
// it can keep them on one connection.
func TestLaneWriter(t *testing.T) {
	lanes.once.Do(func() {
		err := output.Register("lanes", output.Type{
			Validate: func(*output.Config) error { return nil },
			New: func(c *output.Config) (output.Output, error) {
				lanes.mu.Lock()
				defer lanes.mu.Unlock()
				return lanes.out[c.URL], nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	name := capture.Unique("lanes")
	out := &laneOutput{lane: map[string]int{}}
	lanes.mu.Lock()
	lanes.out[name] = out
	lanes.mu.Unlock()

	const workers, keys, perKey = 3, 12, 50
	p, err := New(Options{Workers: workers}, &Config{Outputs: []output.Config{{Type: "lanes", URL: name}}, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	for i := range perKey {
		for k := range keys {
			if err := p.Push(context.Background(), lineBatch(uint64(k), fmt.Sprintf("%d %d", k, i)), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	closePipeline(t, p)
	out.mu.Lock()
	defer out.mu.Unlock()
	if out.plain != 0 {
		t.Fatalf("Write called %d times; want WriteLane only", out.plain)
	}
	if len(out.lane) != keys*perKey {
		t.Fatalf("got %d lines; want %d", len(out.lane), keys*perKey)
	}
	for l, lane := range out.lane {
		var k, i int
		fmt.Sscanf(l, "%d %d", &k, &i)
		if want := k % workers; lane != want {
			t.Fatalf("line %q (key %d) came from lane %d; want the lane of worker %d", l, k, lane, want)
		}
	}
}

// TestFlush checks when a partial output batch leaves: at the flush interval
// when the batch stays short, at once when it reaches the batch size, and at
// once when the worker is idle if every output streams.
func TestFlush(t *testing.T) {
	t.Run("interval", func(t *testing.T) {
		const interval = 200 * time.Millisecond
		sink := capture.Unique("flush-interval")
		p, err := New(Options{Workers: 1, FlushInterval: interval}, &Config{
			Version: "1", Outputs: []output.Config{capture.Config(sink)}, BatchSize: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		pushed := time.Now()
		if err := p.Push(context.Background(), lineBatch(1, "a", "b", "c", "d", "e"), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "5 lines at the output", func() bool { return len(capture.Get(sink).Lines()) == 5 })
		// Delivery before the interval would mean a short batch left early;
		// the upper bound is loose, for slow machines.
		if took := time.Since(pushed); took < interval || took > 20*interval {
			t.Fatalf("5 of 100 lines delivered after %v; want the flush interval, %v", took, interval)
		}
	})
	t.Run("streaming outputs when idle", func(t *testing.T) {
		sink := capture.Unique("flush-stream")
		p, err := New(Options{Workers: 1, FlushInterval: time.Hour}, &Config{
			Version: "1", Outputs: []output.Config{capture.StreamConfig(sink)}, BatchSize: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		// Not the hour-long interval: the worker has nothing more to do.
		if err := p.Push(context.Background(), lineBatch(1, "a", "b", "c"), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "3 lines at a streaming output", func() bool { return capture.Get(sink).Len() == 3 })
	})
	t.Run("streaming and batching outputs", func(t *testing.T) {
		const interval = 200 * time.Millisecond
		stream, batch := capture.Unique("flush-mixed-stream"), capture.Unique("flush-mixed-batch")
		p, err := New(Options{Workers: 1, FlushInterval: interval}, &Config{
			Version: "1", Outputs: []output.Config{capture.StreamConfig(stream), capture.Config(batch)}, BatchSize: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		pushed := time.Now()
		if err := p.Push(context.Background(), lineBatch(1, "a", "b", "c"), 0); err != nil {
			t.Fatal(err)
		}
		// Every output gets every batch: one batching output keeps the
		// batches full for all.
		waitFor(t, "3 lines at both outputs", func() bool {
			return capture.Get(stream).Len() == 3 && capture.Get(batch).Len() == 3
		})
		if took := time.Since(pushed); took < interval {
			t.Fatalf("a short batch left after %v, before the flush interval, %v, with a batching output", took, interval)
		}
	})
	t.Run("lingering output when idle", func(t *testing.T) {
		sink := capture.Unique("flush-linger")
		p, err := New(Options{Workers: 1, FlushInterval: time.Hour}, &Config{
			Version: "1", Outputs: []output.Config{capture.LingerConfig(sink, 5)}, BatchSize: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		// Not the hour-long interval: the output has nothing in flight.
		if err := p.Push(context.Background(), lineBatch(1, "a", "b", "c"), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "3 lines at a lingering output", func() bool { return capture.Get(sink).Len() == 3 })
	})
	t.Run("lingering output when busy", func(t *testing.T) {
		const interval = 2 * time.Second
		name := capture.Unique("flush-linger-busy")
		sink := capture.Get(name)
		sink.Gate = make(chan struct{})
		p, err := New(Options{Workers: 1, FlushInterval: interval}, &Config{
			Version: "1", Outputs: []output.Config{capture.LingerConfig(name, 5)}, BatchSize: 100,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		var lane *lane
		for _, r := range p.outputs {
			lane = r.lanes[0]
		}
		// The first line lingers 5 ms, then its Write waits at the gate: a
		// request in flight.
		if err := p.Push(context.Background(), lineBatch(1, "a"), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first batch in flight", func() bool { return lane.queued.Load() != 0 })
		// While it is, lines that come apart wait together for a fuller
		// batch instead of leaving one linger after the other.
		pushed := time.Now()
		for _, l := range []string{"b", "c"} {
			if err := p.Push(context.Background(), lineBatch(1, l), 0); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Millisecond)
		}
		close(sink.Gate) // the request completes, and every later one at once
		waitFor(t, "3 lines at the output", func() bool { return sink.Len() == 3 })
		if got := sink.Batches(); got != 2 {
			t.Fatalf("got %d batches; want 2: a alone, then b and c, held while a was in flight", got)
		}
		// Once the output was idle again, b and c left after their linger,
		// not at the flush interval.
		if took := time.Since(pushed); took >= interval {
			t.Fatalf("b and c left after %v, the flush interval; want their linger once the output was idle", took)
		}
	})
	t.Run("batch size", func(t *testing.T) {
		sink := capture.Unique("flush-size")
		p, err := New(Options{Workers: 1, FlushInterval: time.Hour}, &Config{
			Version: "1", Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer closePipeline(t, p)
		texts := make([]string, 25)
		for i := range texts {
			texts[i] = strconv.Itoa(i)
		}
		if err := p.Push(context.Background(), lineBatch(1, texts...), 0); err != nil {
			t.Fatal(err)
		}
		// Two full batches leave at once; the last 5 lines wait for the
		// hour-long interval, or for Close.
		waitFor(t, "20 lines at the output", func() bool { return len(capture.Get(sink).Lines()) >= 20 })
		time.Sleep(50 * time.Millisecond)
		if got := len(capture.Get(sink).Lines()); got != 20 {
			t.Fatalf("%d lines delivered before the flush interval; want the 2 full batches of 10", got)
		}
	})
}

// TestBlockBoundsOutputQueue stalls an output under the Block policy: the
// batches queued for it must stay within OutputQueueBytes (give or take the
// batch in hand), the rest of the backlog waiting in the bounded ring and,
// past that, in the producer. Nothing is lost once the output resumes.
func TestBlockBoundsOutputQueue(t *testing.T) {
	const limit, bufferLines, perBatch, batches = 64 << 10, 2000, 10, 2000
	sink := capture.Unique("block-bound")
	gate := make(chan struct{})
	capture.Get(sink).Gate = gate
	p, err := New(Options{Workers: 1, Overflow: buffer.Block, OutputQueueBytes: limit, BufferLines: bufferLines},
		&Config{Version: "1", Outputs: []output.Config{capture.Config(sink)}, BatchSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	var open sync.Once
	release := func() { open.Do(func() { close(gate) }) }
	t.Cleanup(func() { release(); closePipeline(t, p) }) // also when the test fails early
	done := make(chan struct{})
	go func() {
		defer close(done)
		line := strings.Repeat("x", 200)
		for range batches {
			texts := make([]string, perBatch)
			for j := range texts {
				texts[j] = line
			}
			p.m.Received.Add(perBatch)
			if err := p.Push(context.Background(), lineBatch(1, texts...), 0); err != nil {
				t.Errorf("Push: %v", err)
				return
			}
		}
	}()
	// The output takes nothing, so the ring fills behind the worker.
	waitFor(t, "the ring to fill", func() bool { return p.Queued() > bufferLines-perBatch })
	time.Sleep(50 * time.Millisecond)
	queued := p.cur.Load().outs[0].queued.Load()
	release()
	<-done
	closePipeline(t, p)
	// One batch's footprint depends on the capacity its pooled slices
	// already had, so the bound is checked against the largest batch the
	// output was handed, the blocked one included.
	if maxBatch := int64(capture.Get(sink).MaxFootprint()); queued > limit+maxBatch {
		t.Fatalf("%d bytes queued for a stalled output; want at most its limit, %d, and one batch, %d", queued, limit, maxBatch)
	}
	if got, want := capture.Get(sink).Len(), perBatch*batches; got != want {
		t.Fatalf("delivered %d lines; want %d", got, want)
	}
	checkAccounting(t, p.m, 0)
}

// refusingOutput answers for each line and refuses the lines that start
// with "bad", as elasticsearch and otlp outputs do.
type refusingOutput struct{}

func (refusingOutput) Write(_ context.Context, b *record.Batch) error {
	n := 0
	for _, l := range b.Lines {
		if strings.HasPrefix(string(l), "bad") {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &output.RejectedError{Output: "refusing", Rejected: n, Lines: len(b.Lines)}
}

func (refusingOutput) Close() error { return nil }

var registerRefusing sync.Once

// TestRejectedLines: the lines a destination refused are counted as
// dropped (reason rejected), and those it kept as delivered.
func TestRejectedLines(t *testing.T) {
	registerRefusing.Do(func() {
		err := output.Register("refusing", output.Type{
			Validate: func(*output.Config) error { return nil },
			New:      func(*output.Config) (output.Output, error) { return refusingOutput{}, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	p, err := New(Options{Workers: 1, FlushInterval: time.Hour}, &Config{
		Version: "1", Outputs: []output.Config{{Type: "refusing"}}, BatchSize: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Push(context.Background(), lineBatch(1, "ok 1", "bad 1", "ok 2", "bad 2", "ok 3"), 0); err != nil {
		t.Fatal(err)
	}
	closePipeline(t, p)
	if got := p.m.Delivered("refusing").Get(); got != 3 {
		t.Errorf("delivered %d; want the 3 kept", got)
	}
	if got := p.m.OutputDropped("refusing", metrics.ReasonRejected).Get(); got != 2 {
		t.Errorf("rejected %d; want the 2 refused", got)
	}
	if got := p.m.OutputDropped("refusing", metrics.ReasonOutputFailed).Get(); got != 0 {
		t.Errorf("output_failed %d; want 0", got)
	}
}

// TestRedactionsByDetector: a redact rule's lines are counted by the
// detector that found what it redacted, in streamgate_redactions_total and
// in Rules; a reload that removes the rule moves its series to the one
// without a rule label.
func TestRedactionsByDetector(t *testing.T) {
	sink := capture.Unique("redactions-by-detector")
	chain := processor.NewChain(mustStep(t, "pii", "redact", `{"detectors": ["us_ssn", "email", "credit_card"]}`))
	p, err := New(Options{Workers: 1}, &Config{Chain: chain, Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"ssn=123-45-6789 ssn2=234-56-7890",
		"to bob@example.com ssn=123-45-6789",
		"nothing",
		`{"user": "a@example.com"}`,
	}
	for _, l := range lines {
		p.m.Received.Inc()
		if err := p.Push(context.Background(), lineBatch(0, l), 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the lines to be processed", func() bool { return p.InPipeline() == 0 })
	rules := p.m.Rules()
	if len(rules) != 1 || rules[0].Redacted != 3 || !maps.Equal(rules[0].RedactedBy, map[string]uint64{"us_ssn": 2, "email": 2}) {
		t.Errorf("rules: %+v; want pii redacting 3 lines, us_ssn 2 and email 2", rules)
	}
	if err := p.Apply(&Config{Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	// The old chain is let go once the worker has moved to the new one.
	p.m.Received.Inc()
	if err := p.Push(context.Background(), lineBatch(0, "after"), 0); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	waitFor(t, "the rule's series to be retired", func() bool {
		b.Reset()
		p.m.WritePrometheus(&b)
		return !strings.Contains(b.String(), `rule="pii"`)
	})
	for _, want := range []string{`streamgate_redactions_total{detector="us_ssn"} 2`, `streamgate_redactions_total{detector="email"} 2`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("after the rule's removal, /metrics lacks %s", want)
		}
	}
	closePipeline(t, p)
}
