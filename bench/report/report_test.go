package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"streamgate/bench/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func loadRuns(t *testing.T) []*result.Run {
	t.Helper()
	runs, err := result.ReadAll("testdata/runs")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 3 {
		t.Fatalf("got %d test runs, want 3", len(runs))
	}
	return runs
}

func loadChaos(t *testing.T) []*result.ChaosRun {
	t.Helper()
	runs, err := result.ReadChaos("testdata/chaos")
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 {
		t.Fatalf("got %d chaos test runs, want 2", len(runs))
	}
	return runs
}

func TestGolden(t *testing.T) {
	runs := loadRuns(t)
	out := t.TempDir()
	if err := Render(runs, loadChaos(t), out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README.md", "charts/throughput.svg", "charts/p99.svg", "charts/floor.svg"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", filepath.FromSlash(name))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from %s (run go test -update after checking the change):\n%s", name, golden, firstDiff(got, want))
		}
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "README.md" && e.Name() != "charts" {
			t.Errorf("Render left %s in the output directory", e.Name())
		}
	}
}

func firstDiff(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, gl, wl)
		}
	}
	return ""
}

func TestDeterministic(t *testing.T) {
	runs := loadRuns(t)
	if !bytes.Equal(Markdown(runs, nil), Markdown(runs, nil)) || !bytes.Equal(ThroughputSVG(runs), ThroughputSVG(runs)) || !bytes.Equal(P99SVG(runs), P99SVG(runs)) {
		t.Error("two renderings of the same runs differ")
	}
}

// manyRuns returns n runs with awkward labels, missing scenarios and
// missing figures.
func manyRuns(n int) []*result.Run {
	var runs []*result.Run
	for i := range n {
		r := &result.Run{
			Date:   fmt.Sprintf("2026-%02d-%02dT10:00:00Z", 1+i/28%12, 1+i%28),
			Commit: fmt.Sprintf("c%06x<&\"'>", i),
			Short:  i%3 == 0,
		}
		for j, name := range []string{S1, S2, S3} {
			if (i+j)%7 == 3 {
				continue
			}
			s := result.Scenario{Name: name, Throughput: float64(100_000 + 20_000*i*(3-j))}
			if i%5 != 1 {
				s.P99 = 0.5 + float64((i*7+j*3)%11)/3
				s.OpenLoopRate = 100_000
			}
			r.Scenarios = append(r.Scenarios, s)
		}
		runs = append(runs, r)
	}
	return runs
}

func checkXML(t *testing.T, name string, data []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	var root string
	depth := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: invalid XML: %v", name, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if root != "" {
					t.Fatalf("%s: second root element %s", name, tok.Name.Local)
				}
				root = tok.Name.Local
				if tok.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("%s: root namespace %q", name, tok.Name.Space)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if root != "svg" || depth != 0 {
		t.Errorf("%s: root %q, depth at end %d", name, root, depth)
	}
	for _, bad := range []string{"NaN", "Inf", "<script", "href", "url("} {
		if bytes.Contains(data, []byte(bad)) {
			t.Errorf("%s contains %q", name, bad)
		}
	}
}

func TestSVGIsXML(t *testing.T) {
	cases := map[string][]*result.Run{
		"0 runs":    nil,
		"1 run":     manyRuns(1),
		"2 runs":    manyRuns(2),
		"many runs": manyRuns(200),
		"testdata":  loadRuns(t),
		"empty run": {{Date: "", Commit: ""}},
	}
	for name, runs := range cases {
		checkXML(t, name+" throughput", ThroughputSVG(runs))
		checkXML(t, name+" p99", P99SVG(runs))
	}
}

