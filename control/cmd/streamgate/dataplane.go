package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/deadletter"
	"streamgate/dataplane/ingest"
	"streamgate/dataplane/match"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/server"
	"streamgate/dataplane/watch"
)

// dataplaneFlags are the flags of a data plane, shared by `dataplane` and
// `up`.
type dataplaneFlags struct {
	host, tcpPort, udpPort, httpPort, adminPort string
	syslogTCPPort, syslogUDPPort, syslogFormat  string
	otlpHTTPPort, otlpGRPCPort                  string
	otlpMaxBody                                 int
	manifestFile, bootPolicy, dataDir           string
	workers, bufLines, bufBytes, maxLine        int
	outputQueueBytes, egressAudit               int
	dlqMaxBytes                                 int64
	egressAuditDetectors                        string
	shadowCPU                                   float64
	overflow, memoryLimit                       string
	overflowWait, breakerDelay                  time.Duration
	shutdownTimeout, heartbeat, drainTimeout    time.Duration

	admin adminFlags // the admin server's address, TLS and pprof
	tap   tapFlags   // the admin tap's bounds
	// Ingest limits and TLS.
	maxConns, httpMaxRequests               int
	lineBudget, httpBodyBudget, httpMaxBody int
	idleTimeout, httpReadTimeout            time.Duration
	ingestAck                               string
	ackTimeout                              time.Duration
	tlsCert, tlsKey, tlsClientCA            string
	kafka                                   kafkaFlags // the Kafka input
}

