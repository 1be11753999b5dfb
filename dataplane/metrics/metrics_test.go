package metrics

import (
	"bytes"
	"maps"
	"slices"
	"strings"
	"testing"

	"streamgate/dataplane/buildinfo"
	"streamgate/dataplane/output"
)

func TestOutputTotals(t *testing.T) {
	m := New()
	if got := m.Outputs(); len(got) != 0 {
		t.Fatalf("outputs of a new set: %+v; want none", got)
	}
	m.Delivered("console").Add(7)
	m.OutputDropped("console", ReasonShutdown).Add(1)
	m.Delivered("http:http://a").Add(3)
	m.OutputDropped("http:http://a", ReasonOutputFailed).Add(4)
	m.OutputDropped("http:http://a", ReasonQueueFull).Add(2)
	m.OutputDropped("tcp:tcp://b", ReasonQueueFull).Add(5) // dropped everything, delivered nothing

	want := []OutputTotals{
		{Name: "console", Delivered: 7, Dropped: 1},
		{Name: "http:http://a", Delivered: 3, Dropped: 6},
		{Name: "tcp:tcp://b", Delivered: 0, Dropped: 5},
	}
	if got := m.Outputs(); !slices.Equal(got, want) {
		t.Fatalf("Outputs: got %+v; want %+v", got, want)
	}
	if got := m.DeliveredTotal(); got != 10 {
		t.Errorf("DeliveredTotal: got %d; want 10", got)
	}
	if got := m.OutputDroppedTotal(); got != 12 {
		t.Errorf("OutputDroppedTotal: got %d; want 12", got)
	}
	// The counters handed out are the ones exported.
	if m.Delivered("console") != m.Delivered("console") || m.OutputDropped("console", ReasonShutdown).Get() != 1 {
		t.Error("a second lookup returned another counter")
	}
	var b bytes.Buffer
	m.WritePrometheus(&b)
	for _, want := range []string{
		`streamgate_output_lines_delivered_total{output="console"} 7`,
		`streamgate_output_lines_dropped_total{output="http:http://a",reason="queue_full"} 2`,
		`streamgate_udp_datagrams_dropped_total 0`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

func TestBuildInfo(t *testing.T) {
	var b strings.Builder
	New().WritePrometheus(&b)
	bi := buildinfo.Get()
	want := `streamgate_build_info{version="` + bi.Version + `",commit="` + bi.Commit + `",goversion="` + bi.GoVersion + `"} 1`
	if !strings.Contains(b.String(), want+"\n") {
		t.Fatalf("/metrics lacks %s:\n%s", want, b.String())
	}
}

// TestEgressPII: the audit's counters are one series per detector and
// output, looked up once, and EgressPIITotal sums them all.
func TestEgressPII(t *testing.T) {
	m := New()
	if got := m.EgressPIITotal(); got != 0 {
		t.Fatalf("EgressPIITotal of a new set: got %d; want 0", got)
	}
	m.EgressPII("ssn", "console").Add(2)
	m.EgressPII("email", "console").Add(1)
	m.EgressPII("ssn", "http:http://a").Add(4)
	if m.EgressPII("ssn", "console") != m.EgressPII("ssn", "console") {
		t.Error("a second lookup returned another counter")
	}
	if got := m.EgressPIITotal(); got != 7 {
		t.Errorf("EgressPIITotal: got %d; want 7", got)
	}
	var b bytes.Buffer
	m.WritePrometheus(&b)
	for _, want := range []string{
		`streamgate_egress_pii_total{detector="ssn",output="console"} 2`,
		`streamgate_egress_pii_total{detector="email",output="console"} 1`,
		`streamgate_egress_pii_total{detector="ssn",output="http:http://a"} 4`,
		`streamgate_egress_audited_lines_total 0`,
	} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("exposition lacks %q", want)
		}
	}
}

// TestOutputCounters checks that the outputs' own counters are exposed
// with the rest.
func TestOutputCounters(t *testing.T) {
	out, err := output.New(&output.Config{Type: "loki", URL: "http://127.0.0.1:1/metrics-test"})
	if err != nil {
		t.Fatalf("output.New: %v", err)
	}
	defer out.Close()
	var b strings.Builder
	New().WritePrometheus(&b)
	if want := `streamgate_loki_overflow_lines_total{output="loki:http://127.0.0.1:1/metrics-test"} 0`; !strings.Contains(b.String(), want+"\n") {
		t.Errorf("exposition lacks %q", want)
	}
}

