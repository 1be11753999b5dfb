package drill

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	lgsink "streamgate/loadgen/sink"
)

// diskRate is the disk drills' load: steady and well within capacity, so
// that a backlog grows at a known pace while the sink is down.
const diskRate = 20_000

// Series of an output's disk buffer and dead letters, by output label.
const (
	restoredSeries  = "streamgate_output_restored_lines_total"
	corruptSeries   = "streamgate_disk_corrupt_records_total"
	queuedSeries    = "streamgate_output_queued_lines" // memory and disk
	memorySeries    = "streamgate_output_queued_bytes" // memory
	diskBytesSeries = "streamgate_output_disk_bytes"
	deadSeries      = "streamgate_output_dead_lettered_total"
	replayedSeries  = "streamgate_output_dead_letter_replayed_total"
)

// outputMetric is the series family{output="out"} of a scrape, and whether
// the scrape has it.
func outputMetric(c lab.Counters, family, out string) (float64, bool) {
	v, ok := c.Metrics[family+"{output="+strconv.Quote(out)+"}"]
	return v, ok
}

// outputValue is outputMetric's value alone: 0 when the series is absent.
func outputValue(c lab.Counters, family, out string) float64 {
	v, _ := outputMetric(c, family, out)
	return v
}

// diskSetup is a sink behind a front, and a data plane whose http output
// to the front queues as buffer says, its files in a folder of its own.
type diskSetup struct {
	sink    *lab.Sink
	front   *front
	px      *lab.Proxy
	out     string // the output's name in the metrics
	dataDir string
}

// startDisk starts a sink, a front to it and a data plane with one http
// output to the front, whose buffer is the JSON buffer ("" for none), and
// more flags.
func (d *Drills) startDisk(name, buffer string, flags ...string) (*diskSetup, error) {
	s, err := d.rig.StartSink()
	if err != nil {
		return nil, err
	}
	ds := &diskSetup{sink: s, dataDir: filepath.Join(d.rig.Dir, name+"-data")}
	if ds.front, err = newFront("http://" + s.HTTP + "/logs"); err != nil {
		s.Stop()
		return nil, err
	}
	to := "http://" + ds.front.addr + "/logs"
	ds.out = "http:" + to
	out := fmt.Sprintf(`{"type":"http","url":%q`, to)
	if buffer != "" {
		out += `,"buffer":` + buffer
	}
	mf := fmt.Sprintf(`{"version":"chaos-disk","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[%s}],"batch_size":100}]}`, out)
	ds.px, err = d.rig.StartProxy(lab.ProxyOpts{Name: name, Manifest: mf,
		Flags: append([]string{"-data-dir", ds.dataDir, "-log-level", "info"}, flags...)})
	if err != nil {
		ds.front.Down()
		s.Stop()
		return nil, err
	}
	return ds, nil
}

// stop stops the data plane, the front and the sink.
func (ds *diskSetup) stop() {
	ds.px.Stop()
	ds.front.Down()
	ds.sink.Stop()
}

// queuesDir is where the data plane keeps its disk queues.
func (ds *diskSetup) queuesDir() string { return filepath.Join(ds.dataDir, "queues") }

// drainRestored waits until a data plane just started on a disk buffer has
// delivered (or dropped, counted) what it restored, has nothing queued,
// and the sink has what it delivered since from. It returns the last
// counters and sink statistics read.
func (ds *diskSetup) drainRestored(ctx context.Context, from lgsink.Stats) (lab.Counters, lgsink.Stats, error) {
	var (
		c   lab.Counters
		st  lgsink.Stats
		err error
	)
	perr := poll(ctx, lab.SettleTimeout, 50*time.Millisecond, func() bool {
		if c, err = ds.px.Counters(); err != nil {
			return false
		}
		if st, err = ds.sink.Snapshot(ctx); err != nil {
			return false
		}
		restored, ok1 := outputMetric(c, restoredSeries, ds.out)
		queued, ok2 := outputMetric(c, queuedSeries, ds.out)
		settled := c.OutputDelivered(ds.out) + c.OutputDropped(ds.out) + c.OutputDeadLettered(ds.out)
		return ok1 && ok2 && queued == 0 && c.InPipeline() == 0 && settled >= restored &&
			float64(st.Lines-from.Lines) >= c.OutputDelivered(ds.out)
	})
	if perr != nil {
		restored := outputValue(c, restoredSeries, ds.out)
		return c, st, fmt.Errorf("the restarted proxy did not deliver what it restored: restored %.0f, delivered %.0f, queued %.0f, the sink got %d lines (last error: %v): %w",
			restored, c.OutputDelivered(ds.out), outputValue(c, queuedSeries, ds.out), st.Lines-from.Lines, err, perr)
	}
	return c, st, nil
}

