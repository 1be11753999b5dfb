// Package server assembles a data plane: listeners, pipeline, admin HTTP.
// Apply is the one call that swaps in a whole manifest atomically; the Redis
// watcher and the file loader both go through it.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"streamgate/dataplane/ingest"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/pipeline"
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
	// Pipeline configures the buffer and workers.
	Pipeline pipeline.Options
	// Manifest is applied at start; nil means pass everything to console.
	Manifest *manifest.Manifest
	// Status, when set, supplies what the admin endpoint /status serves as
	// JSON, such as the fleet heartbeat of the Redis watcher, which knows
	// more about the instance than the server does. It is called per
	// request, from any goroutine. When it is nil or returns nil, /status
	// serves the server's own Status.
	Status func() any
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
	mu       sync.Mutex // serialises Apply
	applied  atomic.Pointer[manifest.Manifest]
	rejected atomic.Pointer[Rejection]
	shutdown sync.Once
	status   func() any // Options.Status
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
		if initial, err = opts.Manifest.Compile(); err != nil {
			return nil, fmt.Errorf("cannot apply manifest: %w", err)
		}
	}
	p, err := pipeline.New(opts.Pipeline, initial)
	if err != nil {
		return nil, err
	}
	s = &Server{log: opts.Logger, m: m, p: p, status: opts.Status}
	if opts.Manifest != nil {
		s.applied.Store(opts.Manifest)
	}
	defer func() {
		if err != nil {
			s.Shutdown(context.Background())
		}
	}()

	icfg := ingest.Config{Sink: p, Metrics: m, MaxLine: opts.MaxLine, Logger: opts.Logger}
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
	if opts.AdminAddr != "" {
		if s.adminLn, err = net.Listen("tcp", opts.AdminAddr); err != nil {
			return s, fmt.Errorf("cannot listen on admin %s: %w", opts.AdminAddr, err)
		}
		s.admin = &http.Server{Handler: s.adminMux(), ReadHeaderTimeout: 10 * time.Second}
		s.goServe(func() error { return s.admin.Serve(s.adminLn) })
	}
	s.ready.Store(true)
	return s, nil
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
	cfg, err := m.Compile()
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
}

// Status describes the instance now.
func (s *Server) Status() *Status {
	st := &Status{
		Received: s.m.Received.Get(),
		Emitted:  s.m.Emitted.Get(),
		Filtered: s.m.FilteredTotal(),
		Dropped:  s.m.DroppedTotal(),
		Breaker:  s.p.BreakerOpen(),
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

// Shutdown stops accepting, lets connections hand on what they read, drains
// the pipeline and flushes the outputs, all within ctx. Lines that cannot be
// delivered in time are counted as dropped.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.shutdown.Do(func() {
		s.ready.Store(false)
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
	})
	return err
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
		var v any
		if s.status != nil {
			v = s.status()
		}
		if v == nil {
			v = s.Status()
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
