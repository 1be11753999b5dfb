package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// Defaults of KafkaConfig.
const (
	DefaultKafkaMaxUncommittedRecords = 50_000
	DefaultKafkaMaxUncommittedBytes   = 8 << 20
	DefaultKafkaCommitInterval        = time.Second
	// DefaultKafkaFetchMaxBytes bounds what one fetch brings (compressed),
	// and so what the client buffers ahead of the input, decoded: log
	// lines compress five to ten times, and each record costs the client
	// a struct of some 170 bytes. Larger fetches, beside the uncommitted
	// lines, make the garbage collector work hard under the data plane's
	// memory limit (-memory-limit): on one machine, 4 MiB fetches drained
	// a topic at a third of the speed of 512 KiB ones, for three times the
	// CPU.
	DefaultKafkaFetchMaxBytes = 512 << 10
)

const (
	// kafkaBatchRecords and kafkaBatchBytes bound the records of one
	// partition pushed as one batch. A batch's buffer comes from the
	// record pool's 64 KiB class: one that its lines fill at least half
	// is held by the output batches, not copied (pipeline's dense).
	kafkaBatchRecords = 1024
	kafkaBatchBytes   = 64 << 10
	// kafkaRevokeWait bounds how long a rebalance waits for the lines in
	// the pipeline of the partitions it takes away to be settled, so that
	// their offsets are committed and the next owner does not read them
	// again. Past it the next owner reads them again: duplicates, not
	// losses.
	kafkaRevokeWait = 5 * time.Second
	// kafkaRetryWait is the pause before the lines of records that were
	// dropped in the data plane are pushed again.
	kafkaRetryWait = 500 * time.Millisecond
	// kafkaPushWait is how long a push waits for room in a full buffer
	// under the drop policies before lines are dropped (and pushed again):
	// Kafka holds what is not read yet, so the input can wait.
	kafkaPushWait = time.Minute
	// kafkaLogEvery spaces the warnings of fetch and commit errors.
	kafkaLogEvery = time.Minute
)

// KafkaConfig configures the Kafka input.
type KafkaConfig struct {
	// Brokers to bootstrap from, host:port each.
	Brokers []string
	// Topics to consume.
	Topics []string
	// Group is the consumer group: the data planes of one group share the
	// topics' partitions, each partition read by one of them at a time.
	Group string
	// MaxUncommittedRecords and MaxUncommittedBytes (of record values)
	// bound what the input has read and not yet committed: at either, it
	// stops fetching until commits catch up. 0 means the default.
	MaxUncommittedRecords int
	MaxUncommittedBytes   int
	// CommitInterval is how often the offsets of settled records are
	// committed; 0 means DefaultKafkaCommitInterval.
	CommitInterval time.Duration
	// FetchMaxBytes bounds what one fetch brings; 0 means
	// DefaultKafkaFetchMaxBytes.
	FetchMaxBytes int
	// Opts are extra client options: TLS, SASL (see output.KafkaClientOpts),
	// shorter waits in tests.
	Opts []kgo.Opt
}

// Validate checks c, naming the flags in its errors; it reports every
// problem at once.
func (c *KafkaConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("-kafka-brokers: required with -kafka-topics (host:port, comma-separated)"))
	}
	for _, b := range c.Brokers {
		if host, port, err := net.SplitHostPort(b); err != nil || host == "" || port == "" {
			errs = append(errs, fmt.Errorf("-kafka-brokers: want host:port; got %q", b))
		}
	}
	if len(c.Topics) == 0 {
		errs = append(errs, errors.New("-kafka-topics: required with -kafka-brokers (comma-separated)"))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("-kafka-group: required with -kafka-topics"))
	}
	if c.MaxUncommittedRecords < 0 {
		errs = append(errs, fmt.Errorf("-kafka-max-uncommitted-records: want a positive number; got %d", c.MaxUncommittedRecords))
	}
	if c.MaxUncommittedBytes < 0 {
		errs = append(errs, fmt.Errorf("-kafka-max-uncommitted-bytes: want a positive number; got %d", c.MaxUncommittedBytes))
	}
	if c.FetchMaxBytes < 0 {
		errs = append(errs, fmt.Errorf("-kafka-fetch-max-bytes: want a positive number; got %d", c.FetchMaxBytes))
	}
	if c.CommitInterval < 0 {
		errs = append(errs, fmt.Errorf("-kafka-commit-interval: want a positive duration; got %s", c.CommitInterval))
	}
	return errors.Join(errs...)
}

