package main

// streamgate tap: a sample of the lines a running data plane processes, as
// its outputs receive them, through its admin API (GET /tap); and the
// data plane's flags that bound it.

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"streamgate/dataplane/server"
	"streamgate/dataplane/tap"
)

// tapFlags are the data plane's flags of the admin tap.
type tapFlags struct {
	on       bool
	rate     float64
	maxTaps  int
	maxLines int
}

func (f *tapFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&f.on, "tap", true, "serve GET /tap on the admin port: a sample of the processed lines, after redaction (false: 404)")
	fs.Float64Var(&f.rate, "tap-rate", tap.DefaultRate, `most lines a second each tap is sent; lines past it are skipped, counted in streamgate_tap_lines_skipped_total{reason="rate_limit"}`)
	fs.IntVar(&f.maxTaps, "max-taps", tap.DefaultMaxTaps, `most taps attached at once; one more is answered 429, counted in streamgate_tap_refused_total{reason="max_taps"}`)
	fs.IntVar(&f.maxLines, "tap-max-lines", tap.DefaultMaxLines, "largest n= a tap may ask for: the lines it is sent before it ends")
}

// options checks the flags and returns the server's tap options.
func (f *tapFlags) options() (server.TapOptions, error) {
	var errs []error
	if !(f.rate > 0) || f.rate > 1e6 {
		errs = append(errs, fmt.Errorf("-tap-rate: want a number of lines a second above 0, at most 1000000; got %v", f.rate))
	}
	if f.maxTaps < 1 {
		errs = append(errs, fmt.Errorf("-max-taps: want at least 1 (-tap=false turns the tap off); got %d", f.maxTaps))
	}
	if f.maxLines < 1 {
		errs = append(errs, fmt.Errorf("-tap-max-lines: want at least 1; got %d", f.maxLines))
	}
	if err := errors.Join(errs...); err != nil {
		return server.TapOptions{}, err
	}
	return server.TapOptions{Off: !f.on, Rate: f.rate, MaxTaps: f.maxTaps, MaxLines: f.maxLines}, nil
}

const tapUsage = `usage: streamgate tap [-admin URL] [-rule ID] [-output NAME] [-n N] [-json]

Prints a sample of the lines a running data plane processes, as its
outputs receive them: after every rule, so redacted values never show. A
line a rule dropped shows as that rule, never its text. One line per
record: the time, the line (control characters escaped), then the rules
that rewrote it; or the rule that dropped it. Stops after N lines, or on
Ctrl-C.

Flags:
`

// tapCLIFlags are the flags of streamgate tap.
type tapCLIFlags struct {
	admin, adminCA, rule, output string
	n                            int
	json                         bool
}

func runTap(w io.Writer, args []string) error {
	var f tapCLIFlags
	fs := flag.NewFlagSet("tap", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), tapUsage)
		fs.PrintDefaults()
	}
	registerAdminFlags(fs, &f.admin, &f.adminCA)
	fs.StringVar(&f.rule, "rule", "", "only the lines this rule (its id) rewrote or dropped")
	fs.StringVar(&f.output, "output", "", "only the lines handed to this output (its name, as the metrics' output label gives it)")
	fs.IntVar(&f.n, "n", tap.DefaultLines, "stop after this many lines (at most the data plane's -tap-max-lines)")
	fs.BoolVar(&f.json, "json", false, "print the records as the data plane sends them, one JSON object a line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (a rule goes in -rule, an output in -output)", fs.Arg(0))
	}
	if f.n < 1 {
		return fmt.Errorf("-n: want at least 1; got %d", f.n)
	}
	c, err := newAdminClient(f.admin, f.adminCA)
	if err != nil {
		return err
	}
	c.hc.Timeout = 0 // a tap lasts as long as it has lines to show
	q := url.Values{"n": {strconv.Itoa(f.n)}}
	if f.rule != "" {
		q.Set("rule", f.rule)
	}
	if f.output != "" {
		q.Set("output", f.output)
	}
	return c.tap(w, "/tap?"+q.Encode(), f.json)
}

// tap streams GET path to w, each record on a line.
func (c *adminClient) tap(w io.Writer, path string, raw bool) error {
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		return fmt.Errorf("cannot reach the data plane's admin API at %s (is it running, and is -admin its admin port?): %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var e struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(body))
		}
		if resp.StatusCode == http.StatusNotFound && e.Detail == "404 page not found" {
			e.Detail = "this admin API has no tap (a data plane older than it?)"
		}
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, e.Detail)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	bw := bufio.NewWriter(w)
	for sc.Scan() {
		if raw {
			bw.Write(sc.Bytes())
			bw.WriteByte('\n')
		} else {
			var r tap.Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return fmt.Errorf("cannot decode a record of the tap: %w", err)
			}
			bw.WriteString(tapLine(&r))
		}
		// Show each line as it comes, not once a buffer is full.
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("the tap ended: %w", err)
	}
	return bw.Flush()
}

// tapLine is how streamgate tap shows a record: the time (UTC, to the
// millisecond), then the line and the rules that rewrote it in brackets,
// or the rule that dropped it; a bypassed line is marked.
func tapLine(r *tap.Record) string {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format("15:04:05.000"))
	b.WriteString("  ")
	if r.Line == nil {
		fmt.Fprintf(&b, "dropped by %s", r.DroppedBy)
		if len(r.Rules) > 1 {
			fmt.Fprintf(&b, " (after %s)", strings.Join(r.Rules[:len(r.Rules)-1], ", "))
		}
	} else {
		b.WriteString(oneLine(*r.Line, 1<<20))
		if len(r.Rules) > 0 {
			fmt.Fprintf(&b, "  [%s]", strings.Join(r.Rules, ", "))
		}
	}
	if r.Bypassed {
		b.WriteString("  (breaker open: rules skipped)")
	}
	b.WriteByte('\n')
	return b.String()
}
