package report

import (
	"math"
	"strconv"
	"strings"

	"streamgate/bench/result"
)

// Chart geometry, in SVG user units.
const (
	chartW      = 900.0
	chartH      = 500.0
	plotLeft    = 90.0
	plotRight   = chartW - 30
	plotTop     = 90.0
	plotBottom  = chartH - 130
	xPad        = 40.0 // between the y axis and the first run
	maxLabel    = 24   // runes of an x label
	minLabelGap = 18.0 // between two x labels
)

var seriesStyle = []struct {
	color, marker string
}{
	{"#0072b2", "circle"},
	{"#d55e00", "square"},
	{"#009e73", "triangle"},
}

// series is one line of a chart; NaN values are missing.
type series struct {
	name   string
	values []float64
}

// goalLine is a dashed horizontal line; color "" is neutral grey.
type goalLine struct {
	label string
	value float64
	color string
}

type chart struct {
	title  string
	yLabel string
	log    bool                   // logarithmic y axis
	unit   string                 // after a value in a tooltip
	format func(v float64) string // a value in a tooltip
	labels []string               // one per run
	short  []bool                 // one per run
	series []series               // at most len(seriesStyle)
	goals  []goalLine             // dashed lines
}

// ThroughputSVG returns a line chart of the S1, S2 and S3 throughput of
// runs, oldest first, with each scenario's goal as a dashed line.
func ThroughputSVG(runs []*result.Run) []byte {
	c := newChart(runs, "Throughput (closed loop, median)", "lines/s", " lines/s",
		func(v float64) string { return formatNumber(v, 0) },
		func(s *result.Scenario) float64 { return s.Throughput })
	for i, n := range []string{S1, S2, S3} {
		c.goals = append(c.goals, goalLine{
			label: n[:2] + " goal ≥ " + formatNumber(Goals[n].Throughput, 0),
			value: Goals[n].Throughput,
			color: seriesStyle[i].color,
		})
	}
	return c.svg()
}

// P99SVG returns a line chart of the S1, S2 and S3 p99 latency of runs,
// oldest first, with the p99 goal as a dashed line.
func P99SVG(runs []*result.Run) []byte {
	c := newChart(runs, "p99 latency (end to end, open loop)", "ms (log scale)", " ms", formatMs,
		func(s *result.Scenario) float64 { return s.P99 })
	c.log = true
	c.goals = []goalLine{{
		label: "goal p99 ≤ " + plain(GoalP99Ms) + " ms at " + formatNumber(GoalP99Rate, 0) + " lines/s",
		value: GoalP99Ms,
	}}
	return c.svg()
}

// FloorSVG returns a line chart of the S1, S2 and S3 throughput of runs,
// oldest first, as a percentage of the floor measured in the same run,
// with CI's gate as a dashed line. Runs before the floor was measured
// have no point.
func FloorSVG(runs []*result.Run) []byte {
	c := newChart(runs, "Throughput as a fraction of the lab's floor", "% of the floor", " %",
		func(v float64) string { return formatNumber(v, 0) },
		func(s *result.Scenario) float64 { return 100 * s.FloorFraction })
	c.goals = []goalLine{{
		label: "CI gate ≥ " + plain(100*Goals[S1].CIFloorFraction) + " % (S1, S2)",
		value: 100 * Goals[S1].CIFloorFraction,
	}}
	return c.svg()
}

func newChart(runs []*result.Run, title, yLabel, unit string, format func(float64) string, value func(*result.Scenario) float64) *chart {
	c := &chart{title: title, yLabel: yLabel, unit: unit, format: format}
	for _, r := range runs {
		label := shortDate(r.Date) + " " + r.Commit
		if rs := []rune(label); len(rs) > maxLabel {
			label = string(rs[:maxLabel-1]) + "…"
		}
		c.labels = append(c.labels, label)
		c.short = append(c.short, r.Short)
	}
	for _, n := range []string{S1, S2, S3} {
		s := series{name: n}
		for _, r := range runs {
			v := math.NaN()
			if sc := r.Find(n); sc != nil && value(sc) > 0 {
				v = value(sc)
			}
			s.values = append(s.values, v)
		}
		c.series = append(c.series, s)
	}
	return c
}

