package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"streamgate/control/store"
	"streamgate/dataplane/rdb"
)

// browser is a headless Chromium tab whose console is watched: the
// dashboard never writes to it, so anything there but the browser's own
// network lines is a fault.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	problems []string
}

// newBrowser starts Chromium, or skips the test when there is none (CI
// installs it, and there the test fails instead).
func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("no chromium on PATH: CI installs it (.ci/run)")
		}
		t.Skip("no chromium on PATH: install it (apt-get install chromium) to run the dashboard's browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1400, 1000))
	if os.Geteuid() == 0 {
		// Chromium refuses to sandbox itself as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	b := &browser{t: t, ctx: bctx}
	messages := chromedp.Console(bctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Source == "network" { // the 401s and 404s the page expects
				continue
			}
			if m.Source == "" || m.IsException() || m.Type == chromedp.ConsoleError {
				b.mu.Lock()
				b.problems = append(b.problems, m.String())
				b.mu.Unlock()
			}
		}
	}()
	// Confirmations (a rollback asks for one) are accepted.
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	t.Cleanup(func() {
		bcancel()
		acancel()
		<-done
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("console: %s", p)
		}
	})
	return b
}

// do runs actions, failing the test on an error.
func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls expr in the page until it is true.
func (b *browser) wait(what, expr string) {
	b.t.Helper()
	_, err := chromedp.Run(b.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		b.t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, text)
	}
}

// savingsAPI adds to the API what a control plane with savings accounting
// and shadow rules serves: GET /savings (?shadow=1), shadow publishing as a
// query parameter of POST /publish, and POST /shadow/promote, documented in
// /openapi.json. It records the Authorization header of each change.
type savingsAPI struct {
	next http.Handler

	mu    sync.Mutex
	polls int64
	auth  []string
}

func (s *savingsAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method == "GET" && r.URL.Path == "/savings":
		s.polls++
		if r.URL.Query().Get("shadow") != "" {
			reply(map[string]any{"rules": []map[string]any{{"id": "drop_trace", "bytes_saved": 4096}}})
			return
		}
		reply(map[string]any{
			"fleet": map[string]any{"bytes_in": s.polls * 50000, "bytes_out": s.polls * 20000},
			"rules": []map[string]any{{"id": "drop_debug", "lines_dropped": s.polls * 100, "bytes_saved": s.polls * 30000},
				{"id": "redact_pii", "lines_redacted": 7, "lines_redacted_by_detector": map[string]any{"email": 2, "us_ssn": 5}}},
			"usd_per_month": 1234.5,
		})
	case r.Method == "GET" && r.URL.Path == "/openapi.json":
		rec := httptest.NewRecorder()
		s.next.ServeHTTP(rec, r)
		var doc map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		paths := doc["paths"].(map[string]any)
		pub := paths["/publish"].(map[string]any)["post"].(map[string]any)
		pub["parameters"] = append(pub["parameters"].([]any), map[string]any{"name": "shadow", "in": "query", "schema": map[string]any{"type": "boolean"}})
		paths["/shadow/promote"] = map[string]any{"post": map[string]any{"responses": map[string]any{}}}
		reply(doc)
	case r.Method == "POST" && (r.URL.Path == "/publish" && r.URL.Query().Get("shadow") != "" || r.URL.Path == "/shadow/promote"):
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		reply(map[string]any{"status": "published", "manifest": map[string]any{"version": "shadow-1"}, "subscribers_notified": 1})
	default:
		s.next.ServeHTTP(w, r)
	}
}

