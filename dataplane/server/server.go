// Package server assembles a data plane: listeners, pipeline, admin HTTP,
// and, when it follows a Redis, the watcher that keeps it in step with the
// published manifest. Apply is the one call that swaps in a whole manifest
// atomically; the watcher and the file loader both go through it.
//
// A data plane that follows Redis fails closed at boot (BootClosed): its
// ingest listeners are not bound until it knows what to run, so that no
// line leaves unfiltered because Redis was away or held a manifest that does
// not validate. Meanwhile the admin server answers, /readyz with 503 and
// the reason.
//
// Lock order: mu (Apply), then lmu (listeners and boot state).
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/buildinfo"
	"streamgate/dataplane/ingest"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/watch"
)

// DefaultShutdownTimeout bounds the drain on shutdown.
const DefaultShutdownTimeout = 10 * time.Second

// firstReadWait bounds how long Start waits for the watcher's first read of
// Redis under BootClosed. A Redis that refuses connections answers at once;
// one that does not answer at all leaves Start to return with ingest
// closed, to open once the read ends.
const firstReadWait = 5 * time.Second

// closedLogEvery is how often a data plane whose ingest stays closed at boot
// logs why.
const closedLogEvery = 10 * time.Second

// BootPolicy is what a data plane that follows Redis runs at start, before
// it has read a manifest there.
type BootPolicy int

const (
	// BootClosed, the default, binds the ingest listeners only once the
	// data plane knows what to run: the valid manifest in Redis; when
	// Redis answers and holds none, Options.Manifest or else the built-in
	// default; when Redis cannot be reached or holds a manifest that does
	// not validate, Options.Manifest. Without that fallback, ingest stays
	// closed and readiness fails until a valid manifest can be read.
	BootClosed BootPolicy = iota
	// BootPassthrough binds the listeners at once and runs
	// Options.Manifest, or the built-in default that passes every line to
	// the console, until a manifest is read from Redis.
	BootPassthrough
)

// String is the policy's name, as ParseBootPolicy takes it.
func (p BootPolicy) String() string {
	switch p {
	case BootClosed:
		return "closed"
	case BootPassthrough:
		return "passthrough"
	}
	return "BootPolicy(" + fmt.Sprint(int(p)) + ")"
}

// ParseBootPolicy parses "closed" or "passthrough".
func ParseBootPolicy(s string) (BootPolicy, error) {
	switch s {
	case "closed":
		return BootClosed, nil
	case "passthrough":
		return BootPassthrough, nil
	}
	return 0, fmt.Errorf("want closed or passthrough; got %q", s)
}

// Options configure a data plane. An empty address disables that listener.
type Options struct {
	TCPAddr  string // e.g. ":8081"
	UDPAddr  string // e.g. ":8082"
	HTTPAddr string // HTTP ingest, e.g. ":8083"

	// SyslogTCPAddr and SyslogUDPAddr, when set, open syslog listeners
	// (see ingest.Syslog); SyslogFormat is ingest.SyslogText ("" too) or
	// ingest.SyslogJSON. The syslog TCP listener has the TCP listener's
	// limits and TLS, each on its own.
	SyslogTCPAddr string
	SyslogUDPAddr string
	SyslogFormat  string
	AdminAddr     string // metrics, status, health, pprof, e.g. "127.0.0.1:8080"

	// OTLPHTTPAddr and OTLPGRPCAddr, when set, open the OTLP/HTTP and
	// OTLP/gRPC logs listeners (see ingest.OTLPHTTP and ingest.OTLPGRPC),
	// with the HTTP listener's limits and TLS.
	OTLPHTTPAddr string
	OTLPGRPCAddr string

	// AdminTLS, when set, makes the admin server serve HTTPS only.
	AdminTLS *tls.Config
	// Pprof serves /debug/pprof on the admin server; without it those
	// paths are 404. Profiles and traces last at most MaxProfileSeconds.
	Pprof bool
	// Tap bounds GET /tap on the admin server (see tap.go); the zero
	// value serves it with its defaults.
	Tap TapOptions
	// Cmdline is what /debug/pprof/cmdline shows, secret values already
	// replaced; nil serves no command line (404).
	Cmdline []string

	// UDPReaders is the number of SO_REUSEPORT sockets; 0 means the
	// pipeline's worker count.
	UDPReaders int
	// MaxLine is the longest line accepted; 0 means ingest.DefaultMaxLine.
	MaxLine int
	// Limits bound what clients can make the TCP and HTTP listeners hold;
	// zero fields take their defaults.
	Limits ingest.Limits
	// TLS, when set, makes the TCP and HTTP listeners speak TLS only (see
	// ingest.LoadTLS).
	TLS *tls.Config
	// Kafka, when set, starts a Kafka consumer-group input (ingest.Kafka)
	// with the other ingest listeners.
	Kafka *ingest.KafkaConfig
	// Pipeline configures the buffer and workers.
	Pipeline pipeline.Options
	// Manifest is applied at start; nil means the built-in default, which
	// passes everything to the console. With Watch and BootClosed it is
	// the fallback: what runs when Redis cannot be reached at start, or
	// holds a manifest that does not validate, or holds none.
	Manifest *manifest.Manifest
	// Watch, when set, makes the data plane follow the manifest published
	// in the Redis of Watch.Client, and report itself to the fleet; the
	// server fills in Watch.Target (and Watch.Logger when nil). /status
	// then serves the fleet heartbeat. The caller closes the client after
	// Shutdown.
	Watch *watch.Options
	// BootPolicy says what a data plane with Watch runs before it has
	// read a manifest in Redis; the zero value is BootClosed.
	BootPolicy BootPolicy
	Logger     *slog.Logger

	closedLogEvery time.Duration // closedLogEvery when 0; tests shorten it
	savingsEvery   time.Duration // savingsEvery when 0; tests shorten it
}

