package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/internal/redistest"
	"streamgate/dataplane/netfault"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/record"
	"streamgate/dataplane/watch"
)

// These tests run data planes that follow a Redis (Options.Watch) the way
// the binary does: they converge on every publish, through outages.

func mustNil(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitWithin polls cond until it holds, failing t after d.
func waitWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// instance is one data plane following Redis.
type instance struct {
	s    *Server
	logs *logbuf.Buffer // the server's, its watcher's included
}

// testHeartbeat is the heartbeat interval of the instances.
const testHeartbeat = 50 * time.Millisecond

// startInstances starts n data planes following the Redis at addr, each
// reading the manifest every resync when nothing else makes it.
func startInstances(t *testing.T, addr string, n int, resync time.Duration) []*instance {
	var out []*instance
	for i := 0; i < n; i++ {
		logs := &logbuf.Buffer{}
		log := slog.New(slog.NewTextHandler(logs, nil))
		c := rdb.NewClient(rdb.Options{Addrs: []string{addr}})
		s, err := Start(Options{Logger: log, Watch: &watch.Options{Client: c, ID: fmt.Sprintf("%s-dp%d", t.Name(), i),
			Heartbeat: testHeartbeat, Resync: resync}})
		mustNil(t, err)
		inst := &instance{s: s, logs: logs}
		t.Cleanup(func() {
			s.Shutdown(context.Background())
			c.Close()
			if t.Failed() {
				t.Logf("%s log:\n%s", s.InstanceID(), logs)
			}
		})
		out = append(out, inst)
	}
	return out
}

// lastChange is the last "manifest changed in redis" line of in's log, or "".
func (in *instance) lastChange() string {
	last := ""
	for _, l := range strings.Split(in.logs.String(), "\n") {
		if strings.Contains(l, `msg="manifest changed in redis"`) {
			last = l
		}
	}
	return last
}

func manifestJSON(version, sink string, extra string) string {
	return `{"version":"` + version + `","pipelines":[{"name":"default_pipeline","processors":[` + extra +
		`],"outputs":[{"type":"capture","url":"` + sink + `"}]}]}`
}

// publish does what the control plane does: SET the key, PUBLISH RELOAD.
// It returns how many subscribers the RELOAD reached.
func publish(t *testing.T, c *redis.Client, data string) int64 {
	t.Helper()
	ctx := context.Background()
	mustNil(t, c.Set(ctx, rdb.ConfigKey, data, 0).Err())
	n, err := c.Publish(ctx, rdb.UpdatesChannel, rdb.ReloadMessage).Result()
	mustNil(t, err)
	return n
}

func versions(insts []*instance) []string {
	var v []string
	for _, in := range insts {
		if m := in.s.Applied(); m != nil {
			v = append(v, string(m.Version))
		} else {
			v = append(v, "")
		}
	}
	return v
}

func allAt(insts []*instance, version string) func() bool {
	return func() bool {
		for _, v := range versions(insts) {
			if v != version {
				return false
			}
		}
		return true
	}
}

// subscribed waits until exactly n instances are subscribed, so a PUBLISH
// reaches them all, or, with n 0, none.
func subscribed(t *testing.T, c *redis.Client, n int) {
	t.Helper()
	waitWithin(t, 10*time.Second, fmt.Sprintf("%d instances to be subscribed", n), func() bool {
		m, err := c.PubSubNumSub(context.Background(), rdb.UpdatesChannel).Result()
		return err == nil && m[rdb.UpdatesChannel] == int64(n)
	})
}

// testConverge runs three data planes on env, each through a relay the test
// can cut, and publishes: while they can reach Redis, and while they cannot.
func testConverge(t *testing.T, env redistest.Server) {
	sink := capture.Unique("converge")
	c := redis.NewClient(&redis.Options{Addr: env.Addr()}) // the control plane's: never cut
	defer c.Close()
	r, err := netfault.NewRelay(env.Addr())
	mustNil(t, err)
	t.Cleanup(r.Close)
	// No periodic read within the test: an instance loads a manifest only on
	// a RELOAD, or by reading the key after it (re)subscribes.
	insts := startInstances(t, r.Addr(), 3, time.Minute)
	subscribed(t, c, 3)

	// A publish is applied by every instance within a second.
	start := time.Now()
	if n := publish(t, c, manifestJSON("1", sink, `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`)); n != 3 {
		t.Fatalf("RELOAD reached %d subscribers; want 3", n)
	}
	waitWithin(t, time.Second, "all instances to apply version 1", allAt(insts, "1"))
	t.Logf("3 instances applied version 1 in %s", time.Since(start).Round(time.Millisecond))

	// The instances are cut off from Redis, which restarts meanwhile.
	r.Cut()
	waitWithin(t, 10*time.Second, "the instances to notice the outage", func() bool {
		for _, in := range insts {
			if in.s.Heartbeat().Redis == "connected" {
				return false
			}
		}
		return true
	})
	env.Stop(t)
	env.Start(t)
	// A manifest is published while they cannot hear it: its RELOAD
	// reaches none of them, so only the read that follows their
	// reconnection can bring it.
	subscribed(t, c, 0)
	if n := publish(t, c, manifestJSON("2", sink, "")); n != 0 {
		t.Fatalf("RELOAD reached %d subscribers during the outage; want 0", n)
	}
	for _, in := range insts { // still serving on the last good config
		if got := string(in.s.Applied().Version); got != "1" {
			t.Fatalf("during the outage an instance runs version %q; want 1", got)
		}
	}
	mustNil(t, r.Restore())
	start = time.Now()
	waitWithin(t, 10*time.Second, "all instances to converge on version 2 after reconnecting", allAt(insts, "2"))
	t.Logf("3 instances reconnected and applied version 2 in %s", time.Since(start).Round(time.Millisecond))
	for _, in := range insts {
		if l := in.lastChange(); !strings.Contains(l, " trigger=subscribed ") {
			t.Fatalf("%s: loaded version 2 on %q; want the read after it resubscribed", in.s.InstanceID(), l)
		}
	}

	// An invalid manifest written straight into Redis is rejected whole; the
	// old config keeps running, and the fleet shows the rejection.
	subscribed(t, c, 3)
	if n := publish(t, c, `{"version":"3","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"pattern":"("}}]}]}`); n != 3 {
		t.Fatalf("RELOAD reached %d subscribers; want 3", n)
	}
	waitWithin(t, 5*time.Second, "the instances to reject version 3", func() bool {
		for _, in := range insts {
			if r := in.s.Rejected(); r == nil || r.Version != "3" {
				return false
			}
		}
		return true
	})
	for _, in := range insts {
		if got := string(in.s.Applied().Version); got != "2" {
			t.Fatalf("after a rejected manifest an instance runs %q; want 2", got)
		}
		if got := in.s.Metrics().ReloadErrors.Get(); got != 1 {
			t.Fatalf("reload errors: got %d; want 1", got)
		}
	}
	waitWithin(t, 5*time.Second, "the fleet to show the rejection", func() bool {
		fleet, err := rdb.ListFleet(context.Background(), c)
		if err != nil || len(fleet) != 3 {
			return false
		}
		for _, hb := range fleet {
			if hb.Version != "2" || hb.Rejected != "3" || !strings.Contains(hb.Error, "params.pattern") || hb.Redis != "connected" {
				return false
			}
		}
		return true
	})
	// Lines still flow through the version 2 config (no filter, same sink).
	before := capture.Get(sink).Len()
	b := record.Get(0)
	b.Data = append(b.Data, "DEBUG still flowing"...)
	b.Lines = append(b.Lines, b.Data)
	insts[0].s.Metrics().Received.Inc()
	mustNil(t, insts[0].s.Pipeline().Push(context.Background(), b, 0))
	waitWithin(t, 5*time.Second, "a line through the version 2 config", func() bool { return capture.Get(sink).Len() == before+1 })
}

func TestConvergeMiniredis(t *testing.T) {
	testConverge(t, redistest.Mini(t))
}

func TestConvergeRealRedis(t *testing.T) {
	testConverge(t, redistest.Real(t))
}

// TestRedisDownAtStart starts a data plane with no Redis to talk to: it
// waits, ingest closed (see boot_test.go), and picks up the manifest by
// reading it once Redis is up. The manifest is there before Redis answers,
// and nobody announces it: no RELOAD, and no periodic read within the test.
func TestRedisDownAtStart(t *testing.T) {
	m := miniredis.NewMiniRedis()
	mustNil(t, m.Start())
	addr := m.Addr()
	m.Close() // nothing answers on addr yet
	insts := startInstances(t, addr, 1, time.Minute)
	waitWithin(t, 5*time.Second, "the instance to report redis down", func() bool {
		return insts[0].s.Heartbeat().Redis != "connected" && insts[0].s.Heartbeat().Redis != "connecting"
	})
	if insts[0].s.Applied() != nil || !insts[0].s.Waiting() {
		t.Fatalf("an instance with no Redis: manifest %v, waiting %v; want none, waiting", insts[0].s.Applied(), insts[0].s.Waiting())
	}
	mustNil(t, m.Set(rdb.ConfigKey, manifestJSON("7", capture.Unique("late"), "")))
	mustNil(t, m.StartAddr(addr))
	defer m.Close()
	waitWithin(t, 10*time.Second, "the instance to load version 7", allAt(insts, "7"))
	if insts[0].s.Waiting() {
		t.Fatal("the instance still waits with version 7 applied")
	}
	if l := insts[0].lastChange(); !strings.Contains(l, " trigger=subscribed ") {
		t.Fatalf("loaded version 7 on %q; want the read after it subscribed", l)
	}
}

// TestHeartbeatTTL checks that a heartbeat lives three intervals, so an
// instance that misses two beats still shows in the fleet.
func TestHeartbeatTTL(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	insts := startInstances(t, mr.Addr(), 1, time.Minute)
	key := rdb.InstanceKeyPrefix + insts[0].s.InstanceID()
	waitWithin(t, 5*time.Second, "a heartbeat with its time to live", func() bool { return mr.TTL(key) > 0 })
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
	insts := startInstances(t, mr.Addr(), 2, time.Minute)
	waitWithin(t, 5*time.Second, "two heartbeats", func() bool {
		f, err := rdb.ListFleet(context.Background(), c)
		return err == nil && len(f) == 2
	})
	mustNil(t, insts[0].s.Shutdown(context.Background()))
	f, err := rdb.ListFleet(context.Background(), c)
	mustNil(t, err)
	if len(f) != 1 || f[0].ID != insts[1].s.InstanceID() {
		t.Fatalf("fleet after one instance stopped: %+v; want only %s", f, insts[1].s.InstanceID())
	}
	if f[0].PID != os.Getpid() || f[0].Started == 0 || f[0].Updated < f[0].Started {
		t.Fatalf("heartbeat fields: %+v", f[0])
	}
}
