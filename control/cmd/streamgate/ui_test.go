package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

var (
	uiScreenshot    = flag.String("ui-screenshot", "", "TestDashboard: write a full-page PNG of /ui to this file")
	uiScreenshotFor = flag.Duration("ui-screenshot-after", time.Minute, "TestDashboard: how long traffic flows before the screenshot")
)

// chromium finds a Chromium or Chrome binary for the browser tests.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium on PATH: CI installs it (.ci/run)")
	}
	t.Skip("no chromium on PATH: install it (apt-get install chromium) to run the dashboard's browser test")
	return ""
}

// TestDashboard loads /ui from `up` (control plane, data plane, embedded
// Redis) in headless Chromium while lines flow: the page draws the rates,
// asks for the token on a change, adds a filter, previews it, publishes
// it, and the fleet panel shows the new version, with nothing on the
// console. With -ui-screenshot it also writes a full-page PNG.
func TestDashboard(t *testing.T) {
	browser := chromium(t)
	const token = "dashboard-test-token"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := startProc(t, []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"},
		append([]string{"up", "-api-host", "127.0.0.1", "-api-port", "0", "-api-token-file", tokenFile}, onFreePorts...)...)
	api := up.waitLog(apiRE)[1]
	tcp := up.waitLog(tcpAddrRE)[1]

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second+*uiScreenshotFor)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sendTraffic(ctx, t, tcp)
	}()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.WindowSize(1400, 1000))
	if os.Geteuid() == 0 {
		// Chromium refuses to sandbox itself as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()

	var (
		mu       sync.Mutex
		problems []string
	)
	messages := chromedp.Console(bctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return
			}
			// The browser logs the answers the page expects: the 401 of
			// a change without the token, the 404 of GET /savings.
			if m.Source == "network" {
				continue
			}
			// The page never writes to the console: any call, exception
			// or error of the browser (a refused policy) is a fault.
			if m.Source == "" || m.IsException() || m.Type == chromedp.ConsoleError {
				mu.Lock()
				problems = append(problems, m.String())
				mu.Unlock()
			}
		}
	}()

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		_, err := chromedp.Run(bctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("waiting for %s: %v\npage:\n%s", what, err, text)
		}
	}
	click := func(sel string) {
		t.Helper()
		must("click "+sel, chromedp.Do(bctx, chromedp.Click(chromedp.CSS(sel))))
	}

	must("load /ui", chromedp.Do(bctx, chromedp.Navigate(api+"/ui?poll=300")))

	// The rates of the fleet's heartbeats, drawn as they come.
	poll("the lines chart to draw", `Number(document.querySelector('#chart-lines').dataset.points) >= 3 &&
		document.querySelector('#chart-lines polyline[data-series="ingest"]').getAttribute('points').split(' ').length >= 3`)
	poll("the fleet panel to list the data plane", `document.querySelectorAll('#instances tbody tr[data-id]').length === 1`)
	// Each output's p99 latency over the last minute, once it delivered.
	poll("the output's p99 latency", `[...document.querySelectorAll('#outputs-health td[data-field="p99"]')].some(td => / m?s$/.test(td.textContent))`)

	// The savings panel shows GET /savings, or hides itself where the
	// control plane has none.
	savings := "absent"
	if resp, err := http.Get(api + "/savings"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			savings = "present"
		}
	}
	poll("the savings panel to be "+savings, fmt.Sprintf(`document.querySelector('#savings').dataset.state === %q`, savings))

	// A change without the token: the page says so.
	must("fill the filter form", chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="id"]`), "drop_debug"),
		chromedp.SendKeys(chromedp.CSS(`#filter-form input[name="value"]`), "DEBUG")))
	click(`#filter-form button[type="submit"]`)
	poll("a message about the token", `document.querySelector('#msg').dataset.kind === 'error' && /not authorised \(401\).*token/.test(document.querySelector('#msg').textContent)`)

	// With the token: the filter is added.
	must("enter the token", chromedp.Do(bctx, chromedp.SendKeys(chromedp.ID("token"), token)))
	click(`#token-form button[type="submit"]`)
	click(`#filter-form button[type="submit"]`)
	poll("the rule in the draft", `document.querySelector('#rules tbody tr[data-id="drop_debug"]') !== null`)

	// Preview: the sample's DEBUG line is dropped by the new filter.
	click("#preview")
	poll("the preview", `document.querySelector('#preview-result').dataset.state === 'shown' &&
		document.querySelector('#preview-result').textContent.includes('dropped by drop_debug') &&
		document.querySelector('#preview-result [data-field="source"]') === null &&
		!document.querySelector('#preview-result').textContent.includes('null')`)

	// Publish: the fleet panel shows the new version once the data plane
	// has applied it.
	click("#publish")
	poll("the publish message", `/Publish: version \d+/.test(document.querySelector('#msg').textContent)`)
	var ms []struct {
		Version string `json:"version"`
	}
	getJSON(t, api+"/manifests", &ms)
	if len(ms) != 1 {
		t.Fatalf("GET /manifests: %d manifests; want 1", len(ms))
	}
	v := ms[0].Version
	poll("the fleet at version "+v, fmt.Sprintf(`[...document.querySelectorAll('#instances td.version')].map(e => e.textContent).join() === %q &&
		document.querySelector('#fleet-summary [data-field="published"]').textContent === %q`, v, v))

	// Preview live traffic: the lines come from the data plane's tap,
	// after the live rules, and the page says from which data plane.
	var fleet struct {
		Instances []struct {
			ID string `json:"id"`
		} `json:"instances"`
	}
	getJSON(t, api+"/fleet", &fleet)
	if len(fleet.Instances) != 1 {
		t.Fatalf("GET /fleet: %+v; want one instance", fleet)
	}
	click("#preview-tap")
	poll("the preview of live traffic", fmt.Sprintf(`document.querySelector('#preview-result').dataset.source === %q &&
		document.querySelector('#preview-result [data-field="source"]').textContent.startsWith('Live traffic of ' + %[1]q + ': 50 line(s) tapped') &&
		document.querySelectorAll('#preview-result tbody tr').length > 0`, fleet.Instances[0].ID))

	// The token is in the tab's session storage, never in the address.
	stored, err := chromedp.Run(bctx, chromedp.Evaluate[bool](fmt.Sprintf(`sessionStorage.getItem('streamgate.apiToken') === %q && !location.href.includes(%q)`, token, token)))
	must("read the session storage", err)
	if !stored {
		t.Error("the token is not in session storage, or is in the address")
	}

	if *uiScreenshot != "" {
		screenshot(t, bctx, api, *uiScreenshot, *uiScreenshotFor)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("console: %s", p)
	}
}

