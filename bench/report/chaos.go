package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"streamgate/bench/result"
)

// LatestChaos returns the chaos run the README describes: the last full
// run, else the last run, else nil.
func LatestChaos(runs []*result.ChaosRun) *result.ChaosRun {
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i] != nil && !runs[i].Short {
			return runs[i]
		}
	}
	if len(runs) > 0 {
		return runs[len(runs)-1]
	}
	return nil
}

// writeChaos renders the latest chaos run: a table of the scenarios, then
// each scenario's cases.
func writeChaos(b *strings.Builder, runs []*result.ChaosRun) {
	r := LatestChaos(runs)
	if r == nil {
		return
	}
	b.WriteString("## Chaos\n\n")
	kind := "`make chaos`"
	if r.Short {
		kind = "CI's subset of `make chaos`"
	}
	fmt.Fprintf(b, "The latest run of %s: %s, commit %s, %s (%d cores), Go %s",
		kind, shortDate(r.Date), code(r.Commit), cell(r.CPU), r.Cores, cell(strings.TrimPrefix(r.GoVersion, "go")))
	if r.RedisServer != "" {
		fmt.Fprintf(b, ", %s", cell(r.RedisServer))
	}
	b.WriteString(". Every line sent is delivered (distinct lines at the sink), filtered, or dropped with a counted reason; *lost uncounted* is what none of them explains.\n\n")
	b.WriteString("| scenario | faults | load lines/s | sent | delivered | filtered | dropped | lost uncounted | recovery s | peak RSS MB | passed |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|\n")
	for _, s := range r.Scenarios {
		rss := ""
		if s.PeakRSSMB > 0 {
			rss = formatNumber(s.PeakRSSMB, 1)
		}
		fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			code(s.Name), s.FaultsInjected, formatNumber(s.LoadLinesPerS, 0), formatInt(s.Sent), formatInt(s.Delivered),
			formatInt(s.Filtered), formatInt(s.Dropped), formatInt(s.LostUncounted), formatNumber(s.RecoveryS, 2), rss, mark(s.Passed))
	}
	b.WriteString("\n")
	for _, s := range r.Scenarios {
		fmt.Fprintf(b, "### %s\n\n%s.", code(s.Name), cell(s.Description))
		if s.LostOnKill > 0 {
			fmt.Fprintf(b, " Accepted lines lost with the process: **%s**.", formatInt(s.LostOnKill))
		}
		if len(s.DroppedByReason) > 0 {
			b.WriteString(" Dropped by reason: ")
			for i, k := range slices.Sorted(maps.Keys(s.DroppedByReason)) {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(b, "%s %s", cell(k), formatInt(s.DroppedByReason[k]))
			}
			b.WriteString(".")
		}
		b.WriteString("\n\n")
		for _, c := range s.Cases {
			fmt.Fprintf(b, "- %s %s: %s\n", mark(c.Passed), cell(c.Name), cell(oneLine(c.Outcome)))
		}
		for _, f := range s.Failures {
			fmt.Fprintf(b, "- **failed:** %s\n", cell(oneLine(f)))
		}
		b.WriteString("\n")
	}
}
