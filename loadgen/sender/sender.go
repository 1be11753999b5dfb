// Package sender drives load at a proxy over TCP, UDP or HTTP, either open
// loop (a fixed rate paced against a schedule) or closed loop (as fast as the
// target accepts).
//
// In open loop every line carries its scheduled send time rather than the
// moment it was written, so a target that stalls the sender still shows its
// full latency at the sink (no coordinated omission).
package sender

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"streamgate/loadgen/corpus"
)

// Config describes one run. The zero value of every optional field is its
// default.
type Config struct {
	// Target is tcp://host:port, udp://host:port, http://host:port/path or
	// otlp://host:port (OTLP/HTTP logs, protobuf, POST /v1/logs: a record
	// per line, see otlpTransport).
	Target string
	// Syslog, over TCP, sends each line as the message of an RFC 5424
	// syslog message, framed by SyslogOctet or SyslogNewline; "" sends
	// plain lines.
	Syslog string
	// Conns is the number of TCP or HTTP connections or UDP sockets; 0 means 4.
	Conns int
	// Rate is the total rate in lines per second; 0 means closed loop.
	Rate float64
	// Lines stops the run after this many lines in total; 0 means no limit.
	Lines int64
	// Duration stops the run after this long; 0 means no limit. With neither
	// Lines nor Duration the run lasts until ctx is done.
	Duration time.Duration
	// Batch is the number of lines per write, datagram or request. 0 means:
	// TCP writes of about 64 KiB (in open loop, all lines due at a tick, at
	// most 64 KiB), UDP datagrams of at most 1400 bytes, HTTP 500 lines.
	Batch int
	// Run is the run id; line sources are "<run>-<conn>". Empty means random.
	Run string
	// Corpus selects the generated lines.
	Corpus corpus.Config
	// Progress, if set, is updated after every write.
	Progress *Progress
}

// Progress holds live counters of a running sender.
type Progress struct {
	// Sent is the number of lines written successfully.
	Sent atomic.Int64
	// Bytes is the number of bytes written successfully.
	Bytes atomic.Int64
	// Errors is the number of failed writes, datagrams or requests.
	Errors atomic.Int64
}

// Summary is the result of a run. The JSON field names are a contract with
// the harness.
type Summary struct {
	// Target is the target as given.
	Target string `json:"target"`
	// Mode is "open" (fixed rate) or "closed" (as fast as possible).
	Mode string `json:"mode"`
	// Conns is the number of connections or sockets.
	Conns int `json:"conns"`
	// Rate is the requested total rate in lines per second; 0 in closed loop.
	Rate float64 `json:"rate"`
	// Seed is the corpus seed.
	Seed uint64 `json:"seed"`
	// Run is the run id; sources are "<run>-<conn>".
	Run string `json:"run"`
	// Sent is the number of lines written successfully.
	Sent int64 `json:"sent"`
	// Bytes is the number of bytes of those lines, newlines included.
	Bytes int64 `json:"bytes"`
	// Errors is the number of failed writes, datagrams or requests.
	Errors int64 `json:"errors"`
	// ElapsedSec is the wall-clock duration of the run in seconds.
	ElapsedSec float64 `json:"elapsed_s"`
	// LinesPerS is Sent divided by ElapsedSec.
	LinesPerS float64 `json:"lines_per_s"`
	// PIILines is the number of sent lines with an SSN, a card or an email.
	PIILines int64 `json:"pii_lines"`
	// DebugLines is the number of sent DEBUG lines.
	DebugLines int64 `json:"debug_lines"`
	// JSONLines is the number of sent JSON lines.
	JSONLines int64 `json:"json_lines"`
	// ScheduleLag is how late the sender's writes completed relative to
	// their lines' schedule in open loop (each batch counted at its oldest
	// line's lag); zero in closed loop.
	ScheduleLag Lag `json:"schedule_lag_ms"`
	// Due is, in open loop, the number of lines scheduled before the run
	// ended, and Unsent how many of them were not written (the target
	// stalled past the end of the run, or writes failed). Latency measured
	// at the sink leaves unsent lines out, so Unsent must be 0 for the
	// latency figures to be complete. Both are 0 in closed loop.
	Due    int64 `json:"due"`
	Unsent int64 `json:"unsent"`
	// Cut counts lines a failed stream write cut short: the target got
	// their first part, and may count them. Sent leaves them out, and
	// counts the lines such a write did finish.
	Cut int64 `json:"cut"`
}

