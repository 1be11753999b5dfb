package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// TestShadowLeavesLiveUntouched: a shadow chain that drops and rewrites
// lines runs on the lines the live chain ran on, and counts what it would
// do, per rule and in bytes; the outputs receive exactly what the live
// chain made. Stopping the shadow removes its series.
func TestShadowLeavesLiveUntouched(t *testing.T) {
	sink := capture.Unique("shadow")
	live := processor.NewChain(mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`),
		mustStep(t, "mask_live", "redact", `{"pattern":"secret","replacement":"******"}`))
	p, err := New(Options{Workers: 2, ShadowCPU: 1}, &Config{Chain: live, Outputs: []output.Config{capture.Config(sink)}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	p.SetShadow("shadow-1", processor.NewChain(
		mustStep(t, "drop_info", "filter", `{"value":"INFO"}`),
		mustStep(t, "mask", "redact", `{"pattern":"\\d+","replacement":"#"}`),
		mustStep(t, "dedup", "dedup", `{}`)))
	in := []string{"DEBUG x", "INFO a secret 1", "WARN 1234", "WARN 5678", "ERROR secret 99"}
	for k := range uint64(4) { // each batch on its own key, so both workers run it
		p.m.Received.Add(len(in))
		if err := p.Push(context.Background(), lineBatch(k, in...), 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the live lines", func() bool { return p.InPipeline() == 0 && capture.Get(sink).Len() == 16 })
	closePipeline(t, p)

	want := []string{"INFO a ****** 1", "WARN 1234", "WARN 5678", "ERROR ****** 99"}
	got := capture.Get(sink).Lines()
	for i, l := range got {
		if l != want[i%4] {
			t.Fatalf("live line %d: got %q; want %q (all: %q)", i, l, want[i%4], got)
		}
	}
	sh := p.Shadow()
	if sh == nil || sh.Version != "shadow-1" {
		t.Fatalf("Shadow: got %+v; want version shadow-1", sh)
	}
	size := 0
	for _, l := range in {
		size += len(l)
	}
	// Per batch: drop_info drops "INFO a secret 1" (15 bytes); mask
	// rewrites the 3 lines left with digits; dedup, whose memory is the
	// rule's, shared by the workers, lets 3 distinct lines pass in all.
	if got, want := sh.LinesIn.Get(), uint64(20); got != want {
		t.Errorf("shadow lines in: got %d; want %d", got, want)
	}
	if got, want := sh.BytesIn.Get(), uint64(4*size); got != want {
		t.Errorf("shadow bytes in: got %d; want %d", got, want)
	}
	rules := sh.Rules()
	ids := make([]string, len(rules))
	for i, r := range rules {
		ids[i] = r.ID
	}
	if !slices.Equal(ids, []string{"dedup", "drop_info", "mask"}) {
		t.Fatalf("shadow rules: got %v; want dedup, drop_info, mask", ids)
	}
	if r := rules[1]; r.Filtered != 4 || r.FilteredBytes != 60 {
		t.Errorf("drop_info: got %d lines, %d bytes; want 4, 60", r.Filtered, r.FilteredBytes)
	}
	if r := rules[2]; r.Redacted != 12 || r.Filtered != 0 {
		t.Errorf("mask: got %d redacted, %d dropped; want 12, 0", r.Redacted, r.Filtered)
	}
	d := rules[0]
	if d.Filtered != 16-3 || sh.LinesOut.Get() != 3 {
		t.Errorf("dedup: got %d dropped, %d out; want 13, 3", d.Filtered, sh.LinesOut.Get())
	}
	if got := sh.BytesOut.Get(); got != uint64(len("DEBUG x")+len("WARN #")+len("ERROR secret #")) {
		t.Errorf("shadow bytes out: got %d; want the 3 lines kept", got)
	}
	// The live accounting is the live chain's alone.
	if got := p.m.FilteredTotal(); got != 4 {
		t.Errorf("live filtered: got %d; want 4", got)
	}
	if got := p.m.BytesProcessed.Get(); got != uint64(4*size) {
		t.Errorf("bytes processed: got %d; want %d", got, 4*size)
	}

	var b strings.Builder
	p.m.WritePrometheus(&b)
	if !strings.Contains(b.String(), `streamgate_shadow_bytes_dropped_total{rule="drop_info"} 60`) {
		t.Errorf("/metrics lacks the shadow's drop_info bytes")
	}
	p.SetShadow("", nil)
	b.Reset()
	p.m.WritePrometheus(&b)
	if strings.Contains(b.String(), "streamgate_shadow_") || p.Shadow() != nil {
		t.Errorf("after the shadow stopped: its series remain")
	}
}

// TestShadowBudget: a worker runs the shadow until it spent its share of
// the second on it, then skips it until the next second.
func TestShadowBudget(t *testing.T) {
	now := time.Unix(1000, 0)
	w := &worker{p: &Pipeline{opts: Options{ShadowCPU: 0.25}}, now: func() time.Time { return now }}
	steps := []struct {
		advance, spend time.Duration
		want           bool
	}{
		{0, 0, true},
		{100 * time.Millisecond, 200 * time.Millisecond, true},
		{100 * time.Millisecond, 60 * time.Millisecond, false}, // 260ms of 250ms
		{500 * time.Millisecond, 0, false},
		{300 * time.Millisecond, 0, true}, // a new second
	}
	for i, st := range steps {
		now = now.Add(st.advance)
		w.shadowSpent += st.spend
		if got := w.shadowAllowed(); got != st.want {
			t.Fatalf("step %d: allowed %v; want %v", i, got, st.want)
		}
	}
	w.p.opts.ShadowCPU = 1
	w.shadowSpent = time.Hour
	if !w.shadowAllowed() {
		t.Fatal("with no bound: not allowed")
	}
}

// TestOutputSavingsCounters: every output counts the lines and bytes it
// is handed, and the bytes its destination accepted, beside the chain's
// bytes in and out and the bytes each rule dropped.
func TestOutputSavingsCounters(t *testing.T) {
	sink := capture.Unique("savings")
	chain := processor.NewChain(mustStep(t, "drop_debug", "filter", `{"value":"DEBUG"}`))
	p, err := New(Options{Workers: 1}, &Config{Chain: chain, Outputs: []output.Config{capture.Config(sink), {Type: "tcp", URL: "tcp://127.0.0.1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	p.m.Received.Add(3)
	if err := p.Push(context.Background(), lineBatch(1, "DEBUG aa", "INFO b", "WARN cc"), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lines", func() bool { return capture.Get(sink).Len() == 2 })
	closePipeline(t, p)
	m := p.m
	if m.BytesProcessed.Get() != 21 || m.BytesEmitted.Get() != 13 || m.FilteredBytes("drop_debug").Get() != 8 {
		t.Errorf("processed, emitted, filtered bytes: got %d, %d, %d; want 21, 13, 8",
			m.BytesProcessed.Get(), m.BytesEmitted.Get(), m.FilteredBytes("drop_debug").Get())
	}
	for _, o := range m.OutputBytesAll() {
		if o.LinesIn != 2 || o.BytesIn != 13 {
			t.Errorf("%s: got %d lines, %d bytes in; want 2, 13", o.Name, o.LinesIn, o.BytesIn)
		}
		if o.BytesOut != 0 { // capture sends nothing on a wire; the tcp destination is down
			t.Errorf("%s: got %d bytes out; want 0", o.Name, o.BytesOut)
		}
	}
	if n := len(m.OutputBytesAll()); n != 2 {
		t.Errorf("outputs: got %d; want 2", n)
	}
	var b strings.Builder
	m.WritePrometheus(&b)
	for _, want := range []string{
		"# TYPE streamgate_bytes_processed_total counter",
		`streamgate_output_bytes_in_total{output="capture:` + sink + `"} 13`,
		`streamgate_bytes_filtered_total{rule="drop_debug"} 8`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	m.RetireRule("drop_debug")
	b.Reset()
	m.WritePrometheus(&b)
	if !strings.Contains(b.String(), "streamgate_bytes_filtered_total 8\n") {
		t.Errorf("a retired rule's bytes did not move to the series without label")
	}
}

// panicky panics on every batch.
type panicky struct{}

func (panicky) Process(*record.Batch) { panic("boom") }

// TestShadowPanicStopsShadow: a shadow rule that panics stops the shadow,
// says why, and leaves the worker and the live lines alone.
func TestShadowPanicStopsShadow(t *testing.T) {
	sink := capture.Unique("shadow-panic")
	p, err := New(Options{Workers: 1, ShadowCPU: 1}, &Config{Outputs: []output.Config{capture.Config(sink)}})
	if err != nil {
		t.Fatal(err)
	}
	p.SetShadow("shadow-bad", processor.NewChain(processor.Step{ID: "bad", Type: "panicky", P: panicky{}}))
	for i := range 3 {
		p.m.Received.Add(2)
		if err := p.Push(context.Background(), lineBatch(1, "a", "b"), 0); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the live lines", func() bool { return capture.Get(sink).Len() == 2*(i+1) })
	}
	closePipeline(t, p)
	if p.shadow.Load() != nil || !strings.Contains(p.ShadowError(), "boom") {
		t.Fatalf("after a panic: shadow %v, error %q; want it stopped, saying why", p.shadow.Load(), p.ShadowError())
	}
	p.SetShadow("", nil)
	if p.ShadowError() != "" {
		t.Errorf("after SetShadow: error %q; want none", p.ShadowError())
	}
}
