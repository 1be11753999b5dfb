package api

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/control/store"
	"streamgate/dataplane/rdb"
)

// tapRecords is what a fake data plane's tap sends: a line the live rules
// redacted, one they dropped (no text), one they skipped with the breaker
// open, and two lines they kept as they were, one with an email address.
const tapRecords = `{"time":"2026-12-07T01:00:00Z","line":"INFO user=alice ssn=XXX-XX-XXXX","rules":["redact_ssn"],"outputs":["console"]}
{"time":"2026-12-07T01:00:00Z","dropped_by":"drop_trace","rules":["drop_trace"]}
{"time":"2026-12-07T01:00:00Z","line":"INFO raw ssn=123-45-6789","outputs":["console"],"bypassed":true}
{"time":"2026-12-07T01:00:01Z","line":"DEBUG cache warm","outputs":["console"]}
{"time":"2026-12-07T01:00:01Z","line":"INFO mail=bob@example.com","outputs":["console"]}
`

// fakeTap serves GET /tap with h, as a data plane's admin port, and returns
// its address.
func fakeTap(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/tap" {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// heartbeat writes a live heartbeat for a data plane id whose admin port is
// at adminAddr ("" for none).
func (a *testAPI) heartbeat(id, adminAddr string) {
	a.t.Helper()
	hb := &rdb.Heartbeat{ID: id, Host: "h", PID: 1, Updated: time.Now().UnixMilli(), Redis: "connected", AdminAddr: adminAddr}
	if adminAddr != "" {
		hb.AdminScheme = "http"
	}
	if err := rdb.WriteHeartbeat(context.Background(), a.rc, hb, time.Minute); err != nil {
		a.t.Fatal(err)
	}
}

// TestPreviewFromTap: POST /preview with "tap" reads the next lines of a
// live data plane's tap and previews those with text, saying where they came
// from; a line the live rules skipped (breaker open) is not previewed.
func TestPreviewFromTap(t *testing.T) {
	var (
		mu    sync.Mutex
		asked []string
	)
	addr := fakeTap(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, tapRecords)
	})
	a := newTestAPI(t, Options{}, store.Options{})
	a.do("POST", "/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)
	a.do("POST", "/rules", `{"id": "redact_email", "type": "redact", "params": {"detector": "email"}}`)
	a.heartbeat("dp-a", "")
	a.heartbeat("dp-b", addr)

	for _, c := range []struct {
		body, ask string
		tapped    int
	}{
		// Any live data plane: the first that reports an admin address.
		{`{"tap": {}}`, "n=100", 5},
		{`{"tap": {"instance": "dp-b", "n": 3, "wait_ms": 2000}}`, "n=3", 3},
	} {
		mu.Lock()
		asked = nil
		mu.Unlock()
		r := a.do("POST", "/preview", c.body)
		var p preview
		r.decode(t, &p)
		if r.status != 200 {
			t.Fatalf("%s: got %d %s", c.body, r.status, r.body)
		}
		mu.Lock()
		if len(asked) != 1 || asked[0] != c.ask {
			t.Errorf("%s: the tap was asked %q; want %q", c.body, asked, c.ask)
		}
		mu.Unlock()
		wantLines := 1
		if c.tapped == 5 {
			wantLines = 3
		}
		if s := p.Source; s == nil || s.Instance != "dp-b" || s.Tapped != c.tapped || s.Lines != wantLines || s.DroppedLive != 1 || s.Bypassed != 1 || s.TimedOut {
			t.Errorf("%s: source %+v; want dp-b, %d tapped, %d lines, 1 dropped live, 1 bypassed", c.body, p.Source, c.tapped, wantLines)
		}
		if len(p.Lines) != wantLines || p.Totals.Lines != wantLines || p.Lines[0].Output == nil || *p.Lines[0].Output != "INFO user=alice ssn=XXX-XX-XXXX" {
			t.Errorf("%s: lines %+v; want the redacted line kept", c.body, p.Lines)
		}
		if wantLines == 3 && (p.Lines[1].Kept || p.Lines[1].DroppedBy != "drop_debug" || p.Lines[2].Output == nil || !slices.Equal(p.Lines[2].RewrittenBy, []string{"redact_email"})) {
			t.Errorf("%s: lines 1, 2 %+v; want dropped by the draft's drop_debug, redacted by its redact_email", c.body, p.Lines[1:])
		}
		// Neither a line the live rules skipped, nor what the draft
		// redacts in a line tapped: the lines tapped are not echoed.
		if strings.Contains(string(r.body), "123-45-6789") || strings.Contains(string(r.body), "bob@example.com") {
			t.Errorf("%s: the answer shows what a rule redacts: %s", c.body, r.body)
		}
	}
}