// niceTicks returns the y axis ticks 0, step, …, top with top ≥ hi and a
// step of 1, 2 or 5 times a power of ten giving about five intervals, and
// the number of decimals the step needs.
func niceTicks(hi float64) (ticks []float64, decimals int) {
	if !(hi > 0) || math.IsInf(hi, 0) {
		hi = 1
	}
	raw := hi / 5
	exp := math.Floor(math.Log10(raw))
	pow := math.Pow(10, exp)
	var step float64
	switch f := raw / pow; {
	case f <= 1:
		step = pow
	case f <= 2:
		step = 2 * pow
	case f <= 5:
		step = 5 * pow
	default:
		step = 10 * pow
		exp++
	}
	if exp < 0 {
		decimals = int(-exp)
	}
	n := int(math.Ceil(hi/step - 1e-9))
	for i := 0; i <= n; i++ {
		ticks = append(ticks, float64(i)*step)
	}
	return ticks, decimals
}

// logTicks returns the ticks of a logarithmic axis covering [lo, hi]: the
// values 1, 2 and 5 times a power of ten from the largest at most lo to the
// smallest at least hi, only the powers of ten when that makes too many, and
// at least two ticks.
func logTicks(lo, hi float64) []float64 {
	if !(lo > 0) || math.IsInf(lo, 0) {
		lo = 1
	}
	if !(hi >= lo) || math.IsInf(hi, 0) {
		hi = lo
	}
	e0 := int(math.Floor(math.Log10(lo))) - 1
	e1 := int(math.Ceil(math.Log10(hi))) + 1
	var all []float64
	for e := e0; e <= e1; e++ {
		for _, m := range []float64{1, 2, 5} {
			all = append(all, m*math.Pow(10, float64(e)))
		}
	}
	// Trim to the ticks around [lo, hi], with a little tolerance for
	// rounding in the powers of ten.
	first, last := 0, len(all)-1
	for first+1 < len(all) && all[first+1] <= lo*(1+1e-9) {
		first++
	}
	for last-1 >= 0 && all[last-1] >= hi*(1-1e-9) {
		last--
	}
	ticks := all[first : last+1]
	if len(ticks) < 2 {
		ticks = all[first-1 : last+2]
	}
	if len(ticks) > 12 {
		var decades []float64
		for _, t := range ticks {
			if l := math.Log10(t); math.Abs(l-math.Round(l)) < 1e-9 {
				decades = append(decades, t)
			}
		}
		if decades[0] > lo {
			decades = append([]float64{decades[0] / 10}, decades...)
		}
		if decades[len(decades)-1] < hi {
			decades = append(decades, decades[len(decades)-1]*10)
		}
		ticks = decades
	}
	return ticks
}

// xmlEscaper escapes text for XML content and attribute values.
var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		// Characters XML 1.0 does not allow are dropped.
		if r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			b.WriteRune(r)
		}
	}
	return xmlEscaper.Replace(b.String())
}

