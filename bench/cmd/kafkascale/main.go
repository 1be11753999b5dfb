// Command kafkascale measures how the Kafka input scales out: it preloads a
// topic of an in-process broker (kfake) with -lines sequenced lines over
// -partitions partitions, then drains it with one data plane, and again
// (a new consumer group) with two data planes in one group, each a
// separate process of the real binary whose console output goes nowhere.
// For each it prints the lines/s drained and the data planes' CPU-seconds
// per million lines, measured from the moment every partition is assigned
// (and, with two, each member holds some) until -until of the lines are
// delivered; and the scale-out factor. The broker runs in this process and
// shares the machine's cores: its CPU is reported apart.
//
//	go run ./cmd/kafkascale -lines 2000000 -partitions 8
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"streamgate/bench/lab"
)

func main() {
	lines := flag.Int("lines", 2_000_000, "lines preloaded in the topic")
	partitions := flag.Int("partitions", 8, "partitions of the topic")
	size := flag.Int("line-size", 150, "bytes of each line, about")
	until := flag.Float64("until", 0.95, "fraction of the lines delivered at which a run's measure ends")
	members := flag.String("members", "1,2", "data planes in the group, one run each, comma-separated")
	flag.StringVar(&dpFlags, "flags", "", "more flags of the data planes, space-separated, e.g. \"-memory-limit 96MiB\"")
	flag.IntVar(&runs, "runs", 3, "runs of each, alternating; the median is reported")
	bin := flag.String("bin", "", "the streamgate binary; empty builds it")
	flag.StringVar(&profile, "profile", "", "write a 2 s CPU profile of the first data plane of the first run to this file, and its heap then to this file.heap")
	flag.Parse()
	if err := run(*lines, *partitions, *size, *until, *members, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "kafkascale:", err)
		os.Exit(1)
	}
}

// profile is -profile, runs -runs.
var (
	profile string
	runs    int
	dpFlags string
)