// Lag summarizes the schedule lag in milliseconds.
type Lag struct {
	// P50, P99 and Max are quantiles of the per-line lag.
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

const (
	tickInterval  = time.Millisecond
	streamBatch   = 64 << 10
	datagramBytes = 1400
	httpBatch     = 500
	// stopGrace bounds how long a write blocked by the target may delay the
	// end of a run limited by Duration.
	stopGrace = 2 * time.Second
	// catchUp is how far past the end of an open-loop run a sender that is
	// behind schedule keeps writing the lines it owes; the rest are unsent.
	// Well under stopGrace, so the run ends between writes, not in one.
	catchUp = 200 * time.Millisecond
)

// Run sends lines as c describes and returns what was sent. It returns an
// error, along with the partial Summary, when the configuration is invalid
// or the target cannot be reached.
func Run(ctx context.Context, c Config) (Summary, error) {
	if c.Conns == 0 {
		c.Conns = 4
	}
	if c.Run == "" {
		c.Run = randomRun()
	}
	s := Summary{Target: c.Target, Mode: "closed", Conns: c.Conns, Rate: c.Rate, Seed: c.Corpus.Seed, Run: c.Run}
	if c.Rate > 0 {
		s.Mode = "open"
	}
	t, err := c.validate()
	if err != nil {
		return s, err
	}
	var client *http.Client
	if t.scheme == "http" || t.scheme == "otlp" {
		client = newHTTPClient(c.Conns)
		defer client.CloseIdleConnections()
	}
	workers := make([]*worker, c.Conns)
	for i := range workers {
		tr, err := newTransport(ctx, t, client)
		if err != nil {
			for _, w := range workers[:i] {
				_ = w.tr.close()
			}
			return s, err
		}
		workers[i] = newWorker(&c, t, i, tr)
	}

	start := time.Now()
	if c.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, start.Add(c.Duration+stopGrace))
		defer cancel()
	}
	var wg sync.WaitGroup
	errs := make([]error, len(workers))
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stop := context.AfterFunc(ctx, w.tr.abort)
			defer stop()
			errs[i] = w.run(ctx, start)
			_ = w.tr.close()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	lag := hdrhistogram.New(1, 60_000_000, 3)
	for _, w := range workers {
		s.Sent += w.sent
		s.Bytes += w.bytes
		s.Errors += w.errors
		s.Cut += w.cut
		s.PIILines += w.pii
		s.DebugLines += w.debug
		s.JSONLines += w.json
		lag.Merge(w.lag)
		if c.Rate > 0 {
			s.Due += w.due
		}
	}
	if c.Rate > 0 {
		s.Unsent = max(s.Due-s.Sent, 0)
	}
	s.ElapsedSec = elapsed.Seconds()
	if s.ElapsedSec > 0 {
		s.LinesPerS = float64(s.Sent) / s.ElapsedSec
	}
	if c.Rate > 0 && lag.TotalCount() > 0 {
		ms := func(us int64) float64 { return float64(us) / 1000 }
		s.ScheduleLag = Lag{P50: ms(lag.ValueAtQuantile(50)), P99: ms(lag.ValueAtQuantile(99)), Max: ms(lag.Max())}
	}
	return s, errors.Join(errs...)
}

func (c *Config) validate() (target, error) {
	var errs []error
	t, err := parseTarget(c.Target)
	if err != nil {
		errs = append(errs, err)
	}
	if c.Conns < 1 {
		errs = append(errs, fmt.Errorf("conns must be at least 1; got %d", c.Conns))
	}
	if !(c.Rate >= 0) {
		errs = append(errs, fmt.Errorf("rate must not be negative; got %v", c.Rate))
	}
	if c.Lines < 0 || c.Duration < 0 || c.Batch < 0 {
		errs = append(errs, fmt.Errorf("lines, duration and batch must not be negative; got %d, %v, %d", c.Lines, c.Duration, c.Batch))
	}
	switch c.Syslog {
	case "":
	case SyslogOctet, SyslogNewline:
		if t.scheme != "tcp" {
			errs = append(errs, fmt.Errorf("syslog framing is for tcp targets; got %q", c.Target))
		}
	default:
		errs = append(errs, fmt.Errorf("syslog: want %s or %s; got %q", SyslogOctet, SyslogNewline, c.Syslog))
	}
	if err := validRun(c.Run); err != nil {
		errs = append(errs, err)
	}
	if err := c.Corpus.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return t, fmt.Errorf("cannot start sender: %w", errors.Join(errs...))
	}
	return t, nil
}

func randomRun() string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

