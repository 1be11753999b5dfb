package drill

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/alicebob/miniredis/v2"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	"streamgate/dataplane/netfault"
)

// redisProc is a redis-server that keeps its data across a SIGKILL (append
// only file, fsync on every write), as a production Redis would.
type redisProc struct {
	bin, dir, addr string
	p              *lab.Proc
}

func (d *Drills) startRedis() (*redisProc, error) {
	if d.cfg.RedisServer == "" {
		return nil, fmt.Errorf("redis-server is not installed")
	}
	addrs, err := lab.FreeAddrs(1)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(d.rig.Dir, "redis")
	if err != nil {
		return nil, err
	}
	r := &redisProc{bin: d.cfg.RedisServer, dir: dir, addr: addrs[0]}
	return r, r.start()
}

func (r *redisProc) start() error {
	var err error
	r.p, err = lab.Start("redis-server", r.bin, "--bind", "127.0.0.1", "--port", lab.Port(r.addr),
		"--dir", r.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", "")
	if err != nil {
		return err
	}
	if err := lab.WaitTCP(r.addr, 10*time.Second); err != nil {
		r.p.Kill()
		return fmt.Errorf("redis-server: %w\n%s", err, r.p.Logs())
	}
	return nil
}

func (r *redisProc) kill() error { r.p.Kill(); return nil }

func (r *redisProc) stop() { r.p.Stop(5 * time.Second) }

// redisRestarts kills and restarts a real redis-server.
func (d *Drills) redisRestarts(ctx context.Context, sc *result.ChaosScenario) error {
	r, err := d.startRedis()
	if err != nil {
		return err
	}
	defer r.stop()
	return d.restartDrill(ctx, sc, r.addr, "", "redis-server killed (SIGKILL)", r.kill, r.start)
}

// embeddedRestarts stops and restarts the embedded Redis, miniredis, which
// keeps its data across a restart as `streamgate up`'s would within one
// process; like that one, it requires a password.
func (d *Drills) embeddedRestarts(ctx context.Context, sc *result.ChaosScenario) error {
	const password = "chaos-embedded-redis-password"
	m := miniredis.NewMiniRedis()
	m.RequireAuth(password)
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return err
	}
	defer m.Close()
	return d.restartDrill(ctx, sc, m.Addr(), password, "embedded redis stopped",
		func() error { m.Close(); return nil }, m.Restart)
}

// controlPlane is a running `streamgate control`.
type controlPlane struct {
	p   *lab.Proc
	api string
}

func (d *Drills) startControl(redisAddr, redisPassword string) (*controlPlane, error) {
	addrs, err := lab.FreeAddrs(1)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(d.cfg.StreamGate, "control", "-api-host", "127.0.0.1", "-api-port", lab.Port(addrs[0]), "-log-level", "warn")
	cmd.Env = append(os.Environ(), "REDIS_HOST=", "REDIS_ADDR="+redisAddr, "REDIS_PASSWORD="+redisPassword, "STREAMGATE_API_TOKEN=", "STREAMGATE_API_TOKEN_FILE=")
	p, err := lab.StartWith("control", cmd, nil)
	if err != nil {
		return nil, err
	}
	if err := lab.WaitTCP(addrs[0], 10*time.Second); err != nil {
		p.Kill()
		return nil, fmt.Errorf("control plane: %w\n%s", err, p.Logs())
	}
	return &controlPlane{p: p, api: addrs[0]}, nil
}

// call makes an API request and decodes a 2xx JSON answer into v (nil to
// skip); other statuses are errors carrying the body.
func (c *controlPlane) call(ctx context.Context, method, path, body string, v any) error {
	status, data, err := request(ctx, method, "http://"+c.api+path, body)
	if err != nil {
		return err
	}
	if status/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, status, strings.TrimSpace(string(data)))
	}
	if v != nil {
		return json.Unmarshal(data, v)
	}
	return nil
}

// publish publishes the draft and returns the new version and how many
// subscribers the RELOAD reached.
func (c *controlPlane) publish(ctx context.Context) (string, int64, error) {
	var res struct {
		Manifest struct {
			Version json.RawMessage `json:"version"`
		} `json:"manifest"`
		Subscribers int64 `json:"subscribers_notified"`
	}
	if err := c.call(ctx, "POST", "/publish", "", &res); err != nil {
		return "", 0, err
	}
	return strings.Trim(string(res.Manifest.Version), `"`), res.Subscribers, nil
}