// TestDashboardSavingsShadowRollback: against a control plane with savings
// and shadow rules (faked around the real API) and heartbeats written
// straight into Redis, the page shows the savings and the byte rates,
// publishes as shadow and promotes with the token, and rolls back.
func TestDashboardSavingsShadowRollback(t *testing.T) {
	const token = "ui-token"
	a := newTestAPI(t, Options{Token: token}, store.Options{})
	sa := &savingsAPI{next: a.h}
	srv := httptest.NewServer(sa)
	defer srv.Close()
	auth := []string{"Authorization", "Bearer " + token}
	for _, rule := range []string{`{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`, `{"id":"drop_trace","type":"filter","params":{"value":"TRACE"}}`} {
		if r := a.do("POST", "/rules", rule, auth...); r.status != 200 {
			t.Fatalf("POST /rules: %d %s", r.status, r.body)
		}
		if r := a.do("POST", "/publish", "", auth...); r.status != 200 {
			t.Fatalf("POST /publish: %d %s", r.status, r.body)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for n := uint64(1); ; n++ {
			now := time.Now().UnixMilli()
			for i, id := range []string{"dp-a", "dp-b"} {
				hb := &rdb.Heartbeat{ID: id, Host: "host-" + id, PID: 100 + i, Started: now - 60000, Updated: now, Version: "2", Redis: "connected",
					Received: n * 100, Emitted: n * 70, Filtered: n * 30,
					Outputs: rdb.OutputQueues{{Name: "http:http://collector:9000", Buffer: "disk", Lines: int64(n % 50), DiskBytes: int64(n * 10), OldestSeconds: 1.5,
						LatencySeconds: 0.012, LatencyP50Seconds: 0.02, LatencyP99Seconds: 0.25, LatencyBatches: 40}}}
				if err := rdb.WriteHeartbeat(ctx, a.rc, hb, time.Minute); err != nil {
					if ctx.Err() == nil {
						t.Errorf("write heartbeat: %v", err)
					}
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()

	b := newBrowser(t, ctx)
	b.do("load /ui", chromedp.Navigate(srv.URL+"/ui?poll=250"))
	b.wait("both instances", `document.querySelectorAll('#instances tbody tr[data-id]').length === 2 &&
		document.querySelector('#fleet-summary [data-field="versions"]').textContent === '2' &&
		document.querySelectorAll('#outputs-health tbody tr').length === 2`)
	b.wait("the outputs' p99 latency", `[...document.querySelectorAll('#outputs-health td[data-field="p99"]')].every(td =>
		td.textContent === '250 ms' && td.title === 'p50 20 ms over 40 batch(es)')`)
	b.wait("the savings panel", `document.querySelector('#savings').dataset.state === 'present' &&
		document.querySelector('#savings-body').textContent.includes('$1234.50') &&
		document.querySelector('#savings-body').textContent.includes('us_ssn 5, email 2') &&
		document.querySelector('#savings-body').textContent.includes('Shadow rules')`)
	b.wait("the byte rates", `Number(document.querySelector('#chart-bytes').dataset.points) >= 2 &&
		document.querySelector('#chart-bytes .note').hidden`)
	b.wait("the line rates", `Number(document.querySelector('#chart-lines').dataset.points) >= 2`)

	// Shadow: the buttons show, and their calls carry the token.
	b.wait("the shadow buttons", `!document.querySelector('#publish-shadow').hidden && !document.querySelector('#promote-shadow').hidden`)
	b.do("enter the token", chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))

	// Preview live traffic: these data planes report no admin port to
	// tap, and the page says so.
	b.do("preview live traffic", chromedp.Click(chromedp.ID("preview-tap")))
	b.wait("the tap preview's error", `document.querySelector('#msg').dataset.kind === 'error' &&
		document.querySelector('#msg').textContent.includes('Preview live traffic (409): tap: no live data plane reports an admin address')`)
	b.do("publish as shadow", chromedp.Click(chromedp.ID("publish-shadow")))
	b.wait("the shadow publish message", `document.querySelector('#msg').textContent.includes('Publish as shadow: version shadow-1')`)
	b.do("promote", chromedp.Click(chromedp.ID("promote-shadow")))
	b.wait("the promote message", `document.querySelector('#msg').textContent.includes('Promote the shadow: version shadow-1')`)
	sa.mu.Lock()
	if want := []string{"Bearer " + token, "Bearer " + token}; strings.Join(sa.auth, ",") != strings.Join(want, ",") {
		t.Errorf("shadow calls' Authorization: got %q; want %q", sa.auth, want)
	}
	sa.mu.Unlock()

	// Rollback to version 1, confirmed: version 3 holds its one rule.
	b.wait("the history", `document.querySelectorAll('#manifests tbody tr[data-version]').length === 2`)
	b.do("roll back", chromedp.Click(chromedp.CSS(`#manifests tr[data-version="1"] button:last-child`)))
	b.wait("the rollback message", `document.querySelector('#msg').textContent.includes('Rollback to 1: version 3')`)
	b.wait("the draft after the rollback", `document.querySelectorAll('#rules tbody tr[data-id]').length === 1 &&
		document.querySelector('#manifests tbody tr.live').dataset.version === '3'`)
	if r := a.do("GET", "/rules", ""); !strings.Contains(string(r.body), "drop_debug") || strings.Contains(string(r.body), "drop_trace") {
		t.Errorf("GET /rules after the rollback: %s; want drop_debug alone", r.body)
	}
}
