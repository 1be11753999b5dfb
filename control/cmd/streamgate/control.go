package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/control/api"
	"streamgate/control/snapshot"
	"streamgate/control/store"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/rdb"
)

// controlFlags are the flags of the control plane, shared by `control` and
// `up`.
type controlFlags struct {
	host, port      string
	token           string
	tokenFile       string
	tlsCert, tlsKey string
	insecure        bool
	adminCA         string

	tls      *tls.Config // from tlsCert and tlsKey, set by resolve
	adminTLS *tls.Config // from adminCA, set by resolve
}

func (f *controlFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.host, "api-host", env("CONTROL_HOST", defaultAPIHost), "address the REST API listens on, empty for all interfaces; beyond loopback it needs a token (env CONTROL_HOST)")
	fs.StringVar(&f.port, "api-port", env("CONTROL_PORT", "8000"), "REST API port (env CONTROL_PORT)")
	fs.StringVar(&f.token, "api-token", env("STREAMGATE_API_TOKEN", ""), "when set, POST/PUT/DELETE need 'Authorization: Bearer <token>'; prefer -api-token-file, since a command line is visible to every local user (env STREAMGATE_API_TOKEN)")
	fs.StringVar(&f.tokenFile, "api-token-file", env("STREAMGATE_API_TOKEN_FILE", ""), "file holding the API token, its trailing newline ignored (env STREAMGATE_API_TOKEN_FILE)")
	fs.StringVar(&f.tlsCert, "api-tls-cert", env("CONTROL_TLS_CERT", ""), "PEM certificate (chain) of the REST API; with -api-tls-key it serves HTTPS only (env CONTROL_TLS_CERT)")
	fs.StringVar(&f.tlsKey, "api-tls-key", env("CONTROL_TLS_KEY", ""), "PEM private key of -api-tls-cert (env CONTROL_TLS_KEY)")
	fs.StringVar(&f.adminCA, "admin-ca", env("STREAMGATE_ADMIN_CA", ""), "PEM file of the CA certificates that verify the data planes' https admin ports, which POST /preview from a tap calls, instead of the system's (env STREAMGATE_ADMIN_CA)")
	fs.BoolVar(&f.insecure, "insecure-api", false, "let the REST API listen beyond loopback without a token (a warning is logged every minute)")
}

// resolve reads the token file and the TLS certificate, and refuses a REST
// API reachable beyond loopback without a token unless -insecure-api says
// so. The token leaves the environment once read.
func (f *controlFlags) resolve() error {
	os.Unsetenv("STREAMGATE_API_TOKEN")
	if f.tokenFile != "" {
		if f.token != "" {
			return errors.New("-api-token (or STREAMGATE_API_TOKEN) and -api-token-file (or STREAMGATE_API_TOKEN_FILE) are both set; give the token one way")
		}
		tok, err := readSecretFile(f.tokenFile)
		if err != nil {
			return fmt.Errorf("-api-token-file: cannot read the token: %w", err)
		}
		f.token = tok
	}
	if f.exposed() && !f.insecure {
		return fmt.Errorf("-api-host: the REST API would listen on %s without a token, and anyone who reaches it could change what is filtered and redacted: "+
			"set -api-token-file or -api-token (env STREAMGATE_API_TOKEN_FILE, STREAMGATE_API_TOKEN), listen on loopback, or pass -insecure-api", f.where())
	}
	var err error
	if f.tls, err = loadTLS("-api-tls-cert", "-api-tls-key", f.tlsCert, f.tlsKey); err != nil {
		return err
	}
	f.adminTLS, err = adminCA(f.adminCA)
	return err
}

// exposed reports whether the API would listen beyond loopback without a
// token.
func (f *controlFlags) exposed() bool { return !isLoopback(f.host) && f.token == "" }

// where names the interfaces the API listens on, for messages.
func (f *controlFlags) where() string {
	if f.host == "" {
		return "all interfaces (-api-host empty)"
	}
	return f.host + " (beyond loopback)"
}

