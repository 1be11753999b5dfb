package output

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"streamgate/dataplane/record"
)

const testTopic = "logs"

// newFakeKafka starts an in-memory Kafka cluster of one broker with the
// topic testTopic in four partitions, and closes it when the test ends.
func newFakeKafka(t testing.TB, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(4, testTopic)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// fastKafka shortens the client's waits between retries and metadata
// refreshes (5 s by default, after a failed produce), so a test that fails
// requests or takes a broker away gets it back quickly.
var fastKafka = []kgo.Opt{
	kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }),
	kgo.MetadataMinAge(20 * time.Millisecond),
}

// newTestKafka builds a kafka output through the registry's validation
// and the real constructor, and closes it when the test ends.
func newTestKafka(t testing.TB, c *Config) *kafkaOutput {
	t.Helper()
	c.Type = "kafka"
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newKafkaOutput(c, fastKafka...)
	if err != nil {
		t.Fatalf("newKafkaOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// consumed is a record read back from the topic.
type consumed struct {
	key, value string
	partition  int32
	offset     int64
}

// consumeAll reads the topic from the start until it has n records, and a
// moment more to catch any extra.
func consumeAll(t testing.TB, addrs []string, n int) []consumed {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics(testTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []consumed
	deadline := time.Now().Add(20 * time.Second)
	extra := time.Time{}
	for time.Now().Before(deadline) {
		if len(out) >= n {
			if extra.IsZero() {
				extra = time.Now().Add(200 * time.Millisecond)
			} else if time.Now().After(extra) {
				break
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, consumed{string(r.Key), string(r.Value), r.Partition, r.Offset})
		})
	}
	return out
}

func kafkaBatch(lines ...string) *record.Batch { return tcpBatch(lines...) }

func TestKafkaDelivers(t *testing.T) {
	for _, codec := range []string{"", "none", "gzip", "snappy", "lz4", "zstd"} {
		t.Run("compression="+codec, func(t *testing.T) {
			c := newFakeKafka(t)
			o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic, Compression: codec})
			var want []string
			for b := range 3 {
				var lines []string
				for i := range 50 {
					lines = append(lines, fmt.Sprintf("batch %d line %d %s", b, i, strings.Repeat("x", i)))
				}
				want = append(want, lines...)
				if err := o.Write(context.Background(), kafkaBatch(lines...)); err != nil {
					t.Fatalf("Write: got %v; want nil", err)
				}
			}
			got := consumeAll(t, c.ListenAddrs(), len(want))
			if len(got) != len(want) {
				t.Fatalf("got %d records; want %d", len(got), len(want))
			}
			seen := map[string]int{}
			for _, r := range got {
				seen[r.value]++
				if r.key != "" {
					t.Errorf("record %q has key %q; want none without key_field", r.value, r.key)
				}
			}
			for _, w := range want {
				if seen[w] != 1 {
					t.Errorf("line %q delivered %d times; want once", w, seen[w])
				}
			}
		})
	}
}

// TestKafkaKeyOrder: lines with the same key_field value land in one
// partition, in the order written; lines without it get no key.
func TestKafkaKeyOrder(t *testing.T) {
	c := newFakeKafka(t)
	o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic, KeyField: "user/id"})
	const users, batches, perBatch = 8, 20, 40
	seq := map[string]int{}
	want := 0
	for range batches {
		var lines []string
		for i := range perBatch {
			u := "u" + strconv.Itoa(i%users)
			seq[u]++
			lines = append(lines, fmt.Sprintf(`{"user":{"id":%q},"seq":%d}`, u, seq[u]))
		}
		lines = append(lines, "plain text", `{"user":{}}`)
		want += len(lines)
		if err := o.Write(context.Background(), kafkaBatch(lines...)); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	got := consumeAll(t, c.ListenAddrs(), want)
	if len(got) != want {
		t.Fatalf("got %d records; want %d", len(got), want)
	}
	partOf := map[string]int32{}
	last := map[string]int{}
	for _, r := range got {
		if !strings.HasPrefix(r.value, `{"user":{"id"`) {
			if r.key != "" {
				t.Errorf("line %q has key %q; want none", r.value, r.key)
			}
			continue
		}
		var n int
		fmt.Sscanf(r.value[strings.Index(r.value, `"seq":`)+6:], "%d", &n)
		if !strings.Contains(r.value, `"`+r.key+`"`) || r.key == "" {
			t.Fatalf("line %q has key %q; want its user id", r.value, r.key)
		}
		if p, ok := partOf[r.key]; ok && p != r.partition {
			t.Errorf("key %s in partitions %d and %d; want one", r.key, p, r.partition)
		}
		partOf[r.key] = r.partition
		// Records of one partition are consumed in offset order.
		if n != last[r.key]+1 {
			t.Errorf("key %s: seq %d after %d; want %d", r.key, n, last[r.key], last[r.key]+1)
		}
		last[r.key] = n
	}
	parts := map[int32]bool{}
	for _, p := range partOf {
		parts[p] = true
	}
	if len(parts) < 2 {
		t.Errorf("%d keys went to %d partition(s); want them spread", users, len(parts))
	}
}

