// The tests of streamgate.json, the Grafana dashboard: that it has the shape
// Grafana imports (a title, panels with unique ids laid out on the grid,
// each querying the ${DS_PROMETHEUS} data source and the $instance
// variable), and that every metric its queries name is one a data plane
// serves: the real binary is started with a filter, a sample and a redact
// rule and an http output, sent lines, and its /metrics read.
package grafana_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"streamgate/deploy/internal/deploytest"
)

func TestMain(m *testing.M) { deploytest.Main(m) }

const (
	dashboardFile = "streamgate.json"
	// dsUID is how every panel and query names its data source: the
	// dashboard's DS_PROMETHEUS variable.
	dsUID = "${DS_PROMETHEUS}"
	// instanceMatcher is the matcher every selector carries, so that the
	// instance variable narrows every panel.
	instanceMatcher = `instance=~"$instance"`
)

// dashboard is the part of a Grafana dashboard the tests read.
type dashboard struct {
	Title         string `json:"title"`
	UID           string `json:"uid"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	GridPos    *gridPos    `json:"gridPos"`
	Datasource *datasource `json:"datasource"`
	Targets    []target    `json:"targets"`
	// Panels are those of a collapsed row.
	Panels []panel `json:"panels"`
}

type gridPos struct {
	H, W, X, Y int
}

type target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Datasource *datasource `json:"datasource"`
}

func loadDashboard(t *testing.T) *dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var db dashboard
	if err := json.Unmarshal(raw, &db); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return &db
}

// allPanels returns every panel, those inside collapsed rows included.
func allPanels(ps []panel) []panel {
	var out []panel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

// queries returns every PromQL query of the dashboard, named for errors:
// the panels' targets and the query variables' queries.
func queries(db *dashboard) map[string]string {
	out := make(map[string]string)
	for _, p := range allPanels(db.Panels) {
		for _, tg := range p.Targets {
			out[fmt.Sprintf("panel %d %q, target %s", p.ID, p.Title, tg.RefID)] = tg.Expr
		}
	}
	for _, v := range db.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &q) != nil {
			json.Unmarshal(v.Query, &q.Query) // a plain string
		}
		out["variable "+v.Name] = q.Query
	}
	return out
}

func TestDashboardShape(t *testing.T) {
	db := loadDashboard(t)
	if db.Title == "" || db.UID == "" || db.SchemaVersion == 0 {
		t.Fatalf("title %q, uid %q, schemaVersion %d; want all three set", db.Title, db.UID, db.SchemaVersion)
	}

	vars := make(map[string]variable)
	for _, v := range db.Templating.List {
		vars[v.Name] = v
	}
	if v, ok := vars["DS_PROMETHEUS"]; !ok || v.Type != "datasource" || string(v.Query) != `"prometheus"` {
		t.Errorf("variable DS_PROMETHEUS: got %+v; want a datasource variable of type prometheus", v)
	}
	if v, ok := vars["instance"]; !ok || v.Type != "query" || v.Datasource == nil || v.Datasource.UID != dsUID {
		t.Errorf("variable instance: got %+v; want a query variable on %s", v, dsUID)
	}

	ids := make(map[int]string)
	var placed []panel
	for _, p := range allPanels(db.Panels) {
		if p.ID <= 0 {
			t.Errorf("panel %q: id %d; want a positive id", p.Title, p.ID)
		}
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share the id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		if p.Title == "" {
			t.Errorf("panel %d has no title", p.ID)
		}
		if g := p.GridPos; g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v; want it within the 24 columns", p.ID, p.Title, p.GridPos)
		} else {
			for _, q := range placed {
				if overlap(*g, *q.GridPos) {
					t.Errorf("panels %d %q and %d %q overlap", p.ID, p.Title, q.ID, q.Title)
				}
			}
			placed = append(placed, p)
		}
		if p.Type == "row" {
			if len(p.Targets) > 0 {
				t.Errorf("row %d %q has targets", p.ID, p.Title)
			}
			continue
		}
		if !slices.Contains([]string{"timeseries", "stat", "table"}, p.Type) {
			t.Errorf("panel %d %q: type %q; want timeseries, stat or table", p.ID, p.Title, p.Type)
		}
		if p.Datasource == nil || p.Datasource.UID != dsUID {
			t.Errorf("panel %d %q: datasource %+v; want uid %s", p.ID, p.Title, p.Datasource, dsUID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %d %q has no targets", p.ID, p.Title)
		}
		refs := make(map[string]bool)
		for _, tg := range p.Targets {
			if tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %d %q: refId %q missing or repeated", p.ID, p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			if tg.Datasource == nil || tg.Datasource.UID != dsUID {
				t.Errorf("panel %d %q, target %s: datasource %+v; want uid %s", p.ID, p.Title, tg.RefID, tg.Datasource, dsUID)
			}
		}
	}
	if len(ids) < 10 {
		t.Errorf("%d panels; want the dashboard's panels", len(ids))
	}

	// Every selector of every panel's query is narrowed by $instance.
	for where, expr := range queries(db) {
		sels, err := selectors(expr)
		if err != nil {
			t.Errorf("%s: %v in %s", where, err, expr)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: no metric in %s", where, expr)
		}
		for _, s := range sels {
			if strings.HasPrefix(where, "panel") && !strings.Contains(s.matchers, instanceMatcher) {
				t.Errorf("%s: %s{%s} lacks %s", where, s.name, s.matchers, instanceMatcher)
			}
		}
	}
}

// overlap reports whether two grid rectangles share a cell.
func overlap(a, b gridPos) bool {
	return a.X < b.X+b.W && b.X < a.X+a.W && a.Y < b.Y+b.H && b.Y < a.Y+a.H
}

// selector is a metric named in a query, with the text of its label
// matchers ("" without braces).
type selector struct {
	name, matchers string
}

// metricPrefixes are those of the metric names the dashboard may use: the
// data plane's own and those of the Go process it runs in.
var metricPrefixes = []string{"streamgate_", "process_", "go_"}

// groupings are the PromQL keywords followed by a list of label names.
var groupings = []string{"by", "without", "on", "ignoring", "group_left", "group_right"}

// selectors returns the selectors of expr whose metric name has one of
// metricPrefixes, in order. It is a tokenizer, not a parser: it skips
// strings, variables ($instance, ${x}), range and subquery brackets,
// label lists after by, without, on, ignoring, group_left and
// group_right, and function names; an identifier left is a metric name or
// a keyword (and, or, offset...), which no prefix matches. It reports
// unbalanced brackets and unterminated strings.
func selectors(expr string) ([]selector, error) {
	var out []selector
	var depth []byte // open ( [ {
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			i++
			if i < len(expr) && expr[i] == '{' {
				end := strings.IndexByte(expr[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unterminated ${ at %d", i-1)
				}
				i += end + 1
				continue
			}
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
		case c == '(' || c == '[' || c == '{':
			depth = append(depth, c)
			i++
		case c == ')' || c == ']' || c == '}':
			open := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]
			if len(depth) == 0 || depth[len(depth)-1] != open {
				return nil, fmt.Errorf("unbalanced %q at %d", c, i)
			}
			depth = depth[:len(depth)-1]
			i++
		case isIdentStart(c) && (i == 0 || !isIdent(expr[i-1])):
			start := i
			for i < len(expr) && isIdent(expr[i]) {
				i++
			}
			word := expr[start:i]
			next := i
			for next < len(expr) && expr[next] == ' ' {
				next++
			}
			switch {
			case len(depth) > 0 && depth[len(depth)-1] == '{':
				// A label name in matchers without a metric name.
			case slices.Contains(groupings, word) && next < len(expr) && expr[next] == '(':
				end := strings.IndexByte(expr[next:], ')')
				if end < 0 {
					return nil, fmt.Errorf("unterminated label list after %s at %d", word, start)
				}
				i = next + end + 1
			case next < len(expr) && expr[next] == '(':
				// A function; its arguments are read on.
			case hasPrefix(word):
				s := selector{name: word}
				if next < len(expr) && expr[next] == '{' {
					end, err := skipMatchers(expr, next)
					if err != nil {
						return nil, err
					}
					s.matchers = expr[next+1 : end-1]
					i = end
				}
				out = append(out, s)
			}
		default:
			i++
		}
	}
	if len(depth) > 0 {
		return nil, fmt.Errorf("unclosed %q", depth[len(depth)-1])
	}
	return out, nil
}

// skipString returns the index just past the string literal at expr[i].
func skipString(expr string, i int) (int, error) {
	q := expr[i]
	for j := i + 1; j < len(expr); j++ {
		switch {
		case expr[j] == '\\' && q != '`':
			j++
		case expr[j] == q:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at %d", i)
}

