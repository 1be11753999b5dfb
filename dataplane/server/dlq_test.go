package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/pipeline"
)

// vendor is an HTTP destination whose answer a test sets, and that keeps
// the lines of the requests it took.
type vendor struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	took   []string
}

func newVendor(t *testing.T, status int) *vendor {
	v := &vendor{}
	v.status.Store(int32(status))
	v.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code := int(v.status.Load())
		if code < 300 {
			v.mu.Lock()
			v.took = append(v.took, strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")...)
			v.mu.Unlock()
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"invalid api key (status %d)"}`, code)
	}))
	t.Cleanup(v.Close)
	return v
}

func (v *vendor) lines() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.took)
}

// adminDo makes a request to the admin server and decodes its JSON answer
// into out; it returns the status.
func adminDo(t *testing.T, s *Server, method, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+s.AdminAddr().String()+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q; want application/json: %s", method, path, ct, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, body)
		}
	}
	return resp.StatusCode
}

// checkDeadLetterAccounting asserts, on a quiet data plane, emitted +
// replayed = delivered + dropped + dead-lettered for output o, and that
// /status says the same totals as the metrics.
func checkDeadLetterAccounting(t *testing.T, s *Server, o string) {
	t.Helper()
	m := s.Metrics()
	var tot metrics.OutputTotals
	for _, x := range m.Outputs() {
		if x.Name == o {
			tot = x
		}
	}
	if emit := m.Emitted.Get(); emit+tot.Replayed != tot.Delivered+tot.Dropped+tot.DeadLettered {
		t.Fatalf("%s: emitted %d + replayed %d != delivered %d + dropped %d + dead-lettered %d", o, emit, tot.Replayed, tot.Delivered, tot.Dropped, tot.DeadLettered)
	}
	var st Status
	adminDo(t, s, "GET", "/status", &st)
	if st.DeadLettered != tot.DeadLettered || st.Replayed != tot.Replayed {
		t.Fatalf("/status: dead_lettered %d, dead_letter_replayed %d; want %d, %d", st.DeadLettered, st.Replayed, tot.DeadLettered, tot.Replayed)
	}
}

// TestDeadLetterAPI: lines an http destination refuses with 401 are kept
// as dead letters, listed by GET /dlq, sent again by POST /dlq/replay once
// the destination takes them (each exactly once), and the accounting holds
// at each step; errors are JSON with the right status.
func TestDeadLetterAPI(t *testing.T) {
	v := newVendor(t, http.StatusUnauthorized)
	dataDir := t.TempDir()
	s := start(t, Options{
		AdminAddr: "127.0.0.1:0",
		Pipeline:  pipeline.Options{Workers: 1, DataDir: dataDir},
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[
			{"id":"redact_ssn","type":"redact","params":{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX-XX-XXXX"}}],
			"batch_size":5,"outputs":[{"type":"http","url":"`+v.URL+`/intake","linger_ms":0}]}]}`),
	})
	name := "http:" + v.URL + "/intake"
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 12 {
		fmt.Fprintf(conn, "login %d ssn=123-45-6789\n", i)
		want = append(want, fmt.Sprintf("login %d ssn=XXX-XX-XXXX", i))
	}
	conn.Close()
	m := s.Metrics()
	waitFor(t, "the lines to be dead-lettered", func() bool { return m.DeadLettered(name).Get() == 12 })
	checkDeadLetterAccounting(t, s, name)

	var list struct {
		Dir     string `json:"dir"`
		Outputs []struct {
			Output  string `json:"output"`
			Entries int    `json:"entries"`
			Lines   int    `json:"lines"`
			Bytes   int64  `json:"bytes"`
			Oldest  string `json:"oldest"`
			Newest  string `json:"newest"`
		} `json:"outputs"`
	}
	if code := adminDo(t, s, "GET", "/dlq", &list); code != 200 || len(list.Outputs) != 1 {
		t.Fatalf("GET /dlq: %d %+v; want one output", code, list)
	}
	if o := list.Outputs[0]; o.Output != name || o.Lines != 12 || o.Entries < 3 || o.Bytes == 0 || o.Oldest == "" || o.Newest == "" {
		t.Errorf("GET /dlq: %+v; want 12 lines of %s", o, name)
	}
	if list.Dir != dataDir+"/dlq" {
		t.Errorf("dir %q; want %q", list.Dir, dataDir+"/dlq")
	}

	type entry struct {
		Status    int      `json:"status"`
		Response  string   `json:"response"`
		LineCount int      `json:"line_count"`
		Lines     []string `json:"lines"`
	}
	var one struct {
		Output string  `json:"output"`
		Lines  int     `json:"lines"`
		List   []entry `json:"list"`
	}
	q := "/dlq?output=" + url.QueryEscape(name)
	if code := adminDo(t, s, "GET", q+"&limit=2", &one); code != 200 || len(one.List) != 2 || one.Lines != 12 {
		t.Fatalf("GET %s&limit=2: %d %+v; want 2 entries of 12 lines", q, code, one)
	}
	for _, e := range one.List {
		if e.Status != 401 || !strings.Contains(e.Response, "invalid api key") || e.LineCount == 0 || e.Lines != nil {
			t.Errorf("entry %+v; want status 401, the response, a line count and no lines", e)
		}
	}
	one.List = nil
	adminDo(t, s, "GET", q+"&lines=1&limit=1000", &one)
	var shown []string
	for _, e := range one.List {
		shown = append(shown, e.Lines...)
	}
	if !slices.Equal(shown, want) {
		t.Errorf("lines shown: %q; want the redacted lines %q", shown, want)
	}

	// Errors.
	var e struct {
		Detail string `json:"detail"`
	}
	for _, c := range []struct {
		method, path string
		code         int
		detail       string
	}{
		{"GET", "/dlq?output=http:http://nowhere", 404, `no such output: "http:http://nowhere" is not running and left no dead letters`},
		{"POST", "/dlq/replay?output=http:http://nowhere", 404, `no such output: "http:http://nowhere" is not running`},
		{"POST", "/dlq/purge?output=nope", 404, "no such output"},
		{"POST", "/dlq/replay", 400, "output: required"},
		{"POST", "/dlq/purge?output=", 400, "output: required"},
		{"GET", q + "&limit=0", 400, "limit: want a number of entries from 1 to 1000"},
		{"GET", q + "&lines=yes", 400, "lines: want 1"},
		{"GET", "/dlq/replay?output=x", 405, "method GET not allowed: use POST"},
		{"DELETE", "/dlq", 405, "use GET"},
	} {
		e.Detail = ""
		if code := adminDo(t, s, c.method, c.path, &e); code != c.code || !strings.Contains(e.Detail, c.detail) {
			t.Errorf("%s %s: %d %q; want %d with %q", c.method, c.path, code, e.Detail, c.code, c.detail)
		}
	}

	// Refused again: 502 naming the status; nothing moves.
	var ans replayAnswer
	if code := adminDo(t, s, "POST", "/dlq/replay?output="+url.QueryEscape(name), &ans); code != 502 || ans.Status != 401 ||
		ans.RemainingLines != 12 || !strings.Contains(ans.Detail, "status 401") {
		t.Fatalf("replay while refused: %d %+v; want 502 naming status 401, 12 lines left", code, ans)
	}
	checkDeadLetterAccounting(t, s, name)

	v.status.Store(http.StatusAccepted)
	ans = replayAnswer{}
	if code := adminDo(t, s, "POST", "/dlq/replay?output="+url.QueryEscape(name), &ans); code != 200 || ans.ReplayedLines != 12 ||
		ans.RemainingEntries != 0 || ans.RemainingLines != 0 {
		t.Fatalf("replay: %d %+v; want 200, 12 lines replayed, none left", code, ans)
	}
	got := v.lines()
	if !slices.Equal(got, want) {
		t.Errorf("vendor took %q; want each line once, in order: %q", got, want)
	}
	checkDeadLetterAccounting(t, s, name)
	if got := m.DeadLetterReplayed(name).Get(); got != 12 {
		t.Errorf("replayed counter: %d; want 12", got)
	}
	list.Outputs = nil
	if adminDo(t, s, "GET", "/dlq", &list); len(list.Outputs) != 0 {
		t.Errorf("GET /dlq after replay: %+v; want none", list.Outputs)
	}
	// A second replay sends nothing more.
	adminDo(t, s, "POST", "/dlq/replay?output="+url.QueryEscape(name), &ans)
	if got := v.lines(); len(got) != 12 || ans.ReplayedLines != 0 {
		t.Errorf("second replay: %+v, vendor has %d lines; want nothing sent", ans, len(got))
	}
	if fi, err := os.Stat(dataDir + "/dlq"); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("dead-letter folder: %v, %v; want mode 0700", fi, err)
	}
	shutdown(t, s, 10*time.Second)
	assertAccounting(t, s, name)
}

