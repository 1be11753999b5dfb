package lab

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	lgsink "streamgate/loadgen/sink"
)

// Rig starts the processes of a run: data planes, blackhole sinks and
// senders, each on free loopback ports.
type Rig struct {
	// StreamGate and Loadgen are the binaries.
	StreamGate, Loadgen string
	// Dir holds the run's files, e.g. the manifests; it must exist.
	// NewRig makes one.
	Dir string
}

// NewRig returns a Rig of the binaries streamGate and loadgen whose Dir is
// a new temporary directory, named after prefix; Close removes it.
func NewRig(streamGate, loadgen, prefix string) (Rig, error) {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return Rig{}, fmt.Errorf("cannot create a temporary directory: %w", err)
	}
	return Rig{StreamGate: streamGate, Loadgen: loadgen, Dir: dir}, nil
}

// Close removes Dir and everything in it.
func (r Rig) Close() error { return os.RemoveAll(r.Dir) }

// proxyStopWait is how long Proxy.Stop lets a data plane drain after
// SIGTERM before it kills it.
const proxyStopWait = 20 * time.Second

// sinkStopWait is Sink.Stop's wait.
const sinkStopWait = 5 * time.Second

// startWait bounds how long a started process may take to listen.
const startWait = 10 * time.Second

// ProxyOpts say how to start a data plane.
type ProxyOpts struct {
	// Name names the manifest file, <Name>-manifest.json in Rig.Dir.
	Name string
	// Manifest is the manifest's JSON; "" starts without one, e.g. to take
	// it from the Redis that Env names.
	Manifest string
	// UDP gives the data plane a UDP listener; without it, -udp-port off.
	UDP bool
	// Flags are more flags, e.g. -overflow block. They come after the
	// defaults (-host, the ports, -log-level warn), so they can override
	// them: -log-level info.
	Flags []string
	// Env is added to the environment, e.g. REDIS_ADDR=…. REDIS_ADDR and
	// REDIS_HOST are cleared first: the data plane follows a Redis only
	// when told to.
	Env []string
	// Console counts the lines the data plane prints on stdout (what a
	// console output writes) in Proxy.Console; without it they are
	// discarded.
	Console bool
}

// Proxy is a running data plane, `streamgate dataplane`.
type Proxy struct {
	// Proc is the process.
	Proc *Proc
	// TCP, UDP and HTTP are the ingest addresses (UDP is "" without a UDP
	// listener); Admin serves /healthz, /metrics and /status.
	TCP, UDP, HTTP, Admin string
	// Console counts the lines printed on stdout, when ProxyOpts.Console
	// asked for it; nil otherwise.
	Console *LineCounter
}

// StartProxy starts a data plane as o says and waits until it is healthy.
func (r Rig) StartProxy(o ProxyOpts) (*Proxy, error) {
	addrs, err := FreeAddrs(4)
	if err != nil {
		return nil, fmt.Errorf("cannot find free ports: %w", err)
	}
	px := &Proxy{TCP: addrs[0], HTTP: addrs[1], Admin: addrs[2]}
	udpPort := "off"
	if o.UDP {
		px.UDP = addrs[3]
		udpPort = Port(px.UDP)
	}
	args := []string{"dataplane", "-host", "127.0.0.1",
		"-tcp-port", Port(px.TCP), "-udp-port", udpPort, "-http-port", Port(px.HTTP),
		"-admin-port", Port(px.Admin), "-log-level", "warn"}
	if o.Manifest != "" {
		mf := filepath.Join(r.Dir, o.Name+"-manifest.json")
		if err := os.WriteFile(mf, []byte(o.Manifest), 0o644); err != nil {
			return nil, fmt.Errorf("cannot write manifest: %w", err)
		}
		args = append(args, "-manifest", mf)
	}
	cmd := exec.Command(r.StreamGate, append(args, o.Flags...)...)
	cmd.Env = append(os.Environ(), "REDIS_ADDR=", "REDIS_HOST=")
	cmd.Env = append(cmd.Env, o.Env...)
	if o.Console {
		px.Console = &LineCounter{}
	}
	return px, px.start(cmd)
}

// Restart starts the data plane's command again, on the same ports, once
// it has exited, and waits until it is healthy. The new Proxy counts its
// console lines afresh.
func (px *Proxy) Restart() (*Proxy, error) {
	old := px.Proc.Cmd
	cmd := exec.Command(old.Path, old.Args[1:]...)
	cmd.Env = old.Env
	np := *px
	if px.Console != nil {
		np.Console = &LineCounter{}
	}
	return &np, np.start(cmd)
}

