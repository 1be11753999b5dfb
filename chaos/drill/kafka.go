package drill

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	lgsink "streamgate/loadgen/sink"
)

const (
	kafkaTopic      = "logs"
	kafkaPartitions = 4
	kafkaRate       = 20_000
)

// kafkaRestart runs a data plane whose kafka output produces to a broker
// in this process (kfake, its log kept on disk), stops the broker under a
// steady load and starts it again on the same port from its log. The
// output's batches wait in its queue and its retries meanwhile; once the
// broker is back every line sent must be in the topic once, or dropped and
// counted, and the lines of one source (the key) in order.
func (d *Drills) kafkaRestart(ctx context.Context, sc *result.ChaosScenario) error {
	calm, outage, after := 3*time.Second, 5*time.Second, 4*time.Second
	ports, err := lab.FreePorts(1)
	if err != nil {
		return err
	}
	dir := filepath.Join(d.rig.Dir, "kafka-"+strconv.Itoa(ports[0]))
	startBroker := func() (*kfake.Cluster, error) {
		return kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(ports[0]), kfake.DataDir(dir),
			kfake.SeedTopics(kafkaPartitions, kafkaTopic))
	}
	broker, err := startBroker()
	if err != nil {
		return fmt.Errorf("cannot start the broker: %w", err)
	}
	defer func() { broker.Close() }()
	addr := broker.ListenAddrs()[0]
	outName := "kafka:" + addr + "/" + kafkaTopic
	mf := fmt.Sprintf(`{"version":"chaos-kafka","pipelines":[{"name":"default_pipeline","processors":[],
		"outputs":[{"type":"kafka","brokers":[%q],"topic":%q,"key_field":"src","timeout_ms":60000}],"batch_size":100}]}`, addr, kafkaTopic)
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: mf,
		Flags: []string{"-output-queue-bytes", strconv.Itoa(outputQueueBytes)}})
	if err != nil {
		return err
	}
	defer px.Stop()
	base, err := px.Counters()
	if err != nil {
		return err
	}
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: kafkaRate, Duration: calm + outage + after, Conns: 2, Flags: lab.NoPII()})
	if err != nil {
		return err
	}
	defer ld.Proc.Kill() // on an early return; a no-op once it has exited
	sleepCtx(ctx, calm)

	broker.Close()
	stopped := time.Now()
	fault(sc, "broker stopped for %s at %d lines/s, then started again on the same port from its log", outage, kafkaRate)
	sleepCtx(ctx, outage)
	if broker, err = startBroker(); err != nil {
		return fmt.Errorf("cannot restart the broker: %w", err)
	}
	restarted := time.Now()
	atRestart, err := px.Counters()
	if err != nil {
		return err
	}
	// Caught up: the output has handled every line emitted before the
	// broker came back.
	var rec time.Duration
	caught := poll(ctx, 30*time.Second, 20*time.Millisecond, func() bool {
		c, err := px.Counters()
		if err != nil {
			return true
		}
		if c.OutputDelivered(outName)+c.OutputDropped(outName)+c.OutputDeadLettered(outName) >= atRestart.Emitted {
			rec = time.Since(restarted)
			return true
		}
		return false
	}) == nil && rec > 0
	heldLines := int64(atRestart.QueuedSince(base, outName))

	sum, err := ld.Wait()
	if err != nil {
		return err
	}
	var c lab.Counters
	if err := poll(ctx, 90*time.Second, 50*time.Millisecond, func() bool {
		c, err = px.Counters()
		return err == nil && int64(c.Received-base.Received) >= sum.Sent && c.InPipeline() == 0 && c.QueuedSince(base, outName) == 0
	}); err != nil {
		return fmt.Errorf("the proxy did not settle: received %.0f of %d, %.0f in the pipeline, %.0f queued for the output: %w",
			c.Received-base.Received, sum.Sent, c.InPipeline(), c.QueuedSince(base, outName), err)
	}
	delivered := int64(c.OutputDelivered(outName) - base.OutputDelivered(outName))

	tp, err := readTopic(ctx, addr, delivered)
	if err != nil {
		return err
	}
	account(sc, sum.Sent, c, base, outName, tp.distinct)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(rec.Seconds())
	check(sc, "output caught up after the restart", caught,
		"%s after the broker came back (down %.1f s); %d lines waited in the output's queue and retries at the restart",
		recText(caught, rec), restarted.Sub(stopped).Seconds(), heldLines)
	outDropped := int64(c.OutputDropped(outName) - base.OutputDropped(outName))
	check(sc, "nothing dropped", outDropped == 0,
		"%d lines acknowledged by the broker, %d dropped and counted by the output (%s)", delivered, outDropped, reasonsText(dropReasons(c, base)))
	check(sc, "topic holds what was acknowledged, once", tp.records == delivered && tp.distinct == delivered && tp.unparsed == 0,
		"%d records in the topic, %d distinct lines, %d duplicates, %d unreadable; the output counted %d delivered",
		tp.records, tp.distinct, tp.records-tp.distinct-tp.unparsed, tp.unparsed, delivered)
	check(sc, "each source's keyed lines in order", tp.reordered == 0 && tp.keyed > 0,
		"%d JSON lines keyed by src over %d partitions; %d out of order within their source", tp.keyed, tp.partitions, tp.reordered)
	return nil
}

// topicStats is what readTopic found.
type topicStats struct {
	records, distinct, unparsed int64
	// keyed counts the records with a key, and reordered those whose
	// sequence number is not above the previous one of their key.
	keyed, reordered int64
	partitions       int
}

// readTopic reads the drill's topic from the start until it holds at
// least want records and no more arrive for a moment, and checks them.
func readTopic(ctx context.Context, addr string, want int64) (topicStats, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(kafkaTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		return topicStats{}, err
	}
	defer cl.Close()
	var st topicStats
	seen := map[string]bool{}
	last := map[string]uint64{} // by key: the last sequence number
	parts := map[int32]bool{}
	quiet := 0
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			st.records++
			parts[r.Partition] = true
			l, ok := lgsink.ParseLine(r.Value)
			if !ok {
				st.unparsed++
				return
			}
			id := string(l.Src) + "/" + strconv.FormatUint(l.Seq, 10)
			if !seen[id] {
				seen[id] = true
				st.distinct++
			}
			if len(r.Key) > 0 {
				st.keyed++
				k := string(r.Key)
				if l.Seq <= last[k] {
					st.reordered++
				}
				last[k] = l.Seq
			}
		})
		if n > 0 {
			quiet = 0
			continue
		}
		if quiet++; st.records >= want && quiet >= 3 {
			break
		}
	}
	st.partitions = len(parts)
	if st.records < want {
		return st, fmt.Errorf("the topic holds %d records; the output counted %d delivered", st.records, want)
	}
	return st, nil
}
