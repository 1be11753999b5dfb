package server

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/tap"
)

// openTap starts GET /tap with query q and returns the answer, its body
// still streaming; the test's end closes it.
func openTap(t *testing.T, s *Server, q string) *http.Response {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + "/tap?" + q)
	if err != nil {
		t.Fatalf("GET /tap?%s: %v", q, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// readRecords reads the records of a tap's answer until it ends.
func readRecords(t *testing.T, resp *http.Response) []tap.Record {
	t.Helper()
	var recs []tap.Record
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var r tap.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("record %q: %v", sc.Bytes(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestTapShowsRedactedLines taps a running data plane, with and without
// filters, and sees each line as the outputs do: redacted, never the
// secret, and a dropped line as its rule alone.
func TestTapShowsRedactedLines(t *testing.T) {
	s := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, filterRedact(`[{"type":"console"}]`))})
	all := openTap(t, s, "n=3")
	ssn := openTap(t, s, url.Values{"rule": {"redact_ssn"}, "n": {"1"}}.Encode())
	out := openTap(t, s, url.Values{"output": {"console"}, "n": {"2"}}.Encode())
	for _, resp := range []*http.Response{all, ssn, out} {
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET /tap: %s: %s", resp.Status, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q; want application/x-ndjson", ct)
		}
	}
	waitFor(t, "three taps attached", func() bool { return s.lopts.Pipeline.Tap.Attached() == 3 })
	sendTCP(t, s, "DEBUG: password 123-45-6789\nSSN: 123-45-6789\nINFO: ok\n")

	recs := readRecords(t, all)
	raw, _ := json.Marshal(recs)
	if strings.Contains(string(raw), "123-45-6789") || strings.Contains(string(raw), "password") {
		t.Fatalf("the tap shows what the rules removed: %s", raw)
	}
	want := []struct {
		line, droppedBy string
		rules           []string
	}{
		{"", "drop_debug", []string{"drop_debug"}},
		{"SSN: XXX-XX-XXXX", "", []string{"redact_ssn"}},
		{"INFO: ok", "", nil},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records; want %d: %s", len(recs), len(want), raw)
	}
	for i, w := range want {
		r := recs[i]
		line := ""
		if r.Line != nil {
			line = *r.Line
		}
		if line != w.line || r.DroppedBy != w.droppedBy || strings.Join(r.Rules, ",") != strings.Join(w.rules, ",") {
			t.Errorf("record %d: got line %q dropped_by %q rules %v; want %q %q %v", i, line, r.DroppedBy, r.Rules, w.line, w.droppedBy, w.rules)
		}
		if r.Line != nil && strings.Join(r.Outputs, ",") != "console" {
			t.Errorf("record %d: outputs %v; want [console]", i, r.Outputs)
		}
	}
	if recs := readRecords(t, ssn); len(recs) != 1 || recs[0].Line == nil || *recs[0].Line != "SSN: XXX-XX-XXXX" {
		t.Errorf("rule=redact_ssn: got %+v; want the SSN line, redacted", recs)
	}
	if recs := readRecords(t, out); len(recs) != 2 || *recs[0].Line != "SSN: XXX-XX-XXXX" || *recs[1].Line != "INFO: ok" {
		t.Errorf("output=console: got %+v; want the two kept lines", recs)
	}
	waitFor(t, "the taps detached", func() bool { return s.lopts.Pipeline.Tap.Attached() == 0 })
	if got := s.m.TapSent().Get(); got != 6 {
		t.Errorf("streamgate_tap_lines_sent_total %d; want 6", got)
	}
}

// TestTapErrors covers the answers that are not a stream.
func TestTapErrors(t *testing.T) {
	m := filterRedact(`[{"type":"console"}]`)
	on := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, m), Tap: TapOptions{MaxLines: 50}})
	off := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, m), Tap: TapOptions{Off: true}})
	for _, c := range []struct {
		name   string
		s      *Server
		method string
		query  string
		status int
		detail string
	}{
		{"off", off, "GET", "", http.StatusNotFound, "-tap=false"},
		{"unknown rule", on, "GET", "rule=nope", http.StatusBadRequest, `no rule "nope" runs here (running: drop_debug, redact_ssn)`},
		{"unknown output", on, "GET", "output=http", http.StatusBadRequest, `no output "http" runs here (running: console)`},
		{"n zero", on, "GET", "n=0", http.StatusBadRequest, "from 1 to 50"},
		{"n over the bound", on, "GET", "n=51", http.StatusBadRequest, "-tap-max-lines"},
		{"unknown parameter", on, "GET", "lines=1", http.StatusBadRequest, `unknown parameter "lines"`},
		{"twice", on, "GET", "rule=a&rule=b", http.StatusBadRequest, "give it once"},
		{"POST", on, "POST", "", http.StatusMethodNotAllowed, "use GET"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ans struct{ Detail string }
			if got := adminDo(t, c.s, c.method, "/tap?"+c.query, &ans); got != c.status || !strings.Contains(ans.Detail, c.detail) {
				t.Errorf("got %d %q; want %d with %q", got, ans.Detail, c.status, c.detail)
			}
		})
	}
}

