package lab

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSumPrefix(t *testing.T) {
	m := map[string]float64{`x_total{r="a"}`: 2, `x_total{r="b"}`: 3, `y_total`: 7}
	if got := SumPrefix(m, "x_total"); got != 5 {
		t.Fatalf("SumPrefix: got %v; want 5", got)
	}
}

func TestReadCounters(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `# HELP ignored
streamgate_lines_received_total 100
streamgate_lines_filtered_total{rule="drop_debug"} 10
streamgate_lines_dropped_total{reason="oversize"} 2
streamgate_lines_dropped_total{reason="buffer_full"} 3
streamgate_lines_emitted_total 80
streamgate_output_lines_delivered_total{output="console"} 70
streamgate_output_lines_dropped_total{output="console",reason="queue_full"} 10
`)
	}))
	defer srv.Close()
	c, err := ReadCounters(strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Received != 100 || c.Filtered != 10 || c.Dropped != 5 || c.Emitted != 80 || c.Delivered != 70 || c.OutDropped != 10 {
		t.Fatalf("counters: %+v", c)
	}
	if got := c.InPipeline(); got != 5 {
		t.Fatalf("InPipeline: got %v; want 5", got)
	}
	// Each output gets every emitted line: console 80 = 70 + 10 queued 0,
	// http 80 = 50 delivered + 20 dropped, 10 queued.
	c.Metrics[`streamgate_output_lines_delivered_total{output="http:x"}`] = 50
	c.Metrics[`streamgate_output_lines_dropped_total{output="http:x",reason="output_failed"}`] = 20
	if got := c.Queued(); got != 10 {
		t.Fatalf("Queued: got %v; want 10", got)
	}
	// Dead letters are settled; those replayed count as delivered too:
	// http 80 + 4 replayed = 54 + 20 + 8 dead-lettered, 2 queued.
	c.Metrics[`streamgate_output_lines_delivered_total{output="http:x"}`] = 54
	c.Metrics[`streamgate_output_dead_lettered_total{output="http:x"}`] = 8
	c.Metrics[`streamgate_output_dead_letter_replayed_total{output="http:x"}`] = 4
	if got := c.Queued(); got != 2 {
		t.Fatalf("Queued with dead letters: got %v; want 2", got)
	}
	if got := c.OutputDeadLettered("http:x"); got != 4 {
		t.Fatalf("OutputDeadLettered: got %v; want 4 (8 less 4 replayed)", got)
	}
	if got := c.QueuedSince(CountersOf(map[string]float64{}), "http:x"); got != 2 {
		t.Fatalf("QueuedSince: got %v; want 2", got)
	}
	if got := CountersOf(c.Metrics).DeadLettered; got != 4 {
		t.Fatalf("DeadLettered: got %v; want 4", got)
	}
}

func TestProc(t *testing.T) {
	p, err := Start("sh", "sh", "-c", `echo out; echo err >&2; exit 3`)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Wait()
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("Wait: got %v; want exit status 3", err)
	}
	if p.Stdout() != "out\n" || p.Logs() != "err\n" {
		t.Fatalf("stdout %q, stderr %q", p.Stdout(), p.Logs())
	}

	p, err = Start("sleep", "sleep", "60")
	if err != nil {
		t.Fatal(err)
	}
	if rss, err := p.RSSMB(); err != nil || rss <= 0 {
		t.Fatalf("RSSMB: %v, %v", rss, err)
	}
	start := time.Now()
	p.Stop(10 * time.Second) // sleep dies of SIGTERM at once
	if time.Since(start) > 5*time.Second {
		t.Fatal("Stop waited for the timeout")
	}
	if ws, ok := p.Cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGTERM {
		t.Fatalf("process state %v; want killed by SIGTERM", p.Cmd.ProcessState)
	}
}

func TestFreePortsDistinct(t *testing.T) {
	for range 20 {
		ports, err := FreePorts(8)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, p := range ports {
			if seen[p] {
				t.Fatalf("port %d twice in %v", p, ports)
			}
			seen[p] = true
		}
	}
}

func TestWaitHealthy(t *testing.T) {
	notProxy := httptest.NewServer(http.NotFoundHandler()) // listens, but is not a proxy
	defer notProxy.Close()
	if err := WaitHealthy(strings.TrimPrefix(notProxy.URL, "http://"), 100*time.Millisecond); err == nil {
		t.Fatal("a server answering 404 passed as healthy")
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			fmt.Fprintln(w, "ok")
			return
		}
		http.NotFound(w, r)
	}))
	defer proxy.Close()
	if err := WaitHealthy(strings.TrimPrefix(proxy.URL, "http://"), time.Second); err != nil {
		t.Fatal(err)
	}
}