// skipMatchers returns the index just past the } closing the matchers that
// open at expr[i].
func skipMatchers(expr string, i int) (int, error) {
	for j := i + 1; j < len(expr); {
		switch expr[j] {
		case '"', '\'', '`':
			end, err := skipString(expr, j)
			if err != nil {
				return 0, err
			}
			j = end
		case '}':
			return j + 1, nil
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unterminated { at %d", i)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func isIdent(c byte) bool { return isIdentStart(c) || '0' <= c && c <= '9' }

func hasPrefix(name string) bool {
	return slices.ContainsFunc(metricPrefixes, func(p string) bool { return strings.HasPrefix(name, p) })
}

func TestSelectors(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want string // name{matchers} ..., space-separated; "error" for an error
	}{
		{`streamgate_lines_received_total`, `streamgate_lines_received_total{}`},
		{`sum by (rule) (rate(streamgate_lines_filtered_total{instance=~"$instance"}[$__rate_interval]))`,
			`streamgate_lines_filtered_total{instance=~"$instance"}`},
		{`sum by (instance) (streamgate_buffer_lines{a="}{"}) / sum without (go_x) (streamgate_buffer_capacity_lines)`,
			`streamgate_buffer_lines{a="}{"} streamgate_buffer_capacity_lines{}`},
		{`histogram_quantile(0.99, sum by (le) (rate(go_gc_pauses_seconds_bucket[5m])))`, `go_gc_pauses_seconds_bucket{}`},
		{`rate(process_cpu_seconds_total[1m]) and on (instance) up{job="process_x"} offset 5m`, `process_cpu_seconds_total{}`},
		{`{__name__="streamgate_lines_received_total"}`, ``},
		{`label_values(streamgate_lines_received_total, instance)`, `streamgate_lines_received_total{}`},
		{`x_streamgate_y + my_go_thing + ${DS_PROMETHEUS} + $go_var`, ``},
		{`sum(rate(streamgate_x[5m])`, `error`},
		{`streamgate_x{a="b}`, `error`},
		{`streamgate_x]`, `error`},
	} {
		sels, err := selectors(tt.expr)
		var got []string
		for _, s := range sels {
			got = append(got, s.name+"{"+s.matchers+"}")
		}
		g := strings.Join(got, " ")
		if err != nil {
			g = "error"
		}
		if g != tt.want {
			t.Errorf("selectors(%s): got %q (%v); want %q", tt.expr, g, err, tt.want)
		}
	}
}

// TestDashboardMetricsExist starts a data plane and checks that every
// metric the dashboard names is on its /metrics, and every label its
// queries group or name legends by is on that metric's series.
func TestDashboardMetricsExist(t *testing.T) {
	db := loadDashboard(t)

	var posts atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
	}))
	defer sink.Close()

	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest.json")
	err := os.WriteFile(manifest, []byte(`{"version": "1", "pipelines": [{"name": "default_pipeline",
  "processors": [
    {"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
    {"id": "keep_half", "type": "sample", "params": {"rate": 2}},
    {"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}],
  "outputs": [{"type": "http", "url": "`+sink.URL+`/logs"},
    {"type": "http", "url": "`+sink.URL+`/disk", "buffer": {"type": "disk"}}]}]}`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	tcpPort, adminPort := deploytest.FreePort(t, "tcp"), deploytest.FreePort(t, "tcp")
	deploytest.Start(t, "dataplane", dir, deploytest.CleanEnv(), []string{deploytest.Binary(t), "dataplane",
		"-host", "127.0.0.1", "-manifest", manifest, "-data-dir", filepath.Join(dir, "data"),
		"-tcp-port", strconv.Itoa(tcpPort), "-udp-port", strconv.Itoa(deploytest.FreePort(t, "udp")),
		"-http-port", strconv.Itoa(deploytest.FreePort(t, "tcp")), "-admin-port", strconv.Itoa(adminPort)})
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", adminPort)
	deploytest.WaitUntil(t, "the data plane's ingest to open", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tcpPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tcpPort))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		fmt.Fprintf(conn, "INFO request %d ssn=123-45-6789\nDEBUG noise %d\n", i, i)
	}
	conn.Close()

	var families map[string]map[string]bool
	deploytest.WaitUntil(t, "every line counted and some delivered", func() bool {
		var text string
		text, families = scrape(t, metricsURL)
		return strings.Contains(text, "\nstreamgate_lines_received_total 40\n") &&
			strings.Contains(text, "\nstreamgate_lines_in_pipeline 0\n") && posts.Load() > 0
	})
	// The labelled series the test means to make appear are there.
	for name, label := range map[string]string{
		"streamgate_lines_filtered_total":         "rule",
		"streamgate_lines_sampled_total":          "rule",
		"streamgate_output_lines_delivered_total": "output",
		"streamgate_output_lines_dropped_total":   "reason",
		"streamgate_lines_dropped_total":          "reason",
	} {
		if !families[name][label] {
			t.Errorf("/metrics: %s has no series with the label %s", name, label)
		}
	}

	checked := 0
	for where, expr := range queries(db) {
		sels, err := selectors(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		var labels map[string]bool // of every metric of the query
		for _, s := range sels {
			checked++
			if strings.HasPrefix(s.name, "process_") && runtime.GOOS != "linux" {
				continue // written on Linux only
			}
			name, ok := served(families, s.name)
			if !ok {
				t.Errorf("%s: metric %s is not on a data plane's /metrics", where, s.name)
				continue
			}
			labels = union(labels, families[name])
		}
		// Labels grouped by or shown in legends are on the series, but
		// instance, which Prometheus adds when it scrapes.
		for _, l := range groupedLabels(expr) {
			if l != "instance" && l != "le" && labels != nil && !labels[l] {
				t.Errorf("%s: groups by %s, which none of its metrics has", where, l)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no metric checked")
	}
}

// served returns the family /metrics serves name in: name itself or, for
// a histogram's or a summary's series, its family without _bucket, _sum
// or _count.
func served(families map[string]map[string]bool, name string) (string, bool) {
	if _, ok := families[name]; ok {
		return name, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if _, ok := families[base]; ok {
				return base, true
			}
		}
	}
	return "", false
}

func union(a, b map[string]bool) map[string]bool {
	out := make(map[string]bool, len(a)+len(b))
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// groupedLabels returns the labels expr groups by: those listed after by.
func groupedLabels(expr string) []string {
	var out []string
	for rest := expr; ; {
		i := strings.Index(rest, "by (")
		if i < 0 {
			return out
		}
		rest = rest[i+len("by ("):]
		list, after, _ := strings.Cut(rest, ")")
		for l := range strings.SplitSeq(list, ",") {
			out = append(out, strings.TrimSpace(l))
		}
		rest = after
	}
}

// scrape reads url, the Prometheus text format, and returns it with its
// families: every metric name, from its series and its # TYPE line, with
// the label names of its series.
func scrape(t *testing.T, url string) (string, map[string]map[string]bool) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v", url, resp.StatusCode, err)
	}
	families := make(map[string]map[string]bool)
	add := func(name string) map[string]bool {
		if families[name] == nil {
			families[name] = make(map[string]bool)
		}
		return families[name]
	}
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if typ, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, _, _ := strings.Cut(typ, " ")
			add(name)
			continue
		}
		if line == "" || line[0] == '#' {
			continue
		}
		end := strings.IndexAny(line, "{ ")
		if end < 0 {
			t.Fatalf("/metrics: line %q has no value", line)
		}
		labels := add(line[:end])
		if line[end] == '{' {
			names, err := labelNames(line[end:])
			if err != nil {
				t.Fatalf("/metrics: line %q: %v", line, err)
			}
			for _, n := range names {
				labels[n] = true
			}
		}
	}
	return "\n" + string(raw), families
}

// labelNames returns the label names of s, which starts with the braces of
// a series: {a="x",b="y, z"} 1.
func labelNames(s string) ([]string, error) {
	var names []string
	i := 1
	for i < len(s) && s[i] != '}' {
		eq := strings.IndexByte(s[i:], '=')
		if eq < 0 || i+eq+1 >= len(s) || s[i+eq+1] != '"' {
			return nil, fmt.Errorf("no label value at %d", i)
		}
		names = append(names, strings.TrimSpace(s[i:i+eq]))
		end, err := skipString(s, i+eq+1)
		if err != nil {
			return nil, err
		}
		i = end
		if i < len(s) && s[i] == ',' {
			i++
		}
	}
	if i >= len(s) {
		return nil, fmt.Errorf("unterminated {")
	}
	return names, nil
}