func TestSingleRunHasPoints(t *testing.T) {
	svg := string(ThroughputSVG(nil))
	if !strings.Contains(svg, "no runs yet") {
		t.Error("chart of no runs does not say so")
	}
	one := []*result.Run{{Date: "2026-03-09T00:00:00Z", Commit: "abc", Scenarios: []result.Scenario{
		{Name: S1, Throughput: 2_100_000, P99: 1.5, OpenLoopRate: 100_000},
		{Name: S2, Throughput: 1_000_000, P99: 3, OpenLoopRate: 100_000},
		{Name: S3, Throughput: 500_000, P99: 9, OpenLoopRate: 100_000},
	}}}
	for _, svg := range []string{string(ThroughputSVG(one)), string(P99SVG(one))} {
		if strings.Contains(svg, "<polyline") {
			t.Error("single run drawn with a line")
		}
		if c := strings.Count(svg, ", 2026-03-09 abc: "); c != 3 {
			t.Errorf("single run: %d markers, want 3", c)
		}
		if !strings.Contains(svg, "2026-03-09 abc") {
			t.Error("x label missing")
		}
	}
}

func TestManyRunsLabelsThinned(t *testing.T) {
	runs := manyRuns(200)
	svg := string(ThroughputSVG(runs))
	labels := strings.Count(svg, `transform="rotate(-35`)
	if labels == 0 || labels > 60 {
		t.Errorf("%d x labels for 200 runs", labels)
	}
	if !strings.Contains(svg, esc(shortDate(runs[199].Date)+" "+runs[199].Commit)) {
		t.Error("latest run not labelled")
	}
}

func TestMarks(t *testing.T) {
	tests := []struct {
		name        string
		s           result.Scenario
		tput, lat   string // expected substrings of the cells
		rss, passed string
	}{
		{"S1 meets", result.Scenario{Name: S1, Throughput: 2_000_000, P99: 2, OpenLoopRate: 100_000, PeakRSSMB: 64, Passed: true},
			"2,000,000 ✓", "— / 2.00 / — ms at 100,000/s ✓", "64.0 MB ✓", "✓ yes"},
		{"S1 below", result.Scenario{Name: S1, Throughput: 1_999_999, P99: 2.01, OpenLoopRate: 100_000, PeakRSSMB: 64.1},
			"1,999,999 ✗", "— / 2.01 / — ms at 100,000/s ✗", "64.1 MB ✗", "✗ no"},
		{"S2 goal", result.Scenario{Name: S2, Throughput: 1_500_000, P99: 0.5, OpenLoopRate: 100_000},
			"1,500,000 ✓", "✓", "—", "✗ no"},
		{"S3 below", result.Scenario{Name: S3, Throughput: 999_999.6, P99: 1, OpenLoopRate: 200_000},
			"1,000,000 ✗", "at 200,000/s ✓", "—", "✗ no"},
		{"p99 at too low a rate", result.Scenario{Name: S1, Throughput: 3e6, P99: 0.4, OpenLoopRate: 50_000},
			"3,000,000 ✓", "— / 0.400 / — ms at 50,000/s ✗", "—", "✗ no"},
		{"no goal", result.Scenario{Name: "S9_other", Throughput: 10, P99: 100}, "10", "— / 100 / — ms", "—", "✗ no"},
		{"disk at the goal", result.Scenario{Name: S2D, Throughput: 800, MemoryFraction: 0.8, MemoryScenario: S2},
			"800, 80 % of S2_filter_redact ✓", "—", "—", "✗ no"},
		{"disk below the goal", result.Scenario{Name: S3D, Throughput: 799, MemoryFraction: 0.799, MemoryScenario: S3},
			"799, 80 % of S3_http_output ✗", "—", "—", "✗ no"},
		{"disk without a goal", result.Scenario{Name: S3DA, Throughput: 500, MemoryFraction: 0.5, MemoryScenario: S3},
			"500, 50 % of S3_http_output", "—", "—", "✗ no"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := throughputCell(&tt.s); !strings.HasSuffix(got, tt.tput) && !strings.Contains(got, tt.tput) {
				t.Errorf("throughput cell %q, want %q", got, tt.tput)
			}
			if got := latencyCell(&tt.s); !strings.HasSuffix(got, tt.lat) {
				t.Errorf("latency cell %q, want suffix %q", got, tt.lat)
			}
			if got := rssCell(&tt.s); got != tt.rss {
				t.Errorf("RSS cell %q, want %q", got, tt.rss)
			}
			if got := passedCell(&tt.s); got != tt.passed {
				t.Errorf("passed cell %q, want %q", got, tt.passed)
			}
		})
	}
	if got := throughputCell(&result.Scenario{Name: "S9_other", Throughput: 10}); strings.ContainsAny(got, "✓✗") {
		t.Errorf("scenario without a goal marked: %q", got)
	}
	for _, c := range []struct {
		idle float64
		want string
	}{{0.99, "✓"}, {1, "✗"}, {0, "✓"}} {
		got := cpuCell(&result.Scenario{Name: S5, IdleCPUPercent: c.idle})
		if !strings.HasSuffix(got, c.want) {
			t.Errorf("idle %v: %q, want %s", c.idle, got, c.want)
		}
	}
}