// worker drives one connection. Its counters are read after run returns.
type worker struct {
	cfg      *Config
	cycle    *corpus.Cycle
	tr       transport
	progress *Progress

	conn     int64 // index of this connection
	conns    int64
	maxLines int  // lines per batch; 0 means no limit
	maxBytes int  // bytes per batch; 0 means no limit
	strict   bool // maxBytes must not be exceeded (datagrams)

	buf      []byte
	line     []byte
	frame    []byte // line as a syslog message, with Config.Syslog
	header   string // of a syslog message
	lines    int
	kinds    [3]int64 // pii, debug, json lines in buf
	lag      *hdrhistogram.Histogram
	oldest   int64 // scheduled time of the first line in buf
	due      int64 // open loop: lines scheduled before the run ended
	sent     int64
	bytes    int64
	errors   int64
	cut      int64
	pii      int64
	debug    int64
	json     int64
	fatalErr error
}

// A run generates at most cycleLines lines, and lines of at most
// cycleBytes bytes in all (by their target length), before it sends: the
// tables of its connections (corpus.Cycle).
const (
	cycleLines = 65536
	cycleBytes = 64 << 20
)

// cyclePeriod is the period of each of conns connections' lines, whose
// target length is at most maxSize bytes (0: the corpus's default): 4096
// lines; above 16 connections, cycleLines shared among them, at least 64
// each; and never more than cycleBytes allows, at least 1.
func cyclePeriod(conns, maxSize int) int {
	conns = max(conns, 1)
	if maxSize <= 0 {
		maxSize = corpus.DefaultConfig().MaxSize
	}
	n := min(4096, max(64, cycleLines/conns))
	return max(1, min(n, cycleBytes/conns/maxSize))
}

func newWorker(c *Config, t target, i int, tr transport) *worker {
	w := &worker{
		cfg:      c,
		cycle:    corpus.New(c.Corpus).Cycle(c.Run+"-"+strconv.Itoa(i), cyclePeriod(c.Conns, c.Corpus.MaxSize)),
		tr:       tr,
		progress: c.Progress,
		conn:     int64(i),
		conns:    int64(c.Conns),
		maxLines: c.Batch,
		lag:      hdrhistogram.New(1, 60_000_000, 3),
	}
	if c.Syslog != "" {
		w.header = syslogHeader(time.Now())
	}
	switch t.scheme {
	case "tcp":
		if c.Batch == 0 {
			w.maxBytes = streamBatch
		}
	case "udp":
		w.maxBytes, w.strict = datagramBytes, true
	case "http", "otlp":
		if c.Batch == 0 {
			w.maxLines = httpBatch
		}
	}
	return w
}

// limit returns how many lines this connection sends in total, or -1.
func (w *worker) limit() int64 {
	n := w.cfg.Lines
	if n == 0 {
		return -1
	}
	// Line j of connection c is line j*conns+c of the run.
	if n <= w.conn {
		return 0
	}
	return (n-w.conn-1)/w.conns + 1
}

func (w *worker) run(ctx context.Context, start time.Time) error {
	if w.cfg.Rate > 0 {
		w.openLoop(ctx, start)
	} else {
		w.closedLoop(ctx, start)
	}
	if w.fatalErr == nil && w.lines > 0 {
		w.flush(ctx)
	}
	return w.fatalErr
}