// Server is a running data plane.
type Server struct {
	log   *slog.Logger
	m     *metrics.Metrics
	p     *pipeline.Pipeline
	begun time.Time // when Start began

	admin   *http.Server
	adminLn net.Listener
	serve   sync.WaitGroup

	// The ingest listeners, bound at start or, under BootClosed, once the
	// data plane knows what to run.
	lopts     Options       // their addresses and settings
	lmu       sync.Mutex    // guards the listeners and the boot state below
	tcp       *ingest.TCP   // lmu
	udp       *ingest.UDP   // lmu
	stcp      *ingest.TCP   // lmu: syslog
	sudp      *ingest.UDP   // lmu: syslog
	http      *ingest.HTTP  // lmu
	kafka     *ingest.Kafka // lmu
	otlpIn    otlpIngest    // lmu
	waiting   bool          // lmu; ingest closed until the data plane knows what to run
	firstRead bool          // lmu; the watcher has read Redis, or failed to, once
	closing   bool          // lmu; Shutdown began: ingest never opens
	readOnce  chan struct{} // closed when firstRead is set
	opened    chan struct{} // closed when a waiting data plane opens ingest
	fallback  *manifest.Manifest
	quit      chan struct{} // closed when Shutdown begins
	failed    chan error    // why ingest could not open after Start returned

	ready    atomic.Bool
	started  bool       // Start succeeded; set before Start returns
	mu       sync.Mutex // serialises Apply
	applied  atomic.Pointer[manifest.Manifest]
	rejected atomic.Pointer[Rejection]
	shutdown sync.Once

	// The savings (savings.go): samples of the counters, the outputs'
	// cost_per_gb by name, and the last shadow manifest refused.
	ring      savingsRing
	costs     atomic.Pointer[map[string]float64]
	shadowErr atomic.Pointer[Rejection]

	watcher     *watch.Watcher // nil unless following Redis
	stopWatch   context.CancelFunc
	watcherDone chan struct{}
}

// Start builds the pipeline, applies the initial manifest and starts the
// listeners. On error nothing is left running.
func Start(opts Options) (s *Server, err error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m := opts.Pipeline.Metrics
	if m == nil {
		m = metrics.New()
		opts.Pipeline.Metrics = m
	}
	if opts.Pipeline.Tap == nil && !opts.Tap.Off {
		opts.Pipeline.Tap = newTapHub(opts.Tap, m)
	}
	opts.Pipeline.Logger = opts.Logger
	var initial *pipeline.Config
	if opts.Manifest != nil {
		if initial, err = compile(opts.Manifest); err != nil {
			return nil, fmt.Errorf("cannot apply manifest: %w", err)
		}
	}
	p, err := pipeline.New(opts.Pipeline, initial)
	if err != nil {
		return nil, err
	}
	s = &Server{log: opts.Logger, m: m, p: p, begun: time.Now(), lopts: opts, fallback: opts.Manifest,
		readOnce: make(chan struct{}), opened: make(chan struct{}), quit: make(chan struct{}), failed: make(chan error, 1)}
	if opts.Manifest != nil {
		s.applied.Store(opts.Manifest)
		costs := outputCosts(initial.Outputs)
		s.costs.Store(&costs)
	}
	s.ring.add(sampleSavings(m, time.Now()), savingsWindow)
	every := opts.savingsEvery
	if every <= 0 {
		every = savingsEvery
	}
	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		s.sampleSavingsEvery(every)
	}()
	defer func() {
		if err != nil {
			s.Shutdown(context.Background())
		}
	}()
	m.Gauge("streamgate_boot_waiting", func() float64 {
		if s.Waiting() {
			return 1
		}
		return 0
	})

	// The watcher reads the ingest listeners and the admin listener (its
	// heartbeat holds their addresses), and the admin server's /status
	// reads the watcher: it starts between the two. Under BootClosed the
	// ingest listeners open when the watcher's reads say what to run,
	// during Start or later.
	if opts.AdminAddr != "" {
		if s.adminLn, err = net.Listen("tcp", opts.AdminAddr); err != nil {
			return s, fmt.Errorf("cannot listen on admin %s: %w", opts.AdminAddr, err)
		}
	}
	waitBoot := opts.Watch != nil && opts.BootPolicy == BootClosed
	if waitBoot {
		s.waiting = true
	} else {
		s.lmu.Lock()
		err = s.openIngestLocked()
		s.lmu.Unlock()
		if err != nil {
			return s, err
		}
	}
	if opts.Watch != nil {
		s.follow(*opts.Watch)
	}
	if s.adminLn != nil {
		s.admin = newAdminServer(s.adminMux(), opts)
		s.goServe(s.serveAdmin)
	}
	if waitBoot {
		if err = s.awaitFirstRead(); err != nil {
			return s, err
		}
	}
	s.started = true
	return s, nil
}

