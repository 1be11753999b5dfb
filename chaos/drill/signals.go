package drill

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	lgsink "streamgate/loadgen/sink"
)

// signalRate is the signal drills' load: steady, well within capacity.
const signalRate = 100_000

// sigterm stops the proxy with SIGTERM in the middle of a steady load:
// every line it accepted before the signal must reach the sink.
func (d *Drills) sigterm(ctx context.Context, sc *result.ChaosScenario) error {
	s, px, ld, err := d.signalSetup(ctx, sc.Name)
	if err != nil {
		return err
	}
	defer s.Stop()
	defer px.Stop()
	defer ld.Proc.Kill()
	sleepCtx(ctx, 3*time.Second)
	fault(sc, "SIGTERM at %d lines/s", signalRate)
	sent := time.Now()
	px.Proc.Signal(syscall.SIGTERM)
	exitErr := px.Proc.Wait()
	stopped := time.Since(sent)
	// The sender fails once the proxy is gone, and says what it wrote.
	sum, lerr := ld.Wait()
	final, err := finalCounters(px.Proc.Logs())
	if err != nil {
		return fmt.Errorf("%w (exit: %v)", err, exitErr)
	}
	st, err := waitSink(ctx, s, final["delivered"])
	if err != nil {
		return err
	}
	received := final["received"]
	// A line the proxy was reading when it stopped is dropped whole
	// (truncated): the sender did not finish writing it either.
	truncated := final["dropped_reason.truncated"]
	sc.Sent = received
	sc.Delivered = unique(st)
	sc.Filtered = final["filtered"]
	// Dead letters are not delivered, and counted: with the drops here.
	deadLettered := final["dead_lettered"] - final["dead_letter_replayed"]
	sc.Dropped = final["dropped"] + final["output_dropped"] + deadLettered
	sc.DroppedByReason = map[string]int64{}
	for k, v := range final {
		if r, ok := strings.CutPrefix(k, "dropped_reason."); ok && v > 0 {
			sc.DroppedByReason[r] = v
		}
	}
	if deadLettered > 0 {
		sc.DroppedByReason["dead_lettered"] = deadLettered
	}
	sc.LostUncounted = abs(received - sc.Delivered - sc.Filtered - sc.Dropped)
	sc.LoadLinesPerS = signalRate
	sc.RecoveryS = round3(stopped.Seconds())
	check(sc, "clean exit", exitErr == nil, "exit status: %v; drained and stopped in %.2f s", exitErr, stopped.Seconds())
	check(sc, "every accepted line delivered", sc.Dropped == truncated && sc.Delivered == received-truncated,
		"accepted %d, delivered %d, dropped %d (%d cut short by the stop)", received, sc.Delivered, sc.Dropped, truncated)
	check(sc, "no gap, no duplicate", st.Gaps == 0 && st.Duplicated == 0,
		"sink: %d missing lines before the last of a connection, %d duplicates", st.Gaps, st.Duplicated)
	if lerr == nil || sum.Sent > 0 {
		// Written by the clients but still in the socket when the proxy
		// closed it: never accepted, so never counted.
		check(sc, "sender and proxy agree", sum.Sent+sum.Cut >= received,
			"the sender wrote %d whole lines (%d cut short); the proxy read %d of them; %d were still in the sockets when it closed them",
			sum.Sent, sum.Cut, received-truncated, sum.Sent-(received-truncated))
	}
	return nil
}

