package watch

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/record"
	"streamgate/dataplane/server"
)

func init() { capture.Register() }

// redisEnv is a Redis the test can stop and start again on the same address.
type redisEnv interface {
	Addr() string
	Stop(t *testing.T)
	Start(t *testing.T)
}

type miniEnv struct{ m *miniredis.Miniredis }

func (e *miniEnv) Addr() string       { return e.m.Addr() }
func (e *miniEnv) Stop(*testing.T)    { e.m.Close() }
func (e *miniEnv) Start(t *testing.T) { mustNil(t, e.m.Restart()) }

// realEnv runs redis-server on a free loopback port.
type realEnv struct {
	port string
	cmd  *exec.Cmd
}

func newRealEnv(t *testing.T) *realEnv {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed; .ci/run must install it")
		}
		t.Skip("redis-server not installed (apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	mustNil(t, err)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	e := &realEnv{port: port}
	e.Start(t)
	t.Cleanup(func() { e.Stop(t) })
	return e
}

func (e *realEnv) Addr() string { return "127.0.0.1:" + e.port }

func (e *realEnv) Start(t *testing.T) {
	e.cmd = exec.Command("redis-server", "--port", e.port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes")
	mustNil(t, e.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: e.Addr()})
	defer c.Close()
	waitFor(t, 10*time.Second, "redis-server to answer", func() bool { return c.Ping(context.Background()).Err() == nil })
}

func (e *realEnv) Stop(*testing.T) {
	if e.cmd != nil && e.cmd.Process != nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
		e.cmd = nil
	}
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

// instance is one data plane with its watcher.
type instance struct {
	s    *server.Server
	w    *Watcher
	stop context.CancelFunc
	done chan struct{}
}

func startInstances(t *testing.T, addr string, n int) []*instance {
	var out []*instance
	for i := 0; i < n; i++ {
		s, err := server.Start(server.Options{})
		mustNil(t, err)
		c := rdb.NewClient(rdb.Options{Addrs: []string{addr}})
		w := New(Options{Client: c, Server: s, ID: fmt.Sprintf("%s-dp%d", t.Name(), i),
			Heartbeat: 50 * time.Millisecond, Resync: 200 * time.Millisecond})
		ctx, cancel := context.WithCancel(context.Background())
		inst := &instance{s: s, w: w, stop: cancel, done: make(chan struct{})}
		go func() { defer close(inst.done); w.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			<-inst.done
			c.Close()
			s.Shutdown(context.Background())
		})
		out = append(out, inst)
	}
	return out
}

func manifestJSON(version, sink string, extra string) string {
	return `{"version":"` + version + `","pipelines":[{"name":"default_pipeline","processors":[` + extra +
		`],"outputs":[{"type":"capture","url":"` + sink + `"}]}]}`
}