// diskSigkill sends a steady load to a data plane whose http output queues
// on disk, takes its sink away, kills the data plane with SIGKILL during
// the outage, and starts it again on the same -data-dir with the sink back.
// Every line the disk queue held at the kill must reach the sink; what was
// only in memory is the window a crash can still lose, and is reported.
//
// The lines of one connection go through one worker and one disk queue in
// order, so the lines of each source that were delivered before the kill
// or on disk at it are its lines 1..n, n the highest sequence number of
// that source in the queue files (read after the kill, from their
// cursors): the sum of those n is what the sink must hold in the end, with
// no gap, and what falls short of it is a line lost from disk.
func (d *Drills) diskSigkill(ctx context.Context, sc *result.ChaosScenario) error {
	calm, outage := 3*time.Second, 30*time.Second
	if d.cfg.Short {
		calm, outage = 2*time.Second, 5*time.Second
	}
	ds, err := d.startDisk(sc.Name, `{"type":"disk","sync":"interval","sync_interval_ms":1000}`)
	if err != nil {
		return err
	}
	defer func() { ds.stop() }()
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + ds.px.TCP, Rate: diskRate, Duration: calm + outage + time.Minute,
		Conns: 4, Flags: lab.NoPII(), MayCut: true})
	if err != nil {
		return err
	}
	defer ld.Proc.Kill() // on an early return; a no-op once it has exited
	sleepCtx(ctx, calm)
	ds.front.Down()
	sleepCtx(ctx, outage-time.Second)
	// Scrape until the kill: the last scrape says what the proxy had
	// queued a moment before it died.
	var (
		last   lab.Counters
		lastAt time.Time // when the last scrape was asked for
	)
	for end := time.Now().Add(time.Second); time.Now().Before(end); {
		at := time.Now()
		if c, err := ds.px.Counters(); err == nil {
			last, lastAt = c, at
		}
		sleepCtx(ctx, 10*time.Millisecond)
	}
	if last.Metrics == nil {
		return errors.New("cannot read the proxy's counters before the kill")
	}
	atKill, err := ds.sink.Snapshot(ctx)
	if err != nil {
		return err
	}
	ds.px.Proc.Kill()
	scrapeAge := time.Since(lastAt)
	fault(sc, "sink down for %s at %d lines/s; SIGKILL of the proxy %s into the outage; restarted on the same -data-dir with the sink back",
		outage, diskRate, outage)
	// The sender fails once the proxy is gone, and says what it wrote.
	go func() {
		select {
		case <-ld.Proc.Exited():
		case <-time.After(10 * time.Second):
			ld.Proc.Kill()
		}
	}()
	sum, _ := ld.Wait()

	disk, err := scanQueues(ds.queuesDir())
	if err != nil {
		return fmt.Errorf("cannot read the disk queues: %w", err)
	}
	top := disk.sumMaxSeq() // lines 1..n of each source: delivered before the kill or on disk
	accepted := max(int64(last.Received), top)
	inMemory := accepted - top
	queued, memBytes, diskBytes := outputValue(last, queuedSeries, ds.out), outputValue(last, memorySeries, ds.out), outputValue(last, diskBytesSeries, ds.out)

	if err := ds.front.Up(); err != nil {
		return err
	}
	restart := time.Now()
	px, err := ds.px.Restart()
	if err != nil {
		return fmt.Errorf("cannot restart the proxy: %w", err)
	}
	ds.px = px
	c, st, err := ds.drainRestored(ctx, atKill)
	if err != nil {
		return err
	}
	drained := time.Since(restart)

	restored := int64(outputValue(c, restoredSeries, ds.out))
	delivered := int64(c.OutputDelivered(ds.out))
	corrupt := int64(outputValue(c, corruptSeries, ds.out))
	var zero lab.Counters
	reasons := dropReasons(last, zero)
	for k, v := range dropReasons(c, zero) {
		reasons[k] += v
	}
	var dropped int64
	for _, v := range reasons {
		dropped += v
	}
	got := unique(st)
	before := unique(atKill)
	lost := top - got - dropped

	sc.Sent = accepted
	sc.Delivered = got
	sc.Dropped = dropped
	sc.DroppedByReason = reasons
	sc.LostOnKill = inMemory
	sc.LostUncounted = abs(lost)
	sc.LoadLinesPerS = diskRate
	sc.RecoveryS = round3(drained.Seconds())
	// Nothing is delivered during the outage, so what was on disk at the
	// last scrape is still there at the kill: with no batch in memory
	// then, the queued lines the gauge counted were all on disk, and the
	// files must hold at least as many.
	onDisk := "all of them on disk then"
	if memBytes > 0 {
		onDisk = "the gauge does not say how many of its lines those are"
	}
	check(sc, "persisted at the kill", disk.lines > 0 && (memBytes > 0 || float64(disk.lines) >= queued),
		"at the last scrape, asked for %d ms before the kill: %.0f lines queued (streamgate_output_queued_lines, memory and disk together), "+
			"%.0f bytes of batches in memory (streamgate_output_queued_bytes): %s; %.0f bytes on disk (streamgate_output_disk_bytes). "+
			"The queue files, read after the kill from their cursors: %d lines in %d records (%d bytes). "+
			"Accepted but only in memory at the kill, the window a crash can lose: at least %d (accepted at that scrape, %d, less the %d delivered before the kill or on disk), "+
			"at most %d (the %d whole lines the sender wrote less those, some still in the sockets)",
		scrapeAge.Milliseconds(), queued, memBytes, onDisk, diskBytes, disk.lines, len(disk.records), disk.bytes,
		inMemory, int64(last.Received), top, max(0, sum.Sent-top), sum.Sent)
	check(sc, "restored what was on disk", restored == disk.lines && disk.lines > 0,
		"the queue files held %d lines in %d records from their cursors (%d damaged runs, %d lines without a sequence number); the restarted proxy restored %d, and counted %d damaged records",
		disk.lines, len(disk.records), disk.damaged, disk.unparsed, restored, corrupt)
	check(sc, "every line on disk delivered", lost == 0 && st.Gaps == 0 && st.TooLate == 0 && disk.unparsed == 0 && st.Sources == int64(len(disk.maxSeq)),
		"%d lines delivered or on disk at the kill (each source's lines up to its highest on disk, %d sources; the sink saw %d); the sink holds %d distinct lines, %d delivered before the kill and %d after the restart; %d missing, %d gaps, %d dropped and counted",
		top, len(disk.maxSeq), st.Sources, got, before, got-before, lost, st.Gaps, dropped)
	check(sc, "backlog delivered after the restart", delivered == restored && dropped == 0,
		"the restarted proxy delivered %d of the %d lines it restored in %.2f s; the sink received %d lines in all, %d distinct: %d duplicates (at least once: a batch in flight at the kill is sent again)",
		delivered, restored, drained.Seconds(), st.Lines, got, st.Duplicated)
	return nil
}

