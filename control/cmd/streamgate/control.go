package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/control/api"
	"streamgate/control/store"
	"streamgate/dataplane/rdb"
)

// controlFlags are the flags of the control plane, shared by `control` and
// `up`.
type controlFlags struct {
	host, port string
	token      string
}

func (f *controlFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.host, "api-host", env("CONTROL_HOST", env("LISTEN_HOST", "")), "address the REST API listens on, empty for all (env CONTROL_HOST, else LISTEN_HOST)")
	fs.StringVar(&f.port, "api-port", env("CONTROL_PORT", "8000"), "REST API port (env CONTROL_PORT)")
	fs.StringVar(&f.token, "api-token", env("STREAMGATE_API_TOKEN", ""), "when set, POST/PUT/DELETE need 'Authorization: Bearer <token>' (env STREAMGATE_API_TOKEN)")
}

func runControl(args []string) error {
	var f controlFlags
	log, ropts, err := setup("control", args, f.register)
	if err != nil {
		return err
	}
	if !ropts.Configured() {
		return errors.New("the control plane keeps its state in Redis: set REDIS_ADDR or REDIS_HOST, or run 'streamgate up', which embeds one")
	}
	ctx, stop := untilSignal()
	defer stop()
	cp, err := startControl(&f, ropts, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal kills at once
	return cp.shutdown()
}

// controlPlane is the running REST API.
type controlPlane struct {
	log *slog.Logger
	srv *http.Server
	c   redis.UniversalClient
	ln  net.Listener
}

func startControl(f *controlFlags, ropts rdb.Options, log *slog.Logger) (*controlPlane, error) {
	c := rdb.NewClient(ropts)
	st := store.New(c, store.Options{})
	h := api.New(st, api.Options{Token: f.token, Redis: c, Logger: log})
	ln, err := net.Listen("tcp", addr(f.host, f.port))
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot listen on %s: %w", addr(f.host, f.port), err)
	}
	cp := &controlPlane{log: log, c: c, ln: ln,
		srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second,
			// A slow client cannot hold a connection: bodies are at most 1 MiB.
			ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}}
	go func() {
		if err := cp.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control plane stopped", "err", err)
		}
	}()
	auth := "off"
	if f.token != "" {
		auth = "bearer token"
	}
	log.Info("control plane running", "api", "http://"+ln.Addr().String(), "docs", "http://"+ln.Addr().String()+"/docs",
		"redis", ropts.String(), "auth", auth)
	return cp, nil
}

func (cp *controlPlane) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := cp.srv.Shutdown(ctx)
	cp.c.Close()
	return err
}

// upFlags are the flags of `up` beyond the two planes'.
type upFlags struct {
	redisAddr string
}

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
	})
	if err != nil {
		return err
	}
	if !ropts.Configured() {
		mr, err := startEmbeddedRedis(uf.redisAddr, log)
		if err != nil {
			return err
		}
		defer mr.Close()
		ropts = rdb.Options{Addrs: []string{mr.Addr()}}
	}

	ctx, stop := untilSignal()
	defer stop()
	cp, err := startControl(&cf, ropts, log)
	if err != nil {
		return err
	}
	dp, err := startDataplane(&df, ropts, log)
	if err != nil {
		cp.shutdown()
		return err
	}
	select {
	case <-ctx.Done():
	case err = <-dp.s.Failed():
	}
	stop()
	// The logs first: drain the data plane, then stop the API.
	derr := dp.shutdown(df.shutdownTimeout)
	return errors.Join(err, derr, cp.shutdown())
}

// startEmbeddedRedis runs miniredis on addr, or on a free loopback port if
// addr is taken. Both planes reach it over the Redis protocol, like a real
// one; it keeps its data in memory only.
func startEmbeddedRedis(addr string, log *slog.Logger) (*miniredis.Miniredis, error) {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr(addr); err != nil {
		log.Warn("embedded redis: address taken, using a free port", "addr", addr, "err", err)
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("cannot start embedded redis: %w", err)
		}
	}
	log.Info("embedded redis running (in memory); more data planes can join with REDIS_ADDR="+mr.Addr(), "addr", mr.Addr())
	return mr, nil
}
