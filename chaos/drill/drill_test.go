package drill

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

func TestParseFuzzTargets(t *testing.T) {
	got, err := ParseFuzzTargets("dataplane/ingest:FuzzFramer:30000x\n\tcontrol/api:FuzzRulesBody")
	if err != nil {
		t.Fatal(err)
	}
	want := []FuzzTarget{{"dataplane/ingest", "FuzzFramer"}, {"control/api", "FuzzRulesBody"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %v; want %v", got, want)
	}
	for _, bad := range []string{"FuzzX", "dataplane:FuzzX", "dataplane/ingest:TestX", ":FuzzX"} {
		if _, err := ParseFuzzTargets(bad); err == nil {
			t.Errorf("%q: got no error", bad)
		}
	}
}

func TestAccount(t *testing.T) {
	const out = "tcp:tcp://127.0.0.1:1"
	base := lab.CountersOf(map[string]float64{})
	c := lab.CountersOf(map[string]float64{
		"streamgate_lines_received_total":                                                           100,
		`streamgate_lines_filtered_total{rule="drop_debug"}`:                                        10,
		`streamgate_lines_dropped_total{reason="buffer_full"}`:                                      5,
		"streamgate_lines_emitted_total":                                                            85,
		`streamgate_output_lines_delivered_total{output="tcp:tcp://127.0.0.1:1"}`:                   80,
		`streamgate_output_lines_dropped_total{output="tcp:tcp://127.0.0.1:1",reason="queue_full"}`: 3,
		`streamgate_output_dead_lettered_total{output="tcp:tcp://127.0.0.1:1"}`:                     2,
		`streamgate_output_lines_delivered_total{output="console"}`:                                 60,
		`streamgate_output_lines_dropped_total{output="console",reason="queue_full"}`:               25,
	})
	cases := []struct {
		sent, got, lost int64
	}{
		{100, 80, 0}, // every line accounted for
		{100, 79, 1}, // one missing at the sink
		{100, 81, 1}, // one more than sent: as wrong
		{102, 80, 2}, // two never counted by the proxy
	}
	for _, tc := range cases {
		var sc result.ChaosScenario
		account(&sc, tc.sent, c, base, out, tc.got)
		if sc.LostUncounted != tc.lost {
			t.Errorf("sent %d, got %d: lost %d; want %d", tc.sent, tc.got, sc.LostUncounted, tc.lost)
		}
		// The console's drops do not excuse the sink's output; its dead
		// letters are counted with its drops.
		if sc.Dropped != 10 || sc.Filtered != 10 {
			t.Errorf("dropped %d, filtered %d; want 10, 10", sc.Dropped, sc.Filtered)
		}
		if sc.DroppedByReason["queue_full (console)"] != 25 || sc.DroppedByReason["buffer_full"] != 5 ||
			sc.DroppedByReason["dead_lettered (tcp:tcp://127.0.0.1:1)"] != 2 {
			t.Errorf("by reason: %v", sc.DroppedByReason)
		}
	}
}

func TestFinalCounters(t *testing.T) {
	logs := "time=x level=INFO msg=\"data plane running\" tcp=127.0.0.1:1\n" +
		"time=x level=INFO msg=\"data plane stopped\" received=10 filtered=1 dropped=2 emitted=7 delivered=7 output_dropped=0 in_pipeline=0 output.console.delivered=3 output.console.dropped=4\n"
	got, err := finalCounters(logs)
	if err != nil {
		t.Fatal(err)
	}
	if got["received"] != 10 || got["filtered"] != 1 || got["dropped"] != 2 || got["delivered"] != 7 {
		t.Fatalf("got %v", got)
	}
	if _, err := finalCounters("time=x level=INFO msg=\"data plane stopped\" received=10\n"); err == nil {
		t.Fatal("a stop line without every counter: got no error")
	}
	if _, err := finalCounters("nothing here"); err == nil {
		t.Fatal("no stop line: got no error")
	}
}

func TestBinaryLines(t *testing.T) {
	b := binaryLines(500)
	lines := bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n"))
	if len(lines) != 500 {
		t.Fatalf("got %d lines; want 500", len(lines))
	}
	var nul, high bool
	for _, l := range lines {
		if len(l) == 0 || l[len(l)-1] == '\r' {
			t.Fatalf("line %q would not survive framing as itself", l)
		}
		nul = nul || bytes.IndexByte(l, 0) >= 0
		high = high || bytes.IndexFunc(l, func(r rune) bool { return r == '\uFFFD' }) >= 0
	}
	if !nul || !high {
		t.Fatalf("lines lack NULs (%v) or invalid UTF-8 (%v)", nul, high)
	}
}

func TestProgressStall(t *testing.T) {
	var n atomic.Int64
	p := watchProgress(func() (int64, error) { return n.Load(), nil }, 5*time.Millisecond)
	for range 10 {
		n.Add(1)
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond) // a stall
	n.Add(1)
	time.Sleep(20 * time.Millisecond)
	if stall := p.end(); stall < 100*time.Millisecond {
		t.Fatalf("stall %v; want at least 100ms", stall)
	}
}

func TestFrontModes(t *testing.T) {
	var got atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Add(int64(len(b)))
	}))
	defer sink.Close()
	f, err := newFront(sink.URL + "/logs")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Down()
	f.stallFor = 100 * time.Millisecond
	post := func() (int, http.Header, error) {
		resp, err := http.Post("http://"+f.addr+"/logs", "text/plain", strings.NewReader(strings.Repeat("line\n", 500)))
		if err != nil {
			return 0, nil, err
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header, nil
	}
	if st, _, err := post(); err != nil || st != 200 || got.Load() != 2500 {
		t.Fatalf("healthy: %d %v, sink got %d bytes", st, err, got.Load())
	}
	f.set(fail500)
	if st, _, _ := post(); st != 500 {
		t.Fatalf("500 mode: got %d", st)
	}
	f.set(throttle)
	if st, h, _ := post(); st != 429 || h.Get("Retry-After") != "1" {
		t.Fatalf("429 mode: got %d, Retry-After %q", st, h.Get("Retry-After"))
	}
	f.set(refuse)
	if st, _, _ := post(); st != 400 {
		t.Fatalf("400 mode: got %d", st)
	}
	f.set(stall)
	start := time.Now()
	if st, _, _ := post(); st != 200 || time.Since(start) < 100*time.Millisecond {
		t.Fatalf("stall mode: got %d after %v", st, time.Since(start))
	}
	f.set(reset)
	if _, _, err := post(); err == nil {
		t.Fatal("reset mode: got an answer")
	}
	f.set(healthy)
	f.Down()
	if _, _, err := post(); err == nil {
		t.Fatal("down: got an answer")
	}
	if err := f.Up(); err != nil {
		t.Fatal(err)
	}
	if st, _, err := post(); err != nil || st != 200 {
		t.Fatalf("up again: %d %v", st, err)
	}
	if f.failed[fail500].Load() != 1 || f.failed[throttle].Load() != 1 || f.failed[reset].Load() != 1 || f.failed[refuse].Load() != 1 {
		t.Fatalf("fault counts: 500 %d, 429 %d, reset %d, 400 %d", f.failed[fail500].Load(), f.failed[throttle].Load(), f.failed[reset].Load(), f.failed[refuse].Load())
	}
}