func request(ctx context.Context, method, url, body string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := lab.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

// restartDrill runs load through a data plane that follows Redis at
// redisAddr, with redisPassword, through a relay, and cycles times: takes Redis down (down),
// partitions the data plane from it, brings Redis back (up), publishes a
// new manifest through the control plane while the data plane still cannot
// see Redis, then heals the partition and times how long the data plane
// takes to apply the new version.
func (d *Drills) restartDrill(ctx context.Context, sc *result.ChaosScenario, redisAddr, redisPassword, what string, down, up func() error) error {
	cycles, outage, rate := 10, time.Second, 20_000
	if d.cfg.Short {
		cycles = 1
	}
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	cp, err := d.startControl(redisAddr, redisPassword)
	if err != nil {
		return err
	}
	defer cp.p.Stop(5 * time.Second)
	link, err := netfault.NewRelay(redisAddr)
	if err != nil {
		return err
	}
	defer link.Close()

	out := s.TCPOutput()
	for _, call := range []struct{ method, path, body string }{
		{"DELETE", "/outputs", ""},
		{"POST", "/outputs", out.JSON},
		{"POST", "/rules", `{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}`},
		{"POST", "/rules", `{"id":"redact_ssn","type":"redact","params":{"detector":"ssn"}}`},
		{"POST", "/rules", `{"id":"redact_cards","type":"redact","params":{"detector":"credit_card"}}`},
	} {
		if err := cp.call(ctx, call.method, call.path, call.body, nil); err != nil {
			return err
		}
	}
	v0, _, err := cp.publish(ctx)
	if err != nil {
		return err
	}
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, Env: []string{"REDIS_ADDR=" + link.Addr(), "REDIS_PASSWORD=" + redisPassword},
		Flags: []string{"-heartbeat", "500ms"}})
	if err != nil {
		return err
	}
	defer px.Stop()
	if _, err := waitVersion(ctx, px, v0, 15*time.Second); err != nil {
		return err
	}
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	// The load outlasts the cycles with room to spare: a cycle takes the
	// outage, the restart, a few seconds of the watcher's reconnect backoff and
	// a pause.
	dur := time.Duration(cycles)*(outage+5*time.Second) + 5*time.Second
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: rate, Duration: dur, Conns: 4})
	if err != nil {
		return err
	}
	defer ld.Proc.Kill() // on an early return; a no-op once it has exited
	loadEnd := time.Now().Add(dur)
	watch := watchProgress(func() (int64, error) { st, err := s.Snapshot(ctx); return st.Lines, err }, 50*time.Millisecond)
	defer watch.end()
	sleepCtx(ctx, time.Second)
	var worst time.Duration
	for i := range cycles {
		if err := down(); err != nil {
			return err
		}
		link.Cut()
		fault(sc, "%s (cycle %d)", what, i+1)
		sleepCtx(ctx, outage)
		if err := up(); err != nil {
			return fmt.Errorf("cannot restart redis: %w", err)
		}
		size := 100 + 100*((i+1)%2)
		if err := cp.call(ctx, "POST", "/config/batch_size?size="+strconv.Itoa(size), "", nil); err != nil {
			return fmt.Errorf("cycle %d: %w", i+1, err)
		}
		v, subs, err := cp.publish(ctx)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", i+1, err)
		}
		healed := time.Now()
		if err := link.Restore(); err != nil {
			return err
		}
		if _, err := waitVersion(ctx, px, v, 30*time.Second); err != nil {
			check(sc, fmt.Sprintf("cycle %d", i+1), false, "version %s published during the outage: %v", v, err)
			continue
		}
		took := time.Since(healed)
		worst = max(worst, took)
		check(sc, fmt.Sprintf("cycle %d", i+1), subs == 0 && time.Now().Before(loadEnd),
			"version %s published while the data plane was cut off (RELOAD reached %d subscribers); applied %.2f s after Redis came back, under load: %v",
			v, subs, took.Seconds(), time.Now().Before(loadEnd))
		sleepCtx(ctx, 2*time.Second)
	}
	sum, err := ld.Wait()
	stall := watch.end()
	if err != nil {
		return err
	}
	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Sent: sum.Sent, Out: out.Name})
	if err != nil {
		return err
	}
	accountSink(sc, sum.Sent, c, base, out.Name, st)
	sc.LoadLinesPerS = round3(sum.LinesPerS)
	sc.RecoveryS = round3(worst.Seconds())
	sc.MaxStallS = round3(stall.Seconds())
	check(sc, "lines kept flowing", stall < time.Second, "longest time without a line at the sink: %.2f s", stall.Seconds())
	return nil
}

// waitVersion waits until the data plane runs version v and returns how
// long that took.
func waitVersion(ctx context.Context, px *lab.Proxy, v string, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var last status
	err := poll(ctx, timeout, 10*time.Millisecond, func() bool {
		st, err := proxyStatus(ctx, px)
		last = st
		return err == nil && st.Version == v
	})
	if err != nil {
		return 0, fmt.Errorf("data plane still runs version %q after %s (redis: %s): %w", last.Version, timeout, last.Redis, err)
	}
	return time.Since(start), nil
}
