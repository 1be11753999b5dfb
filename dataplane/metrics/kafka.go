package metrics

import (
	"fmt"

	vm "github.com/VictoriaMetrics/metrics"
)

// The Kafka input's counters and gauges (ingest.Kafka).
const (
	// KafkaRecords counts the records the Kafka input read, each once
	// however often its lines were pushed again.
	KafkaRecords = "streamgate_kafka_records_total"
	// KafkaRedelivered counts the records whose lines were dropped in the
	// data plane (a full buffer, an output's queue full or its
	// destination failing) and pushed again: their offsets are not
	// committed before their lines are settled.
	KafkaRedelivered = "streamgate_kafka_redelivered_records_total"
	// KafkaCommits counts the offset commits that succeeded, and
	// KafkaCommitErrors those that failed (they are tried again with the
	// next commit; what was not committed is read again after a restart).
	KafkaCommits      = "streamgate_kafka_commits_total"
	KafkaCommitErrors = "streamgate_kafka_commit_errors_total"
	// KafkaFetchErrors counts the errors fetches returned (a broker
	// unreachable, a topic missing); the client retries.
	KafkaFetchErrors = "streamgate_kafka_fetch_errors_total"
	// KafkaPauses counts the times the input stopped fetching because it
	// held its most uncommitted records or bytes.
	KafkaPauses = "streamgate_kafka_pauses_total"

	KafkaUncommittedRecords = "streamgate_kafka_uncommitted_records" // read, not yet committable
	KafkaUncommittedBytes   = "streamgate_kafka_uncommitted_bytes"   // their values' bytes
	KafkaPartitions         = "streamgate_kafka_partitions"          // assigned to this data plane
	KafkaLag                = "streamgate_kafka_lag_records"         // behind the high watermarks, as of the last fetch
)

// Group membership changes of the Kafka input (KafkaRebalances).
const (
	KafkaAssigned = "assigned" // partitions given to this data plane
	KafkaRevoked  = "revoked"  // partitions taken away (their offsets committed first)
	KafkaLost     = "lost"     // partitions lost without a chance to commit (the session expired)
)

// Counter returns the counter of the given name (a family above, such as
// KafkaRecords), creating it at first use.
func (m *Metrics) Counter(name string) *vm.Counter {
	return m.set.GetOrCreateCounter(name)
}

// KafkaRebalances returns the counter of the Kafka input's group
// membership changes of the given kind (KafkaAssigned, KafkaRevoked,
// KafkaLost).
func (m *Metrics) KafkaRebalances(event string) *vm.Counter {
	return m.set.GetOrCreateCounter(fmt.Sprintf("streamgate_kafka_rebalances_total{event=%q}", event))
}
