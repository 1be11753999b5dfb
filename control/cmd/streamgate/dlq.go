package main

// streamgate dlq: the dead letters of a running data plane, through its
// admin API (GET /dlq, POST /dlq/replay, POST /dlq/purge).

import (
	"crypto/tls"
	"crypto/x509"
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
	"text/tabwriter"
	"time"
	"unicode"
)

const dlqUsage = `usage: streamgate dlq list [-admin URL] [-output NAME [-limit N] [-lines]]
       streamgate dlq replay -output NAME [-admin URL]
       streamgate dlq purge -output NAME [-admin URL]

The dead letters of a running data plane: the batches an output's
destination refused for good (a 4xx other than 408 and 429), kept in a
file per output under -data-dir/dlq.

  list     every output's dead letters; with -output, that output's oldest
           entries: time, status, the destination's answer, line count
           (and the lines with -lines)
  replay   send the output's dead letters again through the running output
           of that name, oldest first: each entry delivered is removed;
           the replay stops at the first the destination refuses again
  purge    delete the output's dead letters

Flags:
`

// dlqFlags are the flags every dlq subcommand takes.
type dlqFlags struct {
	admin, adminCA, output string
	limit                  int
	lines                  bool
}

func runDLQ(w io.Writer, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprint(os.Stderr, dlqUsage)
			return errors.New("want a subcommand: list, replay or purge")
		}
		fmt.Fprint(w, dlqUsage)
		newDLQFlagSet(new(dlqFlags), w).PrintDefaults()
		return nil
	}
	sub, args := args[0], args[1:]
	var f dlqFlags
	fs := newDLQFlagSet(&f, os.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (the output goes in -output)", fs.Arg(0))
	}
	c, err := newAdminClient(f.admin, f.adminCA)
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		if f.output == "" {
			return c.listAll(w)
		}
		return c.listOne(w, f.output, f.limit, f.lines)
	case "replay", "purge":
		if f.output == "" {
			return fmt.Errorf("-output: required: the output whose dead letters to %s (streamgate dlq list names them)", sub)
		}
		if sub == "replay" {
			return c.replay(w, f.output)
		}
		return c.purge(w, f.output)
	}
	return fmt.Errorf("unknown subcommand %q: want list, replay or purge", sub)
}

func newDLQFlagSet(f *dlqFlags, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("dlq", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, dlqUsage)
		fs.PrintDefaults()
	}
	registerAdminFlags(fs, &f.admin, &f.adminCA)
	fs.StringVar(&f.output, "output", "", "the output's name, as list and the metrics' output label give it (http:https://host/path)")
	fs.IntVar(&f.limit, "limit", 20, "list -output: the number of entries shown, oldest first, 1 to 1000")
	fs.BoolVar(&f.lines, "lines", false, "list -output: show each entry's lines too")
	return fs
}

// registerAdminFlags adds the flags that say where a data plane's admin
// API is, for the commands that call it (newAdminClient).
func registerAdminFlags(fs *flag.FlagSet, admin, adminCA *string) {
	fs.StringVar(admin, "admin", env("STREAMGATE_ADMIN_URL", "http://127.0.0.1:8080"), "the data plane's admin URL, https:// when it serves TLS (env STREAMGATE_ADMIN_URL)")
	fs.StringVar(adminCA, "admin-ca", env("STREAMGATE_ADMIN_CA", ""), "PEM file of the CA certificates that verify an https:// admin URL, instead of the system's (env STREAMGATE_ADMIN_CA)")
}

// adminClient calls a data plane's admin API.
type adminClient struct {
	base string
	hc   *http.Client
}

func newAdminClient(base, caFile string) (*adminClient, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("-admin: want an http:// or https:// URL such as http://127.0.0.1:8080; got %q", base)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	cfg, err := adminCA(caFile)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		tr.TLSClientConfig = cfg
	}
	// A replay answers within 30 s, the admin server's write timeout.
	return &adminClient{base: strings.TrimSuffix(base, "/"), hc: &http.Client{Transport: tr, Timeout: time.Minute}}, nil
}

// adminCA is the TLS configuration that verifies an https:// admin port
// with the CA certificates of the PEM file caFile (-admin-ca), or nil for
// the system's when caFile is "".
func adminCA(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("-admin-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("-admin-ca: no PEM certificate in %s", caFile)
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// call makes a request to path and decodes the JSON answer into out. It
// returns the status; a status other than 200 or those in also is an
// error with the answer's detail.
func (c *adminClient) call(method, path string, out any, also ...int) (int, error) {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot reach the data plane's admin API at %s (is it running, and is -admin its admin port?): %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, fmt.Errorf("cannot read the answer of %s %s: %w", method, c.base+path, err)
	}
	ok := resp.StatusCode == http.StatusOK
	for _, s := range also {
		ok = ok || resp.StatusCode == s
	}
	if !ok {
		var e struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &e) != nil || e.Detail == "" {
			e.Detail = strings.TrimSpace(string(body))
		}
		if resp.StatusCode == http.StatusNotFound && e.Detail == "404 page not found" {
			e.Detail = "this admin API has no dead letters (a data plane older than them?)"
		}
		return resp.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, e.Detail)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, fmt.Errorf("%s %s: cannot decode the answer: %w", method, path, err)
	}
	return resp.StatusCode, nil
}

