// Package pipeline moves lines from the buffer through the processor chain to
// the outputs.
//
// Lines are sharded by source key over one ring and one worker per shard, so
// lines of one connection are processed and delivered in order while workers
// run in parallel. A worker pops a batch, loads the current configuration with
// one atomic load, runs the chain, appends the kept lines to its pending
// output batch, and flushes that batch at batch_size lines or after the flush
// interval; sooner when it has nothing more to process and its outputs
// stream, or linger and are idle (output.Streamer, output.Lingerer). A
// flushed batch is shared by all outputs: each output has one lane
// (a queue and a goroutine) per worker, so a slow output fills its own
// lanes first. Under the drop policies a worker waits for a full lane only
// while its output delivers, and within OverflowWait (worker.outputWait),
// so an output that stalls never holds up a worker or another output for
// longer. Before a batch is flushed, the egress audit scans a sample of
// its lines again for personal data the chain let through (audit.go).
//
// Reconfiguration (Apply) swaps one pointer. Each worker notices the new
// generation between two batches, flushes its pending lines to the old
// generation's outputs, and moves on; so every line is processed by exactly
// one chain and delivered by that chain's outputs. Outputs whose
// configuration did not change are carried over, not rebuilt.
//
// A rule or an output that a reload removes loses its metric series once
// no configuration uses it and, for an output, once it has delivered what
// it queued (metrics.RetireRule, RetireOutput); Close retires nothing, so
// the final accounting still names everything.
//
// Lock order: Pipeline.mu, then the lock of metrics.Metrics (counters are
// looked up and series retired under Pipeline.mu). The hot path takes no
// lock.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/deadletter"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
	"streamgate/dataplane/tap"
)

// Defaults of Options and Config.
const (
	DefaultBatchSize     = 100
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultBufferLines   = 64 << 10
	DefaultBufferBytes   = 8 << 20
	DefaultOutputQueue   = 8 << 20
	DefaultBreakerOpen   = 0.80
	DefaultBreakerClose  = 0.50
	DefaultBreakerDelay  = 250 * time.Millisecond
	DefaultOverflowWait  = time.Second
	DefaultAuditEvery    = 100
	DefaultDataDir       = "data"
	DefaultDrainTimeout  = 10 * time.Minute
	DefaultShadowCPU     = 0.25
)

// Options are fixed for the life of a pipeline. The zero value of each field
// means its default.
type Options struct {
	// Workers is the number of shards and workers; 0 means GOMAXPROCS.
	Workers int
	// BufferLines and BufferBytes bound all rings together.
	BufferLines int
	BufferBytes int
	// Overflow is what a full ring does.
	Overflow buffer.Policy
	// OverflowWait bounds, under the drop policies, how long what fills a
	// full ring or output queue is held back before lines are dropped. It
	// is the wait that a pusher able to hold its sender back (TCP, HTTP
	// ingest) passes to Push (see Pipeline.OverflowWait), and it bounds a
	// worker's wait for room in an output's queue: for an output that
	// delivers nothing, and in all while the worker's ring stays full (see
	// worker.outputWait, lane.sendSlow). 0 means DefaultOverflowWait; a
	// negative value means no wait: drop at once.
	OverflowWait time.Duration
	// FlushInterval is the longest a line waits in a pending batch.
	FlushInterval time.Duration
	// OutputQueueBytes bounds the memory of the batches queued for one
	// output. Under the drop policies, an output that falls further behind
	// has further batches dropped (counted, reason queue_full), so it never
	// holds up the pipeline or the other outputs. Under Block the pipeline
	// waits for the output instead: no loss, at the price of isolation.
	// The batches on their way to a disk buffer are bounded tighter still
	// (diskLaneBytes).
	OutputQueueBytes int
	// BreakerOpen and BreakerClose are the ring fill levels at which the
	// breaker opens and closes again. The breaker acts under the drop
	// policies only: under Block a full ring is backpressure, not loss.
	BreakerOpen, BreakerClose float64
	// BreakerDelay is how long a worker's ring must be at or above
	// BreakerOpen, the worker busy processing, before the breaker opens,
	// in all since the ring was last below for as long: a burst that the
	// ring absorbs never skips a rule. Time the worker spends waiting for
	// room in an output's queue does not count: the output, not the
	// processing, is then behind, and skipping rules would only send it
	// more. 0 means DefaultBreakerDelay; a negative value opens the
	// breaker as soon as the ring reaches BreakerOpen.
	BreakerDelay time.Duration
	// AuditEvery turns on the egress audit: every AuditEvery-th line a
	// worker hands to the outputs is scanned again, its JSON strings
	// decoded, with every built-in detector, and each finding is counted
	// per detector and output and logged at most once a minute, never with
	// the value (see audit.go). 0 means DefaultAuditEvery; a negative value
	// turns the audit off.
	AuditEvery int
	// AuditDetectors are the detectors the audit runs: names, categories
	// or "all" (match.SelectDetectors); nil means DefaultAuditDetectors.
	AuditDetectors []string
	// DataDir holds what the pipeline keeps on disk: the disk queues of
	// outputs with a disk buffer and the dead letters (in DataDir/dlq, see
	// deadletter.go). It is created (mode 0700) only when something is
	// first written there. Empty means DefaultDataDir.
	DataDir string
	// DeadLetterMaxBytes bounds each output's dead-letter file; 0 means
	// deadletter.DefaultMaxBytes. A batch refused for good that does not
	// fit is dropped and counted (reason dead_letter_full).
	DeadLetterMaxBytes int64
	// DiskDrainTimeout bounds how long the disk queue of an output that a
	// reload removed keeps delivering; then what is left is dropped and
	// counted (reason output_removed) and the queue deleted. 0 means
	// DefaultDrainTimeout; negative, no bound.
	DiskDrainTimeout time.Duration
	// ShadowCPU bounds the time each worker spends running the shadow
	// chain (SetShadow), as a fraction of each second: past it, the
	// shadow skips batches until the next second, and counts their lines
	// as skipped. 0 means DefaultShadowCPU; 1 or more, no bound.
	ShadowCPU float64
	// Metrics receives the counters; nil means a private set.
	Metrics *metrics.Metrics
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// Tap, when set, is shown what the chain does to each batch while a
	// tap is attached to it (see tap.go).
	Tap *tap.Hub
}

