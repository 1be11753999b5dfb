package drill

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/bench/lab"
	"streamgate/bench/result"
	"streamgate/dataplane/rdb"
)

// badInput feeds a proxy, and its control plane, what well-behaved clients
// never send. Each case checks its documented handling; at the end every
// line sent is accounted for.
func (d *Drills) badInput(ctx context.Context, sc *result.ChaosScenario) error {
	mr := miniredis.NewMiniRedis()
	if err := mr.StartAddr("127.0.0.1:0"); err != nil {
		return err
	}
	defer mr.Close()
	rc := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rc.Close()
	s, err := d.rig.StartSink()
	if err != nil {
		return err
	}
	defer s.Stop()
	out := s.TCPOutput()
	good := strings.Replace(fmt.Sprintf(`{"version":"bad-input-1","pipelines":[{"name":"default_pipeline","processors":[
		{"id":"drop_debug","type":"filter","params":{"value":"DEBUG"}}],"outputs":[%s],"batch_size":100}]}`,
		out.JSON), "\n", "", -1)
	if err := publishRaw(ctx, rc, good); err != nil {
		return err
	}
	px, err := d.rig.StartProxy(lab.ProxyOpts{Name: sc.Name, UDP: true, Env: []string{"REDIS_ADDR=" + mr.Addr()}})
	if err != nil {
		return err
	}
	defer px.Stop()
	if _, err := waitVersion(ctx, px, "bad-input-1", 15*time.Second); err != nil {
		return err
	}
	base, err := lab.TakeMark(ctx, px, s)
	if err != nil {
		return err
	}
	var sent int64 // lines sent that the proxy must receive

	// Invalid manifests in Redis: each is rejected whole, the old config
	// keeps filtering DEBUG.
	for _, bad := range []struct{ name, manifest, field string }{
		{"manifest that is not JSON", `{"version":"bad-2","pipelines":[`, "cannot parse"},
		{"manifest with a regex that does not compile", `{"version":"bad-3","pipelines":[{"name":"p","processors":[{"id":"r","type":"redact","params":{"pattern":"(unclosed"}}],"outputs":[{"type":"console"}],"batch_size":100}]}`, "params.pattern"},
		{"manifest with batch_size 0", `{"version":"bad-4","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"console"}],"batch_size":0}]}`, "batch_size"},
		{"manifest with an unknown processor type", `{"version":"bad-5","pipelines":[{"name":"p","processors":[{"id":"x","type":"enrich"}],"outputs":[{"type":"console"}],"batch_size":100}]}`, "type"},
	} {
		before, _ := px.Counters()
		fault(sc, "%s written to Redis", bad.name)
		if err := publishRaw(ctx, rc, bad.manifest); err != nil {
			return err
		}
		st, err := waitRejected(ctx, px, before.Metrics["streamgate_config_reload_errors_total"]+1)
		check(sc, bad.name, err == nil && st.Version == "bad-input-1" && strings.Contains(st.Error, bad.field),
			"still runs %q; rejected %q: %s (%v)", st.Version, st.Rejected, st.Error, err)
	}
	before, _ := px.Counters()
	if err := sendTCP(px.TCP, []byte("DEBUG after the bad manifests\nINFO after the bad manifests\n")); err != nil {
		return err
	}
	sent += 2
	after, err := waitReceived(ctx, px, before.Received+2)
	filtered := after.Filtered - before.Filtered
	check(sc, "old config keeps running", err == nil && filtered == 1, "after the rejections a DEBUG line was filtered (%.0f filtered, %v)", filtered, err)

	// Oversize lines: dropped whole and counted, the next line unharmed.
	before, _ = px.Counters()
	var buf bytes.Buffer
	buf.Write(bytes.Repeat([]byte("a"), 1<<20))
	buf.WriteString("\nINFO after a 1 MiB line\n")
	buf.Write(bytes.Repeat([]byte("b"), 64<<20))
	buf.WriteString("\nINFO after a 64 MiB line\n")
	fault(sc, "a 1 MiB and a 64 MiB line on one connection")
	if err := sendTCP(px.TCP, buf.Bytes()); err != nil {
		return err
	}
	sent += 4
	after, err = waitReceived(ctx, px, before.Received+4)
	oversize := after.Metrics[`streamgate_lines_dropped_total{reason="oversize"}`] - before.Metrics[`streamgate_lines_dropped_total{reason="oversize"}`]
	check(sc, "1 MiB and 64 MiB lines", err == nil && oversize == 1 && after.Emitted-before.Emitted == 3,
		"the 1 MiB line (the limit) kept, the 64 MiB one dropped as oversize (%.0f), %.0f lines passed on (%v)", oversize, after.Emitted-before.Emitted, err)

	// Binary lines: NULs, invalid UTF-8, control bytes pass through as
	// bytes.
	before, _ = px.Counters()
	bin := binaryLines(1000)
	fault(sc, "1,000 binary lines over TCP and 1,000 over HTTP")
	if err := sendTCP(px.TCP, bin); err != nil {
		return err
	}
	status, body, err := request(ctx, "POST", "http://"+px.HTTP+"/ingest", string(bin))
	if err != nil {
		return err
	}
	sent += 2000
	after, err = waitReceived(ctx, px, before.Received+2000)
	check(sc, "binary lines", err == nil && status/100 == 2 && after.Emitted-before.Emitted == 2000,
		"%.0f of 2000 passed on; HTTP ingest answered %d %s (%v)", after.Emitted-before.Emitted, status, strings.TrimSpace(string(body)), err)

	// Many connections at once.
	n, err := d.manyConns(ctx, sc, px, before.Received)
	sent += n
	if err != nil {
		return err
	}

	// Slow clients beside a normal load.
	m, err := d.slowClients(ctx, sc, px)
	sent += m
	if err != nil {
		return err
	}

	// A UDP flood: what the kernel drops is counted, the rest received.
	u, kdrops, err := udpFlood(ctx, sc, px)
	sent += u - kdrops
	if err != nil {
		return err
	}

	// Bad API bodies, to the control plane and to the HTTP ingest.
	if err := d.badBodies(ctx, sc, px, mr.Addr()); err != nil {
		return err
	}

	c, st, err := lab.Settle(ctx, px, s, lab.Want{Base: base, Out: out.Name})
	if err != nil {
		return err
	}
	// Odd lines have no sequence number: count every distinct line.
	account(sc, sent, c, base.Counters, out.Name, (st.Lines-st.Duplicated)-(base.Sink.Lines-base.Sink.Duplicated))
	sc.Sent += kdrops
	sc.Dropped += kdrops
	if kdrops > 0 {
		sc.DroppedByReason["udp datagrams dropped by the kernel"] = kdrops
	}
	held := c.Received - base.Counters.Received
	queued := c.QueuedSince(base.Counters, out.Name)
	check(sc, "counters add up", c.InPipeline() == 0 && queued == 0 && int64(held) == sent,
		"received %.0f of %d sent, %.0f in the pipeline, %.0f queued for outputs", held, sent, c.InPipeline(), queued)
	check(sc, "still healthy", isHealthy(px), "proxy answers /healthz after all of it")
	return nil
}