// awaitFirstRead waits, at most firstReadWait, for the watcher's first read
// of Redis, which opens ingest if the data plane then knows what to run.
// It returns the error that kept ingest from opening; if ingest stays
// closed, a goroutine logs why every closedLogEvery until it opens.
func (s *Server) awaitFirstRead() error {
	t := time.NewTimer(firstReadWait)
	defer t.Stop()
	select {
	case <-s.readOnce:
	case <-t.C:
	}
	select {
	case err := <-s.failed:
		return err
	default:
	}
	if !s.Waiting() {
		return nil
	}
	every := s.lopts.closedLogEvery
	if every <= 0 {
		every = closedLogEvery
	}
	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		s.logWhileClosed(every)
	}()
	return nil
}

// logWhileClosed logs why ingest is closed, at once and then every
// interval, until it opens or s shuts down.
func (s *Server) logWhileClosed(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if why := s.ClosedReason(); why != "" {
			s.log.Error("ingest closed: no valid manifest to run yet; connections are refused until one can be read from redis",
				"reason", why, "waiting", time.Since(s.begun).Round(time.Second))
		}
		select {
		case <-s.quit:
			return
		case <-s.opened:
			return
		case <-t.C:
		}
	}
}

// openIngestLocked binds the ingest listeners and serves them; on error
// none is left open. Lock lmu should be held.
func (s *Server) openIngestLocked() (err error) {
	if s.closing || s.tcp != nil || s.udp != nil || s.http != nil || s.stcp != nil || s.sudp != nil || s.otlpIn.http != nil || s.otlpIn.grpc != nil || s.kafka != nil {
		return nil
	}
	o := &s.lopts
	icfg := ingest.Config{Sink: s.p, OverflowWait: s.p.OverflowWait(), Metrics: s.m, MaxLine: o.MaxLine, Logger: s.log, Limits: o.Limits, TLS: o.TLS}
	var stops []func(context.Context) error
	defer func() {
		if err != nil {
			for _, stop := range stops {
				stop(context.Background())
			}
			s.tcp, s.udp, s.http, s.stcp, s.sudp, s.otlpIn, s.kafka = nil, nil, nil, nil, nil, otlpIngest{}, nil
		}
	}()
	readers := o.UDPReaders
	if readers <= 0 {
		readers = max(1, o.Pipeline.Workers)
	}
	if o.TCPAddr != "" {
		if s.tcp, err = ingest.ListenTCP(o.TCPAddr, icfg); err != nil {
			return fmt.Errorf("cannot listen on tcp %s: %w", o.TCPAddr, err)
		}
		s.goServe(s.tcp.Serve)
		stops = append(stops, s.tcp.Shutdown)
	}
	if o.UDPAddr != "" {
		if s.udp, err = ingest.ListenUDP(o.UDPAddr, readers, icfg); err != nil {
			return fmt.Errorf("cannot listen on udp %s: %w", o.UDPAddr, err)
		}
		s.goServe(s.udp.Serve)
		stops = append(stops, s.udp.Shutdown)
	}
	if o.SyslogTCPAddr != "" {
		c := icfg
		c.Name = metrics.ListenerSyslogTCP
		c.Syslog = ingest.NewSyslog(o.SyslogFormat, func(r string) *vm.Counter { return s.m.SyslogMalformed(c.Name, r) })
		if s.stcp, err = ingest.ListenTCP(o.SyslogTCPAddr, c); err != nil {
			return fmt.Errorf("cannot listen on syslog tcp %s: %w", o.SyslogTCPAddr, err)
		}
		s.goServe(s.stcp.Serve)
		stops = append(stops, s.stcp.Shutdown)
	}
	if o.SyslogUDPAddr != "" {
		c := icfg
		c.Syslog = ingest.NewSyslog(o.SyslogFormat, func(r string) *vm.Counter { return s.m.SyslogMalformed(metrics.ListenerSyslogUDP, r) })
		if s.sudp, err = ingest.ListenUDP(o.SyslogUDPAddr, readers, c); err != nil {
			return fmt.Errorf("cannot listen on syslog udp %s: %w", o.SyslogUDPAddr, err)
		}
		s.goServe(s.sudp.Serve)
		stops = append(stops, s.sudp.Shutdown)
	}
	if o.HTTPAddr != "" {
		if s.http, err = ingest.ListenHTTP(o.HTTPAddr, icfg); err != nil {
			return fmt.Errorf("cannot listen on http %s: %w", o.HTTPAddr, err)
		}
		s.goServe(s.http.Serve)
		stops = append(stops, s.http.Shutdown)
	}
	if o.OTLPHTTPAddr != "" {
		if s.otlpIn.http, err = ingest.ListenOTLPHTTP(o.OTLPHTTPAddr, icfg); err != nil {
			return fmt.Errorf("cannot listen on otlp http %s: %w", o.OTLPHTTPAddr, err)
		}
		s.goServe(s.otlpIn.http.Serve)
		stops = append(stops, s.otlpIn.http.Shutdown)
	}
	if o.OTLPGRPCAddr != "" {
		if s.otlpIn.grpc, err = ingest.ListenOTLPGRPC(o.OTLPGRPCAddr, icfg); err != nil {
			return fmt.Errorf("cannot listen on otlp grpc %s: %w", o.OTLPGRPCAddr, err)
		}
		s.goServe(s.otlpIn.grpc.Serve)
		stops = append(stops, s.otlpIn.grpc.Shutdown)
	}
	// The Kafka input comes last: it starts reading at once, and nothing
	// after it can fail.
	if o.Kafka != nil {
		if s.kafka, err = ingest.NewKafka(*o.Kafka, icfg); err != nil {
			return fmt.Errorf("cannot start the kafka input: %w", err)
		}
		s.kafka.Start()
	}
	if s.waiting {
		s.waiting = false
		close(s.opened)
	}
	s.ready.Store(true)
	return nil
}