// TestPreviewFromTapErrors: each way a tap preview fails is a 4xx or 5xx
// naming the cause, never a hang: a data plane that sends nothing is given
// up on after wait_ms.
func TestPreviewFromTapErrors(t *testing.T) {
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	status := func(code int, body string) string {
		return fakeTap(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			fmt.Fprint(w, body)
		})
	}
	silent := fakeTap(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	stalls := fakeTap(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	partial := fakeTap(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, tapRecords)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	garbage := status(http.StatusOK, "not json\n")

	for _, c := range []struct {
		name  string
		fleet map[string]string // id: admin address
		body  string
		code  int
		want  string
	}{
		{"no fleet", nil, `{"tap": {}}`, 409, "tap: no live data plane to tap"},
		{"no admin address", map[string]string{"dp-a": ""}, `{"tap": {}}`, 409, "no live data plane reports an admin address"},
		{"instance without admin address", map[string]string{"dp-a": ""}, `{"tap": {"instance": "dp-a"}}`, 409, `tap.instance: data plane "dp-a" reports no admin address`},
		{"unknown instance", map[string]string{"dp-a": "", "dp-b": ""}, `{"tap": {"instance": "dp-z"}}`, 404, `tap.instance: no live data plane "dp-z" (live: dp-a, dp-b)`},
		{"tap off", map[string]string{"dp-a": status(404, `{"detail":"the tap is off on this data plane (-tap=false)"}`)}, `{"tap": {}}`, 409,
			`tap: data plane "dp-a" has no tap to read: the tap is off on this data plane (-tap=false)`},
		{"too many taps", map[string]string{"dp-a": status(429, `{"detail":"4 taps are attached"}`)}, `{"tap": {}}`, 429, `tap: data plane "dp-a": 4 taps are attached`},
		{"other error", map[string]string{"dp-a": status(500, `oops`)}, `{"tap": {}}`, 502, `tap: data plane "dp-a" answered 500 Internal Server Error: oops`},
		{"unreachable", map[string]string{"dp-a": refused}, `{"tap": {}}`, 502, `tap: cannot reach the admin port of data plane "dp-a" at ` + refused},
		{"no line in time", map[string]string{"dp-a": silent}, `{"tap": {"wait_ms": 50}}`, 504, `tap: data plane "dp-a" processed no line within wait_ms=50`},
		{"no answer in time", map[string]string{"dp-a": stalls}, `{"tap": {"wait_ms": 50}}`, 504, `tap: the admin port of data plane "dp-a" at ` + stalls + ` did not answer within wait_ms=50`},
		{"not a record", map[string]string{"dp-a": garbage}, `{"tap": {}}`, 502, `tap: data plane "dp-a" sent a record that is not one`},
		{"both", nil, `{"lines": ["x"], "tap": {}}`, 400, "lines, tap: give one of them, not both"},
		{"neither", nil, `{"tap": null}`, 400, "lines: required (or tap"},
		{"n 0", nil, `{"tap": {"n": 0}}`, 400, "tap.n: want a number of lines from 1 to 1000; got 0"},
		{"n too many", nil, `{"tap": {"n": 1001}}`, 400, "tap.n: want a number of lines from 1 to 1000; got 1001"},
		{"wait 0", nil, `{"tap": {"wait_ms": 0}}`, 400, "tap.wait_ms: want a number of milliseconds from 1 to 20000; got 0"},
		{"wait too long", nil, `{"tap": {"wait_ms": 20001}}`, 400, "tap.wait_ms: want a number of milliseconds from 1 to 20000; got 20001"},
		{"unknown field", nil, `{"tap": {"rule": "x"}}`, 400, `unknown field "rule"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAPI(t, Options{}, store.Options{})
			for id, addr := range c.fleet {
				a.heartbeat(id, addr)
			}
			r := a.do("POST", "/preview", c.body)
			if r.status != c.code || !strings.Contains(r.detail(), c.want) {
				t.Errorf("got %d %s; want %d with %q", r.status, r.body, c.code, c.want)
			}
		})
	}

	// The records that came before wait_ms ended are previewed.
	a := newTestAPI(t, Options{}, store.Options{})
	a.heartbeat("dp-a", partial)
	r := a.do("POST", "/preview", `{"tap": {"n": 10, "wait_ms": 200}}`)
	var p preview
	r.decode(t, &p)
	if s := p.Source; r.status != 200 || s == nil || s.Tapped != 5 || s.Lines != 3 || !s.TimedOut {
		t.Errorf("a tap that ends with wait_ms: got %d %s; want 5 records tapped, 3 lines, timed_out", r.status, r.body)
	}

	// A tap that ends before it sent a line.
	a = newTestAPI(t, Options{}, store.Options{})
	a.heartbeat("dp-a", status(http.StatusOK, ""))
	if r := a.do("POST", "/preview", `{"tap": {}}`); r.status != 502 || !strings.Contains(r.detail(), `tap: the tap of data plane "dp-a" ended before it sent a line`) {
		t.Errorf("a tap that ends at once: got %d %s; want 502", r.status, r.body)
	}
}

// TestPreviewFromTapTLS: an https admin port is verified with
// Options.AdminTLS; one it does not trust is a 502 that says why.
func TestPreviewFromTapTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, tapRecords)
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for _, c := range []struct {
		name string
		tls  *tls.Config
		code int
		want string
	}{
		{"trusted", &tls.Config{RootCAs: pool}, 200, ""},
		{"not trusted", nil, 502, "tls: failed to verify certificate: x509: certificate signed by unknown authority (the control plane's -admin-ca names"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newTestAPI(t, Options{AdminTLS: c.tls}, store.Options{})
			hb := &rdb.Heartbeat{ID: "dp-a", Updated: time.Now().UnixMilli(), AdminAddr: srv.Listener.Addr().String(), AdminScheme: "https"}
			if err := rdb.WriteHeartbeat(context.Background(), a.rc, hb, time.Minute); err != nil {
				t.Fatal(err)
			}
			r := a.do("POST", "/preview", `{"tap": {}}`)
			if r.status != c.code || !strings.Contains(r.detail(), c.want) {
				t.Errorf("got %d %s; want %d with %q", r.status, r.body, c.code, c.want)
			}
		})
	}
}