// Kafka is a consumer-group input: it reads records from Kafka topics and
// pushes each line of each record's value (split at newlines, as TCP
// lines are: one trailing '\r' removed, empty lines ignored, lines over
// MaxLine dropped and counted as oversize) to the pipeline.
//
// Delivery is at least once. A record's offset is committed only once
// every line of it, and of the records before it in its partition, is
// settled: filtered or sampled away, or taken by every output (persisted
// to its disk buffer, or delivered by an output that queues in memory);
// the batch pushed carries a record.Ack. Lines dropped in the data plane
// (a full buffer, an output's queue full, its destination failing) are
// pushed again, and their offsets wait. After a crash, or when a
// partition moves to another member of the group before its lines were
// settled, the records not committed are read again: duplicates, never
// losses.
//
// What it has read and cannot commit yet is bounded (MaxUncommittedRecords,
// MaxUncommittedBytes): at the bound it stops fetching until lines are
// settled; a fetch brings at most FetchMaxBytes. The lines of one
// partition go to one pipeline worker, in order (redeliveries excepted).
//
// Lock order: commitMu, then mu.
type Kafka struct {
	cfg Config
	kc  KafkaConfig
	cl  *kgo.Client

	ctx    context.Context // polling; canceled by Stop
	cancel context.CancelFunc
	done   chan struct{} // closed when the poll loop returns
	cdone  chan struct{} // closed when the committer returns
	cstop  context.CancelFunc
	// stopping is set by Stop: lines dropped from then on are not
	// pushed again, and a rebalance does not wait for the pipeline.
	stopping atomic.Bool

	room    chan struct{} // poked when commits free room or a retry is due
	settled chan struct{} // poked when a batch's Ack completes

	commitMu sync.Mutex // serialises commits: the committer's and the rebalance's

	mu    sync.Mutex
	parts map[kafkaTP]*kafkaPartition // assigned; mu
	retry []*kafkaBatch               // dropped, to push again; mu
	recs  int64                       // records read, not yet committable; mu
	size  int64                       // their values' bytes; mu

	records, redelivered, commits, commitErrors, fetchErrors, pauses *vm.Counter
	assigned, revoked, lost                                          *vm.Counter

	lastWarn atomic.Int64 // unix nanoseconds of the last error warning
}

// kafkaTP names a partition.
type kafkaTP struct {
	topic     string
	partition int32
}

// kafkaPartition is what the input knows of a partition assigned to it.
// Fields are guarded by Kafka.mu.
type kafkaPartition struct {
	tp  kafkaTP
	key uint64 // its batches' source key: one worker, in order
	// pending are its batches read and not yet committable, in the order
	// they were read: the first not settled holds back the commit.
	pending []*kafkaBatch
	// commit is the offset to commit (the next to read after the last
	// settled batch), committed the last committed; -1 for none.
	commit    kgo.EpochOffset
	committed int64
	// inPipeline counts its batches pushed and not settled (their Ack not
	// done).
	inPipeline int
	hw, next   int64 // high watermark at the last fetch, next offset to read
	revoked    bool  // no longer assigned: its Acks change nothing
}

// kafkaBatch is some records of one partition, pushed as one batch.
type kafkaBatch struct {
	k    *Kafka
	part *kafkaPartition
	// vals are the records' values, one after the other, each ending at
	// its entry of ends: a copy without pointers, which the garbage
	// collector does not scan, kept until the lines are settled, to be
	// pushed again if they are dropped; nil once settled.
	vals    []byte
	ends    []int
	end     kgo.EpochOffset // the offset to commit once settled
	n, size int64           // records, values' bytes
	settled bool
}

