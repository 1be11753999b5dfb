// Command loadgen sends deterministic log traffic to a StreamGate proxy
// (loadgen send) and receives what the proxy delivers (loadgen sink).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"streamgate/loadgen/corpus"
	"streamgate/loadgen/sender"
	"streamgate/loadgen/sink"
)

const usage = `usage: loadgen send -target tcp://127.0.0.1:8081 [flags]
       loadgen sink [-tcp addr] [-http addr] [-stats addr] [-duration d]

Run "loadgen send -h" or "loadgen sink -h" for the flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch os.Args[1] {
	case "send":
		err = runSend(ctx, os.Args[2:])
	case "sink":
		err = runSink(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown command %q\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "loadgen %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func runSend(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	def := corpus.DefaultConfig()
	var c sender.Config
	fs.StringVar(&c.Target, "target", "", "tcp://host:port, udp://host:port, http://host:port/path or otlp://host:port (OTLP/HTTP logs, protobuf: a record per line) (required)")
	fs.StringVar(&c.Syslog, "syslog", "", `over tcp, send each line as an RFC 5424 syslog message framed by "octet" counting or by "newline"; "" sends plain lines`)
	fs.IntVar(&c.Conns, "conns", 4, "TCP/HTTP connections or UDP sockets")
	fs.Float64Var(&c.Rate, "rate", 0, "total lines per second; 0 = closed loop, as fast as possible")
	fs.Int64Var(&c.Lines, "lines", 0, "stop after this many lines (0 = no limit)")
	fs.DurationVar(&c.Duration, "duration", 0, "stop after this long (0 = no limit)")
	fs.Uint64Var(&c.Corpus.Seed, "seed", def.Seed, "corpus seed")
	fs.Float64Var(&c.Corpus.Debug, "debug", def.Debug, "share of DEBUG lines")
	fs.Float64Var(&c.Corpus.SSN, "ssn", def.SSN, "share of lines with an SSN")
	fs.Float64Var(&c.Corpus.Card, "card", def.Card, "share of lines with a card number")
	fs.Float64Var(&c.Corpus.Email, "email", def.Email, "share of lines with an email address")
	fs.Float64Var(&c.Corpus.JSON, "json", def.JSON, "share of OTel-shaped JSON lines")
	fs.Float64Var(&c.Corpus.Escaped, "escaped", def.Escaped, "share of the JSON lines whose strings use JSON escapes (\\u002d, \\u0040, \\/, \\\")")
	fs.IntVar(&c.Corpus.MinSize, "min-size", def.MinSize, "minimum target line length in bytes")
	fs.IntVar(&c.Corpus.MaxSize, "max-size", def.MaxSize, "maximum target line length in bytes")
	fs.IntVar(&c.Batch, "batch", 0, "lines per write/datagram/request (0 = TCP ~64 KiB, UDP <=1400 bytes, HTTP 500 lines)")
	fs.StringVar(&c.Run, "run", "", "run id used in every source id <run>-<conn> (default random)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.Target == "" {
		return errors.New("-target is required")
	}
	if c.Conns < 1 {
		return fmt.Errorf("-conns must be at least 1; got %d", c.Conns)
	}
	if isTerminal(os.Stderr) {
		c.Progress = &sender.Progress{}
		done := make(chan struct{})
		defer close(done)
		go reportProgress(os.Stderr, c.Progress, done)
	}
	s, err := sender.Run(ctx, c)
	if c.Progress != nil {
		fmt.Fprintln(os.Stderr)
	}
	if err != nil && s.Sent == 0 && s.Errors == 0 {
		return err // nothing was attempted: no summary to give
	}
	// A run that failed midway still says what it sent, before the error.
	if werr := writeJSON(os.Stdout, s); werr != nil && err == nil {
		return werr
	}
	return err
}

func reportProgress(w io.Writer, p *sender.Progress, done <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-done:
			return
		case <-t.C:
			sent := p.Sent.Load()
			fmt.Fprintf(w, "\rrate %10.0f lines/s  sent %12d  errors %8d", float64(sent-last), sent, p.Errors.Load())
			last = sent
		}
	}
}

func runSink(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sink", flag.ContinueOnError)
	var c sink.Config
	var d time.Duration
	fs.StringVar(&c.TCPAddr, "tcp", "127.0.0.1:9100", "listen address for newline-delimited TCP (empty = off)")
	fs.StringVar(&c.HTTPAddr, "http", "127.0.0.1:9101", "listen address for HTTP POST bodies (empty = off)")
	fs.StringVar(&c.StatsAddr, "stats", "127.0.0.1:9102", "listen address for GET /stats and POST /reset (empty = off)")
	fs.DurationVar(&d, "duration", 0, "exit after this long (0 = until SIGINT/SIGTERM)")
	fs.IntVar(&c.LeakEvery, "leak-every", 1, "scan one line in N for leaks (PII, e-mail addresses): above 1 only for a load that sends none (leak_checked in /stats counts the lines scanned)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.LeakEvery < 1 {
		return fmt.Errorf("-leak-every: must be at least 1; got %d", c.LeakEvery)
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	s, err := sink.New(c)
	if err != nil {
		return err
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	<-ctx.Done()
	_ = s.Close()
	return writeJSON(os.Stdout, s.Snapshot())
}

// startCPUProfile starts a CPU profile into path, unless path is empty,
// and returns what stops it.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cannot create the CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot start the CPU profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cannot encode result: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("cannot write result: %w", err)
	}
	return nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