// start starts cmd as the proxy's process and waits until it is healthy.
func (px *Proxy) start(cmd *exec.Cmd) error {
	var stdout io.Writer = io.Discard
	if px.Console != nil {
		stdout = px.Console
	}
	p, err := StartWith("streamgate", cmd, stdout)
	if err != nil {
		return err
	}
	px.Proc = p
	if err := WaitHealthy(px.Admin, startWait); err != nil {
		p.Kill()
		return fmt.Errorf("cannot start streamgate: %w\n%s", err, p.Logs())
	}
	return nil
}

// Counters reads the data plane's counters.
func (px *Proxy) Counters() (Counters, error) { return ReadCounters(px.Admin) }

// Stop stops the data plane: SIGTERM, then SIGKILL if it has not drained
// and exited within 20 s. A nil Proxy is already stopped.
func (px *Proxy) Stop() error {
	if px == nil || px.Proc == nil {
		return nil
	}
	return px.Proc.Stop(proxyStopWait)
}

// Output is one output of a manifest.
type Output struct {
	// JSON is its entry in the manifest's outputs.
	JSON string
	// Name is what the proxy's metrics call it, e.g. in the output label
	// of streamgate_output_lines_delivered_total.
	Name string
}

// Sink is a running blackhole sink, `loadgen sink`.
type Sink struct {
	// Proc is the process.
	Proc *Proc
	// TCP and HTTP take lines; Stats serves GET /stats and POST /reset.
	TCP, HTTP, Stats string
	// LeakEvery is the sink's -leak-every: it scans one line in
	// LeakEvery for leaks; 0 or 1, every line.
	LeakEvery int
	bin       string // loadgen
}

// StartSink starts a sink that scans every line for leaks, and waits
// until it listens.
func (r Rig) StartSink() (*Sink, error) { return r.StartSinkLeakEvery(1) }

// StartSinkLeakEvery starts a sink that scans one line in leakEvery for
// leaks, for a load that sends none, and waits until it listens.
func (r Rig) StartSinkLeakEvery(leakEvery int) (*Sink, error) {
	addrs, err := FreeAddrs(3)
	if err != nil {
		return nil, fmt.Errorf("cannot find free ports: %w", err)
	}
	s := &Sink{TCP: addrs[0], HTTP: addrs[1], Stats: addrs[2], LeakEvery: max(1, leakEvery), bin: r.Loadgen}
	return s, s.Start()
}

// Start starts the sink's process, on its addresses, and waits until it
// listens: StartSink does, and a sink that Stop stopped starts again, its
// statistics afresh (a destination back from an outage).
func (s *Sink) Start() error {
	p, err := Start("sink", s.bin, "sink", "-tcp", s.TCP, "-http", s.HTTP, "-stats", s.Stats, "-leak-every", strconv.Itoa(max(1, s.LeakEvery)))
	if err != nil {
		return err
	}
	s.Proc = p
	if err := WaitTCP(s.Stats, startWait); err != nil {
		p.Kill()
		return fmt.Errorf("cannot start sink: %w\n%s", err, p.Logs())
	}
	return nil
}

// TCPOutput is a tcp output to the sink.
func (s *Sink) TCPOutput() Output {
	url := "tcp://" + s.TCP
	return Output{JSON: `{"type":"tcp","url":"` + url + `"}`, Name: "tcp:" + url}
}

// HTTPOutput is an http output to the sink, with the output's defaults.
func (s *Sink) HTTPOutput() Output {
	url := "http://" + s.HTTP + "/logs"
	return Output{JSON: `{"type":"http","url":"` + url + `"}`, Name: "http:" + url}
}

// Snapshot is the sink's statistics now.
func (s *Sink) Snapshot(ctx context.Context) (lgsink.Stats, error) {
	var st lgsink.Stats
	if err := GetJSON(ctx, "http://"+s.Stats+"/stats", &st); err != nil {
		return st, fmt.Errorf("cannot read sink stats: %w", err)
	}
	return st, nil
}

// Reset zeroes the sink's statistics.
func (s *Sink) Reset() error {
	if err := Post("http://" + s.Stats + "/reset"); err != nil {
		return fmt.Errorf("cannot reset sink: %w", err)
	}
	return nil
}

// Stop stops the sink: SIGTERM, then SIGKILL after 5 s. A nil Sink is
// already stopped.
func (s *Sink) Stop() {
	if s != nil && s.Proc != nil {
		s.Proc.Stop(sinkStopWait)
	}
}

// LineCounter counts the lines written to it, e.g. a console output's
// stdout. It is safe for concurrent use.
type LineCounter struct {
	n atomic.Int64
}

// Write counts the newlines in b.
func (l *LineCounter) Write(b []byte) (int, error) {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	l.n.Add(int64(n))
	return len(b), nil
}

// Lines is the number of lines written so far.
func (l *LineCounter) Lines() int64 { return l.n.Load() }