func run(lines, partitions, size int, until float64, members, bin string) error {
	rig, err := lab.NewRig("", "", "kafkascale-")
	if err != nil {
		return err
	}
	defer rig.Close()
	if bin == "" {
		root, err := lab.RepoRoot()
		if err != nil {
			return err
		}
		bin = filepath.Join(rig.Dir, "streamgate")
		if err := lab.Build(root, "control", "./cmd/streamgate", bin); err != nil {
			return err
		}
	}
	rig.StreamGate = bin

	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(partitions), "logs"))
	if err != nil {
		return fmt.Errorf("cannot start the broker: %w", err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	start := time.Now()
	if err := preload(addr, lines, partitions, size); err != nil {
		return err
	}
	fmt.Printf("machine: %d CPUs (%s), GOMAXPROCS %d; broker kfake in this process, loopback\n", runtime.NumCPU(), lab.CPUModel(), runtime.GOMAXPROCS(0))
	fmt.Printf("preloaded %d lines of ~%d bytes over %d partitions in %.1f s\n\n", lines, size, partitions, time.Since(start).Seconds())

	var ns []int
	for _, m := range strings.Split(members, ",") {
		var n int
		if _, err := fmt.Sscan(m, &n); err != nil || n < 1 {
			return fmt.Errorf("-members: want positive numbers; got %q", m)
		}
		ns = append(ns, n)
	}
	byN := make([][]drained, len(ns))
	for r := range max(runs, 1) {
		for i, n := range ns {
			d, err := drain(rig, addr, fmt.Sprintf("scale-%d-%d", r, i), n, lines, partitions, until)
			if err != nil {
				return err
			}
			fmt.Printf("run %d, %d data plane(s): %.0f lines/s over %.2f s (%d lines), %.2f CPU-s per million lines in the data planes, %.2f in the broker and this harness\n",
				r+1, n, d.linesPerS, d.seconds, d.lines, d.dpCPUPerM, d.brokerCPUPerM)
			byN[i] = append(byN[i], d)
		}
	}
	fmt.Println()
	var base float64
	for i, n := range ns {
		d := median(byN[i])
		if base == 0 {
			base = d.linesPerS / float64(n)
		}
		fmt.Printf("median of %d, %d data plane(s): %.0f lines/s, %.2f CPU-s per million lines in the data planes (%.2f cores busy), %.2f in the broker; %.2fx one\n",
			len(byN[i]), n, d.linesPerS, d.dpCPUPerM, d.dpCPUPerM*d.linesPerS/1e6, d.brokerCPUPerM, d.linesPerS/base)
	}
	return nil
}

// median returns the run of median lines/s.
func median(ds []drained) drained {
	s := slices.Clone(ds)
	slices.SortFunc(s, func(a, b drained) int { return cmp.Compare(a.linesPerS, b.linesPerS) })
	return s[len(s)/2]
}

// preload produces lines lines, round robin over the partitions, in
// batches of lz4-compressed records.
func preload(addr string, lines, partitions, size int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("logs"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	pad := strings.Repeat("x", max(0, size-80))
	var seq = make([]uint64, partitions)
	errc := make(chan error, 1)
	for i := range lines {
		p := i % partitions
		seq[p]++
		v := fmt.Appendf(nil, "ts=%d src=p%d seq=%d level=INFO msg=\"request served\" %s", time.Now().UnixNano(), p, seq[p], pad)
		cl.Produce(ctx, &kgo.Record{Partition: int32(p), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return fmt.Errorf("cannot preload: %w", err)
	default:
	}
	return nil
}

type drained struct {
	lines                    int64
	seconds, linesPerS       float64
	dpCPUPerM, brokerCPUPerM float64
}

// drain starts n data planes in group and measures them until the share
// until of lines is delivered.
func drain(rig lab.Rig, addr, group string, n, lines, partitions int, until float64) (drained, error) {
	mf := `{"version":"kafkascale","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"console"}],"batch_size":1000}]}`
	var pxs []*lab.Proxy
	defer func() {
		for _, px := range pxs {
			px.Stop()
		}
	}()
	for i := range n {
		px, err := rig.StartProxy(lab.ProxyOpts{Name: fmt.Sprintf("%s-%d", group, i), Manifest: mf, Flags: append([]string{
			"-tcp-port", "off", "-http-port", "off",
			"-kafka-brokers", addr, "-kafka-topics", "logs", "-kafka-group", group, "-egress-audit", "0", "-pprof"}, strings.Fields(dpFlags)...)})
		if err != nil {
			return drained{}, err
		}
		pxs = append(pxs, px)
	}
	type sample struct {
		at        time.Time
		delivered float64
		cpu       float64 // the data planes'
		broker    float64 // this process's
	}
	take := func() (sample, bool, error) {
		s := sample{at: time.Now(), broker: selfCPU()}
		assigned, each := 0.0, true
		for _, px := range pxs {
			m, err := lab.Scrape("http://" + px.Admin + "/metrics")
			if err != nil {
				return s, false, err
			}
			s.delivered += lab.SumPrefix(m, "streamgate_output_lines_delivered_total")
			p := m["streamgate_kafka_partitions"]
			assigned += p
			each = each && p > 0
			cpu, err := px.Proc.CPUSeconds()
			if err != nil {
				return s, false, err
			}
			s.cpu += cpu
		}
		return s, each && int(assigned) == partitions, nil
	}
	if profile != "" {
		go saveProfile(pxs[0].Admin, profile)
		defer func() { profile = "" }()
	}
	var first, last sample
	deadline := time.Now().Add(5 * time.Minute)
	for {
		if time.Now().After(deadline) {
			return drained{}, errors.New("timed out draining the topic")
		}
		s, ready, err := take()
		if err != nil {
			return drained{}, err
		}
		if first.at.IsZero() && ready {
			first = s
		}
		if !first.at.IsZero() && s.delivered >= until*float64(lines) {
			last = s
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := last.at.Sub(first.at).Seconds()
	moved := last.delivered - first.delivered
	if moved <= 0 || d <= 0 {
		return drained{}, fmt.Errorf("nothing delivered in the measure: %.0f lines were before every partition was assigned", first.delivered)
	}
	return drained{
		lines:         int64(moved),
		seconds:       d,
		linesPerS:     moved / d,
		dpCPUPerM:     (last.cpu - first.cpu) / (moved / 1e6),
		brokerCPUPerM: (last.broker - first.broker) / (moved / 1e6),
	}, nil
}

// saveProfile writes a 2 s CPU profile of the data plane at admin to file.
func saveProfile(admin, file string) {
	resp, err := http.Get("http://" + admin + "/debug/pprof/profile?seconds=2")
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkascale: cannot profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkascale: cannot profile:", err)
		return
	}
	defer f.Close()
	io.Copy(f, resp.Body)
	// And the heap, as it is at the end of the CPU profile.
	resp, err = http.Get("http://" + admin + "/debug/pprof/heap")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if h, err := os.Create(file + ".heap"); err == nil {
		io.Copy(h, resp.Body)
		h.Close()
	}
}

// selfCPU is this process's user and system CPU time, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
