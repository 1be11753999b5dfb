// Package lab holds what the benchmark and chaos drivers share: child
// processes with their logs and resource use, free loopback ports, small
// HTTP helpers for the proxy's admin port and the sink's stats, and on top
// of them one layer that starts the processes of a run (a data plane, the
// blackhole sink, a sender: see Rig), waits for the proxy to settle, and
// checks what a sender says it sent.
package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a child process whose stderr is kept for diagnostics.
type Proc struct {
	Name   string
	Cmd    *exec.Cmd
	mu     sync.Mutex
	logs   bytes.Buffer
	out    bytes.Buffer
	done   chan struct{} // closed when stderr is drained: the process has exited
	err    error         // Wait's; set before exited is closed
	exited chan struct{}
}

// Start starts bin with args; its stdout is kept for Stdout.
func Start(name, bin string, args ...string) (*Proc, error) {
	return StartWith(name, exec.Command(bin, args...), nil)
}

// StartWith starts cmd. Its stdout goes to stdout when not nil, else it is
// kept for Stdout.
func StartWith(name string, cmd *exec.Cmd, stdout io.Writer) (*Proc, error) {
	p := &Proc{Name: name, Cmd: cmd, done: make(chan struct{}), exited: make(chan struct{})}
	stderr, err := p.Cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if stdout != nil {
		p.Cmd.Stdout = stdout
	} else {
		p.Cmd.Stdout = &lockedWriter{mu: &p.mu, w: &p.out}
	}
	if err := p.Cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start %s: %w", name, err)
	}
	go func() {
		<-p.done
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.logs.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	return p, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// Logs returns what the process printed on stderr.
func (p *Proc) Logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// Stdout returns what the process printed on stdout.
func (p *Proc) Stdout() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Exited is closed when the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Wait waits for the process to exit and returns its exit error.
func (p *Proc) Wait() error {
	<-p.exited
	return p.err
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig os.Signal) error { return p.Cmd.Process.Signal(sig) }

// Stop sends SIGTERM and waits up to d, then kills.
func (p *Proc) Stop(d time.Duration) error {
	p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(d):
		p.Cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s did not stop within %s; killed", p.Name, d)
	}
}

// Kill kills the process (SIGKILL) and waits for it.
func (p *Proc) Kill() {
	p.Cmd.Process.Kill()
	<-p.exited
}

// CPUSeconds is the user+system CPU time the process has used.
func (p *Proc) CPUSeconds() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the line.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc/%d/stat", p.Cmd.Process.Pid)
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on Linux.
const clockTicks = 100

// PeakRSSMB is the process's peak resident set size (VmHWM), in MiB.
func (p *Proc) PeakRSSMB() (float64, error) { return p.status("VmHWM:") }

// RSSMB is the process's resident set size now (VmRSS), in MiB.
func (p *Proc) RSSMB() (float64, error) { return p.status("VmRSS:") }

func (p *Proc) status(field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, p.Cmd.Process.Pid)
}

