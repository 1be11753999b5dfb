package main

import (
	"slices"
	"testing"
	"time"

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