// NewKafka validates kc and creates the client; it does not connect: the
// client dials the brokers when Start polls. cfg gives the Sink, the
// counters, the longest line and the logger.
func NewKafka(kc KafkaConfig, cfg Config) (*Kafka, error) {
	if err := kc.Validate(); err != nil {
		return nil, err
	}
	if kc.MaxUncommittedRecords == 0 {
		kc.MaxUncommittedRecords = DefaultKafkaMaxUncommittedRecords
	}
	if kc.MaxUncommittedBytes == 0 {
		kc.MaxUncommittedBytes = DefaultKafkaMaxUncommittedBytes
	}
	if kc.CommitInterval == 0 {
		kc.CommitInterval = DefaultKafkaCommitInterval
	}
	if kc.FetchMaxBytes == 0 {
		kc.FetchMaxBytes = DefaultKafkaFetchMaxBytes
	}
	cfg = cfg.withDefaults()
	m := cfg.Metrics
	k := &Kafka{
		cfg:          cfg,
		kc:           kc,
		done:         make(chan struct{}),
		cdone:        make(chan struct{}),
		room:         make(chan struct{}, 1),
		settled:      make(chan struct{}, 1),
		parts:        make(map[kafkaTP]*kafkaPartition),
		records:      m.Counter(metrics.KafkaRecords),
		redelivered:  m.Counter(metrics.KafkaRedelivered),
		commits:      m.Counter(metrics.KafkaCommits),
		commitErrors: m.Counter(metrics.KafkaCommitErrors),
		fetchErrors:  m.Counter(metrics.KafkaFetchErrors),
		pauses:       m.Counter(metrics.KafkaPauses),
		assigned:     m.KafkaRebalances(metrics.KafkaAssigned),
		revoked:      m.KafkaRebalances(metrics.KafkaRevoked),
		lost:         m.KafkaRebalances(metrics.KafkaLost),
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(kc.Brokers...),
		kgo.ConsumeTopics(kc.Topics...),
		kgo.ConsumerGroup(kc.Group),
		kgo.ClientID("streamgate"),
		kgo.DisableAutoCommit(),
		// A group seen for the first time reads its topics from the start:
		// what was produced before the first data plane joined is kept.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(k.onAssigned),
		kgo.OnPartitionsRevoked(k.onRevoked),
		kgo.OnPartitionsLost(k.onLost),
		kgo.MetadataMinAge(time.Second),
		kgo.FetchMaxBytes(int32(min(kc.FetchMaxBytes, math.MaxInt32))),
		kgo.FetchMaxPartitionBytes(int32(min(kc.FetchMaxBytes, 1<<20))),
	}
	cl, err := kgo.NewClient(append(opts, kc.Opts...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot start kafka client: %w", err)
	}
	k.cl = cl
	m.Gauge(metrics.KafkaUncommittedRecords, func() float64 { r, _ := k.uncommitted(); return float64(r) })
	m.Gauge(metrics.KafkaUncommittedBytes, func() float64 { _, b := k.uncommitted(); return float64(b) })
	m.Gauge(metrics.KafkaPartitions, func() float64 { return float64(k.partitions()) })
	m.Gauge(metrics.KafkaLag, func() float64 { return float64(k.Lag()) })
	return k, nil
}

// Start starts polling and committing.
func (k *Kafka) Start() {
	k.ctx, k.cancel = context.WithCancel(context.Background())
	cctx, cstop := context.WithCancel(context.Background())
	k.cstop = cstop
	go func() {
		defer close(k.done)
		k.poll()
	}()
	go func() {
		defer close(k.cdone)
		k.committer(cctx)
	}()
}

// Stop stops reading: it returns once no batch is being pushed. Lines
// dropped from then on are not pushed again. The pipeline should then be
// drained, and Close called, to commit what it settled.
func (k *Kafka) Stop() {
	k.stopping.Store(true)
	if k.cancel == nil {
		return
	}
	k.cancel()
	<-k.done
}

// Close commits the offsets of what was settled, within ctx, leaves the
// group and closes the client. Call it after Stop and once the pipeline is
// drained.
func (k *Kafka) Close(ctx context.Context) error {
	k.Stop()
	var err error
	if k.cstop != nil {
		k.cstop()
		<-k.cdone
		err = k.commit(ctx)
	}
	// Leaving the group revokes every partition: onRevoked commits again
	// (nothing new) without waiting.
	k.cl.Close()
	return err
}

// uncommitted returns the records and bytes read and not committable yet.
func (k *Kafka) uncommitted() (int64, int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.recs, k.size
}

func (k *Kafka) partitions() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.parts)
}