// sigkill kills the proxy with SIGKILL under load and reports the accepted
// lines that were only in its memory; then starts it again on the same
// ports and times its return to service.
func (d *Drills) sigkill(ctx context.Context, sc *result.ChaosScenario) error {
	s, px, ld, err := d.signalSetup(ctx, sc.Name)
	if err != nil {
		return err
	}
	defer s.Stop()
	defer ld.Proc.Kill()
	// Scrape until the kill: the last scrape says what the proxy held in
	// memory (accepted, not yet delivered) a moment before it died.
	var last lab.Counters
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := px.Counters(); err == nil {
			last = c
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
	fault(sc, "SIGKILL at %d lines/s", signalRate)
	px.Proc.Kill()
	ld.Proc.Kill()
	st, err := waitSink(ctx, s, int64(last.Delivered))
	if err != nil {
		return err
	}
	got := unique(st)
	inMemory := int64(last.InPipeline() + last.Queued())
	// Lines missing before a connection's last delivered line were
	// accepted (TCP is in order) and lost: a floor the sink measures. What
	// the proxy held at the last scrape is the estimate.
	sc.LostOnKill = max(st.Gaps, inMemory)
	sc.Delivered = got
	sc.Sent = max(int64(last.Received), got+st.Gaps)
	sc.LoadLinesPerS = signalRate
	sc.Faults[len(sc.Faults)-1] += fmt.Sprintf(": %d accepted lines were in memory (in the pipeline or queued for the output) at the last scrape, 10 ms or less before the kill; the sink saw %d lines missing behind delivered ones; %d delivered",
		inMemory, st.Gaps, got)

	// Back on the same ports.
	restart := time.Now()
	px2, err := px.Restart()
	if err != nil {
		return fmt.Errorf("cannot restart proxy: %w", err)
	}
	defer px2.Stop()
	before, _ := s.Snapshot(ctx)
	c, err := net.Dial("tcp", px2.TCP)
	if err != nil {
		return err
	}
	fmt.Fprintf(c, "after the restart\n")
	c.Close()
	_, err = waitSink(ctx, s, before.Lines+1)
	back := time.Since(restart)
	check(sc, "serves again after a restart", err == nil, "first line delivered %.2f s after the restart (%v)", back.Seconds(), err)
	sc.RecoveryS = round3(back.Seconds())
	return nil
}

// signalSetup starts a sink, a proxy without rules sending to it, and a
// steady load, which the drill cuts short.
func (d *Drills) signalSetup(ctx context.Context, name string) (*lab.Sink, *lab.Proxy, *lab.Sender, error) {
	s, err := d.rig.StartSink()
	if err != nil {
		return nil, nil, nil, err
	}
	mf := fmt.Sprintf(`{"version":"chaos","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[%s],"batch_size":100}]}`,
		s.TCPOutput().JSON)
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: name, Manifest: mf, Flags: []string{"-log-level", "info"}})
	if err != nil {
		s.Stop()
		return nil, nil, nil, err
	}
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: signalRate, Duration: 30 * time.Second, Conns: 4,
		Flags: lab.NoPII(), MayCut: true})
	if err != nil {
		px.Stop()
		s.Stop()
		return nil, nil, nil, err
	}
	return s, px, ld, nil
}

// waitSink waits until the sink has at least n lines and stops growing.
func waitSink(ctx context.Context, s *lab.Sink, n int64) (lgsink.Stats, error) {
	var st lgsink.Stats
	var snapErr error
	prev := int64(-1)
	err := poll(ctx, 30*time.Second, 100*time.Millisecond, func() bool {
		st, snapErr = s.Snapshot(ctx)
		if snapErr != nil {
			return true
		}
		grown := st.Lines != prev
		prev = st.Lines
		return st.Lines >= n && !grown
	})
	switch {
	case snapErr != nil:
		return st, snapErr
	case err != nil:
		return st, fmt.Errorf("sink has %d lines; want %d: %w", st.Lines, n, err)
	}
	return st, nil
}

// stoppedLine is the proxy's last log line, with its final counters.
var (
	stoppedLine = regexp.MustCompile(`msg="data plane stopped".*`)
	counterAttr = regexp.MustCompile(`(?:^| )([a-z_.]+)=(\d+)\b`)
)

// finalCounters parses the counters of the "data plane stopped" log line.
func finalCounters(logs string) (map[string]int64, error) {
	line := stoppedLine.FindString(logs)
	if line == "" {
		return nil, fmt.Errorf(`no "data plane stopped" line in the proxy's log:\n%s`, logs)
	}
	out := map[string]int64{}
	for _, m := range counterAttr.FindAllStringSubmatch(line, -1) {
		n, err := strconv.ParseInt(m[2], 10, 64)
		if err == nil {
			out[m[1]] = n
		}
	}
	for _, k := range []string{"received", "filtered", "dropped", "delivered", "output_dropped"} {
		if _, ok := out[k]; !ok {
			return nil, fmt.Errorf("the stop line has no %s: %s", k, line)
		}
	}
	return out, nil
}

func abs(x int64) int64 { return max(x, -x) }
