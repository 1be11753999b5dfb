package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"streamgate/dataplane/ingest"
	"streamgate/dataplane/output"
)

// kafkaFlags are the flags of the Kafka input.
type kafkaFlags struct {
	brokers, topics, group  string
	maxRecords, maxBytes    int
	fetchMaxBytes           int
	commitInterval          time.Duration
	tls, tlsInsecure        bool
	tlsCAFile               string
	saslMechanism, saslUser string
	saslPasswordFile        string
}

func (f *kafkaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.brokers, "kafka-brokers", env("KAFKA_BROKERS", ""), "Kafka input: brokers to bootstrap from, host:port, comma-separated; with -kafka-topics it turns the input on (env KAFKA_BROKERS)")
	fs.StringVar(&f.topics, "kafka-topics", env("KAFKA_TOPICS", ""), "Kafka input: topics to consume, comma-separated; each line of a record's value is one line (env KAFKA_TOPICS)")
	fs.StringVar(&f.group, "kafka-group", env("KAFKA_GROUP", "streamgate"), "Kafka input: consumer group; the data planes of one group share the topics' partitions (env KAFKA_GROUP)")
	fs.IntVar(&f.maxRecords, "kafka-max-uncommitted-records", ingest.DefaultKafkaMaxUncommittedRecords, "Kafka input: records read and not yet committable (their lines, or those of an earlier record of their partition, not all settled) at which it stops fetching, counted in streamgate_kafka_pauses_total")
	fs.IntVar(&f.maxBytes, "kafka-max-uncommitted-bytes", ingest.DefaultKafkaMaxUncommittedBytes, "Kafka input: bytes of record values read and not yet committable at which it stops fetching")
	fs.IntVar(&f.fetchMaxBytes, "kafka-fetch-max-bytes", ingest.DefaultKafkaFetchMaxBytes, "Kafka input: most bytes (compressed) one fetch brings, and so what the client buffers ahead of the input; larger costs memory and garbage-collector work")
	fs.DurationVar(&f.commitInterval, "kafka-commit-interval", ingest.DefaultKafkaCommitInterval, "Kafka input: how often the offsets of records whose lines are settled are committed")
	fs.BoolVar(&f.tls, "kafka-tls", false, "Kafka input: connect over TLS, verifying the brokers against the system's authorities")
	fs.StringVar(&f.tlsCAFile, "kafka-tls-ca-file", env("KAFKA_TLS_CA_FILE", ""), "Kafka input: PEM file of the authorities to trust instead of the system's; implies -kafka-tls (env KAFKA_TLS_CA_FILE)")
	fs.BoolVar(&f.tlsInsecure, "kafka-tls-insecure-skip-verify", false, "Kafka input: accept any broker certificate (tests only); implies -kafka-tls")
	fs.StringVar(&f.saslMechanism, "kafka-sasl-mechanism", env("KAFKA_SASL_MECHANISM", ""), "Kafka input: SASL mechanism, plain, scram-sha-256 or scram-sha-512; needs -kafka-sasl-username and -kafka-sasl-password-file (env KAFKA_SASL_MECHANISM)")
	fs.StringVar(&f.saslUser, "kafka-sasl-username", env("KAFKA_SASL_USERNAME", ""), "Kafka input: SASL user (env KAFKA_SASL_USERNAME)")
	fs.StringVar(&f.saslPasswordFile, "kafka-sasl-password-file", env("KAFKA_SASL_PASSWORD_FILE", ""), "Kafka input: file holding the SASL password (env KAFKA_SASL_PASSWORD_FILE)")
}

// config returns the Kafka input's configuration, nil when it is off (no
// -kafka-brokers nor -kafka-topics).
func (f *kafkaFlags) config() (*ingest.KafkaConfig, error) {
	if f.brokers == "" && f.topics == "" {
		return nil, nil
	}
	kc := &ingest.KafkaConfig{
		Brokers:               splitList(f.brokers),
		Topics:                splitList(f.topics),
		Group:                 f.group,
		MaxUncommittedRecords: f.maxRecords,
		MaxUncommittedBytes:   f.maxBytes,
		CommitInterval:        f.commitInterval,
		FetchMaxBytes:         f.fetchMaxBytes,
	}
	var errs []error
	if f.maxRecords <= 0 {
		errs = append(errs, fmt.Errorf("-kafka-max-uncommitted-records: want a positive number; got %d", f.maxRecords))
	}
	if f.maxBytes <= 0 {
		errs = append(errs, fmt.Errorf("-kafka-max-uncommitted-bytes: want a positive number of bytes; got %d", f.maxBytes))
	}
	if f.fetchMaxBytes <= 0 {
		errs = append(errs, fmt.Errorf("-kafka-fetch-max-bytes: want a positive number of bytes; got %d", f.fetchMaxBytes))
	}
	if f.commitInterval <= 0 {
		errs = append(errs, fmt.Errorf("-kafka-commit-interval: want a positive duration; got %s", f.commitInterval))
	}
	if err := kc.Validate(); err != nil {
		errs = append(errs, err)
	}
	opts, err := output.KafkaClientOpts(&output.Config{
		TLS: f.tls, TLSCAFile: f.tlsCAFile, TLSInsecureSkipVerify: f.tlsInsecure,
		SASLMechanism: f.saslMechanism, SASLUsername: f.saslUser, SASLPasswordFile: f.saslPasswordFile,
	})
	if err != nil {
		// The error names the output's field (sasl_username: ...): name
		// the flag instead.
		errs = append(errs, errors.New(fieldsToFlags.Replace(err.Error())))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	kc.Opts = opts
	return kc, nil
}

// fieldsToFlags renames the kafka output's fields in its errors as the
// Kafka input's flags.
var fieldsToFlags = strings.NewReplacer(
	"sasl_mechanism", "-kafka-sasl-mechanism",
	"sasl_username", "-kafka-sasl-username",
	"sasl_password_file", "-kafka-sasl-password-file",
	"tls_ca_file", "-kafka-tls-ca-file",
)

// splitList splits a comma-separated list, trimming and dropping empty
// entries.
func splitList(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