// settle is told of every read of Redis (and every Apply): run says whether
// the data plane now knows what to run, why says what the read found. A
// data plane waiting at boot opens ingest when run holds; if the listeners
// cannot be bound, the error goes to Failed.
func (s *Server) settle(run bool, why string) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	if !s.firstRead {
		s.firstRead = true
		close(s.readOnce)
	}
	if !run || !s.waiting || s.closing {
		return
	}
	if err := s.openIngestLocked(); err != nil {
		s.log.Error("cannot open ingest", "err", err)
		select {
		case s.failed <- err:
		default:
		}
		return
	}
	runs := "built-in default (console)"
	if m := s.Applied(); m != nil {
		runs = "version " + string(m.Version)
		if m == s.fallback {
			runs = "fallback manifest, " + runs
		}
	}
	tcp, udp, hin := s.addrsLocked()
	stcp, sudp := s.syslogAddrsLocked()
	s.log.Info("ingest open", "tcp", tcp, "udp", udp, "http", hin, "syslog_tcp", stcp, "syslog_udp", sudp, "otlp_http", s.otlpAddrLocked(), "otlp_grpc", s.otlpGRPCAddrLocked(), "manifest", runs, "because", why,
		"waited", time.Since(s.begun).Round(time.Millisecond))
}

// compile turns a manifest into the configuration a pipeline applies.
func compile(m *manifest.Manifest) (*pipeline.Config, error) {
	c, err := m.Compile()
	if err != nil {
		return nil, err
	}
	return &pipeline.Config{
		Version:   c.Version,
		Chain:     processor.NewChain(c.Steps...),
		Outputs:   c.Outputs,
		BatchSize: c.BatchSize,
		BypassAll: c.BypassAll,
	}, nil
}

// follow starts the watcher that keeps s in step with Redis.
func (s *Server) follow(wo watch.Options) {
	wo.Target = s
	if wo.Logger == nil {
		wo.Logger = s.log
	}
	s.watcher = watch.New(wo)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watcherDone = cancel, make(chan struct{})
	go func() {
		defer close(s.watcherDone)
		s.watcher.Run(ctx)
	}()
}

