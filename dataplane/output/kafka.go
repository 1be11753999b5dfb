package output

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

const (
	// defaultKafkaTimeout bounds how long a batch may take to be
	// acknowledged, retries included.
	defaultKafkaTimeout = 30 * time.Second
	// defaultKafkaCompression is the codec of record batches: cheap on the
	// CPU, and log lines compress well.
	defaultKafkaCompression = "lz4"
	// minKafkaTimeoutMS is the shortest timeout_ms: the client's least
	// record delivery timeout.
	minKafkaTimeoutMS = 1000
	// maxKafkaTopic is the longest topic name Kafka accepts.
	maxKafkaTopic = 249
	// maxPooledRecords is the largest record slice kept for reuse.
	maxPooledRecords = 16 << 10
	// kafkaGrace is how long past its timeout a Write waits for the client
	// to fail records itself, with the error that says why, before it gives
	// up on them. The client cannot fail a record it sent and got no answer
	// for (the idempotent producer must learn whether it was written) until
	// the broker answers, however long that takes.
	kafkaGrace = 2 * time.Second
)

// kafkaCompressions are the compression values (see newKafkaCompressor).
var kafkaCompressions = []string{"none", "gzip", "snappy", "lz4", "zstd"}

// kafkaSASL are the SASL mechanisms by name.
var kafkaSASL = []string{"plain", "scram-sha-256", "scram-sha-512"}

var kafkaSpec = spec.Component{
	Summary: "Produces each line as a record to a Kafka topic with the idempotent producer, acks from all in-sync replicas; a batch is delivered once every record in it is acknowledged.",
	Params: []spec.Param{
		{Name: "brokers", Kind: spec.Strings, Required: true, Description: "Brokers to bootstrap from, host:port each; the others are found from them. A string may list several, separated by commas."},
		{Name: "topic", Kind: spec.String, Required: true, Description: "The topic records are produced to. It must exist: the output does not create it."},
		{Name: "key_field", Kind: spec.String, Description: "A JSON member whose value keys a line's record, as a path of keys separated by / (user/id), each taken literally: records with the same key go to the same partition, in order. Lines that are not JSON objects, or lack the member, get no key and are spread over the partitions."},
		{Name: "compression", Kind: spec.String, Default: defaultKafkaCompression, Enum: kafkaCompressions, Description: "Codec of record batches; lz4 in blocks of 64 KiB, as Kafka's own producer writes it."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "30000", Description: "How long a batch may take to be acknowledged, retries on broker errors and reconnections included, before it is dropped and counted; at least 1000. Records sent to a broker that has not answered may still be written after their batch was given up."},
		{Name: "tls", Kind: spec.Boolean, Default: "false", Description: "Connect over TLS, verifying the brokers' certificates against the system's authorities; tls_ca_file and tls_insecure_skip_verify imply it."},
		{Name: "tls_ca_file", Kind: spec.String, Description: "A PEM file of the certificate authorities to trust instead of the system's, read on each data plane when the output starts."},
		{Name: "tls_insecure_skip_verify", Kind: spec.Boolean, Default: "false", Description: "Accept any certificate the brokers present: encrypted, but open to impersonation. For tests only."},
		{Name: "sasl_mechanism", Kind: spec.String, Enum: kafkaSASL, Description: "Authenticate with SASL using this mechanism (best over TLS: plain sends the password as it is); needs sasl_username and sasl_password_file."},
		{Name: "sasl_username", Kind: spec.String, Description: "The SASL user."},
		{Name: "sasl_password_file", Kind: spec.String, Description: "A file holding the SASL password (one trailing newline is ignored), read on each data plane when the output starts: the password never goes in a manifest, nor in logs or metrics."},
	},
	Examples: []string{
		`{"brokers": ["kafka-1:9092", "kafka-2:9092"], "topic": "logs", "key_field": "service/name", "compression": "zstd"}`,
		`{"brokers": "kafka-1:9093", "topic": "logs", "timeout_ms": 60000, "tls": true, "tls_ca_file": "/etc/streamgate/kafka-ca.pem", "sasl_mechanism": "scram-sha-512", "sasl_username": "streamgate", "sasl_password_file": "/etc/streamgate/kafka-password"}`,
		`{"brokers": "127.0.0.1:9092", "topic": "logs", "tls_insecure_skip_verify": true}`,
	},
}

