package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/dataplane/ingest"
)

// TestKafkaFlags: the Kafka input is off by default, on with brokers and
// topics, and its flags' errors name them, all at once.
func TestKafkaFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want *ingest.KafkaConfig // nil: off
		opts int                 // client options (TLS, SASL)
		err  string
	}{
		{name: "off by default"},
		{name: "on", args: []string{"-kafka-brokers", "k1:9092, k2:9092", "-kafka-topics", "logs,audit"},
			want: &ingest.KafkaConfig{Brokers: []string{"k1:9092", "k2:9092"}, Topics: []string{"logs", "audit"}, Group: "streamgate",
				MaxUncommittedRecords: ingest.DefaultKafkaMaxUncommittedRecords, MaxUncommittedBytes: ingest.DefaultKafkaMaxUncommittedBytes,
				CommitInterval: ingest.DefaultKafkaCommitInterval, FetchMaxBytes: ingest.DefaultKafkaFetchMaxBytes}},
		{name: "from the environment", env: map[string]string{"KAFKA_BROKERS": "k:9092", "KAFKA_TOPICS": "logs", "KAFKA_GROUP": "aggregators"},
			args: []string{"-kafka-max-uncommitted-records", "10", "-kafka-max-uncommitted-bytes", "1000", "-kafka-commit-interval", "5s", "-kafka-tls",
				"-kafka-fetch-max-bytes", "65536"},
			want: &ingest.KafkaConfig{Brokers: []string{"k:9092"}, Topics: []string{"logs"}, Group: "aggregators",
				MaxUncommittedRecords: 10, MaxUncommittedBytes: 1000, CommitInterval: 5 * time.Second, FetchMaxBytes: 65536},
			opts: 1},
		{name: "topics without brokers", args: []string{"-kafka-topics", "logs"},
			err: "-kafka-brokers: required with -kafka-topics (host:port, comma-separated)"},
		{name: "every mistake", args: []string{"-kafka-brokers", "k", "-kafka-max-uncommitted-records", "0", "-kafka-group", "",
			"-kafka-commit-interval", "0s", "-kafka-sasl-mechanism", "plain"},
			err: "-kafka-max-uncommitted-records: want a positive number; got 0\n" +
				"-kafka-commit-interval: want a positive duration; got 0s\n" +
				"-kafka-brokers: want host:port; got \"k\"\n-kafka-topics: required with -kafka-brokers (comma-separated)\n-kafka-group: required with -kafka-topics\n" +
				"-kafka-sasl-username: required with -kafka-sasl-mechanism"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"KAFKA_BROKERS", "KAFKA_TOPICS", "KAFKA_GROUP"} {
				t.Setenv(k, c.env[k])
			}
			opts, err := parseDataplaneFlags(t, c.args...)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("got error %v; want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := opts.Kafka
			if (got == nil) != (c.want == nil) {
				t.Fatalf("got %+v; want %+v", got, c.want)
			}
			if got == nil {
				return
			}
			if len(got.Opts) != c.opts {
				t.Errorf("client options: got %d; want %d", len(got.Opts), c.opts)
			}
			g := *got
			g.Opts = nil
			if !slices.Equal(g.Brokers, c.want.Brokers) || !slices.Equal(g.Topics, c.want.Topics) || g.Group != c.want.Group ||
				g.MaxUncommittedRecords != c.want.MaxUncommittedRecords || g.MaxUncommittedBytes != c.want.MaxUncommittedBytes ||
				g.CommitInterval != c.want.CommitInterval || g.FetchMaxBytes != c.want.FetchMaxBytes {
				t.Errorf("got %+v; want %+v", g, *c.want)
			}
		})
	}
}

// kafkaPartitions is the number of partitions of each topic of
// TestDataplaneKafka.
const kafkaPartitions = 3