// Config is what Apply swaps in atomically.
type Config struct {
	// Version identifies the configuration (the manifest's version).
	Version string
	// Chain runs on every line; nil means no processing.
	Chain *processor.Chain
	// Outputs receive every batch; empty means console.
	Outputs []output.Config
	// BatchSize is the output batch size in lines; 0 means DefaultBatchSize.
	BatchSize int
	// BypassAll makes an open breaker skip every processor, redaction
	// included (the seed's behaviour). By default redaction keeps running.
	BypassAll bool
}

// Pipeline is the processing core of a data plane.
type Pipeline struct {
	opts    Options
	m       *metrics.Metrics
	log     *slog.Logger
	auditor *audit // the egress audit's detectors
	dlq     *deadletter.Dir
	rings   []*buffer.Ring
	workers []*worker
	// started is workers once New has built them, for the output lanes
	// and deliverers, which may run before (pokeWorker).
	started atomic.Pointer[[]*worker]
	wg      sync.WaitGroup // workers

	cur atomic.Pointer[generation]
	// shadow is the chain running beside the live one, nil when none
	// (shadow.go).
	shadow atomic.Pointer[shadowChain]
	// shadowErr says why the shadow stopped by itself (ShadowError).
	shadowErr atomic.Pointer[string]

	mu      sync.Mutex                 // serialises Apply, Close and retirement
	outputs map[string]*outputRunner   // live outputs by config key; mu
	disks   map[string]*diskBuffer     // open disk queues by QueueID; mu
	running map[*outputRunner]struct{} // runners not yet closed; mu
	// byName is every runner not yet closed, by output name, for the
	// queue gauges, which read it without a lock; replaced under mu.
	byName atomic.Pointer[map[string][]*outputRunner]
	closed atomic.Bool // written under mu
	// rules counts, by id, the live generations whose rules count on
	// Metrics.Filtered(id); names counts, by name, the output runners not
	// yet closed. When a count falls to 0 outside Close, the rule's or the
	// output's series are retired (Metrics.RetireRule, RetireOutput). mu.
	rules map[string]int
	names map[string]int

	lanesWG sync.WaitGroup     // lane goroutines of every output runner
	laneCtx context.Context    // done when Close gives up waiting
	cancel  context.CancelFunc //
	// diskCtx is done when Close begins: what disk buffers hold is safe
	// where it is, so their deliverers stop at once, a write in flight
	// included, and leave it for the next start.
	diskCtx   context.Context
	stopDisks context.CancelFunc

	open atomic.Int32 // workers whose breaker is open

	audit auditLog // the egress audit's rate-limited warning
}