// Following reports whether s follows a Redis.
func (s *Server) Following() bool { return s.watcher != nil }

// InstanceID is the id s reports to the fleet, or "" when it follows no
// Redis.
func (s *Server) InstanceID() string {
	if s.watcher == nil {
		return ""
	}
	return s.watcher.ID()
}

// Heartbeat is what s reports to the fleet now, or nil when it follows no
// Redis.
func (s *Server) Heartbeat() *rdb.Heartbeat {
	if s.watcher == nil {
		return nil
	}
	return s.watcher.Heartbeat()
}

// Report implements watch.Target: it fills in what the server knows about
// the instance.
func (s *Server) Report(hb *rdb.Heartbeat) {
	st := s.Status()
	hb.Version, hb.Rejected, hb.Error = st.Version, st.Rejected, st.Error
	hb.Received, hb.Emitted, hb.Filtered, hb.Dropped, hb.Breaker = st.Received, st.Emitted, st.Filtered, st.Dropped, st.Breaker
	hb.Sampled = st.Sampled
	hb.EgressPII = st.EgressPII
	hb.DeadLettered, hb.Replayed = st.DeadLettered, st.Replayed
	hb.IngestClosed = st.IngestClosed
	hb.Outputs = st.Outputs
	hb.Savings = st.Savings
	hb.BuildVersion, hb.BuildCommit, hb.GoVersion = st.BuildVersion, st.BuildCommit, st.GoVersion
	if a := s.TCPAddr(); a != nil {
		hb.TCPAddr = a.String()
	}
	if a := s.AdminAddr(); a != nil {
		hb.AdminAddr, hb.AdminScheme = rdb.AdvertiseAddr(a.String()), "http"
		if s.lopts.AdminTLS != nil {
			hb.AdminScheme = "https"
		}
	}
}

func (s *Server) goServe(serve func() error) {
	s.serve.Add(1)
	go func() {
		defer s.serve.Done()
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("listener stopped", "err", err)
		}
	}()
}

// Apply validates m and swaps it in whole: chain, outputs and batch size. An
// invalid manifest changes nothing; the error is logged, counted and kept
// for Rejection. A data plane waiting at boot opens ingest on a valid
// manifest, or on an invalid one if it has a fallback (Options.Manifest).
func (s *Server) Apply(m *manifest.Manifest) error {
	err := s.apply(m)
	if err != nil {
		s.settle(s.fallback != nil, "manifest rejected: "+err.Error())
	} else {
		s.settle(true, "manifest applied")
	}
	return err
}

// ApplyJSON parses an encoded manifest and applies it. A manifest that does
// not even parse is rejected, counted and reported like an invalid one.
func (s *Server) ApplyJSON(data []byte) error {
	m, err := manifest.Parse(data)
	if err != nil {
		s.mu.Lock()
		s.rejectLocked(manifest.PeekVersion(data), err)
		s.mu.Unlock()
		s.settle(s.fallback != nil, "manifest rejected: "+err.Error())
		return err
	}
	return s.Apply(m)
}

// Absent implements watch.Target: Redis holds no manifest yet, so a data
// plane waiting at boot runs what it has, Options.Manifest or the
// built-in default.
func (s *Server) Absent() { s.settle(true, "redis holds no manifest") }

// Unreachable implements watch.Target: a data plane waiting at boot runs
// its fallback (Options.Manifest) if it has one, and otherwise stays
// closed.
func (s *Server) Unreachable(err error) {
	s.settle(s.fallback != nil, "redis unreachable: "+err.Error())
}

// apply is Apply without the boot decision.
func (s *Server) apply(m *manifest.Manifest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := compile(m)
	if err == nil {
		err = s.p.Apply(cfg)
	}
	if err != nil {
		s.rejectLocked(string(m.Version), err)
		return err
	}
	s.applied.Store(m)
	s.rejected.Store(nil)
	costs := outputCosts(cfg.Outputs)
	s.costs.Store(&costs)
	s.log.Info("manifest applied", "version", string(m.Version), "processors", cfg.Chain.Len(), "outputs", len(cfg.Outputs), "batch_size", cfg.BatchSize)
	return nil
}

// Rejection describes the last manifest refused since the last one applied.
type Rejection struct {
	Version string // "" when it had none
	Err     string
}

// rejectLocked records a refused manifest. Lock should be held.
func (s *Server) rejectLocked(version string, err error) {
	s.m.ReloadErrors.Inc()
	s.rejected.Store(&Rejection{Version: version, Err: err.Error()})
	s.log.Error("manifest rejected; previous config keeps running", "version", version, "err", err)
}