// Lag is how many records of the assigned partitions are not read yet, as
// of the last fetch of each.
func (k *Kafka) Lag() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n int64
	for _, p := range k.parts {
		if p.hw > p.next && p.next >= 0 {
			n += p.hw - p.next
		}
	}
	return n
}

// poke wakes whoever waits on c, without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// poll reads records and pushes their lines until Stop.
func (k *Kafka) poll() {
	paused := false
	for k.ctx.Err() == nil {
		k.mu.Lock()
		retry := k.retry
		k.retry = nil
		room := int64(k.kc.MaxUncommittedRecords) - k.recs
		full := room <= 0 || k.size >= int64(k.kc.MaxUncommittedBytes)
		k.mu.Unlock()
		if len(retry) > 0 {
			if !sleepCtx(k.ctx, kafkaRetryWait) {
				return
			}
			for _, b := range retry {
				k.redelivered.Add(int(b.n))
				k.push(b)
			}
			continue
		}
		if full {
			if !paused {
				paused = true
				k.pauses.Inc()
			}
			select {
			case <-k.room:
			case <-k.ctx.Done():
				return
			}
			continue
		}
		paused = false
		fs := k.cl.PollRecords(k.ctx, int(min(room, math.MaxInt32)))
		if fs.IsClientClosed() || k.ctx.Err() != nil {
			return
		}
		fs.EachError(func(topic string, partition int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			k.fetchErrors.Inc()
			k.warn("kafka input: cannot fetch", "topic", topic, "partition", partition, "err", err)
		})
		fs.EachPartition(k.take)
	}
}

// sleepCtx sleeps for d, or until ctx is done: then it reports false.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// take pushes the records of one partition's fetch, in batches.
func (k *Kafka) take(f kgo.FetchTopicPartition) {
	if len(f.Records) == 0 {
		return
	}
	k.records.Add(len(f.Records))
	k.mu.Lock()
	part := k.parts[kafkaTP{f.Topic, f.Partition}]
	if part != nil {
		part.hw = f.HighWatermark
		part.next = f.Records[len(f.Records)-1].Offset + 1
	}
	k.mu.Unlock()
	if part == nil {
		return // revoked since it was fetched: its next owner reads it
	}
	recs := f.Records
	for len(recs) > 0 {
		n, size := 0, 0
		for n < len(recs) && n < kafkaBatchRecords && (n == 0 || size+len(recs[n].Value) <= kafkaBatchBytes) {
			size += len(recs[n].Value)
			n++
		}
		last := recs[n-1]
		b := &kafkaBatch{k: k, part: part, n: int64(n), size: int64(size),
			vals: make([]byte, 0, size), ends: make([]int, n),
			end: kgo.EpochOffset{Epoch: last.LeaderEpoch, Offset: last.Offset + 1}}
		for i, r := range recs[:n] {
			b.vals = append(b.vals, r.Value...)
			b.ends[i] = len(b.vals)
		}
		recs = recs[n:]
		k.mu.Lock()
		if part.revoked {
			k.mu.Unlock()
			return
		}
		part.pending = append(part.pending, b)
		k.recs += b.n
		k.size += b.size
		k.mu.Unlock()
		k.push(b)
	}
}