func TestRetire(t *testing.T) {
	m := New()
	m.Filtered("a").Add(3)
	m.Filtered("b").Add(4)
	m.Delivered("http:http://x").Add(5)
	m.OutputDropped("http:http://x", ReasonQueueFull).Add(2)
	m.EgressPII("ssn", "http:http://x").Add(1)
	m.OutputCount("http:http://x", OutputRestored).Add(9)
	m.OutputGauge("http:http://x", OutputQueuedLines, func() float64 { return 8 })
	m.Delivered("console").Add(6)
	m.Redactions("a", "us_ssn").Add(2)
	m.Redactions("b", "us_ssn").Add(1)
	m.Redactions("b", "email").Add(0)
	if rs := m.Rules(); len(rs) != 2 || !maps.Equal(rs[0].RedactedBy, map[string]uint64{"us_ssn": 2}) || !maps.Equal(rs[1].RedactedBy, map[string]uint64{"us_ssn": 1}) {
		t.Errorf("Rules before the retirement: %+v; want a redacting us_ssn 2, b us_ssn 1 and no email", rs)
	}

	m.RetireRule("a")
	m.RetireRule("a")       // twice: nothing more
	m.RetireRule("unknown") // never counted
	m.RetireOutput("http:http://x")
	var b bytes.Buffer
	m.WritePrometheus(&b)
	text := b.String()
	for _, gone := range []string{`rule="a"`, `output="http:http://x"`} {
		if strings.Contains(text, gone) {
			t.Errorf("exposition still has %s", gone)
		}
	}
	for _, want := range []string{
		`streamgate_lines_filtered_total{rule="b"} 4`,
		"streamgate_lines_filtered_total 3\n",
		"streamgate_output_lines_delivered_total 5\n",
		`streamgate_output_lines_dropped_total{reason="queue_full"} 2`,
		`streamgate_egress_pii_total{detector="ssn"} 1`,
		"streamgate_output_restored_lines_total 9\n",
		`streamgate_output_lines_delivered_total{output="console"} 6`,
		`streamgate_redactions_total{detector="us_ssn"} 2`,
		`streamgate_redactions_total{rule="b",detector="us_ssn"} 1`,
		`streamgate_redactions_total{rule="b",detector="email"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if got := m.FilteredTotal(); got != 7 {
		t.Errorf("FilteredTotal: got %d; want 7", got)
	}
	if got := m.DeliveredTotal(); got != 11 {
		t.Errorf("DeliveredTotal: got %d; want 11", got)
	}
	if got := m.OutputDroppedTotal(); got != 2 {
		t.Errorf("OutputDroppedTotal: got %d; want 2", got)
	}
	if got := m.EgressPIITotal(); got != 1 {
		t.Errorf("EgressPIITotal: got %d; want 1", got)
	}
	if got := m.Outputs(); len(got) != 1 || got[0].Name != "console" {
		t.Errorf("Outputs: got %+v; want console alone", got)
	}
	// A rule that comes back starts from 0.
	if got := m.Filtered("a").Get(); got != 0 {
		t.Errorf("Filtered(a) after retiring: got %d; want 0", got)
	}
}

// TestDeadLetterCounters: the dead-letter counters of an output add to
// its totals, are exported with its label, and move to the series without
// one when it is retired.
func TestDeadLetterCounters(t *testing.T) {
	m := New()
	const o = "http:http://x"
	m.Delivered(o).Add(5)
	m.DeadLettered(o).Add(4)
	m.DeadLetterReplayed(o).Add(3)
	m.DeadLetterPurged(o).Add(1)
	m.DeadLetterPurged("").Add(2) // a file of an output not running
	m.OutputDropped(o, ReasonDeadLetterFull).Add(6)
	if first := m.DeadLettered(o); m.DeadLettered(o) != first {
		t.Error("a second lookup returned another counter")
	}
	want := []OutputTotals{{Name: o, Delivered: 5, Dropped: 6, DeadLettered: 4, Replayed: 3}}
	if got := m.Outputs(); !slices.Equal(got, want) {
		t.Fatalf("Outputs: got %+v; want %+v", got, want)
	}
	var b bytes.Buffer
	m.WritePrometheus(&b)
	for _, want := range []string{
		`streamgate_output_dead_lettered_total{output="http:http://x"} 4`,
		`streamgate_output_dead_letter_replayed_total{output="http:http://x"} 3`,
		`streamgate_output_dead_letter_purged_total{output="http:http://x"} 1`,
		"streamgate_output_dead_letter_purged_total 2\n",
		`streamgate_output_lines_dropped_total{output="http:http://x",reason="dead_letter_full"} 6`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	m.RetireOutput(o)
	b.Reset()
	m.WritePrometheus(&b)
	if strings.Contains(b.String(), `output="http:http://x"`) {
		t.Errorf("exposition still has the retired output: %s", b.String())
	}
	for _, want := range []string{
		"streamgate_output_dead_lettered_total 4\n",
		"streamgate_output_dead_letter_replayed_total 3\n",
		"streamgate_output_dead_letter_purged_total 3\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if got := m.DeadLetteredTotal(); got != 4 {
		t.Errorf("DeadLetteredTotal: got %d; want 4", got)
	}
	if got := m.DeadLetterReplayedTotal(); got != 3 {
		t.Errorf("DeadLetterReplayedTotal: got %d; want 3", got)
	}
}

// TestExpositionTyped: every family of the exposition has its # TYPE line,
// before its first sample.
func TestExpositionTyped(t *testing.T) {
	m := New()
	m.Filtered("r").Add(1)
	m.Delivered("console").Add(2)
	m.Gauge("streamgate_test_gauge", func() float64 { return 3 })
	var b strings.Builder
	m.WritePrometheus(&b)
	typed := map[string]bool{}
	types := 0
	for _, l := range strings.Split(b.String(), "\n") {
		if f, ok := strings.CutPrefix(l, "# TYPE "); ok {
			typed[strings.Fields(f)[0]] = true
			types++
			continue
		}
		if l == "" || l[0] == '#' {
			continue
		}
		name := l[:strings.IndexAny(l, "{ ")]
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && typed[base] {
				family = base
			}
		}
		if !typed[family] {
			t.Errorf("%s: a sample before its # TYPE line", name)
		}
	}
	if types < 20 {
		t.Errorf("%d # TYPE lines; want every family typed, more than 20", types)
	}
}