func TestKafkaKey(t *testing.T) {
	o := &kafkaOutput{keyPath: []string{"a", "b"}}
	for _, c := range []struct{ line, want string }{
		{`{"a":{"b":"x"}}`, "x"},
		{`{"a":{"b":42}}`, "42"},
		{`{"a":{"b":"\u0078y"}}`, "xy"},
		{`{"a":{"b":{"c":1}}}`, `{"c":1}`},
		{`{"a":{"b":null}}`, ""},
		{`{"a":{"c":"x"}}`, ""},
		{`{"a":"b"}`, ""},
		{`not json b=x`, ""},
		{`["a"]`, ""},
	} {
		if got := string(o.key([]byte(c.line))); got != c.want {
			t.Errorf("key(%s): got %q; want %q", c.line, got, c.want)
		}
	}
}

// TestKafkaRetriesBrokerErrors: produce requests failed with a retryable
// error are retried; every line is delivered once.
func TestKafkaRetriesBrokerErrors(t *testing.T) {
	c := newFakeKafka(t)
	h := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Count: 3})
	o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic})
	lines := []string{"one", "two", "three", "four"}
	if err := o.Write(context.Background(), kafkaBatch(lines...)); err != nil {
		t.Fatalf("Write: got %v; want nil after retries", err)
	}
	if n := h.Hits(); n != 3 {
		t.Errorf("fault hit %d times; want 3", n)
	}
	if got := consumeAll(t, c.ListenAddrs(), len(lines)); len(got) != len(lines) {
		t.Errorf("got %d records; want %d", len(got), len(lines))
	}
}

// TestKafkaBrokerRestart: the broker stops while a batch is written and
// comes back on the same port with its data: the Write returns nil once
// the batch is acknowledged, and nothing is lost or duplicated.
func TestKafkaBrokerRestart(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	opts := []kfake.Opt{kfake.Ports(port), kfake.DataDir(dir)}
	c := newFakeKafka(t, opts...)
	addrs := c.ListenAddrs()
	o := newTestKafka(t, &Config{Brokers: addrs, Topic: testTopic, KeyField: "k"})
	var want []string
	write := func(tag string) error {
		var lines []string
		for i := range 100 {
			lines = append(lines, fmt.Sprintf(`{"k":"%d","tag":%q,"i":%d}`, i%5, tag, i))
		}
		want = append(want, lines...)
		return o.Write(context.Background(), kafkaBatch(lines...))
	}
	if err := write("before"); err != nil {
		t.Fatalf("Write before the stop: %v", err)
	}
	c.Close()
	done := make(chan error, 1)
	go func() { done <- write("during") }()
	select {
	case err := <-done:
		t.Fatalf("Write while the broker is down returned %v; want it to wait", err)
	case <-time.After(300 * time.Millisecond):
	}
	c2 := newFakeKafka(t, opts...)
	if err := <-done; err != nil {
		t.Fatalf("Write across the restart: got %v; want nil", err)
	}
	if err := write("after"); err != nil {
		t.Fatalf("Write after the restart: %v", err)
	}
	got := consumeAll(t, c2.ListenAddrs(), len(want))
	seen := map[string]int{}
	for _, r := range got {
		seen[r.value]++
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("line %s delivered %d times; want once", w, seen[w])
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d records; want %d", len(got), len(want))
	}
}

// TestKafkaGivesUp: with no broker, a Write fails after timeout_ms, and
// says how many records were not acknowledged.
func TestKafkaGivesUp(t *testing.T) {
	port := freePort(t)
	o := newTestKafka(t, &Config{Brokers: StringList{"127.0.0.1:" + strconv.Itoa(port)}, Topic: testTopic, TimeoutMS: 1000})
	err := o.Write(context.Background(), kafkaBatch("a", "b", "c"))
	if err == nil || !strings.Contains(err.Error(), "3 of 3 records not acknowledged") {
		t.Fatalf("Write: got %v; want the 3 records not acknowledged", err)
	}
}

// TestKafkaContext: a Write waiting for an absent broker returns when its
// ctx is cancelled, and when the output is closed.
func TestKafkaContext(t *testing.T) {
	port := freePort(t)
	cfg := &Config{Brokers: StringList{"127.0.0.1:" + strconv.Itoa(port)}, Topic: testTopic}

	o := newTestKafka(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := o.Write(ctx, kafkaBatch("a", "b")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with ctx cancelled: got %v; want context.Canceled", err)
	}

	o2 := newTestKafka(t, cfg)
	done := make(chan error, 1)
	go func() { done <- o2.Write(context.Background(), kafkaBatch("a")) }()
	time.Sleep(100 * time.Millisecond)
	o2.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Write during Close: got %v; want ErrClosed", err)
	}
	if err := o2.Write(context.Background(), kafkaBatch("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: got %v; want ErrClosed", err)
	}
}