// kafkaDestination names the brokers and topic a kafka config writes to.
func kafkaDestination(c *Config) string {
	return strings.Join(kafkaBrokers(c.Brokers), ",") + "/" + c.Topic
}

// kafkaBrokers splits the entries of brokers at commas and trims them.
func kafkaBrokers(brokers []string) []string {
	var out []string
	for _, b := range brokers {
		for part := range strings.SplitSeq(b, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// validateKafka checks the fields a kafka output uses. It reads no file:
// the files a config names need exist only where the output runs.
func validateKafka(c *Config) error {
	brokers := kafkaBrokers(c.Brokers)
	if len(brokers) == 0 {
		return errors.New("brokers: required for kafka output (host:port, one or more)")
	}
	for i, b := range brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			return fmt.Errorf("brokers[%d]: want host:port; got %q", i, b)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("brokers[%d]: port must be a number from 1 to 65535; got %q", i, port)
		}
	}
	if err := validateTopic(c.Topic); err != nil {
		return err
	}
	if c.KeyField != "" && strings.Contains("/"+c.KeyField+"/", "//") {
		return fmt.Errorf("key_field: empty key in path %q", c.KeyField)
	}
	if c.Compression != "" && !slices.Contains(kafkaCompressions, c.Compression) {
		return fmt.Errorf("compression: want one of %s; got %q", strings.Join(kafkaCompressions, ", "), c.Compression)
	}
	if c.TimeoutMS < 0 || c.TimeoutMS > 0 && c.TimeoutMS < minKafkaTimeoutMS {
		return fmt.Errorf("timeout_ms: must be at least %d; got %d", minKafkaTimeoutMS, c.TimeoutMS)
	}
	switch c.SASLMechanism {
	case "":
		if c.SASLUsername != "" || c.SASLPasswordFile != "" {
			return errors.New("sasl_mechanism: required with sasl_username and sasl_password_file")
		}
	case "plain", "scram-sha-256", "scram-sha-512":
		if c.SASLUsername == "" {
			return errors.New("sasl_username: required with sasl_mechanism")
		}
		if c.SASLPasswordFile == "" {
			return errors.New("sasl_password_file: required with sasl_mechanism")
		}
	default:
		return fmt.Errorf("sasl_mechanism: want one of %s; got %q", strings.Join(kafkaSASL, ", "), c.SASLMechanism)
	}
	return nil
}

// validateTopic checks a Kafka topic name as the brokers do.
func validateTopic(t string) error {
	switch {
	case t == "":
		return errors.New("topic: required for kafka output")
	case len(t) > maxKafkaTopic:
		return fmt.Errorf("topic: at most %d characters; got %d", maxKafkaTopic, len(t))
	case t == "." || t == "..":
		return fmt.Errorf("topic: %q is not a valid name", t)
	}
	for i := 0; i < len(t); i++ {
		switch c := t[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("topic: only letters, digits, '.', '_' and '-'; got %q at offset %d", c, i)
		}
	}
	return nil
}

// kafkaOutput produces every line of a batch as one record, and reports the
// batch delivered once the brokers have acknowledged every record. The
// franz-go client batches, compresses, retries and reconnects; the
// idempotent producer with acks from all in-sync replicas makes its
// retries write no duplicate and lose no acknowledged record.
//
// Records hold copies of the lines, so that a Write can return while the
// client still holds some (see Write). Records of one Write go to their
// partitions in the order of the batch,
// and a lane waits for one Write to be acknowledged before the next: lines
// with the same key from the same source stay in order.
type kafkaOutput struct {
	cl       *kgo.Client
	name     string // brokers and topic, for errors
	topic    string
	timeout  time.Duration
	keyPath  []string // nil: no key
	writes   sync.Pool
	closeCtx context.Context // done once Close starts
	cancel   context.CancelFunc

	// mu is held shared by each Write and exclusively by Close, which so
	// waits for the Writes in flight.
	mu     sync.RWMutex
	closed bool
}

// kafkaWrite is one Write's records, the copy of the batch's lines they
// point into, and the count of those the client is not done with. A Write
// that gives up before the client is done leaves its kafkaWrite to the
// client: it is not recycled.
type kafkaWrite struct {
	recs    []kgo.Record
	data    []byte
	pending atomic.Int64
	done    chan struct{} // closed by the last promise
	failed  atomic.Int64
	first   atomic.Pointer[error]
	promise func(*kgo.Record, error)
}

func newKafka(c *Config) (Output, error) {
	return newKafkaOutput(c)
}

// newKafkaOutput builds a kafkaOutput from a validated c, with extra
// client options (tests shorten the client's waits). It reads the files c
// names; it does not connect: the client dials the brokers when it first
// needs them.
func newKafkaOutput(c *Config, extra ...kgo.Opt) (*kafkaOutput, error) {
	timeout := defaultKafkaTimeout
	if c.TimeoutMS > 0 {
		timeout = time.Duration(c.TimeoutMS) * time.Millisecond
	}
	compression := defaultKafkaCompression
	if c.Compression != "" {
		compression = c.Compression
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(kafkaBrokers(c.Brokers)...),
		kgo.DefaultProduceTopic(c.Topic),
		kgo.ClientID("streamgate"),
		kgo.RequiredAcks(kgo.AllISRAcks()), // the idempotent producer needs it, and is the default
		// The pipeline has batched the lines already: send them at once.
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(timeout),
		kgo.ProduceRequestTimeout(min(timeout, 10*time.Second)),
		// After a failed produce the client refreshes the brokers'
		// metadata before it retries, at most this often (5 s by
		// default): a restarted broker is found again sooner.
		kgo.MetadataMinAge(time.Second),
	}
	if cc := newKafkaCompressor(compression); cc != nil {
		opts = append(opts, kgo.WithCompressor(cc))
	} else {
		opts = append(opts, kgo.ProducerBatchCompression(kgo.NoCompression()))
	}
	tlsCfg, err := kafkaTLS(c)
	if err != nil {
		return nil, err
	}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	if c.SASLMechanism != "" {
		mech, err := kafkaMechanism(c)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(mech))
	}
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("cannot start kafka client: %w", err)
	}
	o := &kafkaOutput{
		cl:      cl,
		name:    "kafka:" + kafkaDestination(c),
		topic:   c.Topic,
		timeout: timeout,
	}
	if c.KeyField != "" {
		o.keyPath = strings.Split(c.KeyField, "/")
	}
	o.closeCtx, o.cancel = context.WithCancel(context.Background())
	return o, nil
}