// num formats an SVG coordinate.
func num(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

func (c *chart) svg() []byte {
	var b strings.Builder
	w := func(parts ...string) {
		for _, p := range parts {
			b.WriteString(p)
		}
	}
	w(`<?xml version="1.0" encoding="UTF-8"?>`, "\n")
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="`, num(chartW), `" height="`, num(chartH),
		`" viewBox="0 0 `, num(chartW), " ", num(chartH), `" font-family="sans-serif" font-size="12" fill="#222">`, "\n")
	w(`<title>`, esc(c.title), `</title>`, "\n")
	w(`<rect x="0" y="0" width="`, num(chartW), `" height="`, num(chartH), `" fill="#ffffff"/>`, "\n")
	w(`<text x="`, num(plotLeft), `" y="26" font-size="16" font-weight="bold">`, esc(c.title), `</text>`, "\n")

	// Y axis: scale, grid and tick labels.
	hi := 0.0
	for _, s := range c.series {
		for _, v := range s.values {
			if !math.IsNaN(v) {
				hi = max(hi, v)
			}
		}
	}
	for _, g := range c.goals {
		hi = max(hi, g.value)
	}
	var ticks []string
	var tickValues []float64
	var y func(v float64) float64
	if c.log {
		lo := math.Inf(1)
		for _, s := range c.series {
			for _, v := range s.values {
				if !math.IsNaN(v) {
					lo = min(lo, v)
				}
			}
		}
		for _, g := range c.goals {
			lo = min(lo, g.value)
		}
		tickValues = logTicks(lo, hi)
		l0, l1 := math.Log10(tickValues[0]), math.Log10(tickValues[len(tickValues)-1])
		y = func(v float64) float64 { return plotBottom - (math.Log10(v)-l0)/(l1-l0)*(plotBottom-plotTop) }
		for _, t := range tickValues {
			ticks = append(ticks, plain(t))
		}
	} else {
		var dec int
		tickValues, dec = niceTicks(hi * 1.05)
		top := tickValues[len(tickValues)-1]
		y = func(v float64) float64 { return plotBottom - v/top*(plotBottom-plotTop) }
		for _, t := range tickValues {
			ticks = append(ticks, formatNumber(t, dec))
		}
	}
	w(`<g stroke="#e3e3e3" stroke-width="1">`, "\n")
	for _, t := range tickValues[1:] {
		w(`<line x1="`, num(plotLeft), `" y1="`, num(y(t)), `" x2="`, num(plotRight), `" y2="`, num(y(t)), `"/>`, "\n")
	}
	w("</g>\n")
	w(`<g text-anchor="end" font-size="11">`, "\n")
	for i, t := range tickValues {
		w(`<text x="`, num(plotLeft-8), `" y="`, num(y(t)+4), `">`, esc(ticks[i]), `</text>`, "\n")
	}
	w("</g>\n")
	midY := (plotTop + plotBottom) / 2
	w(`<text x="18" y="`, num(midY), `" text-anchor="middle" transform="rotate(-90 18 `, num(midY), `)">`, esc(c.yLabel), `</text>`, "\n")

	// X axis: one tick per run, labels thinned out so they do not overlap.
	n := len(c.labels)
	x := func(i int) float64 {
		if n == 1 {
			return (plotLeft + plotRight) / 2
		}
		return plotLeft + xPad + float64(i)*(plotRight-plotLeft-2*xPad)/float64(n-1)
	}
	w(`<g stroke="#222" stroke-width="1">`, "\n")
	w(`<line x1="`, num(plotLeft), `" y1="`, num(plotBottom), `" x2="`, num(plotRight), `" y2="`, num(plotBottom), `"/>`, "\n")
	w(`<line x1="`, num(plotLeft), `" y1="`, num(plotTop), `" x2="`, num(plotLeft), `" y2="`, num(plotBottom), `"/>`, "\n")
	for i := range n {
		w(`<line x1="`, num(x(i)), `" y1="`, num(plotBottom), `" x2="`, num(x(i)), `" y2="`, num(plotBottom+4), `"/>`, "\n")
	}
	w("</g>\n")
	stride := 1
	if n > 1 {
		gap := (plotRight - plotLeft - 2*xPad) / float64(n-1)
		stride = max(1, int(math.Ceil(minLabelGap/gap)))
	}
	w(`<g text-anchor="end" font-size="11">`, "\n")
	for i := range n {
		if (n-1-i)%stride != 0 {
			continue
		}
		lx, ly := num(x(i)+4), num(plotBottom+14)
		w(`<text x="`, lx, `" y="`, ly, `" transform="rotate(-35 `, lx, " ", ly, `)">`, esc(c.labels[i]), `</text>`, "\n")
	}
	w("</g>\n")
	w(`<text x="`, num((plotLeft+plotRight)/2), `" y="`, num(chartH-8), `" text-anchor="middle">run (date, commit), oldest first</text>`, "\n")
	if n == 0 {
		w(`<text x="`, num((plotLeft+plotRight)/2), `" y="`, num(midY), `" text-anchor="middle" font-size="14" fill="#777">no runs yet</text>`, "\n")
	}

	// Goals.
	for _, g := range c.goals {
		color := g.color
		if color == "" {
			color = "#555555"
		}
		w(`<line x1="`, num(plotLeft), `" y1="`, num(y(g.value)), `" x2="`, num(plotRight), `" y2="`, num(y(g.value)),
			`" stroke="`, color, `" stroke-width="1.5" stroke-dasharray="6 4" opacity="0.8"><title>`, esc(g.label), `</title></line>`, "\n")
	}

	// Series: lines through consecutive runs that have a value, then markers.
	for si, s := range c.series {
		st := seriesStyle[si%len(seriesStyle)]
		var seg []string
		flush := func() {
			if len(seg) > 1 {
				w(`<polyline fill="none" stroke="`, st.color, `" stroke-width="2" stroke-linejoin="round" points="`, strings.Join(seg, " "), `"/>`, "\n")
			}
			seg = seg[:0]
		}
		for i, v := range s.values {
			if math.IsNaN(v) {
				flush()
				continue
			}
			seg = append(seg, num(x(i))+","+num(y(v)))
		}
		flush()
		for i, v := range s.values {
			if math.IsNaN(v) {
				continue
			}
			fill := st.color
			if c.short[i] {
				fill = "#ffffff"
			}
			tip := s.name + ", " + c.labels[i] + ": " + c.format(v) + c.unit
			if c.short[i] {
				tip += " (short run)"
			}
			w(marker(st.marker, x(i), y(v), st.color, fill), `<title>`, esc(tip), `</title></`, markerElem(st.marker), ">\n")
		}
	}

	// Legend: the series on the first row, the goals on the second.
	lx := plotLeft
	for si, s := range c.series {
		st := seriesStyle[si%len(seriesStyle)]
		w(`<line x1="`, num(lx), `" y1="48" x2="`, num(lx+24), `" y2="48" stroke="`, st.color, `" stroke-width="2"/>`, "\n")
		w(marker(st.marker, lx+12, 48, st.color, st.color), "</", markerElem(st.marker), ">\n")
		w(`<text x="`, num(lx+30), `" y="52">`, esc(s.name), `</text>`, "\n")
		lx += 40 + 7.5*float64(len(s.name))
	}
	w(`<circle cx="`, num(lx+6), `" cy="48" r="4" fill="#ffffff" stroke="#555555" stroke-width="1.5"/>`, "\n")
	w(`<text x="`, num(lx+16), `" y="52">short (CI) run</text>`, "\n")
	lx = plotLeft
	for _, g := range c.goals {
		color := g.color
		if color == "" {
			color = "#555555"
		}
		w(`<line x1="`, num(lx), `" y1="70" x2="`, num(lx+24), `" y2="70" stroke="`, color, `" stroke-width="1.5" stroke-dasharray="6 4"/>`, "\n")
		w(`<text x="`, num(lx+30), `" y="74">`, esc(g.label), `</text>`, "\n")
		lx += 44 + 6.5*float64(len([]rune(g.label)))
	}
	w("</svg>\n")
	return []byte(b.String())
}

func markerElem(kind string) string {
	switch kind {
	case "square":
		return "rect"
	case "triangle":
		return "polygon"
	}
	return "circle"
}

// marker returns the opening tag of a marker centred on (x, y); the caller
// closes it.
func marker(kind string, x, y float64, stroke, fill string) string {
	paint := `fill="` + fill + `" stroke="` + stroke + `" stroke-width="1.5"`
	switch kind {
	case "square":
		return `<rect x="` + num(x-4) + `" y="` + num(y-4) + `" width="8" height="8" ` + paint + `>`
	case "triangle":
		return `<polygon points="` + num(x) + "," + num(y-5.5) + " " + num(x+5) + "," + num(y+3.5) + " " + num(x-5) + "," + num(y+3.5) + `" ` + paint + `>`
	}
	return `<circle cx="` + num(x) + `" cy="` + num(y) + `" r="4.5" ` + paint + `>`
}