// screenshot adds a redact rule, publishes, lets traffic flow for d and
// writes a full-page PNG of the dashboard to path.
func screenshot(t *testing.T, ctx context.Context, api, path string, d time.Duration) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#rule-text').value = '{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}'`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#rule-json').open = true`),
		chromedp.Click(chromedp.ID("rule-add")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#rules tbody tr[data-id="redact_ssn"]') !== null`),
		chromedp.Click(chromedp.ID("publish")),
		chromedp.Sleep(d),
		chromedp.Click(chromedp.ID("preview")),
		chromedp.Poll[chromedp.Void](`document.querySelector('#preview-result').dataset.state === 'shown'`),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#msg').hidden = true`),
	))
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(err)
	must(os.WriteFile(path, png, 0o644))
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// sendTraffic writes lines to the data plane at a rate that rises and
// falls, until ctx ends: a quarter DEBUG (for a filter to drop), some with
// an SSN (for a redact rule).
func sendTraffic(ctx context.Context, t *testing.T, addr string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Errorf("traffic: %v", err)
		return
	}
	defer conn.Close()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	var b strings.Builder
	for n := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// 20 to 60 lines a tick: 1,000 to 3,000 lines/s, on a 40 s period.
		k := 40 + int(20*math.Sin(2*math.Pi*time.Since(start).Seconds()/40))
		b.Reset()
		for i := 0; i < k; i++ {
			n++
			switch n % 4 {
			case 0:
				fmt.Fprintf(&b, "DEBUG cache probe key=%d\n", n)
			case 1:
				fmt.Fprintf(&b, "INFO user=u%d ssn=123-45-%04d action=login\n", n%97, n%10000)
			default:
				fmt.Fprintf(&b, `{"level":"info","msg":"request","path":"/api/items/%d","status":200,"ms":%d}`+"\n", n%500, n%37)
			}
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			if ctx.Err() == nil {
				t.Errorf("traffic: %v", err)
			}
			return
		}
	}
}
