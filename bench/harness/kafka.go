package harness

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	lgsink "streamgate/loadgen/sink"
)

// The Kafka output scenario's topic, and its partitions.
const (
	kafkaTopic      = "bench"
	kafkaPartitions = 8
)

// kafkaMeasure is the measure of a scenario whose data plane writes to a
// kafka output, on an in-process broker (kfake) that acknowledges records
// without storing them, so the broker's storage is not measured. What the
// broker took is the growth of its partitions' end offsets (the
// idempotent producer's retries do not move them twice); a closed-loop run
// ends at the last produce request the broker received. The broker
// shares the machine's cores with the data plane and the sender; the CPU
// figure is the data plane's alone.
type kafkaMeasure struct {
	h       *Harness
	sc      *result.Scenario
	cluster *kfake.Cluster
	client  *kgo.Client // reads the end offsets
	px      *lab.Proxy
	out     string // the output's name in the metrics
	load    lab.Load

	lastProduce       atomic.Int64 // Unix nanoseconds
	cpuTotal, linesIn float64
	stopped           bool
}

// startKafka starts the broker and a data plane whose manifest (with a %s
// for the output) writes to it, the sender sending S1's lines over TCP.
func (h *Harness) startKafka(sc *result.Scenario, manifest string) (*kafkaMeasure, error) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, kafkaTopic), kfake.BlackholeProduce())
	if err != nil {
		return nil, fmt.Errorf("cannot start the broker: %w", err)
	}
	m := &kafkaMeasure{h: h, sc: sc, cluster: cluster}
	cluster.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		m.lastProduce.Store(time.Now().UnixNano())
		return nil, nil, false // observed, then handled as usual
	})
	addr := cluster.ListenAddrs()[0]
	if m.client, err = kgo.NewClient(kgo.SeedBrokers(addr)); err != nil {
		m.stop()
		return nil, err
	}
	m.out = "kafka:" + addr + "/" + kafkaTopic
	out := fmt.Sprintf(`{"type":"kafka","brokers":[%q],"topic":%q}`, addr, kafkaTopic)
	m.px, err = h.lab.StartProxy(lab.ProxyOpts{Name: sc.Name, Manifest: fmt.Sprintf(manifest, out),
		Flags: []string{"-overflow", "block", "-pprof", "-data-dir", filepath.Join(h.lab.Dir, sc.Name+"-data")}})
	if err != nil {
		m.stop()
		return nil, err
	}
	m.load = lab.Load{Target: "tcp://" + m.px.TCP, Conns: h.cfg.Conns, Flags: lab.NoPII()}
	return m, nil
}

func (m *kafkaMeasure) scenario() *result.Scenario { return m.sc }

// endOffsets is the sum of the end offsets of the topic's partitions: how
// many records the broker has taken.
func (m *kafkaMeasure) endOffsets(ctx context.Context) (int64, error) {
	listed, err := kadm.NewClient(m.client).ListEndOffsets(ctx, kafkaTopic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		return 0, fmt.Errorf("cannot list the broker's offsets: %w", err)
	}
	var n int64
	listed.Each(func(o kadm.ListedOffset) { n += o.Offset })
	return n, nil
}

// settle waits until the data plane has received the sent lines and holds
// none in its pipeline or queued for the output (an output counts a line
// delivered once the broker acknowledged it), and checks that the broker
// has at least those records; it returns the last counters and end
// offsets read.
func (m *kafkaMeasure) settle(ctx context.Context, base lab.Counters, baseOffsets, sent int64) (lab.Counters, int64, error) {
	deadline := time.Now().Add(lab.SettleTimeout)
	for {
		c, err := m.px.Counters()
		if err != nil {
			return c, 0, fmt.Errorf("cannot read proxy counters: %w", err)
		}
		offsets, err := m.endOffsets(ctx)
		if err != nil {
			return c, 0, err
		}
		delivered := c.OutputDelivered(m.out) - base.OutputDelivered(m.out)
		if c.Received-base.Received >= float64(sent) && c.InPipeline() == 0 && c.QueuedSince(base, m.out) == 0 &&
			float64(offsets-baseOffsets) >= delivered {
			return c, offsets, nil
		}
		if time.Now().After(deadline) {
			return c, offsets, fmt.Errorf("proxy did not settle within %s: received %.0f of %d lines sent, %.0f in the pipeline, %.0f queued for the output, the broker has %d of the %.0f delivered to it",
				lab.SettleTimeout, c.Received-base.Received, sent, c.InPipeline(), c.QueuedSince(base, m.out), offsets-baseOffsets, delivered)
		}
		select {
		case <-ctx.Done():
			return c, offsets, fmt.Errorf("cannot settle proxy: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (m *kafkaMeasure) run(ctx context.Context, i int) error {
	h, sc := m.h, m.sc
	base, err := m.px.Counters()
	if err != nil {
		return fmt.Errorf("cannot read proxy counters: %w", err)
	}
	baseOffsets, err := m.endOffsets(ctx)
	if err != nil {
		return err
	}
	cpu0, _ := m.px.Proc.CPUSeconds()
	var prof chan []result.ProfileEntry
	if i == 0 {
		prof = h.profile(ctx, m.px, sc.Name)
	}
	closed := m.load
	closed.Lines = int64(h.cfg.Lines)
	start := time.Now()
	sum, err := h.lab.Send(closed)
	if err != nil {
		return err
	}
	c, offsets, err := m.settle(ctx, base, baseOffsets, sum.Sent)
	if err != nil {
		return err
	}
	cpu1, _ := m.px.Proc.CPUSeconds()
	last := m.lastProduce.Load()
	if last < start.UnixNano() {
		return fmt.Errorf("the broker received no produce request in run %d", i+1)
	}
	// The broker's records stand for the sink's lines: it takes them
	// whole or not at all, and does not store them to be scanned.
	h.account(sc, sum, c, base, lgsink.Stats{Lines: offsets - baseOffsets})
	elapsed := time.Unix(0, last).Sub(start).Seconds()
	tput := float64(sum.Sent) / elapsed
	sc.Runs = append(sc.Runs, math.Round(tput))
	m.cpuTotal += cpu1 - cpu0
	m.linesIn += float64(sum.Sent)
	if prof != nil {
		sc.Profile = <-prof
	}
	h.log.Info("throughput run", "scenario", sc.Name, "run", i+1, "lines", sum.Sent, "seconds", fmt.Sprintf("%.2f", elapsed), "lines_per_s", int(tput))
	return nil
}

// done sets the median and the CPU per line. There is no open-loop
// latency phase: the broker does not keep the records' send times.
func (m *kafkaMeasure) done(context.Context) error {
	sc := m.sc
	sc.Throughput = median(sc.Runs)
	if m.linesIn > 0 {
		sc.CPUSPerMillion = round3(m.cpuTotal / m.linesIn * 1e6)
	}
	sc.PeakRSSMB, _ = m.px.Proc.PeakRSSMB()
	sc.PeakRSSMB = round3(sc.PeakRSSMB)
	return nil
}

func (m *kafkaMeasure) stop() {
	if m.stopped {
		return
	}
	m.stopped = true
	if m.px != nil {
		m.px.Stop()
	}
	if m.client != nil {
		m.client.Close()
	}
	m.cluster.Close()
}
