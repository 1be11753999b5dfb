package pipeline

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
)

// scrape returns what /metrics would show of m.
func scrape(m *metrics.Metrics) string {
	var b bytes.Buffer
	m.WritePrometheus(&b)
	return b.String()
}

// TestReloadRetiresSeries: a rule or an output that a reload removes loses
// its series once the configurations that used it are done, and what it
// counted stays in the series without its label, so the totals still add
// up. One that stays keeps its series.
func TestReloadRetiresSeries(t *testing.T) {
	m := metrics.New()
	a, b := capture.Unique("series-a"), capture.Unique("series-b")
	cfg := func(version string, outs []output.Config, steps ...processor.Step) *Config {
		return &Config{Version: version, Chain: processor.NewChain(steps...), Outputs: outs, BatchSize: 1}
	}
	p, err := New(Options{Workers: 2, Metrics: m}, cfg("1", []output.Config{capture.Config(a), capture.Config(b)},
		mustStep(t, "drop_a", "filter", `{"value":"A"}`), mustStep(t, "drop_b", "filter", `{"value":"B"}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	push := func(texts ...string) {
		t.Helper()
		m.Received.Add(len(texts))
		if err := p.Push(context.Background(), lineBatch(1, texts...), 0); err != nil {
			t.Fatal(err)
		}
	}
	push("A 1", "B 1", "keep 1")
	waitFor(t, "the first line delivered", func() bool { return capture.Get(a).Len() == 1 && capture.Get(b).Len() == 1 })

	// Rule drop_a and output a go.
	if err := p.Apply(cfg("2", []output.Config{capture.Config(b)}, mustStep(t, "drop_b", "filter", `{"value":"B"}`))); err != nil {
		t.Fatal(err)
	}
	push("A 2", "B 2", "keep 2")
	waitFor(t, "the second batch delivered", func() bool { return capture.Get(b).Len() == 3 })
	nameA := capture.Config(a)
	gone := []string{`rule="drop_a"`, `output="` + nameA.Name() + `"`}
	waitFor(t, "the series of drop_a and of output a retired", func() bool {
		text := scrape(m)
		return !strings.Contains(text, gone[0]) && !strings.Contains(text, gone[1])
	})
	nameB := capture.Config(b)
	text := scrape(m)
	for _, want := range []string{
		`streamgate_lines_filtered_total{rule="drop_b"} 2`,
		"streamgate_lines_filtered_total 1\n", // drop_a's
		`streamgate_output_lines_delivered_total{output="` + nameB.Name() + `"} 3`,
		"streamgate_output_lines_delivered_total 1\n", // output a's
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics: no %q in\n%s", want, grepLines(text, "filtered", "delivered"))
		}
	}
	if got := m.FilteredTotal(); got != 3 {
		t.Errorf("FilteredTotal: got %d; want 3 (retired rules included)", got)
	}
	if got := m.DeliveredTotal(); got != 4 {
		t.Errorf("DeliveredTotal: got %d; want 4 (retired outputs included)", got)
	}
	checkAccounting(t, m, 0)

	// A rule that comes back starts a new series.
	if err := p.Apply(cfg("3", []output.Config{capture.Config(b)}, mustStep(t, "drop_a", "filter", `{"value":"A"}`))); err != nil {
		t.Fatal(err)
	}
	push("A 3")
	waitFor(t, "drop_a to count again", func() bool {
		return strings.Contains(scrape(m), `streamgate_lines_filtered_total{rule="drop_a"} 1`)
	})
}

// TestCloseKeepsSeries: shutting down retires nothing, so the final
// accounting still names every rule and output.
func TestCloseKeepsSeries(t *testing.T) {
	m := metrics.New()
	a := capture.Unique("series-close")
	p, err := New(Options{Workers: 1, Metrics: m}, &Config{Version: "1",
		Chain: processor.NewChain(mustStep(t, "drop_x", "filter", `{"value":"x"}`)), Outputs: []output.Config{capture.Config(a)}})
	if err != nil {
		t.Fatal(err)
	}
	m.Received.Add(2)
	if err := p.Push(context.Background(), lineBatch(1, "x", "y"), 0); err != nil {
		t.Fatal(err)
	}
	closePipeline(t, p)
	name := capture.Config(a)
	text := scrape(m)
	for _, want := range []string{`streamgate_lines_filtered_total{rule="drop_x"} 1`, `streamgate_output_lines_delivered_total{output="` + name.Name() + `"} 1`} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics after Close: no %q", want)
		}
	}
}

// grepLines returns the lines of text that contain any of words.
func grepLines(text string, words ...string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// TestInsecureOutputWarns: an output that skips TLS verification is
// logged as a warning when it is built, not when a reload carries it over.
func TestInsecureOutputWarns(t *testing.T) {
	logs := &logbuf.Buffer{}
	insecure := output.Config{Type: "http", URL: "https://127.0.0.1:1/logs", TLSInsecureSkipVerify: true}
	p, err := New(Options{Workers: 1, Logger: slog.New(slog.NewTextHandler(logs, nil))}, &Config{Version: "1", Outputs: []output.Config{insecure}})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	if err := p.Apply(&Config{Version: "2", Outputs: []output.Config{insecure}}); err != nil {
		t.Fatal(err)
	}
	text := logs.String()
	if n := strings.Count(text, "level=WARN"); n != 1 || !strings.Contains(text, "tls_insecure_skip_verify") || !strings.Contains(text, "output=http:https://127.0.0.1:1/logs") {
		t.Errorf("log: got %d warnings; want one naming the output and tls_insecure_skip_verify:\n%s", n, text)
	}
}
