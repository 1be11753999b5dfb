package watch

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/rdb"
)

// The data plane's side of following Redis, with real servers, is tested in
// package server; these tests hold the watcher to its contract with a
// Target that records what it is given.

// target records the manifests applied to it, and how often it was told
// that Redis holds none or could not be read.
type target struct {
	mu          sync.Mutex
	applied     []string
	absent      int
	unreachable int
}

func (t *target) Absent() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.absent++
}

func (t *target) Unreachable(error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unreachable++
}

// counts returns how often the target was told Absent and Unreachable.
func (t *target) counts() (absent, unreachable int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.absent, t.unreachable
}

func (t *target) ApplyJSON(data []byte) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applied = append(t.applied, string(data))
	return nil
}

func (t *target) Report(hb *rdb.Heartbeat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hb.Received = uint64(len(t.applied))
	hb.Version = fmt.Sprint(len(t.applied))
}

func (t *target) got() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.applied...)
}

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const testHeartbeat = 50 * time.Millisecond

// run starts a watcher for tg on the Redis at addr until the test ends, or
// until the returned stop is called.
func run(t *testing.T, addr, id string, tg Target) (w *Watcher, logs *logbuf.Buffer, stop func()) {
	t.Helper()
	logs = &logbuf.Buffer{}
	c := rdb.NewClient(rdb.Options{Addrs: []string{addr}})
	w = New(Options{Client: c, Target: tg, ID: id, Heartbeat: testHeartbeat, Resync: time.Minute,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			c.Close()
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("%s log:\n%s", id, logs)
		}
	})
	return w, logs, stop
}

// publish does what the control plane does: SET the key, PUBLISH RELOAD.
func publish(t *testing.T, c *redis.Client, data string) {
	t.Helper()
	ctx := context.Background()
	mustNil(t, c.Set(ctx, rdb.ConfigKey, data, 0).Err())
	mustNil(t, c.Publish(ctx, rdb.UpdatesChannel, rdb.ReloadMessage).Err())
}

// TestAppliesWhatChanged: what is in Redis at start is applied, then every
// publish of a new manifest, and a RELOAD of the same bytes applies nothing.
func TestAppliesWhatChanged(t *testing.T) {
	mr := miniredis.RunT(t)
	mustNil(t, mr.Set(rdb.ConfigKey, "v1"))
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	tg := &target{}
	w, _, _ := run(t, mr.Addr(), "dp", tg)
	waitFor(t, 5*time.Second, "v1 at start", func() bool { return len(tg.got()) == 1 })
	waitFor(t, 5*time.Second, "the subscription", func() bool {
		n, err := c.PubSubNumSub(context.Background(), rdb.UpdatesChannel).Result()
		return err == nil && n[rdb.UpdatesChannel] == 1
	})
	publish(t, c, "v2")
	waitFor(t, 5*time.Second, "v2", func() bool { return len(tg.got()) == 2 })
	publish(t, c, "v2")
	publish(t, c, "v3") // RELOADs are handled in order: v2 again comes first
	waitFor(t, 5*time.Second, "v3", func() bool { return len(tg.got()) == 3 })
	if got := strings.Join(tg.got(), ","); got != "v1,v2,v3" {
		t.Fatalf("applied %s; want v1,v2,v3 (the same manifest twice is applied once)", got)
	}
	if hb := w.Heartbeat(); hb.ID != "dp" || hb.Redis != "connected" || hb.Version != "3" || hb.PID != os.Getpid() {
		t.Fatalf("heartbeat %+v; want id dp, connected, the target's report (version 3), this pid", hb)
	}
}