func TestMarkdownMarks(t *testing.T) {
	md := string(Markdown(loadRuns(t), nil))
	for _, want := range []string{
		"| S1_raw | 2,216,905 (median of 5) ✓ |",
		"| S2_filter_redact | 1,412,388 (median of 5) ✗ |",
		"| S3_http_output | 1,032,775 (median of 5) ✓ |",
		"3.40 / 8.75 ms at 100,000/s ✗",
		"- idle CPU: 0.06 % ✓",
		"- circuit breaker opened: 2 times",
		"- load: 4,237,164 lines/s scheduled, 3× S2's throughput; the sender reached 2,500,000 lines/s, 1.8× (one sender, on the proxy's cores)",
		"- lines bypassed while open: 13,597,782",
		"| Commit | `9bdf825-dirty` |",
		"- p999 < max: S1 saw one GC pause of 6.3 ms & no lost lines.",
		"![throughput](charts/throughput.svg)",
		"![p99 latency](charts/p99.svg)",
		"| S2D_filter_redact_disk | 1,186,406 (median of 1), 84 % of S2_filter_redact ✓ |",
		"| S3DA_http_output_disk_always | 516,388 (median of 1), 50 % of S3_http_output | 17 % | — | RSS ≤ 64 MB |",
		"- S3D_http_output_disk: 774,581 lines/s, 75 % of S3_http_output ✗ (goal ≥ 80 %); p99 4.20 ms at 100,000/s",
		"- S6D_disk_backlog: 512 MiB queued on disk while the destination was down (at 1,308,702 lines/s), then delivered at 962,443 lines/s; peak RSS 60.9 MB ✓",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("README lacks %q", want)
		}
	}
	if !strings.HasPrefix(md, "_Generated by `make bench`") {
		t.Error("README does not start with the generated-file line")
	}
	if strings.Contains(md, "runtime.scanobject") {
		t.Error("profile shows more than 10 functions")
	}
}

func TestLatest(t *testing.T) {
	full := &result.Run{Commit: "full"}
	short1 := &result.Run{Commit: "s1", Short: true}
	short2 := &result.Run{Commit: "s2", Short: true}
	if got := Latest([]*result.Run{full, short1}); got != full {
		t.Errorf("got %v, want the last full run", got.Commit)
	}
	if got := Latest([]*result.Run{short1, short2}); got != short2 {
		t.Errorf("got %v, want the last run", got.Commit)
	}
	if Latest(nil) != nil {
		t.Error("Latest(nil) != nil")
	}
	md := string(Markdown(nil, nil))
	if !strings.Contains(md, "No benchmark runs yet") {
		t.Error("empty README does not say there are no runs")
	}
}