// publishRaw stores manifest as the live one and announces it.
func publishRaw(ctx context.Context, rc *redis.Client, manifest string) error {
	if err := rc.Set(ctx, rdb.ConfigKey, manifest, 0).Err(); err != nil {
		return err
	}
	return rc.Publish(ctx, rdb.UpdatesChannel, rdb.ReloadMessage).Err()
}

// waitRejected waits until the proxy has counted errors reload errors.
func waitRejected(ctx context.Context, px *lab.Proxy, errors float64) (status, error) {
	err := poll(ctx, 10*time.Second, 10*time.Millisecond, func() bool {
		c, err := px.Counters()
		return err == nil && c.Metrics["streamgate_config_reload_errors_total"] >= errors
	})
	st, stErr := proxyStatus(ctx, px)
	if err != nil {
		return st, fmt.Errorf("no rejection counted after 10 s: %w", err)
	}
	return st, stErr
}

// waitReceived waits until the proxy has received n lines in all and holds
// none in its pipeline.
func waitReceived(ctx context.Context, px *lab.Proxy, n float64) (lab.Counters, error) {
	var c lab.Counters
	err := poll(ctx, 30*time.Second, 10*time.Millisecond, func() bool {
		var err error
		c, err = px.Counters()
		return err == nil && c.Received >= n && c.InPipeline() == 0
	})
	if err != nil {
		return c, fmt.Errorf("received %.0f of %.0f after 30 s: %w", c.Received, n, err)
	}
	return c, nil
}

func isHealthy(px *lab.Proxy) bool {
	return lab.WaitHealthy(px.Admin, 0) == nil // one try
}

// sendTCP writes data on a new connection and closes it.
func sendTCP(addr string, data []byte) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write(data)
	return err
}