func (f *dataplaneFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.host, "host", env("LISTEN_HOST", ""), "address the ingest listeners listen on, empty for all interfaces (env LISTEN_HOST)")
	fs.StringVar(&f.tcpPort, "tcp-port", env("TCP_PORT", "8081"), `TCP ingest port, "off" to disable (env TCP_PORT)`)
	fs.StringVar(&f.udpPort, "udp-port", env("UDP_PORT", "8082"), `UDP ingest port, "off" to disable (env UDP_PORT)`)
	fs.StringVar(&f.httpPort, "http-port", env("HTTP_INGEST_PORT", "8083"), `HTTP ingest port, "off" to disable (env HTTP_INGEST_PORT)`)
	fs.StringVar(&f.syslogTCPPort, "syslog-tcp-port", env("SYSLOG_TCP_PORT", "off"), `syslog ingest port over TCP (RFC 5424 or RFC 3164; octet-counting or newline framing, detected per connection; the TCP listener's limits and TLS), "off" to disable (env SYSLOG_TCP_PORT)`)
	fs.StringVar(&f.syslogUDPPort, "syslog-udp-port", env("SYSLOG_UDP_PORT", "off"), `syslog ingest port over UDP, one message per datagram, "off" to disable (env SYSLOG_UDP_PORT)`)
	fs.StringVar(&f.syslogFormat, "syslog-format", env("SYSLOG_FORMAT", "text"), `what a syslog message becomes: "text" the message as received; "json" an object of its fields with the severity also under log.level; a malformed message stays as received, counted in streamgate_syslog_malformed_total{listener,reason} (env SYSLOG_FORMAT)`)
	fs.StringVar(&f.otlpHTTPPort, "otlp-http-port", env("OTLP_HTTP_PORT", "off"), `OTLP/HTTP logs ingest port (POST /v1/logs, protobuf or JSON, gzip; the HTTP listener's limits and TLS), "off" to disable; 4318 is OTLP's own (env OTLP_HTTP_PORT)`)
	fs.StringVar(&f.otlpGRPCPort, "otlp-grpc-port", env("OTLP_GRPC_PORT", "off"), `OTLP/gRPC logs ingest port (LogsService/Export, gzip; -max-connections, -idle-timeout, -http-max-requests, -otlp-max-body and the ingest TLS), "off" to disable; 4317 is OTLP's own (env OTLP_GRPC_PORT)`)
	fs.IntVar(&f.otlpMaxBody, "otlp-max-body", ingest.DefaultOTLPMaxBody, `largest OTLP request in bytes: an OTLP/HTTP body, before and after decompression (a larger one is refused with 413, counted in streamgate_ingest_refused_total{listener="otlp_http",reason="body_too_large"}), and an OTLP/gRPC message (RESOURCE_EXHAUSTED)`)
	fs.StringVar(&f.adminPort, "admin-port", env("ADMIN_PORT", "8080"), `admin port: /metrics, /status, /healthz, /readyz, and /debug/pprof with -pprof; "off" to disable (env ADMIN_PORT)`)
	f.admin.register(fs)
	f.tap.register(fs)
	fs.StringVar(&f.manifestFile, "manifest", env("STREAMGATE_MANIFEST", ""), "manifest file to run (env STREAMGATE_MANIFEST); following Redis, the fallback run when at start Redis cannot be reached, holds a manifest that does not validate, or holds none: a valid manifest in Redis always wins")
	fs.StringVar(&f.bootPolicy, "boot-policy", env("STREAMGATE_BOOT_POLICY", "closed"), `following Redis, what runs before a manifest is read there: "closed" keeps ingest closed (connections refused, /readyz 503) while Redis cannot be reached or holds an invalid manifest, and there is no -manifest; "passthrough" opens ingest at once, passing every line to the console (env STREAMGATE_BOOT_POLICY)`)
	fs.StringVar(&f.dataDir, "data-dir", env("STREAMGATE_DATA_DIR", "./data"), "directory (created mode 0700 when first needed) of what is kept on disk: output disk queues, dead letters and, under up, the embedded Redis's snapshot; it holds processed lines only, after redaction (env STREAMGATE_DATA_DIR)")
	fs.DurationVar(&f.drainTimeout, "disk-drain-timeout", pipeline.DefaultDrainTimeout, `how long the disk buffer of an output that a new manifest removed keeps delivering; then what is left is dropped, counted (reason output_removed), and its queue deleted; 0: at once; negative: no bound`)
	fs.IntVar(&f.workers, "workers", runtime.GOMAXPROCS(0), "pipeline workers (lines of one connection stay in order)")
	fs.IntVar(&f.bufLines, "buffer-lines", pipeline.DefaultBufferLines, "buffer capacity in lines, over all workers")
	fs.IntVar(&f.bufBytes, "buffer-bytes", pipeline.DefaultBufferBytes, "buffer capacity in bytes, over all workers")
	fs.StringVar(&f.overflow, "overflow", "drop_oldest", "when the buffer is full: drop_oldest, drop_newest (each after -overflow-wait) or block (TCP backpressure)")
	fs.DurationVar(&f.overflowWait, "overflow-wait", pipeline.DefaultOverflowWait, `under drop_oldest and drop_newest, how long a TCP or HTTP sender is held back while the buffer is full before lines are dropped (reason buffer_full; UDP never waits), and how long a worker waits for an output's full queue once that output delivers nothing (reason queue_full); counted in streamgate_buffer_waits_total and streamgate_output_waits_total; 0 drops at once`)
	fs.DurationVar(&f.breakerDelay, "breaker-delay", pipeline.DefaultBreakerDelay, "under the drop policies, how long a worker's buffer must be at or above 80 %, the worker processing (not waiting for an output), before the breaker opens and filters are skipped; counted in all until the buffer stays below 80 % for as long; 0 opens it at once")
	fs.IntVar(&f.outputQueueBytes, "output-queue-bytes", pipeline.DefaultOutputQueue, "memory bound of the batches queued for one output (with a disk buffer, of those on their way to the disk: at most 1 MiB a worker); past it, under the drop policies, the worker waits while that output delivers (see -overflow-wait), then that output's batches are dropped and counted (reason queue_full); under block the pipeline waits for the output instead")
	fs.Int64Var(&f.dlqMaxBytes, "dlq-max-bytes", deadletter.DefaultMaxBytes, "bound in bytes of each output's dead-letter file (-data-dir/dlq), which keeps the batches its destination refused for good (a 4xx other than 408 and 429); a batch that does not fit is dropped and counted in streamgate_output_lines_dropped_total{reason=\"dead_letter_full\"}")
	fs.Float64Var(&f.shadowCPU, "shadow-cpu-budget", pipeline.DefaultShadowCPU, `fraction of each second a worker may spend running the shadow manifest beside the live one (POST /shadow); past it the shadow skips batches until the next second, counted in streamgate_shadow_lines_skipped_total; 1 or more: no bound`)
	fs.IntVar(&f.egressAudit, "egress-audit", pipeline.DefaultAuditEvery, "scan 1 in N emitted lines again for personal data with the -egress-audit-detectors, counting findings in streamgate_egress_pii_total{detector,output}; 0 disables")
	fs.StringVar(&f.egressAuditDetectors, "egress-audit-detectors", strings.Join(pipeline.DefaultAuditDetectors, ","), "the detectors the egress audit runs: names, categories or all, comma-separated (each costs a pass over every line scanned; streamgate detectors lists them)")
	fs.IntVar(&f.maxLine, "max-line", ingest.DefaultMaxLine, "longest line in bytes; longer lines are dropped and counted (reason oversize)")
	fs.DurationVar(&f.shutdownTimeout, "shutdown-timeout", server.DefaultShutdownTimeout, "how long SIGTERM may take to drain and flush")
	fs.DurationVar(&f.heartbeat, "heartbeat", watch.DefaultHeartbeat, "interval of the fleet heartbeat written to Redis (time to live: 3 intervals)")
	fs.IntVar(&f.maxConns, "max-connections", ingest.DefaultMaxConns, `most connections each of the TCP and HTTP ingest listeners holds; beyond it a new one is accepted and closed at once, counted in streamgate_ingest_refused_total{reason="max_connections"}`)
	fs.DurationVar(&f.idleTimeout, "idle-timeout", ingest.DefaultIdleTimeout, `close a TCP ingest connection that sent nothing for this long, and an HTTP one that waited this long for its next request; counted in streamgate_ingest_closed_total{reason="idle_timeout"}`)
	fs.IntVar(&f.lineBudget, "line-budget", ingest.DefaultLineBudget, `bytes held for unfinished lines over all TCP ingest connections; past it the connection that holds the most is closed, its line dropped (reason truncated) and counted in streamgate_ingest_closed_total{reason="line_budget"}`)
	fs.IntVar(&f.httpMaxBody, "http-max-body", ingest.DefaultMaxBody, `largest HTTP ingest request body in bytes; a larger one is refused with 413, counted in streamgate_ingest_refused_total{reason="body_too_large"}`)
	fs.IntVar(&f.httpBodyBudget, "http-body-budget", ingest.DefaultHTTPBodyBudget, `bytes of HTTP ingest request bodies held at once (at least -http-max-body), reserved from Content-Length before a body is read; a request beyond it is answered 429 with Retry-After, counted in streamgate_ingest_refused_total{reason="body_budget"}`)
	fs.IntVar(&f.httpMaxRequests, "http-max-requests", ingest.DefaultHTTPMaxRequests, `most HTTP ingest requests served at once; one beyond is answered 429 with Retry-After, counted in streamgate_ingest_refused_total{reason="max_requests"}`)
	fs.DurationVar(&f.httpReadTimeout, "http-read-timeout", ingest.DefaultHTTPReadTimeout, `time an HTTP ingest client has to send a whole request (and a new connection its first); counted in streamgate_ingest_closed_total{reason="read_timeout"}`)
	fs.StringVar(&f.ingestAck, "ingest-ack", "none", `HTTP ingest: "durable" answers every request 202 only once each of its lines is filtered, or taken by every output (persisted to its disk buffer, delivered by the others), and 503 with Retry-After otherwise; "none" answers once the body is read; a request's ?ack=durable or ?ack=none wins`)
	fs.DurationVar(&f.ackTimeout, "ack-timeout", ingest.DefaultAckTimeout, `HTTP ingest: how long an acknowledged request waits for its lines to be settled before it is answered 503, counted in streamgate_ingest_acks_total{result="timeout"}`)
	fs.StringVar(&f.tlsCert, "tls-cert", env("INGEST_TLS_CERT", ""), "certificate chain (PEM) of the TCP and HTTP ingest listeners: with -tls-key they speak TLS only (UDP stays plain) (env INGEST_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "tls-key", env("INGEST_TLS_KEY", ""), "private key (PEM) of -tls-cert (env INGEST_TLS_KEY)")
	fs.StringVar(&f.tlsClientCA, "tls-client-ca", env("INGEST_TLS_CLIENT_CA", ""), "CA certificates (PEM) a TCP or HTTP ingest client's certificate must chain to: with it every client must present one (mutual TLS) (env INGEST_TLS_CLIENT_CA)")
	f.kafka.register(fs)
	fs.StringVar(&f.memoryLimit, "memory-limit", defaultMemoryLimit, `soft memory limit of the Go runtime: the GC works harder as the heap nears it, nothing is refused ("off" to disable; GOMEMLIMIT, when set, wins)`)
}

