package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// kafkaSink settles what it is pushed, keeping the lines, unless told to
// drop a number of batches first (their Acks fail) or to hold them until
// release.
type kafkaSink struct {
	mu    sync.Mutex
	lines []string
	drop  int // batches to drop before settling
	hold  bool
	held  []*record.Batch
}

func (s *kafkaSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.drop > 0:
		s.drop--
		record.Put(b) // unsettled: its lines were dropped
	case s.hold:
		s.held = append(s.held, b)
	default:
		s.settleLocked(b)
	}
	return nil
}

func (s *kafkaSink) settleLocked(b *record.Batch) {
	for _, l := range b.Lines {
		s.lines = append(s.lines, string(l))
	}
	b.SettleAcks(true)
	record.Put(b)
}

// release settles the batches held and stops holding.
func (s *kafkaSink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = false
	for _, b := range s.held {
		s.settleLocked(b)
	}
	s.held = nil
}

func (s *kafkaSink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.lines)
}

// newKafkaTest starts a one-broker cluster with topic "t" in two
// partitions, produces values to it, and starts a Kafka input reading it
// into sink, stopped when the test ends.
func newKafkaTest(t *testing.T, sink Sink, kc KafkaConfig, maxLine int, values ...string) (*Kafka, *metrics.Metrics) {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "t"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	pcl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	var recs []*kgo.Record
	for _, v := range values {
		recs = append(recs, &kgo.Record{Value: []byte(v)})
	}
	if err := pcl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	kc.Brokers, kc.Topics, kc.Group = c.ListenAddrs(), []string{"t"}, "g"
	kc.CommitInterval = 20 * time.Millisecond
	kc.Opts = append(kc.Opts, kgo.FetchMaxWait(50*time.Millisecond))
	m := metrics.New()
	k, err := NewKafka(kc, Config{Sink: sink, Metrics: m, MaxLine: maxLine})
	if err != nil {
		t.Fatal(err)
	}
	k.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		k.Close(ctx)
	})
	return k, m
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKafkaLines: each line of a record's value is one line, framed as a
// TCP stream is: one trailing '\r' removed, empty lines ignored, an
// oversize line dropped and counted; every record is committed, those
// with no line too.
func TestKafkaLines(t *testing.T) {
	sink := &kafkaSink{}
	k, m := newKafkaTest(t, sink, KafkaConfig{}, 10,
		"one", "two\nthree\n", "four\r\n\nfive", "", "\n\n", "much too long for ten", "six\nmuch too long for ten\nseven")
	want := []string{"one", "two", "three", "four", "five", "six", "seven"}
	waitUntil(t, "every line", func() bool { return len(sink.got()) >= len(want) })
	waitUntil(t, "every record committed", func() bool { r, _ := k.uncommitted(); return r == 0 && committedTotal(k) == 7 })
	got := sink.got()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got %q; want %q", got, want)
	}
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"received", m.Received.Get(), 9},
		{"oversize", m.Dropped(metrics.ReasonOversize).Get(), 2},
		{"records", m.Counter(metrics.KafkaRecords).Get(), 7},
		{"redelivered", m.Counter(metrics.KafkaRedelivered).Get(), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d; want %d", c.name, c.got, c.want)
		}
	}
}

// committedTotal sums the offsets k committed, over its partitions.
func committedTotal(k *Kafka) int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var n int64
	for _, p := range k.parts {
		n += max(p.committed, 0)
	}
	return n
}

// TestKafkaRedelivers: the lines of a batch dropped in the data plane are
// pushed again, and its offsets wait until they are settled.
func TestKafkaRedelivers(t *testing.T) {
	var values []string
	for i := range 50 {
		values = append(values, fmt.Sprint("line ", i))
	}
	sink := &kafkaSink{drop: 2}
	k, m := newKafkaTest(t, sink, KafkaConfig{}, 0, values...)
	waitUntil(t, "every record committed", func() bool { return committedTotal(k) == 50 })
	got := sink.got()
	slices.Sort(got)
	slices.Sort(values)
	if !slices.Equal(got, values) {
		t.Errorf("got %d lines; want each of %d once", len(got), len(values))
	}
	if n := m.Counter(metrics.KafkaRedelivered).Get(); n == 0 {
		t.Error("no record redelivered after two batches were dropped")
	}
}

// TestKafkaBound: at its bound of uncommitted records the input stops
// fetching until what it pushed is settled.
func TestKafkaBound(t *testing.T) {
	var values []string
	for i := range 100 {
		values = append(values, strings.Repeat("x", i%7+1))
	}
	sink := &kafkaSink{hold: true}
	k, m := newKafkaTest(t, sink, KafkaConfig{MaxUncommittedRecords: 10}, 0, values...)
	waitUntil(t, "a pause", func() bool { return m.Counter(metrics.KafkaPauses).Get() > 0 })
	if r, _ := k.uncommitted(); r > 10 {
		t.Fatalf("uncommitted records at the pause: got %d; want at most 10", r)
	}
	if n := m.Counter(metrics.KafkaRecords).Get(); n > 10 {
		t.Fatalf("records read while paused: got %d; want at most 10", n)
	}
	sink.release()
	waitUntil(t, "every record committed", func() bool { return committedTotal(k) == 100 })
	if n := len(sink.got()); n != 100 {
		t.Errorf("lines: got %d; want 100", n)
	}
}

// TestKafkaConfigValidate names the flag of each problem, all at once.
func TestKafkaConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		kc   KafkaConfig
		want []string // in the error; none: valid
	}{
		{"valid", KafkaConfig{Brokers: []string{"k:9092"}, Topics: []string{"t"}, Group: "g"}, nil},
		{"empty", KafkaConfig{}, []string{"-kafka-brokers: required", "-kafka-topics: required", "-kafka-group: required"}},
		{"bad broker", KafkaConfig{Brokers: []string{"k"}, Topics: []string{"t"}, Group: "g"}, []string{`-kafka-brokers: want host:port; got "k"`}},
		{"negative bounds", KafkaConfig{Brokers: []string{"k:1"}, Topics: []string{"t"}, Group: "g", MaxUncommittedRecords: -1, MaxUncommittedBytes: -1, CommitInterval: -1, FetchMaxBytes: -1},
			[]string{"-kafka-max-uncommitted-records", "-kafka-max-uncommitted-bytes", "-kafka-commit-interval", "-kafka-fetch-max-bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.kc.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("got %v; want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("got nil; want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q; want it to contain %q", err, w)
				}
			}
		})
	}
}
