package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/control/store"
	"streamgate/dataplane/rdb"
	dpserver "streamgate/dataplane/server"
	"streamgate/dataplane/watch"
)

func ptr(v float64) *float64 { return &v }

// TestSumSavings: the fleet's savings are the instances' summed, per
// output and per rule by name; percentages are recomputed from the sums,
// not averaged; the shadow only with shadow.
func TestSumSavings(t *testing.T) {
	a := &rdb.Savings{WindowSeconds: 3600, LinesReceived: 10, BytesReceived: 1000, BytesEmitted: 600, ReductionPercent: 40,
		USDPerMonth: 1.5, USDSavedPerMonth: 1,
		Outputs: []rdb.OutputSavings{{Name: "http:x", LinesIn: 6, BytesIn: 600, BytesOut: 300, BytesReceived: 1000, BytesInPerSecond: 2,
			CostPerGB: ptr(0.1), USDPerMonth: ptr(1.5), USDSavedPerMonth: ptr(1)}},
		Rules: []rdb.RuleSavings{{ID: "drop_debug", LinesDropped: 4, BytesDropped: 400},
			{ID: "mask", LinesRedacted: 2, LinesRedactedBy: map[string]uint64{"us_ssn": 2, "email": 1}}},
		Shadow: &rdb.ShadowSavings{Version: "shadow-1", LinesIn: 10, BytesIn: 1000, LinesOut: 2, BytesOut: 200,
			Rules: []rdb.RuleSavings{{ID: "drop_info", LinesDropped: 8, BytesDropped: 800}}}}
	b := &rdb.Savings{WindowSeconds: 60, LinesReceived: 30, BytesReceived: 3000, BytesEmitted: 3000,
		Outputs: []rdb.OutputSavings{{Name: "http:x", LinesIn: 30, BytesIn: 3000, BytesOut: 1000, BytesReceived: 3000, BytesInPerSecond: 50},
			{Name: "console", LinesIn: 30, BytesIn: 3000, BytesOut: 3030, BytesReceived: 3000}},
		Rules: []rdb.RuleSavings{{ID: "drop_debug"}, {ID: "mask", LinesRedacted: 3, LinesRedactedBy: map[string]uint64{"us_ssn": 3}}},
		Shadow: &rdb.ShadowSavings{Version: "shadow-1", LinesIn: 5, BytesIn: 500, LinesOut: 5, BytesOut: 500, LinesSkipped: 25,
			Rules: []rdb.RuleSavings{{ID: "drop_info"}}}}
	broken := &rdb.Savings{Outputs: []rdb.OutputSavings{}, Rules: []rdb.RuleSavings{},
		Shadow: &rdb.ShadowSavings{Version: "shadow-2", Error: "line 1: bad", Rules: []rdb.RuleSavings{}}}
	hbs := []rdb.Heartbeat{{ID: "a", Version: "3", Savings: a}, {ID: "b", Version: "3", Savings: b}, {ID: "old", Version: "3"}}

	tests := []struct {
		name   string
		hbs    []rdb.Heartbeat
		shadow bool
		want   fleetSavings
	}{
		{name: "no instance", want: fleetSavings{Outputs: []rdb.OutputSavings{}, Rules: []rdb.RuleSavings{}, Instances: []instanceSavings{}}},
		{
			name: "live", hbs: hbs,
			want: fleetSavings{
				Totals: savingsTotals{Instances: 2, LinesReceived: 40, BytesReceived: 4000, BytesEmitted: 3600, ReductionPercent: 10,
					USDPerMonth: 1.5, USDSavedPerMonth: 1},
				Outputs: []rdb.OutputSavings{
					// The console's newlines make it more than it took in.
					{Name: "console", LinesIn: 30, BytesIn: 3000, BytesOut: 3030, BytesReceived: 3000, ReductionPercent: -1},
					{Name: "http:x", LinesIn: 36, BytesIn: 3600, BytesOut: 1300, BytesReceived: 4000, ReductionPercent: 67.5, BytesInPerSecond: 52,
						CostPerGB: ptr(0.1), USDPerMonth: ptr(1.5), USDSavedPerMonth: ptr(1)}},
				Rules: []rdb.RuleSavings{{ID: "drop_debug", LinesDropped: 4, BytesDropped: 400},
					{ID: "mask", LinesRedacted: 5, LinesRedactedBy: map[string]uint64{"us_ssn": 5, "email": 1}}},
			},
		},
		{
			name: "with the shadow", hbs: append(hbs, rdb.Heartbeat{ID: "c", Savings: broken}), shadow: true,
			want: fleetSavings{
				Shadow: &fleetShadow{Versions: []string{"shadow-1", "shadow-2"}, Instances: 2, LinesIn: 15, BytesIn: 1500,
					LinesOut: 7, BytesOut: 700, LinesSkipped: 25, ReductionPercent: 53.3,
					Rules: []rdb.RuleSavings{{ID: "drop_info", LinesDropped: 8, BytesDropped: 800}}, Errors: []string{"c: line 1: bad"}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sumSavings(tc.hbs, tc.shadow)
			if tc.shadow {
				if !reflect.DeepEqual(got.Shadow, tc.want.Shadow) {
					t.Errorf("shadow: got %+v; want %+v", got.Shadow, tc.want.Shadow)
				}
				for _, inst := range got.Instances {
					if inst.Savings.Shadow == nil {
						t.Errorf("instance %s: its shadow is missing", inst.ID)
					}
				}
				return
			}
			if got.Shadow != nil {
				t.Errorf("shadow: got %+v; want none without shadow=true", got.Shadow)
			}
			for _, inst := range got.Instances {
				if inst.Savings.Shadow != nil {
					t.Errorf("instance %s: got its shadow; want none without shadow=true", inst.ID)
				}
			}
			got.Instances = nil
			tc.want.Instances = nil
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(tc.want)
			if string(g) != string(w) {
				t.Errorf("got  %s\nwant %s", g, w)
			}
		})
	}
	if a.Shadow == nil {
		t.Fatal("sumSavings changed the instance's savings")
	}
}

// TestShadowRoutes: the shadow routes answer 404 without a shadow, and a
// draft that does not validate is refused as POST /publish refuses it.
func TestShadowRoutes(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	for _, st := range []struct {
		method, target, body string
		wantStatus           int
		want                 string
	}{
		{"GET", "/shadow", "", 404, `{"detail":"No shadow manifest: publish one with POST /shadow"}`},
		{"DELETE", "/shadow", "", 404, `{"detail":"No shadow manifest: publish one with POST /shadow"}`},
		{"POST", "/shadow/promote", "", 404, `{"detail":"No shadow manifest: publish one with POST /shadow"}`},
		{"GET", "/savings?shadow=maybe", "", 400, `{"detail":"shadow: want true or false; got \"maybe\""}`},
		{"GET", "/savings", "", 200, `{"totals":{"instances":0,"lines_received":0,"bytes_received":0,"bytes_emitted":0,"reduction_percent":0,"usd_per_month":0,"usd_saved_per_month":0},"outputs":[],"rules":[],"instances":[]}`},
		{"POST", "/rules", `{"id":"drop_info","type":"filter","params":{"value":"INFO"}}`, 200, ""},
		{"POST", "/shadow", "", 200, ""},
		{"GET", "/manifests", "", 200, `[]`}, // a shadow joins no history
		{"POST", "/outputs", `{"type":"http","url":"http://a:1"}`, 200, ""},
		{"POST", "/outputs", `{"type":"http","url":"http://b:1","cost_per_gb":-1}`, 400, `{"detail":"cost_per_gb: want a number of dollars, at least 0; got -1"}`},
		{"DELETE", "/shadow", "", 200, ""},
		{"GET", "/shadow", "", 404, ""},
	} {
		r := a.do(st.method, st.target, st.body)
		if r.status != st.wantStatus || st.want != "" && !sameJSON(r.body, []byte(st.want)) {
			t.Fatalf("%s %s: got %d %s; want %d %s", st.method, st.target, r.status, r.body, st.wantStatus, st.want)
		}
	}
}

// lineSink is an HTTP endpoint that collects the lines posted to it.
type lineSink struct {
	mu    sync.Mutex
	lines []string
}

func (s *lineSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.lines = append(s.lines, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")...)
	s.mu.Unlock()
}

func (s *lineSink) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// checkFor polls f until it holds, or fails t after a few seconds.
func checkFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestShadowEndToEnd: a control plane and a data plane on one Redis. A
// shadow manifest that also drops INFO lines is counted, per rule and in
// bytes, on GET /savings?shadow=true while the live output receives what
// the live manifest lets through, unchanged; promoting it makes it live.
func TestShadowEndToEnd(t *testing.T) {
	a := newTestAPI(t, Options{}, store.Options{})
	sink := &lineSink{}
	vendor := httptest.NewServer(sink)
	t.Cleanup(vendor.Close)

	dp, err := dpserver.Start(dpserver.Options{
		HTTPAddr: "127.0.0.1:0",
		Watch:    &watch.Options{Client: newClient(t, a.mr), ID: "dp-1", Heartbeat: 20 * time.Millisecond, Resync: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp.Shutdown(context.Background()) })
	ingest := func(lines ...string) {
		t.Helper()
		resp, err := http.Post("http://"+dp.HTTPAddr().String()+"/ingest", "text/plain", strings.NewReader(strings.Join(lines, "\n")+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	must := func(method, target, body string) *result {
		t.Helper()
		r := a.do(method, target, body)
		if r.status != 200 {
			t.Fatalf("%s %s: got %d %s; want 200", method, target, r.status, r.body)
		}
		return r
	}
	must("POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`)
	must("POST", "/outputs", `{"type":"http","url":"`+vendor.URL+`","cost_per_gb":0.5}`)
	must("POST", "/publish", "")
	checkFor(t, "the data plane to run version 1", func() bool { return dp.Applied() != nil && dp.Applied().Version == "1" })

	must("POST", "/rules", `{"id":"drop_info","type":"filter","params":{"value":"INFO"}}`)
	must("POST", "/rules", `{"id":"mask","type":"redact","params":{"pattern":"\\d+","replacement":"#"}}`)
	must("POST", "/shadow", "")
	checkFor(t, "the data plane to run the shadow", func() bool { return dp.Pipeline().Shadow() != nil })

	ingest("DEBUG cache warm", "INFO user 42 logged in", "WARN disk 91% full")
	want := []string{"INFO user 42 logged in", "WARN disk 91% full"} // the live manifest's, untouched by the shadow
	checkFor(t, "the live lines", func() bool { return len(sink.get()) == 2 })

	var sv fleetSavings
	checkFor(t, "the heartbeat's shadow counts", func() bool {
		sv = fleetSavings{}
		must("GET", "/savings?shadow=true", "").decode(t, &sv)
		return sv.Shadow != nil && sv.Shadow.LinesIn == 3 && len(sv.Outputs) == 1 && sv.Outputs[0].BytesOut > 0
	})
	if got := sink.get(); !reflect.DeepEqual(got, want) {
		t.Errorf("live output: got %q; want %q", got, want)
	}
	if sv.Totals.Instances != 1 || sv.Totals.BytesReceived != 56 || sv.Totals.BytesEmitted != 40 || sv.Totals.ReductionPercent != 28.6 {
		t.Errorf("totals: got %+v; want 1 instance, 56 bytes received, 40 emitted, 28.6 %%", sv.Totals)
	}
	if want := []rdb.RuleSavings{{ID: "drop_debug", LinesDropped: 1, BytesDropped: 16}}; !reflect.DeepEqual(sv.Rules, want) {
		t.Errorf("live rules: got %+v; want %+v", sv.Rules, want)
	}
	o := sv.Outputs[0]
	if o.LinesIn != 2 || o.BytesIn != 40 || o.BytesOut != 42 || o.CostPerGB == nil || *o.CostPerGB != 0.5 || o.USDPerMonth == nil {
		t.Errorf("output: got %+v; want 2 lines, 40 bytes in, 42 out (one newline each), a price and an estimate", o)
	}
	sh := sv.Shadow
	wantRules := []rdb.RuleSavings{
		{ID: "drop_debug", LinesDropped: 1, BytesDropped: 16},
		{ID: "drop_info", LinesDropped: 1, BytesDropped: 22},
		{ID: "mask", LinesRedacted: 1},
	}
	if sh.BytesIn != 56 || sh.LinesOut != 1 || sh.BytesOut != 17 || sh.ReductionPercent != 69.6 || !reflect.DeepEqual(sh.Rules, wantRules) {
		t.Errorf("shadow: got %+v; want 57 bytes in, 1 line of 17 bytes out (\"WARN disk #%% full\"), 70.2 %%, rules %+v", sh, wantRules)
	}

	must("POST", "/shadow/promote", "")
	checkFor(t, "the data plane to run the promoted manifest", func() bool { return dp.Applied().Version == "2" && dp.Pipeline().Shadow() == nil })
	ingest("INFO user 7 logged out", "WARN disk 95% full")
	checkFor(t, "the line the promoted manifest lets through", func() bool { return len(sink.get()) == 3 })
	if got := sink.get()[2]; got != "WARN disk #% full" {
		t.Errorf("after promote: got %q; want the promoted rules' output", got)
	}
	if r := a.do("GET", "/shadow", ""); r.status != 404 {
		t.Errorf("GET /shadow after promote: got %d %s; want 404", r.status, r.body)
	}
	var rules []map[string]any
	must("GET", "/rules", "").decode(t, &rules)
	if len(rules) != 3 {
		t.Errorf("draft after promote: got %d rules; want the shadow's 3", len(rules))
	}
}