func (f *dataplaneFlags) options(log *slog.Logger) (server.Options, error) {
	policy, err := buffer.ParsePolicy(f.overflow)
	if err != nil {
		return server.Options{}, fmt.Errorf("-overflow: %w", err)
	}
	if f.outputQueueBytes <= 0 {
		return server.Options{}, fmt.Errorf("-output-queue-bytes: want a positive number of bytes; got %d", f.outputQueueBytes)
	}
	if f.overflowWait < 0 {
		return server.Options{}, fmt.Errorf("-overflow-wait: want 0 (drop at once) or a positive duration; got %s", f.overflowWait)
	}
	if f.breakerDelay < 0 {
		return server.Options{}, fmt.Errorf("-breaker-delay: want 0 (open at once) or a positive duration; got %s", f.breakerDelay)
	}
	if f.dlqMaxBytes <= 0 {
		return server.Options{}, fmt.Errorf("-dlq-max-bytes: want a positive number of bytes; got %d", f.dlqMaxBytes)
	}
	if !(f.shadowCPU > 0) || math.IsInf(f.shadowCPU, 0) {
		return server.Options{}, fmt.Errorf("-shadow-cpu-budget: want a fraction of a second above 0 (1 or more: no bound); got %v", f.shadowCPU)
	}
	if f.egressAudit < 0 {
		return server.Options{}, fmt.Errorf("-egress-audit: want 0 (off) or a positive number of lines; got %d", f.egressAudit)
	}
	auditDetectors := strings.Split(f.egressAuditDetectors, ",")
	if _, err := match.SelectDetectors(auditDetectors); err != nil {
		return server.Options{}, fmt.Errorf("-egress-audit-detectors: %w", err)
	}
	// pipeline.Options: 0 is the default, a negative value off.
	auditEvery, overflowWait, breakerDelay := f.egressAudit, f.overflowWait, f.breakerDelay
	if auditEvery == 0 {
		auditEvery = -1
	}
	if overflowWait == 0 {
		overflowWait = -1
	}
	if breakerDelay == 0 {
		breakerDelay = -1
	}
	bootPolicy, err := server.ParseBootPolicy(f.bootPolicy)
	if err != nil {
		return server.Options{}, fmt.Errorf("-boot-policy: %w", err)
	}
	limits, err := f.limits()
	if err != nil {
		return server.Options{}, err
	}
	tlsCfg, err := f.ingestTLS()
	if err != nil {
		return server.Options{}, err
	}
	if err := setMemoryLimit(f.memoryLimit); err != nil {
		return server.Options{}, fmt.Errorf("-memory-limit: %w", err)
	}
	syslogFormat, err := ingest.ParseSyslogFormat(f.syslogFormat)
	if err != nil {
		return server.Options{}, err
	}
	drain := f.drainTimeout
	if drain == 0 {
		drain = time.Nanosecond // pipeline.Options: 0 is the default
	}
	opts := server.Options{
		TCPAddr:   addr(f.host, f.tcpPort),
		UDPAddr:   addr(f.host, f.udpPort),
		HTTPAddr:  addr(f.host, f.httpPort),
		AdminAddr: addr(f.admin.host, f.adminPort),

		SyslogTCPAddr: addr(f.host, f.syslogTCPPort),
		SyslogUDPAddr: addr(f.host, f.syslogUDPPort),
		SyslogFormat:  syslogFormat,
		OTLPHTTPAddr:  addr(f.host, f.otlpHTTPPort),
		OTLPGRPCAddr:  addr(f.host, f.otlpGRPCPort),
		MaxLine:       f.maxLine,
		Limits:        limits,
		TLS:           tlsCfg,
		Pipeline: pipeline.Options{
			Workers:            f.workers,
			BufferLines:        f.bufLines,
			BufferBytes:        f.bufBytes,
			Overflow:           policy,
			OutputQueueBytes:   f.outputQueueBytes,
			AuditEvery:         auditEvery,
			AuditDetectors:     auditDetectors,
			DataDir:            f.dataDir,
			DeadLetterMaxBytes: f.dlqMaxBytes,
			DiskDrainTimeout:   drain,
			OverflowWait:       overflowWait,
			BreakerDelay:       breakerDelay,
			ShadowCPU:          f.shadowCPU,
		},
		Logger: log,
	}
	opts.BootPolicy = bootPolicy
	if opts.Kafka, err = f.kafka.config(); err != nil {
		return opts, err
	}
	if err := f.admin.apply(&opts); err != nil {
		return opts, err
	}
	if opts.Tap, err = f.tap.options(); err != nil {
		return opts, err
	}
	if f.manifestFile != "" {
		if opts.Manifest, err = loadManifest(f.manifestFile); err != nil {
			return opts, err
		}
	}
	return opts, nil
}