func runControl(args []string) error {
	var f controlFlags
	log, ropts, err := setup("control", args, f.register)
	if err != nil {
		return err
	}
	if err := f.resolve(); err != nil {
		return err
	}
	if !ropts.Configured() {
		return errors.New("the control plane keeps its state in Redis: set REDIS_ADDR or REDIS_HOST, or run 'streamgate up', which embeds one")
	}
	ctx, stop := untilSignal()
	defer stop()
	cp, err := startControl(&f, ropts, store.Options{}, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal kills at once
	return cp.shutdown()
}

// controlPlane is the running REST API.
type controlPlane struct {
	log      *slog.Logger
	srv      *http.Server
	c        redis.UniversalClient
	ln       net.Listener
	stopWarn context.CancelFunc // ends warnExposed; a no-op when it does not run
	warnDone chan struct{}      // closed when warnExposed has returned
}

// exposedWarnEvery is how often a REST API exposed by -insecure-api says
// so.
const exposedWarnEvery = time.Minute

func startControl(f *controlFlags, ropts rdb.Options, sopts store.Options, log *slog.Logger) (*controlPlane, error) {
	c := rdb.NewClient(ropts)
	st := store.New(c, sopts)
	h := api.New(st, api.Options{Token: f.token, Redis: c, Logger: log, AdminTLS: f.adminTLS})
	ln, err := net.Listen("tcp", addr(f.host, f.port))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot listen on %s: %w", addr(f.host, f.port), err)
	}
	cp := &controlPlane{log: log, c: c, ln: ln, stopWarn: func() {}, warnDone: make(chan struct{}),
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			// A slow client cannot hold a connection: bodies are at most 1 MiB.
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}}
	scheme := "http://"
	if f.tls != nil {
		scheme = "https://"
		cp.srv.TLSConfig = f.tls.Clone()
	}
	go func() {
		var err error
		if cp.srv.TLSConfig != nil {
			err = cp.srv.ServeTLS(ln, "", "")
		} else {
			err = cp.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control plane stopped", "err", err)
		}
	}()
	auth := "off"
	if f.token != "" {
		auth = "bearer token"
	}
	api := scheme + ln.Addr().String()
	log.Info("control plane running", "api", api, "docs", api+"/docs", "redis", ropts.String(), "auth", auth)
	if f.exposed() {
		var ctx context.Context
		ctx, cp.stopWarn = context.WithCancel(context.Background())
		go func() {
			defer close(cp.warnDone)
			warnExposed(ctx, log, api, exposedWarnEvery)
		}()
	} else {
		close(cp.warnDone)
	}
	if !isLoopback(f.host) && f.token != "" && f.tls == nil {
		log.Warn("the REST API listens beyond loopback without TLS: its token crosses the network in clear; set -api-tls-cert and -api-tls-key", "api", api)
	}
	return cp, nil
}

