package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/dataplane/ingest"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/metrics"
)

const (
	kafkaInTopic      = "in"
	kafkaInPartitions = 4
)

// newKafkaIn starts an in-memory Kafka cluster of one broker with the
// topic kafkaInTopic in kafkaInPartitions partitions.
func newKafkaIn(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaInPartitions, kafkaInTopic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// produceLines writes n records "<prefix> <i>", spread over the
// partitions, and waits for them to be acknowledged.
func produceLines(t *testing.T, addrs []string, prefix string, from, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(kafkaInTopic),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var want []string
	recs := make([]*kgo.Record, 0, n)
	for i := from; i < from+n; i++ {
		line := fmt.Sprintf("%s %d", prefix, i)
		want = append(want, line)
		recs = append(recs, &kgo.Record{Value: []byte(line)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return want
}

// committedOffsets returns the group's committed offset of each partition
// of kafkaInTopic (-1: none). A client is kept per cluster for the test.
func committedOffsets(t *testing.T, addrs []string, group string) []int64 {
	t.Helper()
	key := strings.Join(addrs, ",")
	cl := offsetClients[key]
	if cl == nil {
		var err error
		if cl, err = kgo.NewClient(kgo.SeedBrokers(addrs...)); err != nil {
			t.Fatal(err)
		}
		offsetClients[key] = cl
		t.Cleanup(func() { cl.Close(); delete(offsetClients, key) })
	}
	time.Sleep(10 * time.Millisecond) // when polled: ask the broker less often
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	// The group's own error, such as a coordinator still loading, is
	// nothing committed yet: the caller polls.
	if ke := (*kerr.Error)(nil); err != nil && !errors.As(err, &ke) {
		t.Fatalf("offset fetch: %v", err)
	}
	out := slices.Repeat([]int64{-1}, kafkaInPartitions)
	for p := range out {
		if o, ok := resp.Lookup(kafkaInTopic, int32(p)); ok {
			out[p] = o.At
		}
	}
	return out
}

// offsetClients are committedOffsets' clients, by cluster; tests using
// them do not run in parallel.
var offsetClients = map[string]*kgo.Client{}

func sum(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += max(x, 0)
	}
	return n
}

// startKafkaIn starts a data plane reading kafkaInTopic in group into the
// capture sink, its commits every 20 ms.
func startKafkaIn(t *testing.T, addrs []string, group, sink string) *Server {
	t.Helper()
	logs := &logbuf.Buffer{}
	s := start(t, Options{
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Kafka: &ingest.KafkaConfig{Brokers: addrs, Topics: []string{kafkaInTopic}, Group: group,
			CommitInterval: 20 * time.Millisecond,
			Opts:           []kgo.Opt{kgo.FetchMaxWait(50 * time.Millisecond)}},
		Manifest: mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[
			{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}],
			"outputs":[{"type":"capture","url":"`+sink+`"}]}]}`),
	})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	return s
}

// TestKafkaInput: every line of every record reaches the output (a record
// of several lines gives several lines; filtered lines are settled too),
// and once they are delivered the offsets of every record are committed.
func TestKafkaInput(t *testing.T) {
	c := newKafkaIn(t)
	addrs := c.ListenAddrs()
	want := produceLines(t, addrs, "line", 0, 200)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(kafkaInTopic))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.ProduceSync(ctx,
		&kgo.Record{Value: []byte("first of two\r\nsecond of two\n")},
		&kgo.Record{Value: []byte("DEBUG filtered away")},
		&kgo.Record{Value: nil},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	want = append(want, "first of two", "second of two")

	sink := capture.Unique("kafka-in")
	s := startKafkaIn(t, addrs, "g", sink)
	waitFor(t, "every line", func() bool { return capture.Get(sink).Len() >= len(want) })
	waitFor(t, "every offset committed", func() bool { return sum(committedOffsets(t, addrs, "g")) == 203 })
	got := capture.Get(sink).Lines()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines; want %d (%q...)", len(got), len(want), got[:min(5, len(got))])
	}
	m := s.Metrics()
	if n := m.Counter(metrics.KafkaRecords).Get(); n != 203 {
		t.Errorf("records read: got %d; want 203", n)
	}
	if n := m.Filtered("drop_debug").Get(); n != 1 {
		t.Errorf("filtered: got %d; want 1", n)
	}
	if n := m.KafkaRebalances(metrics.KafkaAssigned).Get(); n != kafkaInPartitions {
		t.Errorf("partitions assigned: got %d; want %d", n, kafkaInPartitions)
	}
}

// TestKafkaInputCommitsAfterDelivery: while the output cannot deliver,
// the lines wait in the pipeline and nothing is committed; once it
// delivers, everything is.
func TestKafkaInputCommitsAfterDelivery(t *testing.T) {
	c := newKafkaIn(t)
	addrs := c.ListenAddrs()
	produceLines(t, addrs, "gated", 0, 100)
	sink := capture.Unique("kafka-gated")
	gate := make(chan struct{})
	capture.Get(sink).Gate = gate
	s := startKafkaIn(t, addrs, "g", sink)
	waitFor(t, "every record read", func() bool { return s.Metrics().Received.Get() == 100 })
	// The committer runs every 20 ms: give it several turns to commit
	// what it must not.
	time.Sleep(200 * time.Millisecond)
	if got := committedOffsets(t, addrs, "g"); sum(got) != 0 {
		t.Fatalf("committed while the output blocks: %v; want nothing", got)
	}
	if got := capture.Get(sink).Len(); got != 0 {
		t.Fatalf("delivered %d lines through a closed gate", got)
	}
	close(gate)
	waitFor(t, "every line", func() bool { return capture.Get(sink).Len() == 100 })
	waitFor(t, "every offset committed", func() bool { return sum(committedOffsets(t, addrs, "g")) == 100 })
}

// TestKafkaInputRestart: a data plane shut down while its output blocks
// commits only what was delivered; the next one in the group reads the
// rest again, so every line arrives, some twice, none lost.
func TestKafkaInputRestart(t *testing.T) {
	const n = 400
	c := newKafkaIn(t)
	addrs := c.ListenAddrs()
	want := produceLines(t, addrs, "restart", 0, n/2)
	first := capture.Unique("kafka-restart-1")
	gate := make(chan struct{})
	capture.Get(first).Gate = gate
	s1 := startKafkaIn(t, addrs, "g", first)
	waitFor(t, "the first half read", func() bool { return s1.Metrics().Received.Get() == n/2 })
	for range 2 { // let two batches through
		gate <- struct{}{}
	}
	want = append(want, produceLines(t, addrs, "restart", n/2, n/2)...)
	waitFor(t, "every record read", func() bool { return s1.Metrics().Received.Get() == n })
	waitFor(t, "what was delivered committed", func() bool {
		return sum(committedOffsets(t, addrs, "g")) > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	s1.Shutdown(ctx) // the output still blocks: the rest is dropped at the deadline
	cancel()
	committed := sum(committedOffsets(t, addrs, "g"))
	delivered := capture.Get(first).Len()
	if committed > int64(delivered) {
		t.Fatalf("committed %d records; only %d lines were delivered", committed, delivered)
	}

	second := capture.Unique("kafka-restart-2")
	startKafkaIn(t, addrs, "g", second)
	waitFor(t, "the uncommitted records read again", func() bool {
		return capture.Get(second).Len() >= n-int(committed)
	})
	waitFor(t, "every offset committed", func() bool { return sum(committedOffsets(t, addrs, "g")) == n })
	seen := map[string]int{}
	for _, l := range append(capture.Get(first).Lines(), capture.Get(second).Lines()...) {
		seen[l]++
	}
	lost, dups := 0, 0
	for _, l := range want {
		switch k := seen[l]; {
		case k == 0:
			lost++
		case k > 1:
			dups += k - 1
		}
	}
	t.Logf("%d lines: %d delivered before the restart, %d committed; %d after it; %d duplicates", n, delivered, committed, capture.Get(second).Len(), dups)
	if lost != 0 || len(seen) != n {
		t.Fatalf("lost %d of %d lines (%d distinct seen)", lost, n, len(seen))
	}
}

// TestKafkaInputGroup: two data planes in one group split the partitions
// and, between them, deliver every line once.
func TestKafkaInputGroup(t *testing.T) {
	c := newKafkaIn(t)
	addrs := c.ListenAddrs()
	sinks := []string{capture.Unique("kafka-group-a"), capture.Unique("kafka-group-b")}
	a := startKafkaIn(t, addrs, "g", sinks[0])
	waitFor(t, "the first member assigned every partition", func() bool { return partitions(a) == kafkaInPartitions })
	b := startKafkaIn(t, addrs, "g", sinks[1])
	waitFor(t, "the partitions split", func() bool { return partitions(a) == 2 && partitions(b) == 2 })
	want := produceLines(t, addrs, "group", 0, 400)
	waitFor(t, "every line", func() bool { return capture.Get(sinks[0]).Len()+capture.Get(sinks[1]).Len() >= len(want) })
	la, lb := capture.Get(sinks[0]).Lines(), capture.Get(sinks[1]).Lines()
	if len(la) == 0 || len(lb) == 0 {
		t.Fatalf("lines by member: %d and %d; want both to have some", len(la), len(lb))
	}
	got := append(la, lb...)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines (%d + %d); want each of %d once", len(got), len(la), len(lb), len(want))
	}
	if r := a.Metrics().KafkaRebalances(metrics.KafkaRevoked).Get(); r != 2 {
		t.Errorf("partitions revoked from the first member: got %d; want 2", r)
	}
}

// partitions is the number of partitions s's Kafka input is assigned.
func partitions(s *Server) int {
	var b strings.Builder
	s.Metrics().WritePrometheus(&b)
	for l := range strings.SplitSeq(b.String(), "\n") {
		if v, ok := strings.CutPrefix(l, metrics.KafkaPartitions+" "); ok {
			var n int
			fmt.Sscan(v, &n)
			return n
		}
	}
	return -1
}