// TestDataplaneKafka: lines read from the topic "in" go through a filter of
// DEBUG and a redact rule of SSNs and card numbers to a kafka output on the
// topic "out". Every kept line arrives once, redacted, keyed by its JSON
// key_field when it has one; no DEBUG line and no sensitive value arrives;
// the counters agree, and the input commits the offset of every record.
func TestDataplaneKafka(t *testing.T) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(kafkaPartitions, "in", "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	brokers := strings.Join(cluster.ListenAddrs(), ",")
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err = os.WriteFile(manifestPath, []byte(fmt.Sprintf(`{"version": "1", "pipelines": [{"name": "p",
		"processors": [
			{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
			{"id": "redact_pii", "type": "redact", "params": {"detectors": ["us_ssn", "credit_card"]}}],
		"outputs": [{"type": "kafka", "brokers": %q, "topic": "out", "key_field": "user/id"}]}]}`, brokers)), 0o644)
	if err != nil {
		t.Fatal(err)
	}

	// 200 kept lines, a quarter of each kind, and 50 DEBUG lines among them.
	const kept = 200
	cards := []string{"4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117"}
	var lines, secrets []string
	want := map[string]int{}       // the kept lines as the output writes them
	wantKey := map[string]string{} // their record keys, where they have one
	for i := range kept {
		ssn := fmt.Sprintf("536-22-%04d", 1000+i)
		var line, out string
		switch i % 4 {
		case 0: // text with an SSN
			line = fmt.Sprintf("line %d applicant ssn=%s verified", i, ssn)
			out = strings.Replace(line, ssn, "[REDACTED]", 1)
			secrets = append(secrets, ssn)
		case 1: // text with a card number
			card := cards[i/4%len(cards)]
			line = fmt.Sprintf("line %d card=%s amount=12.00", i, card)
			out = strings.Replace(line, card, "[REDACTED]", 1)
		case 2: // JSON with the key field and an SSN
			line = fmt.Sprintf(`{"user":{"id":"u%d"},"msg":"line %d","ssn":%q}`, i%10, i, ssn)
			out = strings.Replace(line, ssn, "[REDACTED]", 1)
			secrets = append(secrets, ssn)
			wantKey[out] = fmt.Sprintf("u%d", i%10)
		case 3: // JSON without the key field, nothing to redact
			line = fmt.Sprintf(`{"msg":"line %d","user":"u%d"}`, i, i%10)
			out = line
		}
		lines = append(lines, line)
		want[out]++
		if i%4 == 3 {
			debugSSN := fmt.Sprintf("536-22-%04d", 2000+i)
			lines = append(lines, fmt.Sprintf("DEBUG line %d cache miss ssn=%s", i, debugSSN))
			secrets = append(secrets, debugSSN)
		}
	}
	secrets = append(secrets, cards...)

	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "off", "-udp-port", "off", "-http-port", "off",
		"-admin-port", "0", "-kafka-brokers", brokers, "-kafka-topics", "in", "-kafka-group", "g",
		"-kafka-commit-interval", "50ms", "-manifest", manifestPath)
	admin := p.waitLog(adminAddrRE)[1]

	cl, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.DefaultProduceTopic("in"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	recs := make([]*kgo.Record, len(lines))
	for i, l := range lines {
		recs[i] = &kgo.Record{Value: []byte(l)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	results := cl.ProduceSync(ctx, recs...)
	cancel()
	if err := results.FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	produced := make([]int64, kafkaPartitions) // each partition's end offset
	for _, r := range results {
		produced[r.Record.Partition] = max(produced[r.Record.Partition], r.Record.Offset+1)
	}

	consumer, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...), kgo.ConsumeTopics("out"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	var got []*kgo.Record
	deadline := time.Now().Add(30 * time.Second)
	for len(got) < kept && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := consumer.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}

	seen := map[string]int{}
	partitionOf := map[string]int32{} // by key
	for _, r := range got {
		v := string(r.Value)
		seen[v]++
		for _, s := range secrets {
			if strings.Contains(v, s) {
				t.Errorf("record %q holds the sensitive value %q", v, s)
			}
		}
		if strings.Contains(v, "DEBUG") {
			t.Errorf("record %q: a DEBUG line was not filtered", v)
		}
		if k := string(r.Key); k != wantKey[v] {
			t.Errorf("record %q has key %q; want %q", v, k, wantKey[v])
		}
		if r.Key != nil {
			if part, ok := partitionOf[string(r.Key)]; ok && part != r.Partition {
				t.Errorf("key %q in partitions %d and %d; want one", r.Key, part, r.Partition)
			}
			partitionOf[string(r.Key)] = r.Partition
		}
	}
	var missing []string
	for l, n := range want {
		switch {
		case seen[l] == 0:
			missing = append(missing, l)
		case seen[l] != n:
			t.Errorf("line %q arrived %d times; want %d", l, seen[l], n)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Errorf("%d of %d kept lines never arrived, such as %q", len(missing), len(want), missing[0])
	}
	for l := range seen {
		if want[l] == 0 {
			t.Errorf("unexpected record %q", l)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// Once every line is delivered, the input commits every record's offset.
	waitUntil(t, "every offset committed", func() bool {
		return slices.Equal(kafkaCommitted(t, cl, "g", "in"), produced)
	})
	var m map[string]float64
	waitUntil(t, "the counters to settle", func() bool {
		m = scrapeMetrics(t, admin)
		return m["streamgate_output_lines_delivered_total"] >= kept && m["streamgate_kafka_uncommitted_records"] == 0
	})
	for series, want := range map[string]float64{
		"streamgate_lines_received_total":            250,
		"streamgate_lines_filtered_total":            50,
		"streamgate_lines_redacted_total":            150, // those with an SSN or a card number
		"streamgate_output_lines_delivered_total":    kept,
		"streamgate_output_lines_dropped_total":      0,
		"streamgate_kafka_records_total":             250,
		"streamgate_kafka_redelivered_records_total": 0,
		"streamgate_kafka_uncommitted_records":       0,
		"streamgate_kafka_lag_records":               0,
		"streamgate_kafka_partitions":                kafkaPartitions,
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %v; want %v", series, got, want)
		}
	}
	if m["streamgate_kafka_commits_total"] == 0 {
		t.Error("streamgate_kafka_commits_total = 0; want commits")
	}
	p.stop()
	checkAttrs(t, stoppedLine(t, p), map[string]string{
		"received": "250", "filtered": "50", "dropped": "0", "delivered": "200", "output_dropped": "0", "in_pipeline": "0",
	})

	// Nothing more was written to "out" than what was read back.
	if n := sum64(kafkaEndOffsets(t, cl, "out")); n != int64(len(got)) {
		t.Errorf("%d records on the topic out; want %d", n, len(got))
	}
}

// kafkaCommitted returns group's committed offset of each partition of
// topic (-1: none).
func kafkaCommitted(t *testing.T, cl *kgo.Client, group, topic string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := slices.Repeat([]int64{-1}, kafkaPartitions)
	for p := range out {
		if o, ok := resp.Lookup(topic, int32(p)); ok {
			out[p] = o.At
		}
	}
	return out
}

// kafkaEndOffsets returns the end offset of each partition of topic.
func kafkaEndOffsets(t *testing.T, cl *kgo.Client, topic string) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err == nil {
		err = listed.Error()
	}
	if err != nil {
		t.Fatalf("list offsets: %v", err)
	}
	out := make([]int64, kafkaPartitions)
	listed.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

func sum64(xs []int64) int64 {
	var n int64
	for _, x := range xs {
		n += x
	}
	return n
}