// TestRedisDownAtStart: with no Redis to talk to, nothing is applied and the
// heartbeat says why; the manifest there once Redis is up is applied by the
// read that follows the subscription, with no RELOAD.
func TestRedisDownAtStart(t *testing.T) {
	m := miniredis.NewMiniRedis()
	mustNil(t, m.Start())
	addr := m.Addr()
	m.Close() // nothing answers on addr yet
	tg := &target{}
	w, logs, _ := run(t, addr, "dp", tg)
	waitFor(t, 5*time.Second, "the watcher to report redis down", func() bool {
		r := w.Heartbeat().Redis
		return r != "connected" && r != "connecting"
	})
	if got := tg.got(); len(got) != 0 {
		t.Fatalf("applied %q with no Redis", got)
	}
	if absent, unreachable := tg.counts(); absent != 0 || unreachable == 0 || w.RedisStatus() != w.Heartbeat().Redis {
		t.Fatalf("with no Redis the target was told Absent %d and Unreachable %d times, status %q; want 0 and at least once, the heartbeat's",
			absent, unreachable, w.RedisStatus())
	}
	mustNil(t, m.Set(rdb.ConfigKey, "v7"))
	mustNil(t, m.StartAddr(addr))
	defer m.Close()
	waitFor(t, 10*time.Second, "v7", func() bool { return len(tg.got()) == 1 })
	if !strings.Contains(logs.String(), " trigger=subscribed ") {
		t.Fatalf("log:\n%s\nwant v7 loaded by the read after the subscription", logs)
	}
}

// TestAbsent: a Redis that answers and holds no manifest is reported as
// such at start and on every later read, until a manifest is published.
func TestAbsent(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	tg := &target{}
	w, _, _ := run(t, mr.Addr(), "dp", tg)
	waitFor(t, 5*time.Second, "the target to be told Redis holds no manifest", func() bool { a, _ := tg.counts(); return a == 1 })
	waitFor(t, 5*time.Second, "the subscription", func() bool {
		n, err := c.PubSubNumSub(context.Background(), rdb.UpdatesChannel).Result()
		return err == nil && n[rdb.UpdatesChannel] == 1
	})
	mustNil(t, c.Publish(context.Background(), rdb.UpdatesChannel, rdb.ReloadMessage).Err()) // a RELOAD with nothing behind it
	waitFor(t, 5*time.Second, "the RELOAD's read", func() bool { a, _ := tg.counts(); return a == 2 })
	publish(t, c, "v1")
	waitFor(t, 5*time.Second, "v1", func() bool { return len(tg.got()) == 1 })
	if absent, unreachable := tg.counts(); absent != 2 || unreachable != 0 || w.RedisStatus() != "connected" {
		t.Fatalf("told Absent %d and Unreachable %d times, status %q; want 2, 0, connected", absent, unreachable, w.RedisStatus())
	}
}

// TestHeartbeatTTL checks that a heartbeat lives three intervals, so an
// instance that misses two beats still shows in the fleet.
func TestHeartbeatTTL(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	run(t, mr.Addr(), "dp", &target{})
	key := rdb.InstanceKeyPrefix + "dp"
	waitFor(t, 5*time.Second, "a heartbeat with its time to live", func() bool { return mr.TTL(key) > 0 })
	// miniredis's clock stands still until told to move: the TTL is exactly
	// what the watcher set.
	if got, err := c.PTTL(context.Background(), key).Result(); err != nil || got != 3*testHeartbeat {
		t.Fatalf("PTTL of the heartbeat: got %v, %v; want %v, three intervals", got, err, 3*testHeartbeat)
	}
}

// TestHeartbeatRemovedOnStop checks that a stopped instance leaves the fleet.
func TestHeartbeatRemovedOnStop(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	_, _, stop := run(t, mr.Addr(), "dp-a", &target{})
	run(t, mr.Addr(), "dp-b", &target{})
	waitFor(t, 5*time.Second, "two heartbeats", func() bool {
		f, err := rdb.ListFleet(context.Background(), c)
		return err == nil && len(f) == 2
	})
	stop()
	f, err := rdb.ListFleet(context.Background(), c)
	mustNil(t, err)
	if len(f) != 1 || f[0].ID != "dp-b" {
		t.Fatalf("fleet after one instance stopped: %+v; want only dp-b", f)
	}
	if f[0].PID != os.Getpid() || f[0].Started == 0 || f[0].Updated < f[0].Started {
		t.Fatalf("heartbeat fields: %+v", f[0])
	}
}