// RejectUnreadable counts and reports a manifest that could not be read at
// all, such as a manifest file that cannot be opened, as Apply does one
// that does not validate: the running configuration is kept.
func (s *Server) RejectUnreadable(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectLocked("", err)
}

// Applied is the manifest running now, or nil for the built-in default.
func (s *Server) Applied() *manifest.Manifest { return s.applied.Load() }

// Rejected returns the last manifest refused since the last one applied, or
// nil.
func (s *Server) Rejected() *Rejection { return s.rejected.Load() }

// LastError is the error of the last rejected manifest, or "" when the last
// Apply succeeded.
func (s *Server) LastError() string {
	if r := s.rejected.Load(); r != nil {
		return r.Err
	}
	return ""
}

// Status describes the instance as far as the server knows it. Its JSON
// names are those of the same fields of rdb.Heartbeat, so a client reads
// /status alike with and without a Redis watcher.
type Status struct {
	Version  string `json:"version"`                    // applied manifest version, "" for the built-in default
	Rejected string `json:"rejected_version,omitempty"` // last manifest refused since one was applied
	Error    string `json:"last_error,omitempty"`       // why it was refused

	Received uint64 `json:"received"`
	Emitted  uint64 `json:"emitted"`
	Filtered uint64 `json:"filtered"`
	Sampled  uint64 `json:"sampled"`
	Dropped  uint64 `json:"dropped"`
	Breaker  int    `json:"breaker_open_workers"`
	// EgressPII is what the egress audit found leaving: sampled lines
	// with personal data, once per detector and output.
	EgressPII uint64 `json:"egress_pii"`
	// DeadLettered is the lines outputs' destinations refused for good,
	// kept as dead letters, and Replayed those a replay took out of them
	// again, summed over the outputs.
	DeadLettered uint64 `json:"dead_lettered"`
	Replayed     uint64 `json:"dead_letter_replayed"`
	// IngestClosed says why ingest is closed at boot; "" once it is open.
	IngestClosed string `json:"ingest_closed,omitempty"`
	// Outputs is what is queued for each output, in memory and on disk.
	Outputs rdb.OutputQueues `json:"outputs,omitempty"`
	// Savings is what the rules saved, and the shadow would.
	Savings *rdb.Savings `json:"savings,omitempty"`

	BuildVersion string `json:"build_version"` // the build running (package buildinfo)
	BuildCommit  string `json:"build_commit"`
	GoVersion    string `json:"go_version"`
}

// Status describes the instance now.
func (s *Server) Status() *Status {
	bi := buildinfo.Get()
	st := &Status{
		Received:     s.m.Received.Get(),
		Emitted:      s.m.Emitted.Get(),
		Filtered:     s.m.FilteredTotal(),
		Sampled:      s.m.SampledTotal(),
		Dropped:      s.m.DroppedTotal(),
		Breaker:      s.p.BreakerOpen(),
		EgressPII:    s.m.EgressPIITotal(),
		DeadLettered: s.m.DeadLetteredTotal(),
		Replayed:     s.m.DeadLetterReplayedTotal(),
		IngestClosed: s.ClosedReason(),
		Outputs:      s.outputQueues(),
		Savings:      s.Savings(),
		BuildVersion: bi.Version,
		BuildCommit:  bi.Commit,
		GoVersion:    bi.GoVersion,
	}
	if a := s.Applied(); a != nil {
		st.Version = string(a.Version)
	}
	if r := s.Rejected(); r != nil {
		st.Rejected, st.Error = r.Version, r.Err
	}
	return st
}

// outputQueues converts what the pipeline says is queued for the status.
// outputQueues is what each output queues, with its totals.
func (s *Server) outputQueues() rdb.OutputQueues {
	qs := s.p.Queues()
	totals := make(map[string]metrics.OutputTotals, len(qs))
	for _, t := range s.m.Outputs() {
		totals[t.Name] = t
	}
	out := make(rdb.OutputQueues, len(qs))
	for i, q := range qs {
		q.Delivered, q.Dropped = totals[q.Name].Delivered, totals[q.Name].Dropped
		out[i] = rdb.OutputQueue(q)
	}
	return out
}

// Pipeline returns the running pipeline.
func (s *Server) Pipeline() *pipeline.Pipeline { return s.p }

// Metrics returns the counters.
func (s *Server) Metrics() *metrics.Metrics { return s.m }

// TCPAddr, UDPAddr, HTTPAddr and AdminAddr are the bound addresses, or nil:
// the ingest ones are nil too while ingest is closed at boot.
func (s *Server) TCPAddr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	a, _, _ := s.addrsLocked()
	return a
}

// UDPAddr is the bound UDP address, or nil.
func (s *Server) UDPAddr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	_, a, _ := s.addrsLocked()
	return a
}