// diskFull fills a small disk buffer while the sink is down under a steady
// load: under the drop policies the newest batches are dropped and counted
// (reason disk_full), the files stay within max_bytes, and once the sink is
// back every other line is delivered.
func (d *Drills) diskFull(ctx context.Context, sc *result.ChaosScenario) error {
	const maxBytes = 8 << 20
	calm, outage, after := 2*time.Second, 10*time.Second, 5*time.Second
	if d.cfg.Short {
		outage = 5 * time.Second
	}
	ds, err := d.startDisk(sc.Name, fmt.Sprintf(`{"type":"disk","max_bytes":%d,"sync":"interval"}`, maxBytes))
	if err != nil {
		return err
	}
	defer ds.stop()
	base, err := lab.TakeMark(ctx, ds.px, ds.sink)
	if err != nil {
		return err
	}
	diskGauge := watchProgress(func() (int64, error) {
		c, err := ds.px.Counters()
		return int64(outputValue(c, diskBytesSeries, ds.out)), err
	}, 50*time.Millisecond)
	defer diskGauge.end()
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + ds.px.TCP, Rate: diskRate, Duration: calm + outage + after, Conns: 4, Flags: lab.NoPII()})
	if err != nil {
		return err
	}
	defer ld.Proc.Kill()
	sleepCtx(ctx, calm)
	ds.front.Down()
	fault(sc, "sink down for %s at %d lines/s, the output's disk buffer %d MiB", outage, diskRate, maxBytes>>20)
	sleepCtx(ctx, outage)
	files, err := dirBytes(ds.queuesDir(), ".seg")
	if err != nil {
		return err
	}
	if err := ds.front.Up(); err != nil {
		return err
	}
	up := time.Now()
	atUp, err := ds.px.Counters()
	if err != nil {
		return err
	}
	// Caught up: the output has handled every line emitted before the
	// sink came back.
	var rec time.Duration
	caught := poll(ctx, 30*time.Second, 20*time.Millisecond, func() bool {
		c, err := ds.px.Counters()
		if err == nil && c.OutputDelivered(ds.out)+c.OutputDropped(ds.out)+c.OutputDeadLettered(ds.out) >= atUp.Emitted {
			rec = time.Since(up)
			return true
		}
		return false
	}) == nil
	sum, err := ld.Wait()
	if err != nil {
		return err
	}
	diskGauge.end()
	c, st, err := lab.Settle(ctx, ds.px, ds.sink, lab.Want{Base: base, Sent: sum.Sent, Out: ds.out})
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, ds.out, st)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(rec.Seconds())
	check(sc, "output caught up after the outage", caught, "%s after the sink came back", recText(caught, rec))
	full := int64(c.Metrics[`streamgate_output_lines_dropped_total{output=`+strconv.Quote(ds.out)+`,reason="disk_full"}`] -
		base.Counters.Metrics[`streamgate_output_lines_dropped_total{output=`+strconv.Quote(ds.out)+`,reason="disk_full"}`])
	check(sc, "drops counted as disk_full, and only those", full > 0 && sc.Dropped == full,
		"%d lines dropped with reason disk_full of %d dropped in all (%s); %d of %d sent delivered",
		full, sc.Dropped, reasonsText(sc.DroppedByReason), sc.Delivered, sc.Sent)
	peak := diskGauge.peak()
	check(sc, "disk within max_bytes", peak <= maxBytes && files <= maxBytes,
		"streamgate_output_disk_bytes peaked at %d bytes, the segment files held %d bytes at the end of the outage; max_bytes %d",
		peak, files, maxBytes)
	return nil
}