func TestKafkaSASL(t *testing.T) {
	for _, mech := range []struct{ ours, kfake string }{
		{"plain", "PLAIN"}, {"scram-sha-256", "SCRAM-SHA-256"}, {"scram-sha-512", "SCRAM-SHA-512"},
	} {
		t.Run(mech.ours, func(t *testing.T) {
			c := newFakeKafka(t, kfake.EnableSASL(), kfake.Superuser(mech.kfake, "streamgate", "s3cret-pass"))
			pw := filepath.Join(t.TempDir(), "password")
			os.WriteFile(pw, []byte("s3cret-pass\n"), 0o600)
			cfg := &Config{Brokers: c.ListenAddrs(), Topic: testTopic, SASLMechanism: mech.ours, SASLUsername: "streamgate", SASLPasswordFile: pw}
			o := newTestKafka(t, cfg)
			if err := o.Write(context.Background(), kafkaBatch("authenticated")); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if strings.Contains(cfg.Name(), "s3cret") || strings.Contains(cfg.Name(), "streamgate") {
				t.Errorf("Name() = %q; want no credential in it", cfg.Name())
			}

			os.WriteFile(pw, []byte("wrong-pass"), 0o600)
			cfg.TimeoutMS = 1000
			bad := newTestKafka(t, cfg)
			err := bad.Write(context.Background(), kafkaBatch("refused"))
			if err == nil {
				t.Fatal("Write with a wrong password: got nil; want an error")
			}
			if strings.Contains(err.Error(), "wrong-pass") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}

func TestKafkaTLS(t *testing.T) {
	certPEM, serverCfg := selfSigned(t)
	c := newFakeKafka(t, kfake.TLS(serverCfg))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(ca, certPEM, 0o600)
	for _, cfg := range []*Config{
		{Brokers: c.ListenAddrs(), Topic: testTopic, TLSCAFile: ca},
		{Brokers: c.ListenAddrs(), Topic: testTopic, TLSInsecureSkipVerify: true},
	} {
		o := newTestKafka(t, cfg)
		if err := o.Write(context.Background(), kafkaBatch("over tls")); err != nil {
			t.Errorf("Write with %+v: %v", cfg, err)
		}
	}
	// The system's authorities do not know the certificate.
	o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic, TLS: true, TimeoutMS: 1000})
	if err := o.Write(context.Background(), kafkaBatch("refused")); err == nil {
		t.Error("Write with an unknown certificate: got nil; want an error")
	}
}

// selfSigned returns a PEM certificate for 127.0.0.1 and a server TLS
// configuration that presents it.
func selfSigned(t *testing.T) ([]byte, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kafka test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyDER, _ := x509.MarshalECPrivateKey(key)
	pair, err := tls.X509KeyPair(cert, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	return cert, &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}

func TestKafkaValidate(t *testing.T) {
	ok := func() Config { return Config{Type: "kafka", Brokers: StringList{"k:9092"}, Topic: "logs"} }
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string // prefix of the error; "" for valid
	}{
		{"minimal", func(*Config) {}, ""},
		{"comma list", func(c *Config) { c.Brokers = StringList{"a:1, b:2", "c:3"} }, ""},
		{"no brokers", func(c *Config) { c.Brokers = nil }, "brokers: required"},
		{"only commas", func(c *Config) { c.Brokers = StringList{" , "} }, "brokers: required"},
		{"no port", func(c *Config) { c.Brokers = StringList{"kafka"} }, "brokers[0]: want host:port"},
		{"bad port", func(c *Config) { c.Brokers = StringList{"a:1", "b:99999"} }, "brokers[1]: port must be"},
		{"url", func(c *Config) { c.Brokers = StringList{"kafka://a:1"} }, "brokers[0]: want host:port"},
		{"no topic", func(c *Config) { c.Topic = "" }, "topic: required"},
		{"bad topic", func(c *Config) { c.Topic = "a b" }, "topic: only letters"},
		{"long topic", func(c *Config) { c.Topic = strings.Repeat("t", 250) }, "topic: at most 249"},
		{"dot topic", func(c *Config) { c.Topic = ".." }, "topic: \"..\" is not"},
		{"key path", func(c *Config) { c.KeyField = "a//b" }, "key_field: empty key"},
		{"codec", func(c *Config) { c.Compression = "brotli" }, "compression: want one of"},
		{"timeout", func(c *Config) { c.TimeoutMS = -1 }, "timeout_ms: must be at least 1000"},
		{"short timeout", func(c *Config) { c.TimeoutMS = 999 }, "timeout_ms: must be at least 1000"},
		{"mechanism", func(c *Config) { c.SASLMechanism = "gssapi" }, "sasl_mechanism: want one of"},
		{"no user", func(c *Config) { c.SASLMechanism, c.SASLPasswordFile = "plain", "p" }, "sasl_username: required"},
		{"no password", func(c *Config) { c.SASLMechanism, c.SASLUsername = "plain", "u" }, "sasl_password_file: required"},
		{"no mechanism", func(c *Config) { c.SASLUsername = "u" }, "sasl_mechanism: required"},
		{"url field", func(c *Config) { c.URL = "http://x" }, "url: not used by kafka output"},
		{"headers field", func(c *Config) { c.Headers = map[string]string{"a": "b"} }, "headers: not used by kafka output"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok()
			c.edit(&cfg)
			err := Validate(&cfg)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("got %v; want valid", err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Errorf("got %v; want %q…", err, c.want)
			}
		})
	}
}