// FreePorts returns n distinct loopback ports nothing listens on now. It
// holds each until it has them all: ports taken one at a time can repeat,
// and two servers told the same port make one of them fail to start.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreeAddrs is FreePorts as loopback addresses, "127.0.0.1:port".
func FreeAddrs(n int) ([]string, error) {
	ports, err := FreePorts(n)
	if err != nil {
		return nil, err
	}
	out := make([]string, n)
	for i, p := range ports {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out, nil
}

// Port is the port of the address addr, "" when it has none.
func Port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// WaitHealthy waits until the proxy's admin address answers GET /healthz
// with 200: not just anything listening there.
func WaitHealthy(admin string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		resp, err := HTTPClient.Get("http://" + admin + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("GET /healthz: %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("proxy at %s not healthy after %s: %w", admin, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s: %w", addr, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// HTTPClient is the client of the helpers here: a 30 s timeout.
var HTTPClient = &http.Client{Timeout: 30 * time.Second}

// GetJSON decodes the JSON body of a GET of url into v; a status other than
// 200 is an error.
func GetJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	resp, err := HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// Post POSTs an empty body to url; a status other than 2xx is an error.
func Post(url string) error {
	resp, err := HTTPClient.Post(url, "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// Scrape reads a Prometheus text endpoint into name{labels} → value.
func Scrape(url string) (map[string]float64, error) {
	resp, err := HTTPClient.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := make(map[string]float64)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		out[l[:i]] = v
	}
	return out, sc.Err()
}

// SumPrefix adds up the series whose name starts with prefix.
func SumPrefix(m map[string]float64, prefix string) float64 {
	var s float64
	for k, v := range m {
		if strings.HasPrefix(k, prefix) {
			s += v
		}
	}
	return s
}

// Counters are a proxy's line accounting at one moment, from its /metrics.
type Counters struct {
	Received, Filtered, Dropped, Emitted float64
	// Delivered and OutDropped add up every output.
	Delivered, OutDropped float64
	// DeadLettered adds up the lines every output kept as dead letters,
	// less those replayed (which count in Delivered once delivered).
	DeadLettered            float64
	BreakerOpened, Bypassed float64
	// Metrics is the whole scrape, for the series above by label.
	Metrics map[string]float64
}

// ReadCounters scrapes the admin address's /metrics.
func ReadCounters(admin string) (Counters, error) {
	m, err := Scrape("http://" + admin + "/metrics")
	if err != nil {
		return Counters{}, err
	}
	return CountersOf(m), nil
}

// CountersOf reads the counters from the series m of a scrape.
func CountersOf(m map[string]float64) Counters {
	return Counters{
		Received:      m["streamgate_lines_received_total"],
		Filtered:      SumPrefix(m, "streamgate_lines_filtered_total"),
		Dropped:       SumPrefix(m, "streamgate_lines_dropped_total"),
		Emitted:       m["streamgate_lines_emitted_total"],
		Delivered:     SumPrefix(m, "streamgate_output_lines_delivered_total"),
		OutDropped:    SumPrefix(m, "streamgate_output_lines_dropped_total"),
		DeadLettered:  SumPrefix(m, "streamgate_output_dead_lettered_total") - SumPrefix(m, "streamgate_output_dead_letter_replayed_total"),
		BreakerOpened: m["streamgate_breaker_opened_total"],
		Bypassed:      m["streamgate_breaker_bypassed_lines_total"],
		Metrics:       m,
	}
}

// InPipeline is the lines received and not yet filtered, dropped or handed
// to the outputs.
func (c Counters) InPipeline() float64 { return c.Received - c.Filtered - c.Dropped - c.Emitted }

// Queued is the lines handed to the outputs and not yet delivered, dropped
// or kept as dead letters, over every output: each output gets every
// emitted line.
func (c Counters) Queued() float64 {
	const prefix = "streamgate_output_lines_delivered_total{output="
	var q float64
	for k, v := range c.Metrics {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			name = strings.TrimSuffix(name, "}")
			q += c.Emitted - v - SumPrefix(c.Metrics, "streamgate_output_lines_dropped_total{output="+name+",") -
				c.Metrics["streamgate_output_dead_lettered_total{output="+name+"}"] + c.Metrics["streamgate_output_dead_letter_replayed_total{output="+name+"}"]
		}
	}
	return q
}

// OutputDelivered is the lines output out has delivered; out is its name
// in the metrics, e.g. "tcp:tcp://127.0.0.1:9100" or "console".
func (c Counters) OutputDelivered(out string) float64 {
	return c.Metrics["streamgate_output_lines_delivered_total{output="+strconv.Quote(out)+"}"]
}

// OutputDropped is the lines output out has dropped, for every reason.
func (c Counters) OutputDropped(out string) float64 {
	return SumPrefix(c.Metrics, "streamgate_output_lines_dropped_total{output="+strconv.Quote(out)+",")
}

// OutputDeadLettered is the lines output out kept as dead letters, less
// those a replay took out of them (which count as delivered).
func (c Counters) OutputDeadLettered(out string) float64 {
	label := "{output=" + strconv.Quote(out) + "}"
	return c.Metrics["streamgate_output_dead_lettered_total"+label] - c.Metrics["streamgate_output_dead_letter_replayed_total"+label]
}

// QueuedSince is the lines emitted since base that output out has not yet
// delivered, dropped or kept as dead letters. (Emitted less the output's totals, as in Queued,
// would count the lines emitted before out existed, e.g. under the
// default console output.)
func (c Counters) QueuedSince(base Counters, out string) float64 {
	return c.Emitted - base.Emitted - (c.OutputDelivered(out) - base.OutputDelivered(out)) - (c.OutputDropped(out) - base.OutputDropped(out)) -
		(c.OutputDeadLettered(out) - base.OutputDeadLettered(out))
}
