// Package server assembles a data plane: listeners, pipeline, admin HTTP,
// and, when it follows a Redis, the watcher that keeps it in step with the
// published manifest. Apply is the one call that swaps in a whole manifest
// atomically; the watcher and the file loader both go through it.
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
	"net/http/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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

// Options configure a data plane. An empty address disables that listener.
type Options struct {
	TCPAddr   string // e.g. ":8081"
	UDPAddr   string // e.g. ":8082"
	HTTPAddr  string // HTTP ingest, e.g. ":8083"
	AdminAddr string // metrics, status, health, pprof, e.g. ":8080"

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
	// Pipeline configures the buffer and workers.
	Pipeline pipeline.Options
	// Manifest is applied at start; nil means pass everything to console.
	Manifest *manifest.Manifest
	// Watch, when set, makes the data plane follow the manifest published
	// in the Redis of Watch.Client, and report itself to the fleet; the
	// server fills in Watch.Target (and Watch.Logger when nil). /status
	// then serves the fleet heartbeat. The caller closes the client after
	// Shutdown.
	Watch  *watch.Options
	Logger *slog.Logger
}

// Server is a running data plane.
type Server struct {
	log *slog.Logger
	m   *metrics.Metrics
	p   *pipeline.Pipeline

	tcp     *ingest.TCP
	udp     *ingest.UDP
	http    *ingest.HTTP
	admin   *http.Server
	adminLn net.Listener
	serve   sync.WaitGroup

	ready    atomic.Bool
	started  bool       // Start succeeded; set before Start returns
	mu       sync.Mutex // serialises Apply
	applied  atomic.Pointer[manifest.Manifest]
	rejected atomic.Pointer[Rejection]
	shutdown sync.Once

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
	s = &Server{log: opts.Logger, m: m, p: p}
	if opts.Manifest != nil {
		s.applied.Store(opts.Manifest)
	}
	defer func() {
		if err != nil {
			s.Shutdown(context.Background())
		}
	}()

	icfg := ingest.Config{Sink: p, Metrics: m, MaxLine: opts.MaxLine, Logger: opts.Logger, Limits: opts.Limits, TLS: opts.TLS}
	if opts.TCPAddr != "" {
		if s.tcp, err = ingest.ListenTCP(opts.TCPAddr, icfg); err != nil {
			return s, fmt.Errorf("cannot listen on tcp %s: %w", opts.TCPAddr, err)
		}
		s.goServe(s.tcp.Serve)
	}
	if opts.UDPAddr != "" {
		readers := opts.UDPReaders
		if readers <= 0 {
			readers = max(1, opts.Pipeline.Workers)
		}
		if s.udp, err = ingest.ListenUDP(opts.UDPAddr, readers, icfg); err != nil {
			return s, fmt.Errorf("cannot listen on udp %s: %w", opts.UDPAddr, err)
		}
		s.goServe(s.udp.Serve)
	}
	if opts.HTTPAddr != "" {
		if s.http, err = ingest.ListenHTTP(opts.HTTPAddr, icfg); err != nil {
			return s, fmt.Errorf("cannot listen on http %s: %w", opts.HTTPAddr, err)
		}
		s.goServe(s.http.Serve)
	}
	// The watcher reads the ingest listeners (its heartbeat holds the TCP
	// address), and the admin server's /status reads the watcher: it
	// starts between the two.
	if opts.Watch != nil {
		s.follow(*opts.Watch)
	}
	if opts.AdminAddr != "" {
		if s.adminLn, err = net.Listen("tcp", opts.AdminAddr); err != nil {
			return s, fmt.Errorf("cannot listen on admin %s: %w", opts.AdminAddr, err)
		}
		s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 10 * time.Second}
		s.goServe(func() error { return s.admin.Serve(s.adminLn) })
	}
	s.started = true
	s.ready.Store(true)
	return s, nil
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
	hb.EgressPII = st.EgressPII
	hb.BuildVersion, hb.BuildCommit, hb.GoVersion = st.BuildVersion, st.BuildCommit, st.GoVersion
	if a := s.TCPAddr(); a != nil {
		hb.TCPAddr = a.String()
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
// for Rejection.
func (s *Server) Apply(m *manifest.Manifest) error {
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
	s.log.Info("manifest applied", "version", string(m.Version), "processors", cfg.Chain.Len(), "outputs", len(cfg.Outputs), "batch_size", cfg.BatchSize)
	return nil
}

// ApplyJSON parses an encoded manifest and applies it. A manifest that does
// not even parse is rejected, counted and reported like an invalid one.
func (s *Server) ApplyJSON(data []byte) error {
	m, err := manifest.Parse(data)
	if err != nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.rejectLocked(manifest.PeekVersion(data), err)
		return err
	}
	return s.Apply(m)
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
	Dropped  uint64 `json:"dropped"`
	Breaker  int    `json:"breaker_open_workers"`
	// EgressPII is what the egress audit found leaving: sampled lines
	// with personal data, once per detector and output.
	EgressPII uint64 `json:"egress_pii"`

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
		Dropped:      s.m.DroppedTotal(),
		Breaker:      s.p.BreakerOpen(),
		EgressPII:    s.m.EgressPIITotal(),
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

// Pipeline returns the running pipeline.
func (s *Server) Pipeline() *pipeline.Pipeline { return s.p }

// Metrics returns the counters.
func (s *Server) Metrics() *metrics.Metrics { return s.m }

// TCPAddr, UDPAddr, HTTPAddr and AdminAddr are the bound addresses, or nil.
func (s *Server) TCPAddr() net.Addr {
	if s.tcp == nil {
		return nil
	}
	return s.tcp.Addr()
}

// UDPAddr is the bound UDP address, or nil.
func (s *Server) UDPAddr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.Addr()
}

