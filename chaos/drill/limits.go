package drill

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

// The memory attacks on ingest: clients that make the proxy hold what they
// send without ever finishing it. The proxy's bounds (README, Limits) must
// keep its resident memory under limitsRSSBoundMB however many of them come.

// limitsRSSBoundMB is the resident memory the attacked proxy must stay
// under: 64 MiB of unfinished lines or of request bodies at most, its 16
// MiB ring, the output queue, the runtime and the GC's slack.
const limitsRSSBoundMB = 256

// passThrough sends every line to %s unchanged.
const passThrough = `{"version":"limits","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[%s],"batch_size":100}]}`

// Sizes of the slowbody attack: 30 requests each announcing the largest
// body (-http-max-body's default), sending all of it but the last MiB and
// stalling. Unbounded, they held 939 MB.
const (
	slowBodies    = 30
	slowBodySize  = 32 << 20
	slowBodySent  = 31 << 20
	slowBodyRead  = 5 * time.Second // the proxy's -http-read-timeout in the drill
	slowBodyLines = 100             // bytes a line of a slow body
)

// Sizes of the halflines attack: 1,000 connections each sending one line
// and then most of a second, a line just under -max-line, that never ends.
// Unbounded, they would hold a gigabyte.
const (
	halfConns     = 1000
	halfLineBytes = 1_000_000
)

// ingestLimit reads a counter of the proxy's ingest limits.
func ingestLimit(c lab.Counters, kind, listener, reason string) float64 {
	return c.Metrics[fmt.Sprintf(`streamgate_ingest_%s_total{listener=%q,reason=%q}`, kind, listener, reason)]
}

// rssPeak samples a process's resident memory until stopped.
type rssPeak struct {
	mu   sync.Mutex
	peak float64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(p *lab.Proc) *rssPeak {
	r := &rssPeak{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			if v, err := p.RSSMB(); err == nil {
				r.mu.Lock()
				r.peak = max(r.peak, v)
				r.mu.Unlock()
			}
			select {
			case <-r.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return r
}

// end stops sampling and returns the highest sample.
func (r *rssPeak) end() float64 {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.peak
}

// checkProxyHeld records the checks every memory attack makes: the proxy
// is up, and its peak resident memory (VmHWM) stayed under the bound.
func checkProxyHeld(sc *result.ChaosScenario, px *lab.Proxy, sampled float64) {
	alive := true
	select {
	case <-px.Proc.Exited():
		alive = false
	default:
	}
	check(sc, "process stayed up", alive && isHealthy(px), "proxy running and healthy after the attack: %v", alive)
	peak, err := px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(peak)
	check(sc, "memory bounded", err == nil && peak < limitsRSSBoundMB,
		"peak RSS %.1f MB (bound %d MB); highest sample %.1f MB (%v)", peak, limitsRSSBoundMB, sampled, err)
}

// slowBody attacks the HTTP ingest with request bodies sent nearly whole
// and then stalled, while a normal TCP load runs beside them.
func (d *Drills) slowBody(ctx context.Context, sc *result.ChaosScenario) error {
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: fmt.Sprintf(passThrough, out.JSON),
		Flags: []string{"-http-read-timeout", slowBodyRead.String()}})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	rss := sampleRSS(px.Proc)
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: 20_000, Duration: slowBodyRead + 3*time.Second, Conns: 2, Flags: lab.NoPII()})
	if err != nil {
		rss.end()
		return err
	}
	fault(sc, "%d HTTP requests announcing %d MiB bodies, each sending %d MiB and stalling, beside 20,000 lines/s over TCP",
		slowBodies, slowBodySize>>20, slowBodySent>>20)
	outcomes := slowBodyAttack(ctx, px.HTTP)
	sum, lerr := ld.Wait()
	sampled := rss.end()
	if lerr != nil {
		return lerr
	}

	// After the attack, HTTP ingest takes requests again.
	legit := strings.Repeat("INFO a request after the attack\n", 1000)
	status, body, err := request(ctx, "POST", "http://"+px.HTTP+"/ingest", legit)
	if err != nil {
		return err
	}
	sent := sum.Sent + 1000
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sent, Out: out.Name})
	if err != nil {
		return err
	}
	account(sc, sent, c, base.Counters, out.Name, (st.Lines-st.Duplicated)-(base.Sink.Lines-base.Sink.Duplicated))
	sc.LoadLinesPerS = round3(sum.LinesPerS)

	checkProxyHeld(sc, px, sampled)
	refused := ingestLimit(c, "refused", "http", "body_budget") - ingestLimit(base.Counters, "refused", "http", "body_budget")
	timedOut := ingestLimit(c, "closed", "http", "read_timeout") - ingestLimit(base.Counters, "closed", "http", "read_timeout")
	admitted := slowBodies - outcomes[429]
	check(sc, "refused before the body", outcomes[429] == int(refused) && admitted <= 2 && admitted >= 1,
		"%d answered 429 from their headers, as counted (%.0f); %d admitted, at most 2 fitting the 64 MiB budget (all answers: %v)",
		outcomes[429], refused, admitted, outcomes)
	check(sc, "stalled bodies timed out", outcomes[408] == admitted && int(timedOut) == admitted,
		"%d stalled bodies answered 408 after the %s read timeout; %.0f counted", outcomes[408], slowBodyRead, timedOut)
	check(sc, "nothing of the slow bodies taken", int64(c.Received-base.Counters.Received) == sent,
		"received %.0f lines, the %d of the TCP load and the request after the attack", c.Received-base.Counters.Received, sent)
	check(sc, "HTTP ingest serves again", status == http.StatusAccepted, "a request after the attack answered %d %s", status, strings.TrimSpace(string(body)))
	check(sc, "ordinary clients kept their connections", sum.Unsent == 0 && sum.Errors == 0, "the TCP load: %d lines at %.0f lines/s, %d write errors, none behind schedule: %v",
		sum.Sent, sum.LinesPerS, sum.Errors, sum.Unsent == 0)
	return nil
}