// kafkaTLS returns the TLS configuration c asks for, nil for none. Its
// errors name the field.
func kafkaTLS(c *Config) (*tls.Config, error) {
	if !c.TLS && c.TLSCAFile == "" && !c.TLSInsecureSkipVerify {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.TLSInsecureSkipVerify}
	if c.TLSCAFile != "" {
		pem, err := os.ReadFile(c.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: cannot read: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file: no PEM certificate in %s", c.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// kafkaMechanism returns the SASL mechanism c asks for, with the password
// read from its file. Its errors never hold the password.
func kafkaMechanism(c *Config) (sasl.Mechanism, error) {
	b, err := os.ReadFile(c.SASLPasswordFile)
	if err != nil {
		return nil, fmt.Errorf("sasl_password_file: cannot read: %w", err)
	}
	pass := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if pass == "" {
		return nil, fmt.Errorf("sasl_password_file: %s is empty", c.SASLPasswordFile)
	}
	switch c.SASLMechanism {
	case "plain":
		return plain.Auth{User: c.SASLUsername, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: c.SASLUsername, Pass: pass}.AsSha256Mechanism(), nil
	default:
		return scram.Auth{User: c.SASLUsername, Pass: pass}.AsSha512Mechanism(), nil
	}
}

// Write produces one record per line and waits until the brokers have
// acknowledged them all, or until the client gives up on one (after
// timeout_ms), ctx is done, the output is closed or timeout_ms and a grace
// have passed. It returns nil only if every record was acknowledged. The
// records hold copies of b's lines: a Write that gives up on records the
// client still holds (sent to a broker that has not answered) returns
// without them, and they may still be written.
func (o *kafkaOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(o.closeCtx, cancel)
	defer stop()

	w := o.getWrite(b.Lines)
	for i := range w.recs {
		o.cl.Produce(ctx, &w.recs[i], w.promise)
	}
	timer := time.NewTimer(o.timeout + kafkaGrace)
	defer timer.Stop()
	var why error
	select {
	case <-w.done:
		defer o.putWrite(w)
		n := w.failed.Load()
		if n == 0 {
			countWire(ctx, recordBytes(w.recs))
			return nil
		}
		err := *w.first.Load()
		if errors.Is(err, context.Canceled) && o.closeCtx.Err() != nil {
			err = ErrClosed
		}
		return fmt.Errorf("cannot produce batch to %s: %d of %d records not acknowledged: %w", o.name, n, len(b.Lines), err)
	case <-ctx.Done():
		why = ctx.Err()
		if o.closeCtx.Err() != nil {
			why = ErrClosed
		}
	case <-timer.C:
		why = fmt.Errorf("not acknowledged within %s", o.timeout)
	}
	return fmt.Errorf("cannot produce batch to %s: %w, %d of %d records still unanswered (they may yet be written)",
		o.name, why, w.pending.Load(), len(b.Lines))
}

// recordBytes is the size of recs' keys and values, as produced: the
// client's own compression comes after.
func recordBytes(recs []kgo.Record) int {
	n := 0
	for i := range recs {
		n += len(recs[i].Key) + len(recs[i].Value)
	}
	return n
}

// key returns the key of line's record: the text of the member at o's key
// path, nil if line is not a JSON object or has no such member. The key
// decides only the partition, so the line is not validated first (see
// match.LookupJSON): a malformed line gets a key or none, the same every
// time.
func (o *kafkaOutput) key(line []byte) []byte {
	if !match.IsJSONObject(line) {
		return nil
	}
	v, ok := match.LookupJSON(line, o.keyPath)
	if !ok || len(v) == 0 {
		return nil
	}
	switch v[0] {
	case '{', '[':
		return v // an object or array keys by its JSON text
	}
	return match.JSONText(v)
}

// getWrite returns a kafkaWrite with a record for each of lines, its
// value a copy of the line and its key taken from that copy.
func (o *kafkaOutput) getWrite(lines [][]byte) *kafkaWrite {
	w, _ := o.writes.Get().(*kafkaWrite)
	if w == nil {
		w = new(kafkaWrite)
		w.promise = func(_ *kgo.Record, err error) {
			if err != nil {
				if w.failed.Add(1) == 1 {
					first := err // a copy: &err would move every call's err to the heap
					w.first.Store(&first)
				}
			}
			if w.pending.Add(-1) == 0 {
				close(w.done)
			}
		}
	}
	n := len(lines)
	if cap(w.recs) < n {
		w.recs = make([]kgo.Record, n)
	} else {
		w.recs = w.recs[:n]
	}
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	if cap(w.data) < size {
		w.data = make([]byte, 0, size)
	}
	data := w.data[:0]
	for i, l := range lines {
		start := len(data)
		data = append(data, l...) // never grows: size is its capacity
		v := data[start:len(data):len(data)]
		w.recs[i] = kgo.Record{Topic: o.topic, Value: v}
		if o.keyPath != nil {
			w.recs[i].Key = o.key(v)
		}
	}
	w.data = data
	w.failed.Store(0)
	w.first.Store(nil)
	w.pending.Store(int64(n))
	w.done = make(chan struct{})
	return w
}

// putWrite recycles w, whose records the client is done with.
func (o *kafkaOutput) putWrite(w *kafkaWrite) {
	if cap(w.recs) > maxPooledRecords || cap(w.data) > maxPooledBuffer {
		return
	}
	clear(w.recs) // drop the records' references to the client's state
	o.writes.Put(w)
}

// Close fails the records of Writes in flight, waits for those Writes and
// closes the client.
func (o *kafkaOutput) Close() error {
	o.cancel()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	o.cl.Close()
	return nil
}
