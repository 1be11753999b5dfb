// Package watch keeps a data plane in step with the manifest published in
// Redis, and reports the instance's state back as a heartbeat.
//
// The manifest is read from rdb.ConfigKey at start, on every RELOAD message
// on rdb.UpdatesChannel, after every (re)subscription, and every resync
// interval. Pub/sub messages sent while the connection was down are lost, so
// the watcher never relies on them alone: a publish made during an outage is
// picked up by the read that follows the reconnection. A manifest that
// cannot be applied is rejected whole; the previous one keeps running.
//
// Every read ends in one call on the Target: ApplyJSON with a manifest that
// changed, Absent when Redis holds none, or Unreachable when Redis could not
// be read (an unchanged manifest makes no call). A data plane that waits at
// boot for something to run decides from these.
package watch

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/rdb"
)

// Defaults of Options.
const (
	DefaultHeartbeat = 2 * time.Second
	DefaultResync    = 10 * time.Second
)

// Target is the data plane a Watcher keeps in step.
type Target interface {
	// ApplyJSON parses an encoded manifest and applies it whole, or
	// rejects it whole; it logs, counts and records a rejection itself.
	ApplyJSON(data []byte) error
	// Absent is told that Redis answered and holds no manifest.
	Absent()
	// Unreachable is told that Redis could not be read, and why; the
	// watcher retries with backoff.
	Unreachable(err error)
	// Report fills in what the data plane knows of itself: the applied
	// and rejected manifest versions, the line counters, its TCP address.
	Report(hb *rdb.Heartbeat)
}

// ShadowTarget is implemented by a Target that runs a shadow manifest
// (rdb.ShadowKey) beside the live one. The watcher reads the shadow with
// the manifest, and calls ApplyShadowJSON when it changed: with nil when
// it was removed. A data plane that does not implement it ignores shadows.
type ShadowTarget interface {
	ApplyShadowJSON(data []byte) error
}

// Options configure a Watcher. Zero values mean the defaults.
type Options struct {
	// Client talks to Redis; required.
	Client redis.UniversalClient
	// Target is the data plane to keep in step; required.
	Target Target
	// ID names the instance in the fleet; "" means host-pid.
	ID string
	// Heartbeat is the interval between heartbeats; the heartbeat's time to
	// live is three intervals.
	Heartbeat time.Duration
	// Resync is the longest time between two reads of the manifest when no
	// RELOAD arrives.
	Resync time.Duration
	Logger *slog.Logger
}

// Watcher follows the published manifest and writes heartbeats.
type Watcher struct {
	opts    Options
	c       redis.UniversalClient
	t       Target
	log     *slog.Logger
	started time.Time

	mu   sync.Mutex
	last []byte // the last manifest read, applied or not
	// lastShadow is the last shadow manifest read, nil for none;
	// shadowRead is set once one read of it succeeded.
	lastShadow []byte
	shadowRead bool
	redisOK    string // "connected" or the last Redis error
}

// New returns a watcher; Run starts it.
func New(opts Options) *Watcher {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.ID == "" {
		opts.ID = DefaultID()
	}
	return &Watcher{opts: opts, c: opts.Client, t: opts.Target, log: opts.Logger, started: time.Now(), redisOK: "connecting"}
}

// DefaultID is host-pid, or $STREAMGATE_INSTANCE_ID when set.
func DefaultID() string {
	if id := os.Getenv("STREAMGATE_INSTANCE_ID"); id != "" {
		return id
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return host + "-" + strconv.Itoa(os.Getpid())
}

// ID is the instance id used in the fleet.
func (w *Watcher) ID() string { return w.opts.ID }

// Run follows the manifest until ctx ends, then removes the heartbeat.
func (w *Watcher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.heartbeats(ctx)
	}()
	w.follow(ctx)
	wg.Wait()
	rctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	rdb.RemoveHeartbeat(rctx, w.c, w.opts.ID)
}