// slowBodyAttack runs the slow requests at once and returns how many got
// each status (0: no answer, the connection failed).
func slowBodyAttack(ctx context.Context, addr string) map[int]int {
	chunk := bytes.Repeat([]byte(strings.Repeat("s", slowBodyLines-1)+"\n"), 64<<10/slowBodyLines)
	var mu sync.Mutex
	outcomes := map[int]int{}
	var wg sync.WaitGroup
	for range slowBodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status := slowRequest(ctx, addr, chunk)
			mu.Lock()
			outcomes[status]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return outcomes
}

// slowRequest sends one slow request: the headers of a slowBodySize body,
// slowBodySent bytes of it, then nothing. It returns the status of the
// answer, which it reads while it sends, or 0.
func slowRequest(ctx context.Context, addr string, chunk []byte) int {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(slowBodyRead + 30*time.Second))
	answered := make(chan int, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	fmt.Fprintf(c, "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", slowBodySize)
	for sent := 0; sent < slowBodySent; sent += len(chunk) {
		select {
		case status := <-answered:
			return status // refused: the rest is not sent
		default:
		}
		if _, err := c.Write(chunk[:min(len(chunk), slowBodySent-sent)]); err != nil {
			break
		}
	}
	select {
	case status := <-answered:
		return status
	case <-ctx.Done():
		return 0
	}
}