// TestDeadLetterPurgeAPI: a purge removes an output's dead letters and
// counts their lines.
func TestDeadLetterPurgeAPI(t *testing.T) {
	v := newVendor(t, http.StatusUnprocessableEntity)
	s := start(t, Options{
		AdminAddr: "127.0.0.1:0",
		Pipeline:  pipeline.Options{Workers: 1, DataDir: t.TempDir()},
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"batch_size":3,
			"outputs":[{"type":"http","url":"`+v.URL+`","linger_ms":0}]}]}`),
	})
	name := "http:" + v.URL
	conn, err := net.Dial("tcp", s.TCPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(conn, "a\nb\nc\nd\n")
	conn.Close()
	waitFor(t, "the lines to be dead-lettered", func() bool { return s.Metrics().DeadLettered(name).Get() == 4 })
	var ans struct {
		PurgedEntries int `json:"purged_entries"`
		PurgedLines   int `json:"purged_lines"`
	}
	if code := adminDo(t, s, "POST", "/dlq/purge?output="+url.QueryEscape(name), &ans); code != 200 || ans.PurgedLines != 4 || ans.PurgedEntries == 0 {
		t.Fatalf("purge: %d %+v; want 4 lines purged", code, ans)
	}
	if got := s.Metrics().DeadLetterPurged(name).Get(); got != 4 {
		t.Errorf("purged counter: %d; want 4", got)
	}
	var one struct {
		Entries int `json:"entries"`
	}
	if code := adminDo(t, s, "GET", "/dlq?output="+url.QueryEscape(name), &one); code != 200 || one.Entries != 0 {
		t.Errorf("GET after purge: %d %+v; want 200 with no entries (the output runs)", code, one)
	}
	checkDeadLetterAccounting(t, s, name)
}