// limits checks the ingest limits' flags: every one must be positive, and
// the body budget must hold the largest body.
func (f *dataplaneFlags) limits() (ingest.Limits, error) {
	var errs []error
	for _, c := range []struct {
		flag string
		v    int64
	}{
		{"-max-connections", int64(f.maxConns)},
		{"-idle-timeout", int64(f.idleTimeout)},
		{"-line-budget", int64(f.lineBudget)},
		{"-http-max-body", int64(f.httpMaxBody)},
		{"-otlp-max-body", int64(f.otlpMaxBody)},
		{"-http-body-budget", int64(f.httpBodyBudget)},
		{"-http-max-requests", int64(f.httpMaxRequests)},
		{"-http-read-timeout", int64(f.httpReadTimeout)},
		{"-ack-timeout", int64(f.ackTimeout)},
	} {
		if c.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive value; got %d", c.flag, c.v))
		}
	}
	if f.httpBodyBudget < f.httpMaxBody {
		errs = append(errs, fmt.Errorf("-http-body-budget: want at least -http-max-body (%d), or no body that large could ever be taken; got %d", f.httpMaxBody, f.httpBodyBudget))
	}
	if f.otlpHTTPPort != "off" && f.httpBodyBudget < f.otlpMaxBody {
		errs = append(errs, fmt.Errorf("-http-body-budget: want at least -otlp-max-body (%d), or no OTLP body that large could ever be taken; got %d", f.otlpMaxBody, f.httpBodyBudget))
	}
	if f.ingestAck != "none" && f.ingestAck != "durable" {
		errs = append(errs, fmt.Errorf("-ingest-ack: want none or durable; got %q", f.ingestAck))
	}
	if err := errors.Join(errs...); err != nil {
		return ingest.Limits{}, err
	}
	return ingest.Limits{
		AckDurable:      f.ingestAck == "durable",
		AckTimeout:      f.ackTimeout,
		MaxConns:        f.maxConns,
		IdleTimeout:     f.idleTimeout,
		LineBudget:      int64(f.lineBudget),
		HTTPMaxBody:     int64(f.httpMaxBody),
		OTLPMaxBody:     int64(f.otlpMaxBody),
		HTTPBodyBudget:  int64(f.httpBodyBudget),
		HTTPMaxRequests: f.httpMaxRequests,
		HTTPReadTimeout: f.httpReadTimeout,
	}, nil
}