// HTTPAddr is the bound HTTP ingest address, or nil.
func (s *Server) HTTPAddr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	_, _, a := s.addrsLocked()
	return a
}

// addrsLocked returns the addresses of the ingest listeners, nil for those
// not bound. Lock lmu should be held.
func (s *Server) addrsLocked() (tcp, udp, hin net.Addr) {
	if s.tcp != nil {
		tcp = s.tcp.Addr()
	}
	if s.udp != nil {
		udp = s.udp.Addr()
	}
	if s.http != nil {
		hin = s.http.Addr()
	}
	return tcp, udp, hin
}

// otlpIngest are the OTLP listeners, nil those not bound.
type otlpIngest struct {
	http *ingest.OTLPHTTP
	grpc *ingest.OTLPGRPC
}

// shutdown shuts down the listeners bound.
func (o otlpIngest) shutdown(ctx context.Context) []error {
	var errs []error
	if o.http != nil {
		errs = append(errs, o.http.Shutdown(ctx))
	}
	if o.grpc != nil {
		errs = append(errs, o.grpc.Shutdown(ctx))
	}
	return errs
}

// OTLPHTTPAddr is the bound OTLP/HTTP address, nil when not bound.
func (s *Server) OTLPHTTPAddr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.otlpAddrLocked()
}

// otlpAddrLocked returns the address of the OTLP/HTTP listener. Lock lmu
// should be held.
func (s *Server) otlpAddrLocked() net.Addr {
	if s.otlpIn.http == nil {
		return nil
	}
	return s.otlpIn.http.Addr()
}

// OTLPGRPCAddr is the bound OTLP/gRPC address, nil when not bound.
func (s *Server) OTLPGRPCAddr() net.Addr {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.otlpGRPCAddrLocked()
}

// otlpGRPCAddrLocked returns the address of the OTLP/gRPC listener. Lock
// lmu should be held.
func (s *Server) otlpGRPCAddrLocked() net.Addr {
	if s.otlpIn.grpc == nil {
		return nil
	}
	return s.otlpIn.grpc.Addr()
}

// SyslogAddrs are the bound syslog addresses, nil for those not bound.
func (s *Server) SyslogAddrs() (tcp, udp net.Addr) {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.syslogAddrsLocked()
}

// syslogAddrsLocked returns the addresses of the syslog listeners. Lock lmu
// should be held.
func (s *Server) syslogAddrsLocked() (tcp, udp net.Addr) {
	if s.stcp != nil {
		tcp = s.stcp.Addr()
	}
	if s.sudp != nil {
		udp = s.sudp.Addr()
	}
	return tcp, udp
}

// Waiting reports whether ingest is closed at boot, waiting until the data
// plane knows what to run (BootClosed).
func (s *Server) Waiting() bool {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	return s.waiting
}

// Failed receives the error that kept ingest from opening once a data
// plane that waited at boot knew what to run (a port taken meanwhile, say).
// The data plane then serves no line: the caller should shut it down.
func (s *Server) Failed() <-chan error { return s.failed }

// ClosedReason says why ingest is closed at boot, or is "" when it is open
// (or the data plane never waited).
func (s *Server) ClosedReason() string {
	s.lmu.Lock()
	waiting, firstRead := s.waiting, s.firstRead
	s.lmu.Unlock()
	if !waiting {
		return ""
	}
	if !firstRead {
		return "waiting for the first read of the manifest in redis"
	}
	var why []string
	if r := s.Rejected(); r != nil {
		v := ""
		if r.Version != "" {
			v = fmt.Sprintf(" (version %q)", r.Version)
		}
		why = append(why, "the manifest in redis"+v+" is invalid: "+r.Err)
	}
	if st := s.watcher.RedisStatus(); st != "connected" {
		why = append(why, "redis unreachable: "+st)
	}
	if len(why) == 0 {
		why = append(why, "waiting for a valid manifest in redis")
	}
	return strings.Join(why, "; ")
}