// halfLines attacks the TCP ingest with connections that each hold an
// unfinished line, while a normal TCP load runs beside them.
func (d *Drills) halfLines(ctx context.Context, sc *result.ChaosScenario) error {
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: fmt.Sprintf(passThrough, out.JSON)})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	rss := sampleRSS(px.Proc)
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: 20_000, Duration: 10 * time.Second, Conns: 2, Flags: lab.NoPII()})
	if err != nil {
		rss.end()
		return err
	}
	fault(sc, "%d TCP connections each sending a line and then %d bytes of another that does not end, beside 20,000 lines/s",
		halfConns, halfLineBytes)
	att, err := halfLinesAttack(px.TCP)
	sum, lerr := ld.Wait()
	sampled := rss.end()
	if err != nil {
		return err
	}
	if lerr != nil {
		return lerr
	}
	// Each client sent two lines: the first, whole, and the long one,
	// which it ended once all had sent theirs, unless the proxy had closed
	// its connection.
	sent := sum.Sent + att.whole + att.long
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sent, Out: out.Name})
	if err != nil {
		return err
	}
	account(sc, sent, c, base.Counters, out.Name, (st.Lines-st.Duplicated)-(base.Sink.Lines-base.Sink.Duplicated))
	sc.LoadLinesPerS = round3(sum.LinesPerS)

	checkProxyHeld(sc, px, sampled)
	closed := ingestLimit(c, "closed", "tcp", "line_budget") - ingestLimit(base.Counters, "closed", "tcp", "line_budget")
	truncated := c.Metrics[`streamgate_lines_dropped_total{reason="truncated"}`] - base.Counters.Metrics[`streamgate_lines_dropped_total{reason="truncated"}`]
	// A connection closed while its last read was bringing the end of its
	// line delivers the line whole: truncated lines are at most the
	// connections closed.
	check(sc, "holders closed and counted", truncated > 0 && truncated <= closed && int(closed) >= att.cut,
		"%.0f connections closed over the 64 MiB line budget, %.0f unfinished lines dropped as truncated; %d clients saw their connection closed (%d could not connect)",
		closed, truncated, att.cut, att.failed)
	ended := att.long - int64(truncated)
	check(sc, "the rest kept their lines", ended > 0, "%d long lines ended by their clients and delivered whole", ended)
	// The long lines that end fill the ring: under drop_oldest it drops
	// lines, the load's among them, counted.
	full := c.Metrics[`streamgate_lines_dropped_total{reason="buffer_full"}`] - base.Counters.Metrics[`streamgate_lines_dropped_total{reason="buffer_full"}`]
	check(sc, "ordinary clients kept their connections", sum.Unsent == 0 && sum.Errors == 0,
		"the TCP load: %d lines at %.0f lines/s, %d write errors, none behind schedule: %v; the ring, full of long lines, dropped %.0f lines (buffer_full, counted)",
		sum.Sent, sum.LinesPerS, sum.Errors, sum.Unsent == 0, full)
	return nil
}

// halfResult is what the halflines clients did.
type halfResult struct {
	whole, long int64 // lines written: whole ones, and long ones of which any byte was
	cut         int   // clients that saw the proxy close their connection
	failed      int   // clients that could not connect
}

// halfLinesAttack opens halfConns connections, as many clients: each
// sends a whole line and then halfLineBytes of another, waits for all the
// others to have sent as much, then ends its long line and closes.
func halfLinesAttack(addr string) (halfResult, error) {
	long := bytes.Repeat([]byte("h"), halfLineBytes)
	var nWhole, nLong, nCut, nFailed atomic.Int64
	var firstErr atomic.Value
	dialing := make(chan struct{}, 64) // connect 64 at a time, as manyConns does
	var sent, done sync.WaitGroup
	release := make(chan struct{})
	for i := range halfConns {
		sent.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			dialing <- struct{}{}
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			<-dialing
			if err != nil {
				nFailed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				sent.Done()
				return
			}
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
			ok := writeAll(c, []byte(fmt.Sprintf("halflines client %d: its whole line\n", i)))
			if ok {
				nWhole.Add(1)
				for off := 0; ok && off < len(long); off += 64 << 10 {
					ok = writeAll(c, long[off:min(off+64<<10, len(long))])
					if ok && off == 0 {
						nLong.Add(1) // the proxy ends this line, or drops it counted
					}
				}
			}
			sent.Done()
			if !ok {
				nCut.Add(1)
				return
			}
			<-release
			if !writeAll(c, []byte("\n")) {
				nCut.Add(1)
			}
		}()
	}
	sent.Wait()
	close(release)
	done.Wait()
	r := halfResult{whole: nWhole.Load(), long: nLong.Load(), cut: int(nCut.Load()), failed: int(nFailed.Load())}
	if r.failed == halfConns {
		return r, fmt.Errorf("cannot connect: %v", firstErr.Load())
	}
	return r, nil
}

func writeAll(c net.Conn, b []byte) bool {
	_, err := c.Write(b)
	return err == nil
}
