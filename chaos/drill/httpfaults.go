package drill

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

// outputQueueBytes is the HTTP output's queue in the sink drill: room for
// the short faults' backlog at the drill's rate, not for the 30 s outage.
const outputQueueBytes = 64 << 20

// httpSinkFaults sends a steady load to a proxy with two outputs, an HTTP
// output to the sink behind a faulty front and a console output, and makes
// the front fail in turn. While the output's queue has room its retries
// lose nothing; past it, its drops are counted; the console never slows.
func (d *Drills) httpSinkFaults(ctx context.Context, sc *result.ChaosScenario) error {
	type phase struct {
		m       mode
		down    bool
		length  time.Duration
		recover time.Duration
		roomy   bool // the backlog fits the queue: nothing may be dropped
	}
	phases := []phase{
		{m: fail500, length: 5 * time.Second, recover: 6 * time.Second, roomy: true},
		{m: throttle, length: 3 * time.Second, recover: 5 * time.Second, roomy: true},
		{m: stall, length: 6 * time.Second, recover: 6 * time.Second, roomy: true},
		{m: reset, length: 3 * time.Second, recover: 5 * time.Second, roomy: true},
		{down: true, length: 30 * time.Second, recover: 15 * time.Second},
	}
	calm := 3 * time.Second
	if d.cfg.Short {
		phases = []phase{{down: true, length: 5 * time.Second, recover: 8 * time.Second, roomy: true}}
		calm = 2 * time.Second
	}
	const rate = 20_000
	total := calm + 2*time.Second
	for _, p := range phases {
		total += p.length + p.recover
	}

	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	fr, err := newFront("http://" + s.HTTP + "/logs")
	if err != nil {
		return err
	}
	defer fr.Down()
	outURL := "http://" + fr.addr + "/logs"
	outName := "http:" + outURL
	mf := fmt.Sprintf(`{"version":"chaos-http","pipelines":[{"name":"default_pipeline","processors":[],
		"outputs":[{"type":"console"},{"type":"http","url":%q,"max_retries":10,"timeout_ms":5000}],"batch_size":100}]}`, outURL)
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: mf, Console: true,
		Flags: []string{"-output-queue-bytes", strconv.Itoa(outputQueueBytes)}})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	console := watchProgress(func() (int64, error) { return px.Console.Lines(), nil }, 100*time.Millisecond)
	defer console.end()
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: rate, Duration: total, Conns: 2, Flags: lab.NoPII()})
	if err != nil {
		return err
	}
	defer ld.Proc.Kill() // on an early return; a no-op once it has exited
	sleepCtx(ctx, calm)
	baseRate := console.rate(time.Now().Add(-calm+500*time.Millisecond), time.Now())
	var worst time.Duration
	for _, p := range phases {
		name := "sink down"
		if !p.down {
			name = "sink answers " + p.m.String()
		}
		before, err := px.Counters()
		if err != nil {
			return err
		}
		start := time.Now()
		if p.down {
			fr.Down()
		} else {
			fr.set(p.m)
		}
		fault(sc, "%s for %s", name, p.length)
		sleepCtx(ctx, p.length)
		if p.down {
			if err := fr.Up(); err != nil {
				return err
			}
		} else {
			fr.set(healthy)
		}
		end := time.Now()
		during := console.rate(start.Add(200*time.Millisecond), end)
		// Caught up: the output has handled every line emitted before the
		// fault ended.
		atEnd, err := px.Counters()
		if err != nil {
			return err
		}
		rec, caught := time.Duration(0), false
		for time.Since(end) < p.recover {
			c, err := px.Counters()
			if err != nil {
				return err
			}
			if c.OutputDelivered(outName)+c.OutputDropped(outName)+c.OutputDeadLettered(outName) >= atEnd.Emitted {
				rec, caught = time.Since(end), true
				break
			}
			sleepCtx(ctx, 20*time.Millisecond)
		}
		if caught {
			worst = max(worst, rec)
		}
		sleepCtx(ctx, p.recover-time.Since(end))
		after, err := px.Counters()
		if err != nil {
			return err
		}
		dropped := int64(after.OutputDropped(outName) - before.OutputDropped(outName))
		ok := caught && (!p.roomy || dropped == 0)
		check(sc, name, ok, "output caught up %s after the fault; %d lines dropped and counted (%s); console at %.0f lines/s during it (%.0f before)",
			recText(caught, rec), dropped, reasonsText(dropReasons(after, before)), during, baseRate)
		check(sc, name+": console unaffected", during >= 0.9*baseRate,
			"console %.0f lines/s during the fault, %.0f before", during, baseRate)
	}
	sum, err := ld.Wait()
	console.end()
	if err != nil {
		return err
	}
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sum.Sent, Out: outName, Others: []string{"console"}})
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, outName, st)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(worst.Seconds())
	// The console printed every line: it never dropped any. Its pipe may
	// lag the counter a little.
	cons := c.OutputDelivered("console") - base.Counters.OutputDelivered("console")
	for deadline := time.Now().Add(5 * time.Second); px.Console.Lines() < sum.Sent && time.Now().Before(deadline); {
		sleepCtx(ctx, 10*time.Millisecond)
	}
	check(sc, "console delivered every line", int64(cons) == sum.Sent && px.Console.Lines() == sum.Sent,
		"console output delivered %.0f and printed %d of %d lines sent", cons, px.Console.Lines(), sum.Sent)
	for _, p := range phases {
		if !p.down {
			n := fr.failed[p.m].Load()
			check(sc, "front answered "+p.m.String(), n > 0, "%d of %d requests", n, fr.requests.Load())
		}
	}
	return nil
}

func recText(ok bool, d time.Duration) string {
	if !ok {
		return "not within the recovery window"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func reasonsText(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	s := ""
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if s != "" {
			s += ", "
		}
		s += k + " " + strconv.FormatInt(m[k], 10)
	}
	return s
}