// push pushes b's lines with an Ack that settles b.
func (k *Kafka) push(b *kafkaBatch) {
	k.mu.Lock()
	if b.part.revoked {
		k.mu.Unlock()
		return
	}
	b.part.inPipeline++
	k.mu.Unlock()
	batch := record.Get(int(b.size))
	batch.Key = b.part.key
	oversize := 0
	start := 0
	for _, end := range b.ends {
		oversize += appendRecordLines(batch, b.vals[start:end], k.cfg.MaxLine)
		start = end
	}
	ack := record.NewAckFunc(b.done)
	if len(batch.Lines) > 0 {
		batch.Ack(ack)
	}
	// An error means the batch was dropped (Stop, or the pipeline closed):
	// its Ack fails, which the batch accounts for.
	deliver(k.ctx, &k.cfg, batch, oversize, kafkaPushWait)
	ack.Release(true)
}

// appendRecordLines appends to batch the lines of a record's value v: one
// per '\n', a '\r' before it trimmed, empty ones left out. It returns how
// many were longer than maxLine: those are left out too, for the caller to
// count.
func appendRecordLines(batch *record.Batch, v []byte, maxLine int) (oversize int) {
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		switch {
		case len(line) == 0:
		case len(line) > maxLine:
			oversize++
		default:
			batch.AppendLine(line)
		}
	}
	return oversize
}

// done is the Ack function of b's push: a batch whose lines are settled
// may make its partition's commit move on; one whose lines were dropped
// is pushed again.
func (b *kafkaBatch) done(ok bool) {
	k := b.k
	k.mu.Lock()
	p := b.part
	p.inPipeline--
	switch {
	case p.revoked:
	case ok:
		b.settled, b.vals, b.ends = true, nil, nil
		n := 0
		for n < len(p.pending) && p.pending[n].settled {
			p.commit = p.pending[n].end
			k.recs -= p.pending[n].n
			k.size -= p.pending[n].size
			n++
		}
		if n > 0 {
			clear(p.pending[:n])
			p.pending = p.pending[n:]
			poke(k.room)
		}
	case !k.stopping.Load():
		k.retry = append(k.retry, b)
		poke(k.room)
	}
	k.mu.Unlock()
	poke(k.settled)
}

// committer commits the settled offsets every CommitInterval until ctx is
// done.
func (k *Kafka) committer(ctx context.Context) {
	t := time.NewTicker(k.kc.CommitInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.commit(ctx)
	}
}

// commit commits the offsets of the assigned partitions whose settled
// offset moved on since their last commit.
func (k *Kafka) commit(ctx context.Context) error {
	k.commitMu.Lock()
	defer k.commitMu.Unlock()
	k.mu.Lock()
	var parts []*kafkaPartition
	for _, p := range k.parts {
		if p.commit.Offset > p.committed {
			parts = append(parts, p)
		}
	}
	k.mu.Unlock()
	return k.commitLocked(ctx, parts)
}

// commitLocked commits the settled offsets of parts. Lock commitMu should
// be held.
func (k *Kafka) commitLocked(ctx context.Context, parts []*kafkaPartition) error {
	if len(parts) == 0 {
		return nil
	}
	offsets := make(map[string]map[int32]kgo.EpochOffset)
	k.mu.Lock()
	for _, p := range parts {
		if offsets[p.tp.topic] == nil {
			offsets[p.tp.topic] = make(map[int32]kgo.EpochOffset)
		}
		offsets[p.tp.topic][p.tp.partition] = p.commit
	}
	k.mu.Unlock()
	var err error
	k.cl.CommitOffsetsSync(ctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, cerr error) {
		if cerr != nil {
			err = cerr
			return
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, t := range resp.Topics {
			for _, rp := range t.Partitions {
				if perr := kerr.ErrorForCode(rp.ErrorCode); perr != nil {
					err = fmt.Errorf("topic %s partition %d: %w", t.Topic, rp.Partition, perr)
					continue
				}
				for _, p := range parts {
					if p.tp.topic == t.Topic && p.tp.partition == rp.Partition {
						p.committed = offsets[t.Topic][rp.Partition].Offset
					}
				}
			}
		}
	})
	if err != nil {
		k.commitErrors.Inc()
		k.warn("kafka input: cannot commit offsets; they are committed with the next commit, or read again after a restart", "err", err)
		return fmt.Errorf("cannot commit kafka offsets: %w", err)
	}
	k.commits.Inc()
	return nil
}