// dlqStats are an output's dead letters, as GET /dlq gives them.
type dlqStats struct {
	Output  string    `json:"output"`
	Entries int       `json:"entries"`
	Lines   int       `json:"lines"`
	Bytes   int64     `json:"bytes"`
	Oldest  time.Time `json:"oldest"`
	Newest  time.Time `json:"newest"`
	Damaged int       `json:"damaged"`
}

func (c *adminClient) listAll(w io.Writer) error {
	var ans struct {
		Dir     string     `json:"dir"`
		Outputs []dlqStats `json:"outputs"`
	}
	if _, err := c.call("GET", "/dlq", &ans); err != nil {
		return err
	}
	if len(ans.Outputs) == 0 {
		_, err := fmt.Fprintf(w, "no dead letters (in %s)\n", ans.Dir)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OUTPUT\tENTRIES\tLINES\tBYTES\tOLDEST\tNEWEST")
	for _, o := range ans.Outputs {
		damaged := ""
		if o.Damaged > 0 {
			damaged = fmt.Sprintf(" (+%d damaged)", o.Damaged)
		}
		fmt.Fprintf(tw, "%s\t%d%s\t%d\t%d\t%s\t%s\n", o.Output, o.Entries, damaged, o.Lines, o.Bytes, when(o.Oldest), when(o.Newest))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nin %s; streamgate dlq list -output NAME shows an output's entries\n", ans.Dir)
	return err
}

func (c *adminClient) listOne(w io.Writer, output string, limit int, lines bool) error {
	var ans struct {
		dlqStats
		List []struct {
			Time      time.Time `json:"time"`
			Status    int       `json:"status"`
			Response  string    `json:"response"`
			LineCount int       `json:"line_count"`
			Lines     []string  `json:"lines"`
			LinesB64  [][]byte  `json:"lines_b64"`
		} `json:"list"`
	}
	path := "/dlq?output=" + url.QueryEscape(output) + "&limit=" + strconv.Itoa(limit)
	if lines {
		path += "&lines=1"
	}
	if _, err := c.call("GET", path, &ans); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %s, %s, %s\n", output, count(ans.Entries, "entry", "entries"), count(ans.Lines, "line", "lines"), count(int(ans.Bytes), "byte", "bytes"))
	if len(ans.List) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSTATUS\tLINES\tRESPONSE")
	for _, e := range ans.List {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", when(e.Time), e.Status, e.LineCount, oneLine(e.Response, 100))
		if lines {
			for _, l := range e.Lines {
				fmt.Fprintf(tw, "\t\t\t  %s\n", strconv.Quote(l))
			}
			for _, l := range e.LinesB64 {
				fmt.Fprintf(tw, "\t\t\t  %s\n", strconv.Quote(string(l)))
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ans.List) < ans.Entries {
		fmt.Fprintf(w, "\n(the oldest %d of %d entries: -limit shows more)\n", len(ans.List), ans.Entries)
	}
	return nil
}

// replayAnswer is what POST /dlq/replay answers.
type replayAnswer struct {
	ReplayedEntries  int    `json:"replayed_entries"`
	ReplayedLines    int    `json:"replayed_lines"`
	RemainingEntries int    `json:"remaining_entries"`
	RemainingLines   int    `json:"remaining_lines"`
	Incomplete       bool   `json:"incomplete"`
	Status           int    `json:"status"`
	Detail           string `json:"detail"`
}

func (c *adminClient) replay(w io.Writer, output string) error {
	var total replayAnswer
	for {
		// One replay answers within the admin server's write timeout; it
		// says incomplete when it had more to send: ask again while it
		// gets on.
		var ans replayAnswer
		code, err := c.call("POST", "/dlq/replay?output="+url.QueryEscape(output), &ans, http.StatusBadGateway)
		if err != nil {
			return err
		}
		total.ReplayedEntries += ans.ReplayedEntries
		total.ReplayedLines += ans.ReplayedLines
		total.RemainingEntries, total.RemainingLines = ans.RemainingEntries, ans.RemainingLines
		if code == http.StatusBadGateway {
			fmt.Fprint(w, replayed(output, total))
			return errors.New(ans.Detail)
		}
		if !ans.Incomplete || ans.ReplayedEntries == 0 {
			break
		}
	}
	_, err := fmt.Fprint(w, replayed(output, total))
	return err
}

// replayed says what a replay did.
func replayed(output string, a replayAnswer) string {
	return fmt.Sprintf("replayed %s (%s) to %s; %s (%s) remain\n",
		count(a.ReplayedEntries, "entry", "entries"), count(a.ReplayedLines, "line", "lines"), output,
		count(a.RemainingEntries, "entry", "entries"), count(a.RemainingLines, "line", "lines"))
}

// count is "1 entry" or "<n> entries".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func (c *adminClient) purge(w io.Writer, output string) error {
	var ans struct {
		Entries int   `json:"purged_entries"`
		Lines   int   `json:"purged_lines"`
		Bytes   int64 `json:"purged_bytes"`
	}
	if _, err := c.call("POST", "/dlq/purge?output="+url.QueryEscape(output), &ans); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "purged %s (%s, %s) of %s\n", count(ans.Entries, "entry", "entries"), count(ans.Lines, "line", "lines"),
		count(int(ans.Bytes), "byte", "bytes"), output)
	return err
}

// when shows a time for a table, in UTC to the second; "-" for none.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// oneLine returns s on one line, its control characters written \n, \t,
// \r or \xNN, cut to at most n runes with "…".
func oneLine(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, r := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		count++
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsControl(r):
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