// binaryLines returns n newline-terminated lines of random bytes: NULs,
// invalid UTF-8, control bytes, never '\n' and never ending in '\r' (one
// trailing CR is part of the line ending).
func binaryLines(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for range n {
		l := 1 + r.IntN(300)
		for j := range l {
			c := byte(r.IntN(256))
			if c == '\n' || (j == l-1 && c == '\r') {
				c = 0
			}
			b.WriteByte(c)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// manyConns opens up to 10,000 connections at once, each sending one line,
// and holds them open until the proxy has read every line.
func (d *Drills) manyConns(ctx context.Context, sc *result.ChaosScenario, px *lab.Proxy, _ float64) (int64, error) {
	want := 10_000
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && int(lim.Cur) < want+1000 {
		want = max(int(lim.Cur)-1000, 100) // the rest of the drill needs descriptors too
	}
	before, err := px.Counters()
	if err != nil {
		return 0, err
	}
	fault(sc, "%d TCP connections open at once", want)
	conns := make([]net.Conn, want)
	var failed atomic.Int64
	var errMu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= want {
					return
				}
				var c net.Conn
				var err error
				for try := 0; try < 5; try++ {
					if c, err = net.DialTimeout("tcp", px.TCP, 5*time.Second); err == nil {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				if err == nil {
					_, err = fmt.Fprintf(c, "connection %d of many\n", i)
				}
				if err != nil {
					failed.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					if c != nil {
						c.Close()
					}
					continue
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	opened := int64(want) - failed.Load()
	after, err := waitReceived(ctx, px, before.Received+float64(opened))
	rss, _ := px.Proc.RSSMB()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	check(sc, fmt.Sprintf("%d connections", want), err == nil && failed.Load() == 0,
		"%d opened and read while all were open (%d failed: %v); proxy RSS %.1f MB with them open", int64(after.Received-before.Received), failed.Load(), firstErr, rss)
	return opened, nil
}

// slowClients has 20 clients send an 8-byte line one byte a second while
// loadgen sends a normal load beside them.
func (d *Drills) slowClients(ctx context.Context, sc *result.ChaosScenario, px *lab.Proxy) (int64, error) {
	const clients = 20
	before, err := px.Counters()
	if err != nil {
		return 0, err
	}
	fault(sc, "%d clients sending one byte a second", clients)
	ld, err := d.rig.StartSender(lab.Load{Target: "tcp://" + px.TCP, Rate: 10_000, Duration: 8 * time.Second, Conns: 2})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	var errs atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", px.TCP)
			if err != nil {
				errs.Add(1)
				return
			}
			defer c.Close()
			for _, b := range []byte(fmt.Sprintf("slow-%02d\n", i)) {
				if _, err := c.Write([]byte{b}); err != nil {
					errs.Add(1)
					return
				}
				sleepCtx(ctx, time.Second)
			}
		}()
	}
	sum, lerr := ld.Wait()
	wg.Wait()
	if lerr != nil {
		return int64(clients) - errs.Load(), lerr
	}
	n := sum.Sent + int64(clients) - errs.Load()
	after, err := waitReceived(ctx, px, before.Received+float64(n))
	check(sc, "slow clients", err == nil && errs.Load() == 0 && sum.Unsent == 0,
		"%d slow lines and %d normal ones (%.0f lines/s, none behind schedule: %v) received: %.0f (%v)",
		clients-int(errs.Load()), sum.Sent, sum.LinesPerS, sum.Unsent == 0, after.Received-before.Received, err)
	return n, nil
}

// udpFlood sends one-line datagrams as fast as two sockets can for 3 s.
// It returns the datagrams sent and how many the kernel dropped.
func udpFlood(ctx context.Context, sc *result.ChaosScenario, px *lab.Proxy) (int64, int64, error) {
	before, err := px.Counters()
	if err != nil {
		return 0, 0, err
	}
	fault(sc, "UDP flood for 3 s")
	softnetBefore := softnetDrops()
	var sent atomic.Int64
	var wg sync.WaitGroup
	end := time.Now().Add(3 * time.Second)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("udp", px.UDP)
			if err != nil {
				return
			}
			defer c.Close()
			msg := []byte(fmt.Sprintf("udp flood from sender %d, a line of some length to fill the socket\n", w))
			for i := 0; time.Now().Before(end); i++ {
				if _, err := c.Write(msg); err == nil {
					sent.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Let the readers drain the socket buffers.
	var after lab.Counters
	var prev float64 = -1
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return 0, 0, err
		}
		if after, err = px.Counters(); err != nil {
			return 0, 0, err
		}
		if after.Received == prev && after.InPipeline() == 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, fmt.Errorf("udp flood: the proxy still had %.0f lines in its pipeline 30 s after the flood", after.InPipeline())
		}
		prev = after.Received
	}
	const dropped = "streamgate_udp_datagrams_dropped_total"
	kdrops := int64(after.Metrics[dropped] - before.Metrics[dropped])
	recv := int64(after.Received - before.Received)
	// Loopback can also drop before the socket, in a CPU's backlog queue,
	// where no socket counts it: shown, and not excused.
	backlog := softnetDrops() - softnetBefore
	check(sc, "UDP flood", sent.Load() == recv+kdrops,
		"%d datagrams sent: %d received, %d dropped by the kernel at the socket and counted (%s); %d dropped in the kernel's backlog queues meanwhile",
		sent.Load(), recv, kdrops, dropped, backlog)
	return sent.Load(), kdrops, nil
}

// badBodies sends malformed requests to the control plane's API and the
// HTTP ingest: each must get its error status, and nothing may reach the
// pipeline.
func (d *Drills) badBodies(ctx context.Context, sc *result.ChaosScenario, px *lab.Proxy, redisAddr string) error {
	cp, err := d.startControl(redisAddr, "")
	if err != nil {
		return err
	}
	defer cp.p.Stop(5 * time.Second)
	api := "http://" + cp.api
	cases := []struct {
		name, method, url, body string
		status                  int
		detail                  string
	}{
		{"truncated rule", "POST", api + "/rules", `{"id":"t1","type":"filter","params":{"value":"x"`, 400, ""},
		{"rule that is not JSON", "POST", api + "/rules", `not json at all`, 400, ""},
		{"rule of an unknown type", "POST", api + "/rules", `{"id":"t2","type":"nope"}`, 400, "type"},
		{"rule with a bad regex", "POST", api + "/rules", `{"id":"t3","type":"redact","params":{"pattern":"(x"}}`, 400, "pattern"},
		{"oversized rule body", "POST", api + "/rules", `{"id":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "body"},
		{"http output without url", "POST", api + "/outputs", `{"type":"http"}`, 400, "url"},
		{"batch size 0", "POST", api + "/config/batch_size?size=0", "", 400, "size"},
		{"batch size body of the wrong type", "POST", api + "/config/batch_size", `{"batch_size":"ten"}`, 400, "batch_size"},
	}
	before, err := px.Counters()
	if err != nil {
		return err
	}
	for _, c := range cases {
		fault(sc, "API: %s", c.name)
		status, body, err := request(ctx, c.method, c.url, c.body)
		text := strings.TrimSpace(string(body))
		if len(text) > 160 {
			text = text[:160] + "…"
		}
		ok := err == nil && status == c.status && strings.Contains(strings.ToLower(text), c.detail)
		check(sc, "API: "+c.name, ok, "%d %s (%v)", status, text, err)
	}
	// An ingest body over the limit is refused from its Content-Length,
	// before the client has sent it.
	fault(sc, "API: oversized ingest body")
	status, line, err := oversizedIngest(px.HTTP, 40<<20)
	check(sc, "API: oversized ingest body", err == nil && status == 413, "a 40 MiB body answered %q (%v)", line, err)

	// A body cut short: the headers promise more than the client sends
	// before it hangs up.
	fault(sc, "API: ingest body cut short")
	conn, err := net.Dial("tcp", px.HTTP)
	if err != nil {
		return err
	}
	fmt.Fprintf(conn, "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nINFO a line that never ends\nINFO and another\n")
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	time.Sleep(300 * time.Millisecond)
	after, err := px.Counters()
	if err != nil {
		return err
	}
	check(sc, "API: ingest body cut short", after.Received == before.Received && isHealthy(px),
		"%.0f lines taken from bodies that were refused or cut short; proxy healthy", after.Received-before.Received)
	status, _, err = request(ctx, "GET", api+"/", "")
	check(sc, "API still serves", err == nil && status == 200, "GET / answered %d (%v)", status, err)
	return nil
}

// oversizedIngest announces a body of size bytes to the HTTP ingest, sends
// its first 64 KiB, and returns the status line of the answer.
func oversizedIngest(addr string, size int) (int, string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", size)
	c.Write(bytes.Repeat([]byte("x"), 64<<10))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, line, err
	}
	line = strings.TrimSpace(line)
	f := strings.Fields(line)
	if len(f) < 2 {
		return 0, line, fmt.Errorf("bad status line")
	}
	code, err := strconv.Atoi(f[1])
	return code, line, err
}

// softnetDrops is the machine's count of packets dropped because a CPU's
// backlog queue was full (/proc/net/softnet_stat, second column, per CPU).
func softnetDrops() int64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		return 0
	}
	var n int64
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseInt(f[1], 16, 64)
		if err == nil {
			n += v
		}
	}
	return n
}