// ingestTLS loads the TLS configuration of the TCP and HTTP ingest
// listeners, or returns nil when none is asked for.
func (f *dataplaneFlags) ingestTLS() (*tls.Config, error) {
	switch {
	case f.tlsCert == "" && f.tlsKey == "" && f.tlsClientCA == "":
		return nil, nil
	case f.tlsCert == "" || f.tlsKey == "":
		return nil, errors.New("-tls-cert and -tls-key: give both (and -tls-client-ca only with them)")
	}
	cfg, err := ingest.LoadTLS(f.tlsCert, f.tlsKey, f.tlsClientCA)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert, -tls-key, -tls-client-ca: %w", err)
	}
	return cfg, nil
}

// tlsMode names the ingest listeners' TLS for the start-up log line.
func (f *dataplaneFlags) tlsMode() string {
	switch {
	case f.tlsCert == "":
		return "off"
	case f.tlsClientCA == "":
		return "on"
	}
	return "mutual"
}

func runDataplane(args []string) error {
	var f dataplaneFlags
	log, ropts, err := setup("dataplane", args, f.register)
	if err != nil {
		return err
	}
	ctx, stop := untilSignal()
	defer stop()
	hup := notifyHUP()
	defer signal.Stop(hup)
	dp, err := startDataplane(ctx, &f, ropts, log, hup)
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
	case err = <-dp.s.Failed():
	}
	stop()
	<-dp.reloaded
	return errors.Join(err, dp.shutdown(f.shutdownTimeout))
}