// TestKafkaNewErrors: the files a config names are read when the output
// is built, and a problem names the field.
func TestKafkaNewErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	base := Config{Type: "kafka", Brokers: StringList{"127.0.0.1:9"}, Topic: "logs"}
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"missing ca", func(c *Config) { c.TLSCAFile = filepath.Join(dir, "nope") }, "tls_ca_file: cannot read"},
		{"bad ca", func(c *Config) { c.TLSCAFile = notPEM }, "tls_ca_file: no PEM certificate"},
		{"missing password", func(c *Config) {
			c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "plain", "u", filepath.Join(dir, "nope")
		}, "sasl_password_file: cannot read"},
		{"empty password", func(c *Config) { c.SASLMechanism, c.SASLUsername, c.SASLPasswordFile = "plain", "u", empty }, "sasl_password_file:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			c.edit(&cfg)
			if err := Validate(&cfg); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			_, err := New(&cfg)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("New: got %v; want %q…", err, c.want)
			}
		})
	}
}

func TestKafkaName(t *testing.T) {
	c := Config{Type: "kafka", Brokers: StringList{"a:1,b:2"}, Topic: "logs"}
	if got, want := c.Name(), "kafka:a:1,b:2/logs"; got != want {
		t.Errorf("Name() = %q; want %q", got, want)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestStringList(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{`{"brokers":"a:1"}`, "[a:1]", ""},
		{`{"brokers":["a:1","b:2"]}`, "[a:1 b:2]", ""},
		{`{"brokers":null}`, "[]", ""},
		{`{"brokers":5}`, "", "cannot unmarshal number into Go struct field Config.brokers of type output.StringList"},
		{`{"brokers":[5]}`, "", "Config.brokers"},
	} {
		var cfg Config
		err := json.Unmarshal([]byte(c.in), &cfg)
		switch {
		case c.err == "" && (err != nil || fmt.Sprint([]string(cfg.Brokers)) != c.want):
			t.Errorf("%s: got %v, %v; want %s", c.in, cfg.Brokers, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: got error %v; want one with %q", c.in, err, c.err)
		}
	}
}

// TestKafkaUnanswered: a broker that takes produce requests and never
// answers them (it drops the connection each time) holds the records in
// flight, which the client cannot fail; the Write still gives up after
// timeout_ms and a grace, and when its ctx is cancelled.
func TestKafkaUnanswered(t *testing.T) {
	c := newFakeKafka(t)
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return nil, errors.New("dropped"), true
	})
	o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic, TimeoutMS: 1000})
	err := o.Write(context.Background(), kafkaBatch("a", "b"))
	if err == nil || !strings.Contains(err.Error(), "not acknowledged within 1s") {
		t.Errorf("Write: got %v; want not acknowledged within 1s", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	if err := o.Write(ctx, kafkaBatch("c")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with ctx cancelled: got %v; want context.Canceled", err)
	}
}

// TestKafkaRecordTooLarge: a line over the producer's batch limit fails
// its batch; the other lines are written.
func TestKafkaRecordTooLarge(t *testing.T) {
	c := newFakeKafka(t)
	o := newTestKafka(t, &Config{Brokers: c.ListenAddrs(), Topic: testTopic})
	err := o.Write(context.Background(), kafkaBatch("small", strings.Repeat("x", 1_000_012), "also small"))
	if err == nil || !strings.Contains(err.Error(), "1 of 3 records not acknowledged") {
		t.Fatalf("Write: got %v; want 1 of 3 records not acknowledged", err)
	}
	if got := consumeAll(t, c.ListenAddrs(), 2); len(got) != 2 {
		t.Errorf("got %d records; want the 2 small lines", len(got))
	}
}
