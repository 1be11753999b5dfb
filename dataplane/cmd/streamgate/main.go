// Command streamgate is the StreamGate observability firewall.
//
//	streamgate dataplane [flags]   run the data plane
//	streamgate validate FILE       check a manifest and print what it compiles to
//
// Log lines go to stdout (console output); diagnostics go to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/ingest"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/server"
)

const usage = `StreamGate: filters noise and redacts PII from log streams before they leave
the network.

Usage:
  streamgate dataplane [flags]   run the data plane (TCP :8081, UDP :8082,
                                 HTTP ingest :8083, admin :8080)
  streamgate validate FILE       check a manifest; print its errors or summary

Run 'streamgate dataplane -h' for the flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "dataplane":
		err = runDataplane(args)
	case "validate":
		err = runValidate(args)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "streamgate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "streamgate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// env returns the environment variable name's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// addr turns a host and a port flag into a listen address; port "off"
// disables the listener.
func addr(host, port string) string {
	if port == "off" || port == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

func runDataplane(args []string) error {
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	var (
		host         = fs.String("host", env("LISTEN_HOST", ""), "address to listen on, empty for all (env LISTEN_HOST)")
		tcpPort      = fs.String("tcp-port", env("TCP_PORT", "8081"), `TCP ingest port, "off" to disable (env TCP_PORT)`)
		udpPort      = fs.String("udp-port", env("UDP_PORT", "8082"), `UDP ingest port, "off" to disable (env UDP_PORT)`)
		httpPort     = fs.String("http-port", env("HTTP_INGEST_PORT", "8083"), `HTTP ingest port, "off" to disable (env HTTP_INGEST_PORT)`)
		adminPort    = fs.String("admin-port", env("ADMIN_PORT", "8080"), `admin port: /metrics, /healthz, /readyz, /debug/pprof (env ADMIN_PORT)`)
		manifestFile = fs.String("manifest", env("STREAMGATE_MANIFEST", ""), "manifest file to apply at start; none passes every line to console (env STREAMGATE_MANIFEST)")
		workers      = fs.Int("workers", runtime.GOMAXPROCS(0), "pipeline workers (lines of one connection stay in order)")
		bufLines     = fs.Int("buffer-lines", pipeline.DefaultBufferLines, "buffer capacity in lines, over all workers")
		bufBytes     = fs.Int("buffer-bytes", pipeline.DefaultBufferBytes, "buffer capacity in bytes, over all workers")
		overflow     = fs.String("overflow", "drop_oldest", "when the buffer is full: drop_oldest, drop_newest or block (TCP backpressure)")
		maxLine      = fs.Int("max-line", ingest.DefaultMaxLine, "longest line in bytes; longer lines are dropped and counted (reason oversize)")
		shutdownT    = fs.Duration("shutdown-timeout", server.DefaultShutdownTimeout, "how long SIGTERM may take to drain and flush")
		logLevel     = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	policy, err := buffer.ParsePolicy(*overflow)
	if err != nil {
		return fmt.Errorf("-overflow: %w", err)
	}
	opts := server.Options{
		TCPAddr:   addr(*host, *tcpPort),
		UDPAddr:   addr(*host, *udpPort),
		HTTPAddr:  addr(*host, *httpPort),
		AdminAddr: addr(*host, *adminPort),
		MaxLine:   *maxLine,
		Pipeline: pipeline.Options{
			Workers:     *workers,
			BufferLines: *bufLines,
			BufferBytes: *bufBytes,
			Overflow:    policy,
		},
		Logger: log,
	}
	if *manifestFile != "" {
		m, err := loadManifest(*manifestFile)
		if err != nil {
			return err
		}
		opts.Manifest = m
	}

	s, err := server.Start(opts)
	if err != nil {
		return err
	}
	version := "default (console)"
	if m := s.Applied(); m != nil {
		version = string(m.Version)
	}
	log.Info("data plane running",
		"tcp", s.TCPAddr(), "udp", s.UDPAddr(), "http", s.HTTPAddr(), "admin", s.AdminAddr(),
		"workers", *workers, "overflow", policy.String(), "manifest", version)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	stop()
	log.Info("shutting down: draining", "timeout", *shutdownT)
	sctx, cancel := context.WithTimeout(context.Background(), *shutdownT)
	defer cancel()
	start := time.Now()
	err = s.Shutdown(sctx)
	m := s.Metrics()
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond),
		"received", m.Received.Get(), "emitted", m.Emitted.Get(),
		"filtered", m.FilteredTotal(), "dropped", m.DroppedTotal())
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown timed out after %s; undelivered lines were counted as dropped", *shutdownT)
	}
	return err
}

func loadManifest(path string) (*manifest.Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func runValidate(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: streamgate validate FILE")
	}
	m, err := loadManifest(args[0])
	if err != nil {
		var b strings.Builder
		b.WriteString("manifest is invalid:\n")
		for _, e := range manifest.ErrorList(errors.Unwrap(err)) {
			b.WriteString("  " + e + "\n")
		}
		fmt.Fprint(os.Stderr, b.String())
		return errors.New("invalid manifest")
	}
	cfg, _ := m.Compile()
	fmt.Printf("manifest %s is valid: %d processors, %d outputs, batch size %d\n",
		args[0], cfg.Chain.Len(), len(cfg.Outputs), cfg.BatchSize)
	return nil
}