// follow subscribes to the updates channel and reads the manifest on every
// subscription confirmation (the first, and each after go-redis reconnects),
// every message, and every resync interval.
func (w *Watcher) follow(ctx context.Context) {
	ps := w.c.Subscribe(ctx, rdb.UpdatesChannel)
	defer ps.Close()
	// A receive in progress does not watch ctx; closing the subscription
	// ends it at once instead of at the next resync timeout.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	backoff := time.Duration(0)
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, w.opts.Resync)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				w.sync(ctx, "resync")
				continue
			}
			// Redis is unreachable: keep serving on the last good config and
			// retry; the next ReceiveTimeout reconnects and resubscribes.
			w.unreachable(err)
			backoff = min(max(2*backoff, 100*time.Millisecond), 5*time.Second)
			sleep(ctx, backoff/2+rand.N(backoff/2+1))
			continue
		}
		backoff = 0
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				w.setRedis(nil)
				w.sync(ctx, "subscribed")
			}
		case *redis.Message:
			w.sync(ctx, "message "+m.Payload)
		}
	}
}

// sync reads the manifest and applies it if it changed since the last read;
// so does it the shadow manifest, for a ShadowTarget.
func (w *Watcher) sync(ctx context.Context, why string) {
	w.syncShadow(ctx, why)
	data, err := w.c.Get(ctx, rdb.ConfigKey).Bytes()
	if errors.Is(err, redis.Nil) {
		w.setRedis(nil)
		w.t.Absent() // nothing published yet: keep the current config
		return
	}
	if err != nil {
		if ctx.Err() == nil {
			w.unreachable(err)
		}
		return
	}
	w.setRedis(nil)
	w.mu.Lock()
	same := bytes.Equal(data, w.last)
	if !same {
		w.last = data
	}
	w.mu.Unlock()
	if same {
		return
	}
	w.log.Info("manifest changed in redis", "trigger", why, "bytes", len(data))
	w.t.ApplyJSON(data) // logs, counts and records a rejection itself
}

// syncShadow reads the shadow manifest and hands it to a ShadowTarget if
// it changed since the last read. A read that fails changes nothing: the
// manifest's own read reports Redis unreachable.
func (w *Watcher) syncShadow(ctx context.Context, why string) {
	st, ok := w.t.(ShadowTarget)
	if !ok {
		return
	}
	data, err := w.c.Get(ctx, rdb.ShadowKey).Bytes()
	if errors.Is(err, redis.Nil) {
		data, err = nil, nil
	}
	if err != nil {
		return
	}
	w.mu.Lock()
	prev, read := w.lastShadow, w.shadowRead
	w.lastShadow, w.shadowRead = data, true
	w.mu.Unlock()
	if read && bytes.Equal(data, prev) || data == nil && prev == nil {
		return
	}
	w.log.Info("shadow manifest changed in redis", "trigger", why, "bytes", len(data))
	st.ApplyShadowJSON(data) // logs and reports a rejection itself
}

// unreachable records that Redis could not be read and tells the target.
func (w *Watcher) unreachable(err error) {
	w.setRedis(err)
	w.t.Unreachable(err)
}

// RedisStatus is "connected", "connecting" before the first attempt ends,
// or the last Redis error.
func (w *Watcher) RedisStatus() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.redisOK
}

func (w *Watcher) setRedis(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	status := "connected"
	if err != nil {
		status = err.Error()
	}
	if status != w.redisOK {
		if err != nil {
			w.log.Warn("redis unavailable; retrying", "err", err)
		} else if w.redisOK != "connecting" {
			w.log.Info("redis reachable again")
		}
		w.redisOK = status
	}
}

func (w *Watcher) heartbeats(ctx context.Context) {
	t := time.NewTicker(w.opts.Heartbeat)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, w.opts.Heartbeat)
		if err := rdb.WriteHeartbeat(hctx, w.c, w.Heartbeat(), 3*w.opts.Heartbeat); err != nil && ctx.Err() == nil {
			w.log.Debug("cannot write heartbeat", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Heartbeat describes the instance now.
func (w *Watcher) Heartbeat() *rdb.Heartbeat {
	host, _ := os.Hostname()
	hb := &rdb.Heartbeat{
		ID:      w.opts.ID,
		Host:    host,
		PID:     os.Getpid(),
		Started: w.started.UnixMilli(),
		Updated: time.Now().UnixMilli(),
	}
	w.t.Report(hb)
	w.mu.Lock()
	hb.Redis = w.redisOK
	w.mu.Unlock()
	return hb
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