// New starts a pipeline running cfg.
func New(opts Options, cfg *Config) (*Pipeline, error) {
	opts = opts.withDefaults()
	a, err := newAudit(opts.AuditDetectors)
	if err != nil {
		return nil, fmt.Errorf("cannot set up the egress audit: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	dctx, dcancel := context.WithCancel(ctx)
	p := &Pipeline{
		opts:      opts,
		m:         opts.Metrics,
		log:       opts.Logger,
		auditor:   a,
		dlq:       deadletter.New(filepath.Join(opts.DataDir, "dlq"), opts.DeadLetterMaxBytes),
		outputs:   make(map[string]*outputRunner),
		disks:     make(map[string]*diskBuffer),
		running:   make(map[*outputRunner]struct{}),
		rules:     make(map[string]int),
		names:     make(map[string]int),
		laneCtx:   ctx,
		diskCtx:   dctx,
		stopDisks: dcancel,
		cancel:    cancel,
	}
	full, shutdown := p.m.Dropped(metrics.ReasonBufferFull), p.m.Dropped(metrics.ReasonShutdown)
	perLines := max(1, opts.BufferLines/opts.Workers)
	perBytes := max(1, opts.BufferBytes/opts.Workers)
	for i := 0; i < opts.Workers; i++ {
		r := buffer.New(perLines, perBytes, opts.Overflow)
		r.OnDrop = func(b *record.Batch, cause error) {
			if cause == nil {
				full.Add(len(b.Lines))
			} else {
				shutdown.Add(len(b.Lines))
			}
		}
		r.OnWait = p.m.BufferWaits.Inc
		p.rings = append(p.rings, r)
	}
	if cfg == nil {
		cfg = &Config{}
	}
	if err := p.Apply(cfg); err != nil {
		cancel()
		return nil, err
	}
	for i, r := range p.rings {
		// The starting generation is fixed here, not when the goroutine
		// runs: an Apply in between must still be released by this worker.
		w := &worker{p: p, id: i, ring: r, wake: make(chan struct{}, 1), gen: p.cur.Load(), auditAt: firstAudit(opts.AuditEvery), now: time.Now}
		p.workers = append(p.workers, w)
	}
	p.started.Store(&p.workers)
	p.m.Gauge("streamgate_buffer_lines", func() float64 { return float64(p.Queued()) })
	p.m.Gauge("streamgate_buffer_capacity_lines", func() float64 { return float64(opts.BufferLines) })
	p.m.Gauge("streamgate_breaker_open_workers", func() float64 { return float64(p.open.Load()) })
	p.m.Gauge("streamgate_lines_in_pipeline", func() float64 { return float64(p.InPipeline()) })
	for _, w := range p.workers {
		p.wg.Add(1)
		go w.run()
	}
	return p, nil
}

// withDefaults returns o with every field that is zero or below set to its
// default, except AuditEvery, BreakerDelay and OverflowWait, whose negative
// values turn them off, and BreakerClose moved below BreakerOpen.
func (o Options) withDefaults() Options {
	if o.Workers <= 0 {
		o.Workers = defaultWorkers()
	}
	if o.BufferLines <= 0 {
		o.BufferLines = DefaultBufferLines
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = DefaultBufferBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = DefaultFlushInterval
	}
	if o.OutputQueueBytes <= 0 {
		o.OutputQueueBytes = DefaultOutputQueue
	}
	if o.BreakerOpen <= 0 {
		o.BreakerOpen = DefaultBreakerOpen
	}
	if o.BreakerClose <= 0 {
		o.BreakerClose = DefaultBreakerClose
	}
	if o.BreakerClose >= o.BreakerOpen {
		o.BreakerClose = o.BreakerOpen / 2
	}
	if o.BreakerDelay == 0 {
		o.BreakerDelay = DefaultBreakerDelay
	}
	if o.OverflowWait == 0 {
		o.OverflowWait = DefaultOverflowWait
	}
	if o.AuditEvery == 0 {
		o.AuditEvery = DefaultAuditEvery
	}
	if o.DiskDrainTimeout == 0 {
		o.DiskDrainTimeout = DefaultDrainTimeout
	}
	if o.DataDir == "" {
		o.DataDir = DefaultDataDir
	}
	if o.DeadLetterMaxBytes <= 0 {
		o.DeadLetterMaxBytes = deadletter.DefaultMaxBytes
	}
	if o.ShadowCPU <= 0 {
		o.ShadowCPU = DefaultShadowCPU
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Metrics returns the pipeline's counters.
func (p *Pipeline) Metrics() *metrics.Metrics { return p.m }

// Push queues b for processing; ownership passes to the pipeline. Batches
// with the same Key go to the same worker, in order. When that worker's
// ring is full, Push waits for room: under the Block policy until ctx is
// done, under the drop policies for at most wait, before it drops lines
// and counts them (buffer_full). A caller that can hold its sender back
// passes OverflowWait, one that cannot (UDP) 0. See buffer.Ring.Push.
func (p *Pipeline) Push(ctx context.Context, b *record.Batch, wait time.Duration) error {
	return p.rings[b.Key%uint64(len(p.rings))].Push(ctx, b, wait)
}

// OverflowWait is how long, under the drop policies, a push that can hold
// its sender back waits for room in a full ring before lines are dropped
// (Options.OverflowWait); 0 when it does not wait.
func (p *Pipeline) OverflowWait() time.Duration { return max(0, p.opts.OverflowWait) }

// Queued is the number of lines waiting in the rings.
func (p *Pipeline) Queued() int {
	n := 0
	for _, r := range p.rings {
		n += r.Len()
	}
	return n
}

// InPipeline is the number of received lines not yet filtered, dropped or
// handed to the outputs: received − filtered − dropped − emitted. It is exact
// when the pipeline is quiet.
func (p *Pipeline) InPipeline() int64 {
	return int64(p.m.Received.Get()) - int64(p.m.FilteredTotal()) - int64(p.m.SampledTotal()) - int64(p.m.DroppedTotal()) - int64(p.m.Emitted.Get())
}

// BreakerOpen reports how many workers are in breaker mode.
func (p *Pipeline) BreakerOpen() int { return int(p.open.Load()) }

// Version is the version of the configuration currently applied.
func (p *Pipeline) Version() string { return p.cur.Load().cfg.Version }

// Apply swaps in cfg: chain, outputs and batch size together. It builds every
// new output first; if one fails, nothing changes and the error is returned.
func (p *Pipeline) Apply(cfg *Config) error {
	c := *cfg
	if c.BatchSize <= 0 {
		c.BatchSize = DefaultBatchSize
	}
	var steps []processor.Step
	if c.Chain != nil {
		steps = append(steps, c.Chain.Steps()...)
	}
	var rules []string // the ids counted here, once each
	for i := range steps {
		if steps[i].Filtered == nil {
			if !slices.Contains(rules, steps[i].ID) {
				rules = append(rules, steps[i].ID)
			}
		}
	}
	if len(c.Outputs) == 0 {
		c.Outputs = []output.Config{{Type: "console"}}
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return errors.New("cannot apply config: pipeline closed")
	}
	// The counters are looked up under mu, so a retirement cannot come
	// between the lookup and the count that keeps the series alive.
	for i := range steps {
		switch {
		case steps[i].Filtered != nil:
		case steps[i].Samples:
			steps[i].Filtered = p.m.Sampled(steps[i].ID)
			steps[i].FilteredBytes = p.m.SampledBytes(steps[i].ID)
		default:
			steps[i].Filtered = p.m.Filtered(steps[i].ID)
			steps[i].FilteredBytes = p.m.FilteredBytes(steps[i].ID)
		}
		if rw, ok := steps[i].P.(processor.Rewriter); ok && steps[i].Rewritten == nil {
			steps[i].Rewritten = p.m.Redacted(steps[i].ID)
			for _, d := range rw.Detectors() {
				steps[i].RewrittenBy = append(steps[i].RewrittenBy, p.m.Redactions(steps[i].ID, d))
			}
		}
	}
	c.Chain = processor.NewChain(steps...)
	g := &generation{cfg: &c, rules: rules}
	var built []*outputRunner
	seen := make(map[string]bool)
	for i := range c.Outputs {
		oc := c.Outputs[i]
		key := oc.Key()
		if seen[key] {
			continue
		}
		seen[key] = true
		r := p.outputs[key]
		if r == nil {
			out, err := output.New(&oc)
			var d *diskBuffer
			if err == nil && oc.Buffer.Disk() {
				if d, err = p.useDisk(&oc, oc.Name()); err != nil {
					out.Close()
				}
			}
			if err != nil {
				for _, r := range built {
					r.abort()
				}
				return fmt.Errorf("cannot build outputs[%d]: %w", i, err)
			}
			if oc.TLSInsecureSkipVerify {
				p.log.Warn("output does not verify its endpoint's TLS certificate (tls_insecure_skip_verify): anyone on the path can read and change what it sends",
					"output", oc.Name())
			}
			r = p.startOutput(key, oc.Name(), out, d)
			built = append(built, r)
		}
		g.outs = append(g.outs, r)
	}
	for _, r := range built {
		p.outputs[r.key] = r
	}
	for _, id := range rules {
		p.rules[id]++
	}
	g.stream = len(g.outs) > 0
	for _, r := range g.outs {
		r.gens++
		linger := p.opts.FlushInterval
		switch o := r.out.(type) {
		case output.Streamer:
			linger = 0
		case output.Lingerer:
			linger = min(o.Linger(), linger)
			g.stream = false
		default:
			g.stream = false
		}
		g.linger = max(g.linger, linger)
	}
	g.users.Store(int32(len(p.rings)))
	old := p.cur.Load()
	if old != nil {
		old.next.Store(g) // before publishing g: workers walk to it via next
	}
	p.cur.Store(g)
	if old != nil {
		for _, w := range p.workers {
			w.poke()
		}
		if len(p.workers) == 0 { // not started yet
			p.retireLocked(old)
		}
	}
	p.m.Reloads.Inc()
	return nil
}

// pokeWorker pokes worker id, if New has built it: an output lane or
// deliverer tells it that its output went idle (see worker.due).
func (p *Pipeline) pokeWorker(id int) {
	if ws := p.started.Load(); ws != nil && id < len(*ws) {
		(*ws)[id].poke()
	}
}

// release is called by each worker once it no longer uses g.
func (p *Pipeline) release(g *generation) {
	if g.users.Add(-1) != 0 {
		return
	}
	p.mu.Lock()
	p.retireLocked(g)
	p.mu.Unlock()
}

// retireLocked stops the outputs that no live generation uses any more,
// and retires the series of the rules that none counts on any more, unless
// the pipeline is closing, when every series stays for the final
// accounting. Lock should be held.
func (p *Pipeline) retireLocked(g *generation) {
	for _, r := range g.outs {
		r.gens--
		if r.gens == 0 {
			delete(p.outputs, r.key)
			r.stop()
		}
	}
	for _, id := range g.rules {
		if p.rules[id]--; p.rules[id] == 0 {
			delete(p.rules, id)
			if !p.closed.Load() {
				p.m.RetireRule(id)
			}
		}
	}
}

// outputClosed is called once runner has delivered what it queued and
// closed its output: the last runner of a name retires its series, unless
// the pipeline is closing.
func (p *Pipeline) outputClosed(runner *outputRunner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed.Load() || runner.disk == nil || runner.disk.lines.Load() == 0 {
		// Once the pipeline is closed, what is left on disk still counts
		// as queued (Queues) for the final accounting.
		delete(p.running, runner)
	}
	p.indexOutputsLocked()
	p.releaseNameLocked(runner.name)
}

// releaseName drops a hold on the series of the output called name (a
// runner, or a replay of its dead letters); the last retires them, unless
// the pipeline is closing.
func (p *Pipeline) releaseName(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseNameLocked(name)
}

// releaseNameLocked is releaseName with Pipeline.mu held.
func (p *Pipeline) releaseNameLocked(name string) {
	if p.names[name]--; p.names[name] == 0 {
		delete(p.names, name)
		if !p.closed.Load() {
			p.m.RetireOutput(name)
		}
	}
}

// Close stops the pipeline: pushes are rejected, workers drain the rings and
// flush, and the outputs deliver what they queued and close. If ctx ends
// first, outputs stop retrying, what is still queued is counted as dropped
// (reason shutdown), and ctx's error is returned. The caller must stop the
// ingest listeners first.
func (p *Pipeline) Close(ctx context.Context) error {
	p.mu.Lock()
	if p.closed.Swap(true) {
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	p.stopDisks()
	for _, r := range p.rings {
		r.Close()
	}
	workersDone := make(chan struct{})
	go func() { p.wg.Wait(); close(workersDone) }()
	var err error
	select {
	case <-workersDone:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancel()
		<-workersDone
	}
	lanesDone := make(chan struct{})
	go func() { p.lanesWG.Wait(); close(lanesDone) }()
	select {
	case <-lanesDone:
	case <-ctx.Done():
		err = ctx.Err()
		p.cancel() // outputs stop retrying and give their batches up
		<-lanesDone
	}
	p.cancel()
	return err
}

// generation is one applied configuration and the outputs it writes to.
// Every worker releases every generation exactly once, including those it
// skipped because two Applies came between its checks.
type generation struct {
	cfg   *Config
	outs  []*outputRunner
	rules []string // ids of the rules counted in Metrics.Filtered, once each
	// stream is set when every output streams (output.Streamer): workers
	// flush as soon as they have nothing more to process.
	stream bool
	// linger is how long, after its first line, a worker holds a pending
	// batch once it has nothing more to process and every output is idle:
	// the longest any output asks for (see output.Lingerer), the flush
	// interval for an output that says nothing.
	linger time.Duration
	users  atomic.Int32               // workers that have not yet released it
	next   atomic.Pointer[generation] // the generation applied after it
}
