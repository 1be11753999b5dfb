package server

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"streamgate/dataplane/internal/capture"
)

// TestReloadDropsRemovedSeries: a manifest with rule A and an output, then
// one without them: /metrics no longer has rule="A" nor the output, and
// what they counted stays in the series without those labels.
func TestReloadDropsRemovedSeries(t *testing.T) {
	first, second := capture.Unique("series-first"), capture.Unique("series-second")
	manifest := func(version, rules, sink string) string {
		return `{"version":"` + version + `","pipelines":[{"name":"p","processors":[` + rules + `],
			"outputs":[{"type":"capture","url":"` + sink + `"}],"batch_size":1}]}`
	}
	s := start(t, Options{
		AdminAddr: "127.0.0.1:0",
		Manifest: mustManifest(t, manifest("1", `{"id":"A","type":"filter","params":{"value":"DEBUG"}},
			{"id":"B","type":"filter","params":{"value":"TRACE"}}`, first)),
	})
	send := func(lines string) {
		t.Helper()
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, lines); err != nil {
			t.Fatal(err)
		}
	}
	metricsText := func() string {
		t.Helper()
		resp, err := http.Get("http://" + s.AdminAddr().String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	send("DEBUG one\nTRACE one\nINFO one\n")
	waitFor(t, "INFO one", func() bool { return capture.Get(first).Len() == 1 })
	firstName := `capture:` + first
	for _, want := range []string{`streamgate_lines_filtered_total{rule="A"} 1`, `output="` + firstName + `"`} {
		if text := metricsText(); !strings.Contains(text, want) {
			t.Fatalf("/metrics before the reload lacks %s", want)
		}
	}

	if err := s.ApplyJSON([]byte(manifest("2", `{"id":"B","type":"filter","params":{"value":"TRACE"}}`, second))); err != nil {
		t.Fatal(err)
	}
	send("DEBUG two\nTRACE two\n")
	waitFor(t, "DEBUG two", func() bool { return capture.Get(second).Len() == 1 })
	waitFor(t, `rule="A" and the first output gone from /metrics`, func() bool {
		text := metricsText()
		return !strings.Contains(text, `rule="A"`) && !strings.Contains(text, firstName)
	})
	text := metricsText()
	for _, want := range []string{
		`streamgate_lines_filtered_total{rule="B"} 2`,
		"\nstreamgate_lines_filtered_total 1\n",
		"\nstreamgate_output_lines_delivered_total 1\n",
		`streamgate_output_lines_delivered_total{output="capture:` + second + `"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics after the reload lacks %q", strings.TrimSpace(want))
		}
	}
	// Each line went to one output or the other: with the first output's
	// count kept, the deliveries add up to what was emitted.
	m := s.Metrics()
	if got, want := m.DeliveredTotal(), m.Emitted.Get(); got != want {
		t.Errorf("delivered %d over both outputs; want %d, the lines emitted", got, want)
	}
	assertAccounting(t, s)
}