// HTTPAddr is the bound HTTP ingest address, or nil.
func (s *Server) HTTPAddr() net.Addr {
	if s.http == nil {
		return nil
	}
	return s.http.Addr()
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
		s.ready.Store(false)
		start := time.Now()
		if s.watcher != nil {
			s.stopWatch()
			<-s.watcherDone
		}
		var errs []error
		if s.tcp != nil {
			errs = append(errs, s.tcp.Shutdown(ctx))
		}
		if s.udp != nil {
			errs = append(errs, s.udp.Shutdown(ctx))
		}
		if s.http != nil {
			errs = append(errs, s.http.Shutdown(ctx))
		}
		errs = append(errs, s.p.Close(ctx))
		if s.admin != nil {
			actx, cancel := context.WithTimeout(context.Background(), time.Second)
			errs = append(errs, s.admin.Shutdown(actx))
			cancel()
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
// emitted, and per output emitted = delivered + dropped, so with several
// outputs delivered + output_dropped is emitted times their number (when no
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
		"dropped", m.DroppedTotal(),
		"emitted", m.Emitted.Get(),
		"in_pipeline", s.p.InPipeline(),
		"delivered", m.DeliveredTotal(),
		"output_dropped", m.OutputDroppedTotal(),
		"udp_datagrams_dropped", m.UDPKernelDrops.Get(),
		"egress_pii", m.EgressPIITotal(),
	)
	byReason := m.DroppedByReason()
	for _, r := range slices.Sorted(maps.Keys(byReason)) {
		attrs = append(attrs, slog.Group("dropped_reason", r, byReason[r]))
	}
	for _, o := range outputs {
		attrs = append(attrs, slog.Group("output", slog.Group(o.Name, "lines_delivered", o.Delivered, "lines_dropped", o.Dropped)))
	}
	s.log.Info("data plane stopped", attrs...)
}

func (s *Server) adminMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		if s.udp != nil {
			// Drops after the last datagram read are reported by no datagram.
			s.udp.SyncKernelDrops()
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
			http.Error(w, "not ready\n", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