// publish does what the control plane does: SET the key, PUBLISH RELOAD.
func publish(t *testing.T, c *redis.Client, data string) {
	t.Helper()
	ctx := context.Background()
	mustNil(t, c.Set(ctx, rdb.ConfigKey, data, 0).Err())
	mustNil(t, c.Publish(ctx, rdb.UpdatesChannel, rdb.ReloadMessage).Err())
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

// subscribed waits until every instance has subscribed, so a PUBLISH reaches
// them all.
func subscribed(t *testing.T, c *redis.Client, n int) {
	waitFor(t, 10*time.Second, "the instances to subscribe", func() bool {
		m, err := c.PubSubNumSub(context.Background(), rdb.UpdatesChannel).Result()
		return err == nil && m[rdb.UpdatesChannel] == int64(n)
	})
}

func testConverge(t *testing.T, env redisEnv) {
	sink := capture.Unique("converge")
	c := redis.NewClient(&redis.Options{Addr: env.Addr()})
	defer c.Close()
	insts := startInstances(t, env.Addr(), 3)
	subscribed(t, c, 3)

	// A publish is applied by every instance within a second.
	start := time.Now()
	publish(t, c, manifestJSON("1", sink, `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`))
	waitFor(t, time.Second, "all instances to apply version 1", allAt(insts, "1"))
	t.Logf("3 instances applied version 1 in %s", time.Since(start).Round(time.Millisecond))

	// Redis goes away; a publish lands while the instances cannot hear it.
	env.Stop(t)
	waitFor(t, 10*time.Second, "the instances to notice the outage", func() bool {
		for _, in := range insts {
			if in.w.Heartbeat().Redis == "connected" {
				return false
			}
		}
		return true
	})
	for _, in := range insts { // still serving on the last good config
		if got := string(in.s.Applied().Version); got != "1" {
			t.Fatalf("during the outage an instance runs version %q; want 1", got)
		}
	}
	if m, ok := env.(*miniEnv); ok {
		// Written while the server is down: no PUBLISH will ever announce it.
		mustNil(t, m.m.Set(rdb.ConfigKey, manifestJSON("2", sink, "")))
		env.Start(t)
	} else {
		env.Start(t) // a fresh, empty server: publish before they reconnect
		publish(t, c, manifestJSON("2", sink, ""))
	}
	waitFor(t, 15*time.Second, "all instances to converge on version 2 after the outage", allAt(insts, "2"))

	// An invalid manifest written straight into Redis is rejected whole; the
	// old config keeps running, and the fleet shows the rejection.
	subscribed(t, c, 3)
	publish(t, c, `{"version":"3","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"pattern":"("}}]}]}`)
	waitFor(t, 5*time.Second, "the instances to reject version 3", func() bool {
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
	waitFor(t, 5*time.Second, "the fleet to show the rejection", func() bool {
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
	mustNil(t, insts[0].s.Pipeline().Push(context.Background(), b))
	waitFor(t, 5*time.Second, "a line through the version 2 config", func() bool { return capture.Get(sink).Len() == before+1 })
}

func TestConvergeMiniredis(t *testing.T) {
	testConverge(t, &miniEnv{m: miniredis.RunT(t)})
}

func TestConvergeRealRedis(t *testing.T) {
	testConverge(t, newRealEnv(t))
}

// TestRedisDownAtStart starts a data plane with no Redis to talk to: it
// serves on its initial config, and picks up the manifest once Redis is up.
func TestRedisDownAtStart(t *testing.T) {
	m := miniredis.NewMiniRedis()
	mustNil(t, m.Start())
	addr := m.Addr()
	m.Close() // nothing answers on addr yet
	insts := startInstances(t, addr, 1)
	waitFor(t, 5*time.Second, "the instance to report redis down", func() bool {
		return insts[0].w.Heartbeat().Redis != "connected" && insts[0].w.Heartbeat().Redis != "connecting"
	})
	if insts[0].s.Applied() != nil {
		t.Fatal("an instance with no Redis has a manifest")
	}
	mustNil(t, m.StartAddr(addr))
	defer m.Close()
	mustNil(t, m.Set(rdb.ConfigKey, manifestJSON("7", capture.Unique("late"), "")))
	waitFor(t, 15*time.Second, "the instance to load version 7", allAt(insts, "7"))
}

// TestHeartbeatRemovedOnStop checks that a stopped instance leaves the fleet.
func TestHeartbeatRemovedOnStop(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	insts := startInstances(t, mr.Addr(), 2)
	waitFor(t, 5*time.Second, "two heartbeats", func() bool {
		f, err := rdb.ListFleet(context.Background(), c)
		return err == nil && len(f) == 2
	})
	insts[0].stop()
	<-insts[0].done
	f, err := rdb.ListFleet(context.Background(), c)
	mustNil(t, err)
	if len(f) != 1 || f[0].ID != insts[1].w.ID() {
		t.Fatalf("fleet after one instance stopped: %+v; want only %s", f, insts[1].w.ID())
	}
	if f[0].PID != os.Getpid() || f[0].Started == 0 || f[0].Updated < f[0].Started {
		t.Fatalf("heartbeat fields: %+v", f[0])
	}
}