// TestTapConcurrencyLimit attaches the most taps allowed: one more is
// refused with 429 and counted; once one ends, a new one attaches.
func TestTapConcurrencyLimit(t *testing.T) {
	s := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, filterRedact(`[{"type":"console"}]`)), Tap: TapOptions{MaxTaps: 2}})
	first := openTap(t, s, "n=1")
	openTap(t, s, "n=1")
	waitFor(t, "two taps attached", func() bool { return s.lopts.Pipeline.Tap.Attached() == 2 })
	var ans struct{ Detail string }
	if got := adminDo(t, s, "GET", "/tap", &ans); got != http.StatusTooManyRequests || !strings.Contains(ans.Detail, "-max-taps") {
		t.Fatalf("a third tap: got %d %q; want 429 naming -max-taps", got, ans.Detail)
	}
	if got := s.m.TapRefused("max_taps").Get(); got != 1 {
		t.Errorf("streamgate_tap_refused_total{reason=\"max_taps\"} %d; want 1", got)
	}
	first.Body.Close() // its client leaves: the tap detaches
	waitFor(t, "the first tap detached", func() bool { return s.lopts.Pipeline.Tap.Attached() == 1 })
	if third := openTap(t, s, "n=1"); third.StatusCode != http.StatusOK {
		t.Errorf("a tap once one left: %s; want 200 OK", third.Status)
	}
}

// TestTapOutlastsTimeouts: a tap lasts as long as its client reads, past
// the admin server's read and write timeouts.
func TestTapOutlastsTimeouts(t *testing.T) {
	defer func(r, w time.Duration) { adminReadTimeout, adminWriteTimeout = r, w }(adminReadTimeout, adminWriteTimeout)
	adminReadTimeout, adminWriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	s := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, filterRedact(`[{"type":"console"}]`))})
	resp := openTap(t, s, "n=2")
	sendTCP(t, s, "first\n")
	time.Sleep(3 * adminWriteTimeout) // past both timeouts, with no line to send
	sendTCP(t, s, "second\n")
	recs := readRecords(t, resp)
	if len(recs) != 2 || recs[1].Line == nil || *recs[1].Line != "second" {
		t.Errorf("got %+v; want both lines", recs)
	}
}

// TestTapEndsAtShutdown: a tap waiting for lines ends when the data plane
// shuts down, and the shutdown does not wait for it.
func TestTapEndsAtShutdown(t *testing.T) {
	s := start(t, Options{AdminAddr: "127.0.0.1:0", Manifest: mustManifest(t, filterRedact(`[{"type":"console"}]`))})
	resp := openTap(t, s, "")
	waitFor(t, "the tap attached", func() bool { return s.lopts.Pipeline.Tap.Attached() == 1 })
	done := make(chan []tap.Record)
	go func() { done <- readRecords(t, resp) }()
	shutdown(t, s, 5*time.Second)
	select {
	case recs := <-done:
		if len(recs) != 0 {
			t.Errorf("got %d records; want none", len(recs))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the tap's stream did not end at shutdown")
	}
}

// TestParseTapQuery is a table of GET /tap's queries.
func TestParseTapQuery(t *testing.T) {
	for _, c := range []struct {
		query string
		want  tapQuery
		err   string
	}{
		{"", tapQuery{n: tap.DefaultLines}, ""},
		{"n=7", tapQuery{n: 7}, ""},
		{"rule=r&output=console&n=1000", tapQuery{filter: tap.Filter{Rule: "r", Output: "console"}, n: 1000}, ""},
		{"output=http%3Ahttp%3A%2F%2Fh%3A9000", tapQuery{filter: tap.Filter{Output: "http:http://h:9000"}, n: tap.DefaultLines}, ""},
		{"n=1001", tapQuery{}, "n: want a number of lines from 1 to 1000"},
		{"n=-1", tapQuery{}, "n: want"},
		{"n=1e3", tapQuery{}, "n: want"},
		{"n=", tapQuery{}, "n: want"},
		{"rule=", tapQuery{}, "rule: want a rule's id"},
		{"output=", tapQuery{}, "output: want an output's name"},
		{"n=1&n=2", tapQuery{}, "n: give it once"},
		{"limit=3", tapQuery{}, `unknown parameter "limit"`},
	} {
		q, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseTapQuery(q, 1000)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: got error %v; want one with %q", c.query, err, c.err)
			}
		case err != nil:
			t.Errorf("%q: %v", c.query, err)
		case got != c.want:
			t.Errorf("%q: got %+v; want %+v", c.query, got, c.want)
		}
	}
}

// FuzzParseTapQuery: any query parses or is refused with an error, and
// what parses is within bounds.
func FuzzParseTapQuery(f *testing.F) {
	for _, s := range []string{"", "n=5", "rule=a&output=b&n=10000", "n=10001", "n=1&n=1", "x=%zz", "rule=%00", "n=0x10", "n=+5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		got, err := parseTapQuery(q, tap.DefaultMaxLines)
		if err != nil {
			return
		}
		if got.n < 1 || got.n > tap.DefaultMaxLines {
			t.Fatalf("%q: n %d out of bounds", raw, got.n)
		}
		if q.Has("rule") && got.filter.Rule == "" || q.Has("output") && got.filter.Output == "" {
			t.Fatalf("%q: an empty filter was taken: %+v", raw, got)
		}
	})
}