func TestFormatNumber(t *testing.T) {
	tests := []struct {
		v    float64
		dec  int
		want string
	}{
		{0, 0, "0"},
		{999, 0, "999"},
		{1000, 0, "1,000"},
		{123456, 0, "123,456"},
		{1234567, 0, "1,234,567"},
		{2216904.6, 0, "2,216,905"},
		{999999.6, 0, "1,000,000"},
		{1234.5678, 2, "1,234.57"},
		{-1234567.5, 1, "-1,234,567.5"},
		{-0.001, 1, "0.0"},
		{0.06, 2, "0.06"},
		{math.NaN(), 0, "—"},
		{math.Inf(1), 0, "—"},
	}
	for _, tt := range tests {
		if got := formatNumber(tt.v, tt.dec); got != tt.want {
			t.Errorf("formatNumber(%v, %d) = %q, want %q", tt.v, tt.dec, got, tt.want)
		}
	}
	if got := formatInt(-13597782); got != "-13,597,782" {
		t.Errorf("formatInt = %q", got)
	}
	for v, want := range map[float64]string{0.214: "0.214", 1.5: "1.50", 38.5: "38.5", 120.4: "120", 1234.4: "1,234"} {
		if got := formatMs(v); got != want {
			t.Errorf("formatMs(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		hi   float64
		want []float64
		dec  int
	}{
		{0, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}, 1},
		{2_327_750, []float64{0, 500_000, 1_000_000, 1_500_000, 2_000_000, 2_500_000}, 0},
		{2.1, []float64{0, 0.5, 1, 1.5, 2, 2.5}, 1},
		{40.4, []float64{0, 10, 20, 30, 40, 50}, 0},
		{100, []float64{0, 20, 40, 60, 80, 100}, 0},
	}
	for _, tt := range tests {
		got, dec := niceTicks(tt.hi)
		if fmt.Sprintf("%.6g", got) != fmt.Sprintf("%.6g", tt.want) || dec != tt.dec {
			t.Errorf("niceTicks(%v) = %v, %d; want %v, %d", tt.hi, got, dec, tt.want, tt.dec)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   string
	}{
		{2, 2, "[1 2 5]"},
		{0.87, 38.5, "[0.5 1 2 5 10 20 50]"},
		{0.1, 100, "[0.1 0.2 0.5 1 2 5 10 20 50 100]"},
		{0.01, 5000, "[0.01 0.1 1 10 100 1000 10000]"},
		{1, 1, "[0.5 1 2]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf("%.6g", logTicks(tt.lo, tt.hi)); got != tt.want {
			t.Errorf("logTicks(%v, %v) = %s, want %s", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestMarkdownCells(t *testing.T) {
	if got := cell("a|b\nc"); got != `a\|b c` {
		t.Errorf("cell = %q", got)
	}
	if got := code("a`b"); got != "``a`b``" {
		t.Errorf("code = %q", got)
	}
}

func TestLatestChaos(t *testing.T) {
	full := &result.ChaosRun{Commit: "full"}
	short := &result.ChaosRun{Commit: "short", Short: true}
	if got := LatestChaos([]*result.ChaosRun{full, short}); got != full {
		t.Errorf("got %v, want the last full run", got.Commit)
	}
	if got := LatestChaos([]*result.ChaosRun{short}); got != short {
		t.Errorf("got %v, want the only run", got.Commit)
	}
	if LatestChaos(nil) != nil {
		t.Error("LatestChaos(nil) != nil")
	}
	md := string(Markdown(nil, []*result.ChaosRun{short}))
	if !strings.Contains(md, "## Chaos") || !strings.Contains(md, "CI's subset") {
		t.Errorf("README without bench runs lacks the chaos run:\n%s", md)
	}
}

func TestWriteDetectors(t *testing.T) {
	var b strings.Builder
	writeDetectors(&b, &result.Run{})
	if b.Len() != 0 {
		t.Fatalf("no scores: got %q; want nothing", b.String())
	}
	writeDetectors(&b, &result.Run{Detectors: &result.DetectorScores{Lines: 12345, Detectors: []result.DetectorScore{
		{Detector: "iban", Category: "payments", Positives: 240, TP: 239, FN: 1, FP: 0, Precision: 1, Recall: 0.99583},
	}}})
	for _, want := range []string{"## Detectors: precision and recall", "12,345 lines", "| `iban` | payments | 240 | 1.0000 | 0.9958 | 0 | 1 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("got\n%s\nwant it to contain %q", b.String(), want)
		}
	}
}