// dirBytes adds up the sizes of the files under dir whose names end in
// suffix.
func dirBytes(dir, suffix string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && strings.HasSuffix(path, suffix) {
			fi, err := e.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	return n, err
}

// diskCorruptLines is what the disk_corrupt drill sends, all while the sink
// is down.
const diskCorruptLines = 100_000

// diskCorrupt stops a data plane cleanly with lines in its disk buffer
// (the sink down), damages the queue files (a segment cut in the middle of
// its last record, a torn tail; bytes flipped in a record in the middle of
// another), and starts it again with the sink up: both damaged records are
// found and counted, and every line of the others delivered.
func (d *Drills) diskCorrupt(ctx context.Context, sc *result.ChaosScenario) error {
	// 32 MiB per worker: 4 MiB segments, so each queue has several.
	ds, err := d.startDisk(sc.Name, `{"type":"disk","max_bytes":67108864,"sync":"interval"}`)
	if err != nil {
		return err
	}
	defer func() { ds.stop() }()
	ds.front.Down()
	sum, err := d.rig.Send(lab.Load{Target: "tcp://" + ds.px.TCP, Lines: diskCorruptLines, Rate: 2 * diskRate, Conns: 4, Flags: lab.NoPII()})
	if err != nil {
		return err
	}
	// Everything on disk: received, emitted, and nothing in memory.
	var c lab.Counters
	if err := poll(ctx, 30*time.Second, 20*time.Millisecond, func() bool {
		if c, err = ds.px.Counters(); err != nil {
			return false
		}
		queued, _ := outputMetric(c, queuedSeries, ds.out)
		mem, ok := outputMetric(c, memorySeries, ds.out)
		return int64(c.Received) >= sum.Sent && c.InPipeline() == 0 && ok && mem == 0 && queued == c.Emitted
	}); err != nil {
		return fmt.Errorf("the lines did not all reach the disk buffer: received %.0f of %d, %.0f in the pipeline, %.0f queued of %.0f emitted, %.0f bytes in memory: %w",
			c.Received, sum.Sent, c.InPipeline(), outputValue(c, queuedSeries, ds.out), c.Emitted, outputValue(c, memorySeries, ds.out), err)
	}
	stopErr := ds.px.Stop()
	final, err := finalCounters(ds.px.Proc.Logs())
	if err != nil {
		return fmt.Errorf("%w (stop: %v)", err, stopErr)
	}
	check(sc, "stopped cleanly with the backlog on disk", stopErr == nil && final["queued"] == sum.Sent,
		"exit: %v; %d lines sent, the stop line says %d queued", stopErr, sum.Sent, final["queued"])

	before, err := scanQueues(ds.queuesDir())
	if err != nil {
		return fmt.Errorf("cannot read the disk queues: %w", err)
	}
	torn, flipped, err := damageQueues(before)
	if err != nil {
		return err
	}
	damagedLines := int64(torn.lines + flipped.lines)
	fault(sc, "cut queue %s in the middle of its last record (a torn tail of %d lines)", queueFile(torn.path), torn.lines)
	fault(sc, "flipped 16 bytes in the middle of a record of %d lines in queue %s, a record with more after it", flipped.lines, queueFile(flipped.path))
	after, err := scanQueues(ds.queuesDir())
	if err != nil {
		return fmt.Errorf("cannot read the disk queues: %w", err)
	}
	if after.damaged != 2 || after.lines != before.lines-damagedLines {
		return fmt.Errorf("the damage did not take as meant: %d damaged runs, %d of %d lines left; want 2 and %d",
			after.damaged, after.lines, before.lines, before.lines-damagedLines)
	}

	if err := ds.front.Up(); err != nil {
		return err
	}
	restart := time.Now()
	px, err := ds.px.Restart()
	if err != nil {
		return fmt.Errorf("cannot restart the proxy: %w", err)
	}
	ds.px = px
	c, st, err := ds.drainRestored(ctx, lgsink.Stats{})
	if err != nil {
		return err
	}
	restored := int64(outputValue(c, restoredSeries, ds.out))
	corrupt := int64(outputValue(c, corruptSeries, ds.out))
	delivered := int64(c.OutputDelivered(ds.out))
	got := unique(st)
	var zero lab.Counters
	sc.DroppedByReason = dropReasons(c, zero)
	var dropped int64
	for _, v := range sc.DroppedByReason {
		dropped += v
	}
	sc.DroppedByReason["damaged on disk (2 records)"] = damagedLines
	sc.Sent = sum.Sent
	sc.Delivered = got
	sc.Dropped = dropped + damagedLines
	sc.LostUncounted = abs(sum.Sent - got - sc.Dropped)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(time.Since(restart).Seconds())

	check(sc, "damage found and counted", corrupt == int64(after.damaged),
		"streamgate_disk_corrupt_records_total %d; the files have %d damaged runs (the torn tail and the flipped record)", corrupt, after.damaged)
	check(sc, "restored every intact record", restored == after.lines,
		"%d lines on disk at the stop; %d in the damaged records; %d restored, of the %d in intact records", before.lines, damagedLines, restored, after.lines)
	check(sc, "every other line delivered", delivered == restored && got == restored && dropped == 0,
		"delivered %d of %d restored; the sink holds %d distinct lines (%d duplicates, %d missing behind delivered ones, all in the damaged records); %d dropped and counted",
		delivered, restored, got, st.Duplicated, st.Gaps, dropped)
	return nil
}

// queueFile names a segment file by its queue's folder: <lane>/<segment>.
func queueFile(path string) string {
	return filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path))
}