// AdminAddr is the bound admin address, or nil.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Shutdown stops following Redis, stops accepting, lets connections hand on
// what they read, drains the pipeline and flushes the outputs, all within
// ctx. Lines that cannot be delivered in time are counted as dropped. It
// then logs the final accounting (see logStopped).
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() {
		s.lmu.Lock()
		s.closing = true // ingest never opens from now on
		s.ready.Store(false)
		tcp, udp, hin, stcp, sudp, otlpIn, kin := s.tcp, s.udp, s.http, s.stcp, s.sudp, s.otlpIn, s.kafka
		s.lmu.Unlock()
		close(s.quit)
		start := time.Now()
		if s.watcher != nil {
			s.stopWatch()
			<-s.watcherDone
		}
		var errs []error
		if tcp != nil {
			errs = append(errs, tcp.Shutdown(ctx))
		}
		if udp != nil {
			errs = append(errs, udp.Shutdown(ctx))
		}
		if stcp != nil {
			errs = append(errs, stcp.Shutdown(ctx))
		}
		if sudp != nil {
			errs = append(errs, sudp.Shutdown(ctx))
		}
		if hin != nil {
			errs = append(errs, hin.Shutdown(ctx))
		}
		errs = append(errs, otlpIn.shutdown(ctx)...)
		s.lopts.Pipeline.Tap.Close() // ends every tap's stream
		if kin != nil {
			kin.Stop() // read no more; what the pipeline drains is committed below
		}
		errs = append(errs, s.p.Close(ctx))
		if kin != nil {
			errs = append(errs, kin.Close(ctx))
		}
		if s.admin != nil {
			actx, cancel := context.WithTimeout(context.Background(), time.Second)
			errs = append(errs, s.admin.Shutdown(actx))
			cancel()
		} else if s.adminLn != nil {
			s.adminLn.Close() // Start failed before serving it
		}
		s.serve.Wait()
		err = errors.Join(errs...)
		if s.started {
			s.logStopped(time.Since(start))
		}
	})
	return err
}

// logStopped logs the final accounting as one line, for operators and for
// harnesses that parse it: received = filtered + dropped + in_pipeline +
// emitted, and per output emitted + replayed + restored = delivered +
// dropped + dead-lettered + queued (what is left in a disk buffer), so with
// several outputs delivered + output_dropped + dead_lettered + queued -
// dead_letter_replayed - restored is emitted times their number (when no
// reload changed them); dropped_reason.<reason> splits dropped. No key of an
// output ends in the name of a total ("output.console.lines_delivered", not
// "output.console.delivered"): a parser matching `name=N` anywhere on the
// line still reads the totals.
func (s *Server) logStopped(took time.Duration) {
	m := s.m
	outputs := m.Outputs()
	attrs := make([]any, 0, 16+len(outputs))
	attrs = append(attrs,
		"took", took.Round(time.Millisecond),
		"received", m.Received.Get(),
		"filtered", m.FilteredTotal(),
		"sampled", m.SampledTotal(),
		"dropped", m.DroppedTotal(),
		"emitted", m.Emitted.Get(),
		"in_pipeline", s.p.InPipeline(),
		"delivered", m.DeliveredTotal(),
		"output_dropped", m.OutputDroppedTotal(),
		"dead_lettered", m.DeadLetteredTotal(),
		"dead_letter_replayed", m.DeadLetterReplayedTotal(),
		"udp_datagrams_dropped", m.UDPKernelDrops.Get(),
		"egress_pii", m.EgressPIITotal(),
	)
	byReason := m.DroppedByReason()
	for _, r := range slices.Sorted(maps.Keys(byReason)) {
		attrs = append(attrs, slog.Group("dropped_reason", r, byReason[r]))
	}
	queued := make(map[string]int64)
	for _, q := range s.p.Queues() {
		queued[q.Name] = q.Lines
	}
	restored, queuedAll := m.OutputCountTotal(metrics.OutputRestored), int64(0)
	for _, n := range queued {
		queuedAll += n
	}
	attrs = append(attrs, "restored", restored, "queued", queuedAll)
	for _, o := range outputs {
		attrs = append(attrs, slog.Group("output", slog.Group(o.Name, "lines_delivered", o.Delivered, "lines_dropped", o.Dropped,
			"lines_dead_lettered", o.DeadLettered, "lines_replayed", o.Replayed,
			"lines_restored", m.OutputCount(o.Name, metrics.OutputRestored).Get(), "lines_queued", queued[o.Name])))
	}
	s.log.Info("data plane stopped", attrs...)
}

func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		s.lmu.Lock()
		udps := []*ingest.UDP{s.udp, s.sudp}
		s.lmu.Unlock()
		for _, udp := range udps {
			if udp != nil {
				// Drops after the last datagram read are reported by no datagram.
				udp.SyncKernelDrops()
			}
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.m.WritePrometheus(w)
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		var v any = s.Status()
		if hb := s.Heartbeat(); hb != nil {
			v = hb
		}
		body, err := json.Marshal(v)
		if err != nil {
			http.Error(w, "cannot encode status: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(append(body, '\n'))
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			why := "shutting down"
			if r := s.ClosedReason(); r != "" {
				why = "ingest closed: " + r
			}
			http.Error(w, "not ready: "+why, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	s.handleDLQ(mux)
	s.handleTap(mux)
	return mux
}