// openLoop writes, at every tick, all lines whose scheduled time has come.
// Line j of this connection is line g = j*conns+conn of the run, scheduled
// at start + g/rate.
func (w *worker) openLoop(ctx context.Context, start time.Time) {
	t0 := start.UnixNano()
	nsPerLine := 1e9 / w.cfg.Rate
	limit := w.limit()
	end := int64(-1)
	if w.cfg.Duration > 0 {
		end = t0 + int64(w.cfg.Duration)
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	now := time.Now().UnixNano()
	j := int64(0)
	defer func() {
		// Lines scheduled before the end that the loop did not get to
		// (the target stalled) are due all the same.
		for limit < 0 || j < limit {
			if sched := t0 + int64(float64(j*w.conns+w.conn)*nsPerLine); end < 0 && sched > time.Now().UnixNano() || end >= 0 && sched >= end {
				break
			}
			j++
		}
		w.due = j
	}()
	for limit < 0 || j < limit {
		sched := t0 + int64(float64(j*w.conns+w.conn)*nsPerLine)
		if end >= 0 && sched >= end {
			return
		}
		if sched > now {
			if now = time.Now().UnixNano(); sched <= now {
				continue
			}
			if w.lines > 0 && !w.flush(ctx) {
				return
			}
			// Sleep until the next line is due, at least one tick, so that
			// lines due within a tick are coalesced into one write.
			timer.Reset(max(time.Duration(sched-now), tickInterval))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			now = time.Now().UnixNano()
			continue
		}
		if w.lines == 0 && end >= 0 && time.Now().UnixNano() >= end+int64(catchUp) {
			return // too far behind: what is left is unsent
		}
		if !w.add(ctx, uint64(j+1), sched, now) {
			return
		}
		j++
	}
}

// closedLoop writes batches back to back. Lines of one batch share the
// timestamp taken when the batch was started.
func (w *worker) closedLoop(ctx context.Context, start time.Time) {
	limit := w.limit()
	end := int64(-1)
	if w.cfg.Duration > 0 {
		end = start.UnixNano() + int64(w.cfg.Duration)
	}
	now := time.Now().UnixNano()
	for j := int64(0); limit < 0 || j < limit; j++ {
		if w.lines == 0 {
			now = time.Now().UnixNano()
			if end >= 0 && now >= end || ctx.Err() != nil {
				return
			}
		}
		if !w.add(ctx, uint64(j+1), now, now) {
			return
		}
	}
}

// add generates line seq with timestamp ts into the pending batch, flushing
// as the batch limits require. It returns false when the run must stop.
func (w *worker) add(ctx context.Context, seq uint64, ts, now int64) bool {
	var k corpus.Kind
	if w.cfg.Syslog == "" && !w.strict {
		// Written where it goes: no write can be too large for a stream.
		if w.lines == 0 {
			w.oldest = ts
		}
		w.buf, k = w.cycle.Append(w.buf, seq, ts)
		w.buf = append(w.buf, '\n')
	} else {
		w.line, k = w.cycle.Append(w.line[:0], seq, ts)
		if w.cfg.Syslog != "" {
			w.frame = appendSyslog(w.frame[:0], w.header, w.line, w.cfg.Syslog)
			w.line, w.frame = w.frame, w.line
		} else {
			w.line = append(w.line, '\n')
		}
		if w.strict && w.lines > 0 && len(w.buf)+len(w.line) > w.maxBytes {
			if !w.flush(ctx) {
				return false
			}
		}
		if w.lines == 0 {
			w.oldest = ts
		}
		w.buf = append(w.buf, w.line...)
	}
	w.lines++
	if k&corpus.KindPII != 0 {
		w.kinds[0]++
	}
	if k&corpus.KindDebug != 0 {
		w.kinds[1]++
	}
	if k&corpus.KindJSON != 0 {
		w.kinds[2]++
	}
	if w.maxLines > 0 && w.lines >= w.maxLines || w.maxBytes > 0 && len(w.buf) >= w.maxBytes {
		return w.flush(ctx)
	}
	return true
}

// flush writes the pending batch. A failed write is counted and the
// connection re-established; it returns false when the run must stop.
func (w *worker) flush(ctx context.Context) bool {
	wrote, err := w.tr.write(ctx, w.buf)
	n, size := w.lines, len(w.buf)
	kinds := w.kinds
	if err != nil && wrote > 0 && wrote < size {
		// The target got the lines this write finished, and the start of
		// the next one.
		done, whole := completeFrames(w.buf[:wrote], w.cfg.Syslog)
		w.sent += int64(done)
		w.bytes += int64(wrote)
		if !whole {
			w.cut++
		}
		if w.progress != nil {
			w.progress.Sent.Add(int64(done))
		}
	}
	w.buf, w.lines, w.kinds = w.buf[:0], 0, [3]int64{}
	if err == nil {
		if w.cfg.Rate > 0 {
			// The write is done: its lines are as late as its oldest one.
			_ = w.lag.RecordValues(max((time.Now().UnixNano()-w.oldest)/1000, 1), int64(n))
		}
		w.sent += int64(n)
		w.bytes += int64(size)
		w.pii += kinds[0]
		w.debug += kinds[1]
		w.json += kinds[2]
		if w.progress != nil {
			w.progress.Sent.Add(int64(n))
			w.progress.Bytes.Add(int64(size))
		}
		return true
	}
	if ctx.Err() != nil {
		return false
	}
	w.errors++
	if w.progress != nil {
		w.progress.Errors.Add(1)
	}
	if isStatus(err) {
		return true
	}
	if rerr := w.tr.redial(ctx); rerr != nil {
		if ctx.Err() == nil {
			w.fatalErr = fmt.Errorf("cannot write to %s: %w; %w", w.cfg.Target, err, rerr)
		}
		return false
	}
	return true
}