// dataplane is a running data plane and the Redis client it follows, if
// any.
type dataplane struct {
	log   *slog.Logger
	s     *server.Server
	redis io.Closer // nil without Redis
	// reloaded is closed once the manifest reloader has stopped, after
	// the context given to startDataplane ends.
	reloaded <-chan struct{}
}

func startDataplane(ctx context.Context, f *dataplaneFlags, ropts rdb.Options, log *slog.Logger, hup chan os.Signal) (*dataplane, error) {
	opts, err := f.options(log)
	if err != nil {
		return nil, err
	}
	dp := &dataplane{log: log}
	if ropts.Configured() {
		c := rdb.NewClient(ropts)
		dp.redis = c
		opts.Watch = &watch.Options{Client: c, Heartbeat: f.heartbeat}
	}
	s, err := server.Start(opts)
	if err != nil {
		if dp.redis != nil {
			dp.redis.Close()
		}
		return nil, err
	}
	dp.s = s
	source := "built-in default (console)"
	if m := s.Applied(); m == opts.Manifest && m != nil {
		source = "file " + f.manifestFile + ", version " + string(m.Version)
	} else if m != nil {
		source = "version " + string(m.Version) + " from redis"
	}
	if s.Waiting() {
		source = "none yet: ingest closed until a valid manifest is read from redis"
	}
	if s.Following() {
		source += "; following redis " + ropts.String() + " as " + s.InstanceID()
	}
	dp.reloaded = (&manifestReloader{path: f.manifestFile, s: s, log: log, hup: hup}).start(ctx)
	stcp, sudp := s.SyslogAddrs()
	log.Info("data plane running",
		"tcp", addrOrOff(s.TCPAddr()), "udp", addrOrOff(s.UDPAddr()), "http", addrOrOff(s.HTTPAddr()), "admin", addrOrOff(s.AdminAddr()),
		"syslog_tcp", addrOrOff(stcp), "syslog_udp", addrOrOff(sudp), "otlp_http", addrOrOff(s.OTLPHTTPAddr()), "otlp_grpc", addrOrOff(s.OTLPGRPCAddr()),
		"kafka_topics", f.kafka.topics, "workers", f.workers, "overflow", f.overflow, "overflow_wait", f.overflowWait, "breaker_delay", f.breakerDelay, "egress_audit", f.egressAudit, "boot_policy", f.bootPolicy, "ingest_tls", f.tlsMode(), "manifest", source)
	return dp, nil
}

// addrOrOff is a listener's address as the log shows it: "off", as its
// flag says, when it does not listen.
func addrOrOff(a net.Addr) string {
	if a == nil {
		return "off"
	}
	return a.String()
}

// shutdown stops following Redis, then drains and flushes within timeout;
// the server logs the final accounting.
func (dp *dataplane) shutdown(timeout time.Duration) error {
	dp.log.Info("shutting down: draining", "timeout", timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := dp.s.Shutdown(ctx)
	if dp.redis != nil {
		dp.redis.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown timed out after %s; undelivered lines were counted as dropped", timeout)
	}
	return err
}

// defaultMemoryLimit is -memory-limit's default. The data plane's goal is a
// peak RSS of at most 64 MB, and about 22 MiB of it is the binary's own
// pages, mapped at start: the Go runtime gets 40 MiB. At their default
// bounds the buffer (8 MiB) and one output's queue (8 MiB), with the batches
// they pin, hold about 20 MiB under overload, which leaves the collector
// room to work without running back to back.
const defaultMemoryLimit = "40MiB"

// setMemoryLimit applies a soft memory limit such as "40MiB", unless it is
// "off" or GOMEMLIMIT is set.
func setMemoryLimit(v string) error {
	if v == "off" || os.Getenv("GOMEMLIMIT") != "" {
		return nil
	}
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(v, u.suffix); ok {
			n, err := strconv.ParseInt(num, 10, 64)
			if err != nil || n <= 0 {
				break
			}
			debug.SetMemoryLimit(n * u.mult)
			return nil
		}
	}
	return fmt.Errorf(`want a size like 40MiB or 1GiB, or "off"; got %q`, v)
}
