package drill

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/bench/lab"
	"streamgate/bench/result"
)

const (
	kafkaInTopic = "in"
	kafkaInRate  = 20_000 // records/s produced
)

// kafkaInputRestart runs a data plane whose Kafka input reads a topic of a
// broker in this process (kfake, its log kept on disk) into a sink, while
// a producer here writes to the topic at a steady rate; it stops the
// broker mid-stream and starts it again on the same port from its log.
// Every record the broker acknowledged must reach the sink: duplicates
// (records read again because their offsets were not committed yet) are
// counted and reported, losses must be 0; and once the sink has them all,
// no record may be left whose lines are not settled.
func (d *Drills) kafkaInputRestart(ctx context.Context, sc *result.ChaosScenario) error {
	calm, outage, after := 3*time.Second, 5*time.Second, 4*time.Second
	ports, err := lab.FreePorts(1)
	if err != nil {
		return err
	}
	dir := filepath.Join(d.rig.Dir, "kafka-in-"+strconv.Itoa(ports[0]))
	startBroker := func() (*kfake.Cluster, error) {
		return kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(ports[0]), kfake.DataDir(dir),
			kfake.SeedTopics(kafkaPartitions, kafkaInTopic))
	}
	broker, err := startBroker()
	if err != nil {
		return fmt.Errorf("cannot start the broker: %w", err)
	}
	defer func() { broker.Close() }()
	addr := broker.ListenAddrs()[0]

	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	mf := fmt.Sprintf(`{"version":"chaos-kafka-in","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[%s],"batch_size":100}]}`, out.JSON)
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: mf, Flags: []string{
		"-kafka-brokers", addr, "-kafka-topics", kafkaInTopic, "-kafka-group", "chaos", "-kafka-commit-interval", "200ms",
		"-log-level", "info"}})
	if err != nil {
		return err
	}
	defer px.Stop()

	// The producer: one source per partition, its sequence numbers in
	// order, so the sink can tell duplicates and gaps apart.
	pctx, stopProducing := context.WithCancel(ctx)
	defer stopProducing()
	var acked, failed atomic.Int64
	produced := make(chan error, 1)
	go func() {
		produced <- produceSequenced(pctx, addr, calm+outage+after, &acked, &failed)
	}()
	sleepCtx(ctx, calm)

	broker.Close()
	stopped := time.Now()
	fault(sc, "broker stopped for %s while records were produced (%d/s aimed at) and read, then started again on the same port from its log", outage, kafkaInRate)
	sleepCtx(ctx, outage)
	if broker, err = startBroker(); err != nil {
		return fmt.Errorf("cannot restart the broker: %w", err)
	}
	restarted := time.Now()
	if err := <-produced; err != nil {
		return err
	}
	want := acked.Load()

	// Caught up: the sink holds every acknowledged record, and the input
	// holds none whose lines are not settled (what is left to commit is
	// committed within -kafka-commit-interval).
	var rec time.Duration
	var c lab.Counters
	caught := poll(ctx, 90*time.Second, 50*time.Millisecond, func() bool {
		st, err := s.Snapshot(ctx)
		if err != nil {
			return true
		}
		if c, err = px.Counters(); err != nil {
			return true
		}
		if unique(st) >= want && c.Metrics["streamgate_kafka_uncommitted_records"] == 0 {
			rec = time.Since(restarted)
			return true
		}
		return false
	}) == nil && rec > 0
	st, err := waitSink(ctx, s, want)
	if err != nil {
		return err
	}
	if c, err = px.Counters(); err != nil {
		return err
	}
	got := unique(st)
	sc.Sent = want
	sc.Delivered = got
	sc.Dropped = int64(c.Dropped + c.OutputDropped(out.Name))
	sc.DroppedByReason = dropReasons(c, lab.Counters{})
	sc.LostUncounted = max(want-got, 0)
	sc.LoadLinesPerS = round3(float64(want) / (calm + outage + after).Seconds())
	sc.RecoveryS = round3(rec.Seconds())
	redelivered := int64(c.Metrics["streamgate_kafka_redelivered_records_total"])
	read := int64(c.Metrics["streamgate_kafka_records_total"])
	// A record the producer gave up on may still have been written.
	check(sc, "every acknowledged record reached the sink", got >= want && got <= want+failed.Load() && st.Unparsed == 0,
		"%d records acknowledged by the broker (%d not, after retries), %d distinct lines at the sink, %d duplicates, %d unreadable; "+
			"the input read %d records (%d more than were acknowledged: read again, their offsets not yet committed), %d redelivered after a drop",
		want, failed.Load(), got, st.Duplicated, st.Unparsed, read, read-want, redelivered)
	check(sc, "caught up after the restart, every record settled", caught,
		"%s after the broker came back (down %.1f s); %.0f commit errors, %.0f fetch errors meanwhile",
		recText(caught, rec), restarted.Sub(stopped).Seconds(),
		c.Metrics["streamgate_kafka_commit_errors_total"], c.Metrics["streamgate_kafka_fetch_errors_total"])
	check(sc, "each partition's lines in order", st.Reordered == 0,
		"%d lines out of order within their partition, %d sources", st.Reordered, st.Sources)
	return nil
}

// produceSequenced produces kafkaInRate records a second for d, each a
// sequenced line whose source is its partition, and counts those the
// broker acknowledged and those it failed for good.
func produceSequenced(ctx context.Context, addr string, d time.Duration, acked, failed *atomic.Int64) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(kafkaInTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RecordDeliveryTimeout(60*time.Second),
		kgo.MetadataMinAge(time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	var seq [kafkaPartitions]uint64
	const tick = 10 * time.Millisecond
	per := kafkaInRate * int(tick) / int(time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	end := time.Now().Add(d)
	n := 0
	for time.Now().Before(end) && ctx.Err() == nil {
		<-t.C
		for range per {
			p := int32(n % kafkaPartitions)
			n++
			seq[p]++
			v := fmt.Appendf(nil, "ts=%d src=p%d seq=%d kafka input drill", time.Now().UnixNano(), p, seq[p])
			cl.Produce(ctx, &kgo.Record{Partition: p, Value: v}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Add(1)
				} else {
					acked.Add(1)
				}
			})
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	return cl.Flush(fctx)
}