// warn logs at most once per kafkaLogEvery.
func (k *Kafka) warn(msg string, args ...any) {
	now := time.Now().UnixNano()
	last := k.lastWarn.Load()
	if now-last < int64(kafkaLogEvery) || !k.lastWarn.CompareAndSwap(last, now) {
		return
	}
	k.cfg.Logger.Warn(msg, args...)
}

// onAssigned starts the state of the partitions given to this member.
func (k *Kafka) onAssigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for topic, ps := range assigned {
		for _, p := range ps {
			tp := kafkaTP{topic, p}
			if k.parts[tp] == nil {
				k.parts[tp] = &kafkaPartition{tp: tp, key: nextKey(), committed: -1, commit: kgo.EpochOffset{Epoch: -1, Offset: -1}, next: -1}
				k.assigned.Inc()
			}
		}
	}
	k.cfg.Logger.Info("kafka input: partitions assigned", "group", k.kc.Group, "assigned", assigned)
}

// onRevoked waits, within kafkaRevokeWait, for the lines in the pipeline
// of the partitions taken away to be settled, commits their offsets and
// forgets them. It also runs when the client leaves the group (Close).
func (k *Kafka) onRevoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	parts := k.forget(revoked, true)
	if len(parts) == 0 {
		return
	}
	k.revoked.Add(len(parts))
	k.cfg.Logger.Info("kafka input: partitions revoked", "group", k.kc.Group, "revoked", revoked)
}

// onLost forgets the partitions lost without a chance to commit: their
// next owner reads again what was not committed.
func (k *Kafka) onLost(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
	parts := k.forget(lost, false)
	k.lost.Add(len(parts))
	if len(parts) > 0 {
		k.cfg.Logger.Warn("kafka input: partitions lost; what was not committed is read again by their next owner", "group", k.kc.Group, "lost", lost)
	}
}

// forget stops tracking the given partitions, first waiting for their
// lines in the pipeline and committing, when commit is set; it returns
// the partitions it knew.
func (k *Kafka) forget(tps map[string][]int32, commit bool) []*kafkaPartition {
	k.mu.Lock()
	var parts []*kafkaPartition
	for topic, ps := range tps {
		for _, p := range ps {
			if part := k.parts[kafkaTP{topic, p}]; part != nil {
				parts = append(parts, part)
			}
		}
	}
	k.mu.Unlock()
	if len(parts) == 0 {
		return nil
	}
	if commit && !k.stopping.Load() {
		k.awaitSettled(parts)
	}
	k.commitMu.Lock()
	defer k.commitMu.Unlock()
	if commit {
		var due []*kafkaPartition
		k.mu.Lock()
		for _, p := range parts {
			if p.commit.Offset > p.committed {
				due = append(due, p)
			}
		}
		k.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), kafkaRevokeWait)
		k.commitLocked(ctx, due)
		cancel()
	}
	k.mu.Lock()
	for _, p := range parts {
		p.revoked = true
		for _, b := range p.pending {
			k.recs -= b.n
			k.size -= b.size
		}
		p.pending = nil
		delete(k.parts, p.tp)
	}
	k.mu.Unlock()
	poke(k.room)
	return parts
}

// awaitSettled waits, within kafkaRevokeWait, until no line of parts is
// in the pipeline.
func (k *Kafka) awaitSettled(parts []*kafkaPartition) {
	t := time.NewTimer(kafkaRevokeWait)
	defer t.Stop()
	for {
		k.mu.Lock()
		n := 0
		for _, p := range parts {
			n += p.inPipeline
		}
		k.mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-k.settled:
		case <-t.C:
			return
		}
	}
}