// warnExposed logs, now and every interval until ctx ends, that the API at
// api takes changes from anyone who reaches it.
func warnExposed(ctx context.Context, log *slog.Logger, api string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		log.Warn("the REST API listens beyond loopback without a token (-insecure-api): anyone who reaches it can change what is filtered and redacted", "api", api)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (cp *controlPlane) shutdown() error {
	cp.stopWarn()
	<-cp.warnDone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := cp.srv.Shutdown(ctx)
	cp.c.Close()
	return err
}

// upFlags are the flags of `up` beyond the two planes'.
type upFlags struct {
	redisAddr    string
	passwordFile string
	snapshot     bool
}

// defaultPasswordFile is where `up` writes the embedded Redis's password,
// relative to its working directory.
const defaultPasswordFile = "streamgate-redis.password"

func runUp(args []string) error {
	var (
		df dataplaneFlags
		cf controlFlags
		uf upFlags
	)
	log, ropts, err := setup("up", args, func(fs *flag.FlagSet) {
		df.register(fs)
		cf.register(fs)
		fs.StringVar(&uf.redisAddr, "embedded-redis", env("EMBEDDED_REDIS_ADDR", "127.0.0.1:6379"),
			"where the embedded Redis listens when REDIS_ADDR/REDIS_HOST is not set; if taken, a free port is used (env EMBEDDED_REDIS_ADDR)")
		fs.StringVar(&uf.passwordFile, "redis-password-file", env("STREAMGATE_REDIS_PASSWORD_FILE", defaultPasswordFile),
			`file (mode 0600) where the embedded Redis's generated password is written for more data planes to read into REDIS_PASSWORD; removed at exit; "off" to write none (env STREAMGATE_REDIS_PASSWORD_FILE)`)
		fs.BoolVar(&uf.snapshot, "redis-snapshot", true,
			"keep the embedded Redis's data (the control plane's draft, manifest history and published manifest) in -data-dir's "+snapshot.FileName+
				" (mode 0600), saved on every change and at exit, loaded at start; false keeps it in memory only. Not used with REDIS_ADDR/REDIS_HOST")
	})
	if err != nil {
		return err
	}
	if err := cf.resolve(); err != nil {
		return err
	}
	var (
		sopts store.Options
		snap  *snapshot.Snapshotter
	)
	if !ropts.Configured() {
		snapshotPath := ""
		if uf.snapshot {
			snapshotPath = filepath.Join(cmp.Or(df.dataDir, pipeline.DefaultDataDir), snapshot.FileName)
		}
		mr, cleanup, err := startEmbeddedRedis(uf.redisAddr, ropts.Password, uf.passwordFile, snapshotPath, log)
		if err != nil {
			return err
		}
		defer cleanup()
		ropts = rdb.Options{Addrs: []string{mr.Addr()}, Password: mr.password}
		if snap = mr.snap; snap != nil {
			sopts.Written = snap.Changed
		}
	}

	ctx, stop := untilSignal()
	defer stop()
	cp, err := startControl(&cf, ropts, sopts, log)
	if err != nil {
		return err
	}
	hup := notifyHUP()
	defer signal.Stop(hup)
	dp, err := startDataplane(ctx, &df, ropts, log, hup)
	if err != nil {
		cp.shutdown()
		return err
	}
	if snap != nil {
		m := dp.s.Metrics()
		m.Gauge("streamgate_redis_snapshot_writes_total", func() float64 { return float64(snap.Writes()) })
		m.Gauge("streamgate_redis_snapshot_errors_total", func() float64 { return float64(snap.Failures()) })
	}
	select {
	case <-ctx.Done():
	case err = <-dp.s.Failed():
	}
	stop()
	<-dp.reloaded
	// The logs first: drain the data plane, then stop the API; then save
	// the embedded Redis as they left it.
	derr := dp.shutdown(df.shutdownTimeout)
	cerr := cp.shutdown()
	var serr error
	if snap != nil {
		writes := snap.Writes()
		// Nothing is written for an empty Redis that had no snapshot.
		if serr = snap.Close(); serr == nil && snap.Writes() > writes {
			log.Info("embedded redis saved", "path", snap.Path())
		}
	}
	return errors.Join(err, derr, cerr, serr)
}

// embeddedRedis is the Redis `up` runs in process.
type embeddedRedis struct {
	*miniredis.Miniredis
	password string
	snap     *snapshot.Snapshotter // nil when its data is in memory only
}

// startEmbeddedRedis runs miniredis on addr, or on a free loopback port if
// addr is taken. Both planes reach it over the Redis protocol, like a real
// one. Keys expire in real time, as in Redis. It keeps its data in memory
// and, when snapshotPath is set, in that file: loaded from it before it
// serves anyone, saved whenever the returned Snapshotter is told of a
// change. Every client must authenticate with password; when password is
// empty, one is generated and written to passwordFile (unless that is ""
// or "off") for more data planes to read. cleanup stops the server and
// removes the password file; it does not save.
func startEmbeddedRedis(addr, password, passwordFile, snapshotPath string, log *slog.Logger) (_ *embeddedRedis, cleanup func(), err error) {
	mr := miniredis.NewMiniRedis()
	// Without it, miniredis counts a time to live down only when told to,
	// and a data plane that died would stay in the fleet for good.
	mr.ClockTTL(true)
	var snap *snapshot.Snapshotter
	kept := "in memory only, -redis-snapshot=false"
	if snapshotPath != "" {
		if abs, err := filepath.Abs(snapshotPath); err == nil {
			snapshotPath = abs
		}
		snap = snapshot.New(mr, snapshotPath, snapshot.Options{Logger: log})
		n, err := snap.Load()
		if err != nil {
			return nil, nil, fmt.Errorf("-data-dir: %w", err)
		}
		if n > 0 {
			log.Info("embedded redis: snapshot loaded", "path", snapshotPath, "keys", n)
		}
		kept = "in memory, saved to " + snapshotPath + " on every change"
	}
	how := "with the REDIS_PASSWORD given to this process"
	write := password == "" && passwordFile != "" && passwordFile != "off"
	if password == "" {
		if password, err = newPassword(); err != nil {
			return nil, nil, err
		}
		how = "but its generated password was written nowhere (-redis-password-file off)"
	}
	if write {
		if abs, err := filepath.Abs(passwordFile); err == nil {
			passwordFile = abs
		}
		if err := writeSecretFile(passwordFile, password); err != nil {
			return nil, nil, fmt.Errorf("-redis-password-file: cannot write the embedded Redis's password: %w", err)
		}
		how = "and REDIS_PASSWORD from " + passwordFile
	}
	mr.RequireAuth(password)
	cleanup = func() {
		mr.Close()
		if write {
			os.Remove(passwordFile)
		}
	}
	if err := mr.StartAddr(addr); err != nil {
		log.Warn("embedded redis: address taken, using a free port", "addr", addr, "err", err)
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("cannot start embedded redis: %w", err)
		}
	}
	log.Info("embedded redis running ("+kept+", password required); more data planes can join with REDIS_ADDR="+mr.Addr()+" "+how, "addr", mr.Addr())
	return &embeddedRedis{Miniredis: mr, password: password, snap: snap}, cleanup, nil
}