// damageQueues cuts a segment in the middle of its last record and flips
// bytes in the middle of a record that has a valid record after it, in
// another file (another queue if there is one), and returns the two
// records.
func damageQueues(sc queueScan) (torn, flipped queueRecord, err error) {
	tornOK := false
	for _, r := range sc.records {
		if r.lastSeg && r.lastRec && r.size > 2*recHeader {
			torn, tornOK = r, true
			break
		}
	}
	if !tornOK {
		return torn, flipped, fmt.Errorf("no record at the end of a queue to cut in %d records", len(sc.records))
	}
	// Prefer a record of another queue, then one in a full segment.
	best, bestScore := -1, -1
	for i, r := range sc.records {
		if r.lastRec || r.path == torn.path {
			continue
		}
		score := 0
		if filepath.Dir(r.path) != filepath.Dir(torn.path) {
			score += 2
		}
		if !r.lastSeg {
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return torn, flipped, fmt.Errorf("no record with another after it to damage in %d records", len(sc.records))
	}
	flipped = sc.records[best]
	if err := os.Truncate(torn.path, torn.off+torn.size/2); err != nil {
		return torn, flipped, fmt.Errorf("cannot cut %s: %w", torn.path, err)
	}
	f, err := os.OpenFile(flipped.path, os.O_RDWR, 0)
	if err != nil {
		return torn, flipped, err
	}
	defer f.Close()
	at := flipped.off + recHeader + (flipped.size-recHeader)/2
	b := make([]byte, 16)
	if _, err := f.ReadAt(b, at); err != nil {
		return torn, flipped, fmt.Errorf("cannot read %s: %w", flipped.path, err)
	}
	for i := range b {
		b[i] ^= 0xFF
	}
	if _, err := f.WriteAt(b, at); err != nil {
		return torn, flipped, fmt.Errorf("cannot damage %s: %w", flipped.path, err)
	}
	return torn, flipped, f.Close()
}

// deadLetterStorm sends a steady load to an http output whose destination
// refuses every request with 400: every batch is kept as a dead letter,
// none retried, dropped or delivered. Then the destination accepts, and
// `streamgate dlq replay` delivers every dead letter once.
func (d *Drills) deadLetterStorm(ctx context.Context, sc *result.ChaosScenario) error {
	load := 5 * time.Second
	if d.cfg.Short {
		load = 3 * time.Second
	}
	ds, err := d.startDisk(sc.Name, "", "-dlq-max-bytes", strconv.Itoa(256<<20))
	if err != nil {
		return err
	}
	defer ds.stop()
	base, err := lab.TakeMark(ctx, ds.px, ds.sink)
	if err != nil {
		return err
	}
	ds.front.set(refuse)
	fault(sc, "the sink answers 400 to every request for %s at %d lines/s", load, diskRate)
	sum, err := d.rig.Send(lab.Load{Target: "tcp://" + ds.px.TCP, Rate: diskRate, Duration: load, Conns: 4, Flags: lab.NoPII()})
	if err != nil {
		return err
	}
	c, st, err := lab.Settle(ctx, ds.px, ds.sink, lab.Want{Base: base, Sent: sum.Sent, Out: ds.out})
	if err != nil {
		return err
	}
	emitted := int64(c.Emitted - base.Counters.Emitted)
	dead := int64(outputValue(c, deadSeries, ds.out) - outputValue(base.Counters, deadSeries, ds.out))
	delivered := int64(c.OutputDelivered(ds.out) - base.Counters.OutputDelivered(ds.out))
	dropped := int64(c.OutputDropped(ds.out) - base.Counters.OutputDropped(ds.out))
	atSink := st.Lines - base.Sink.Lines
	check(sc, "every batch dead-lettered", dead == emitted && emitted == sum.Sent && delivered == 0 && dropped == 0 && atSink == 0,
		"%d lines sent, %d emitted, %d dead-lettered, %d delivered, %d dropped; the front refused %d requests, the sink got %d lines",
		sum.Sent, emitted, dead, delivered, dropped, ds.front.failed[refuse].Load(), atSink)

	ds.front.set(healthy)
	start := time.Now()
	cmd := exec.CommandContext(ctx, d.rig.StreamGate, "dlq", "replay", "-output", ds.out, "-admin", "http://"+ds.px.Admin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("streamgate dlq replay: %w: %s", err, out)
	}
	c, st, err = lab.Settle(ctx, ds.px, ds.sink, lab.Want{Base: base, Sent: sum.Sent, Out: ds.out})
	if err != nil {
		return err
	}
	replayTime := time.Since(start)
	replayed := int64(outputValue(c, replayedSeries, ds.out) - outputValue(base.Counters, replayedSeries, ds.out))
	delivered = int64(c.OutputDelivered(ds.out) - base.Counters.OutputDelivered(ds.out))
	var left struct {
		Entries int `json:"entries"`
		Lines   int `json:"lines"`
	}
	if err := lab.GetJSON(ctx, "http://"+ds.px.Admin+"/dlq?output="+url.QueryEscape(ds.out), &left); err != nil {
		return fmt.Errorf("cannot list the dead letters: %w", err)
	}
	accountSink(sc, sum.Sent, c, base, ds.out, st)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(replayTime.Seconds())
	got := unique(st) - unique(base.Sink)
	check(sc, "replay delivered every dead letter once", replayed == dead && delivered == dead && got == sum.Sent && st.Duplicated == base.Sink.Duplicated,
		"%s in %.2f s: %d replayed of %d dead-lettered, %d delivered; the sink holds %d distinct lines of %d sent, %d duplicates",
		strings.TrimSpace(string(out)), replayTime.Seconds(), replayed, dead, delivered, got, sum.Sent, st.Duplicated-base.Sink.Duplicated)
	check(sc, "no dead letters left", left.Entries == 0 && left.Lines == 0,
		"GET /dlq?output=…: %d entries, %d lines", left.Entries, left.Lines)
	return nil
}
