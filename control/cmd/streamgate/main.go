// Command streamgate is the StreamGate observability firewall.
//
//	streamgate up [flags]          control plane + data plane (+ embedded Redis)
//	streamgate dataplane [flags]   a data plane
//	streamgate control [flags]     the control plane's REST API
//	streamgate validate FILE       check a manifest
//	streamgate echo-server         print the HTTP requests it receives
//	streamgate dlq list|replay|purge the dead letters of a running data plane
//	streamgate tap                 a sample of a running data plane's processed lines
//	streamgate detectors           list the built-in detectors
//	streamgate version             print the version, commit and Go version
//
// Log lines go to stdout (console output); diagnostics go to stderr.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"streamgate/dataplane/buildinfo"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/match"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

const usage = `StreamGate: filters noise and redacts PII from log streams before they leave
the network.

Usage:
  streamgate up [flags]          run everything on one machine: the control plane
                                 (REST API :8000) and a data plane (TCP :8081,
                                 UDP :8082, HTTP ingest :8083, admin :8080),
                                 with an embedded Redis unless REDIS_ADDR or
                                 REDIS_HOST is set
  streamgate dataplane [flags]   run a data plane; with REDIS_ADDR/REDIS_HOST set
                                 it follows the manifest published there
  streamgate control [flags]     run the control plane (needs REDIS_ADDR/REDIS_HOST)
  streamgate validate FILE       check a manifest; print its errors or a summary
  streamgate test MANIFEST TESTS run the lines of a tests file through a manifest's
                                 rules and check what each becomes
  streamgate echo-server [flags] print every HTTP request it receives (a stand-in
                                 for a log vendor, :9000)
  streamgate dlq list|replay|purge [-admin URL] [-output NAME]
                                 a running data plane's dead letters: the batches
                                 a destination refused for good; list them, send
                                 them again, or delete them
  streamgate tap [-admin URL] [-rule ID] [-output NAME] [-n N]
                                 a sample of the lines a running data plane
                                 processes, after redaction: each line, the
                                 rules that rewrote it, or the rule that dropped it
  streamgate detectors           list the built-in detectors of redact rules: name,
                                 category, checksum, context words, an example
  streamgate version             print the version, the commit it was built from
                                 and the Go version (also -version, --version)

Run 'streamgate COMMAND -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "up":
		err = runUp(args)
	case "dataplane":
		err = runDataplane(args)
	case "control":
		err = runControl(args)
	case "validate":
		err = runValidate(args)
	case "test":
		err = runTest(os.Stdout, args)
		switch {
		case errors.Is(err, errTestsFailed):
			os.Exit(1)
		case err != nil && !errors.Is(err, flag.ErrHelp):
			fmt.Fprintf(os.Stderr, "streamgate test: %v\n", err)
			os.Exit(2)
		}
	case "echo-server":
		err = runEchoServer(args)
	case "dlq":
		err = runDLQ(os.Stdout, args)
	case "tap":
		err = runTap(os.Stdout, args)
	case "detectors":
		err = runDetectors(os.Stdout, args)
	case "version", "-version", "--version":
		fmt.Println(buildinfo.Get())
		return
	case "-h", "-help", "--help", "help":
		fmt.Fprint(os.Stdout, usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "streamgate: unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "streamgate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// env returns the environment variable name's value, or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// addr turns a host and a port flag into a listen address; port "off"
// disables the listener.
func addr(host, port string) string {
	if port == "off" || port == "" {
		return ""
	}
	return net.JoinHostPort(host, port)
}

// newLogger returns the stderr logger at the named level and makes it the
// default.
func newLogger(level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
	slog.SetDefault(log)
	return log, nil
}

// setup parses a command's flags (register adds the command's own; every
// command has -log-level), then builds the logger and reads the Redis
// settings from the environment.
func setup(name string, args []string, register func(*flag.FlagSet)) (*slog.Logger, rdb.Options, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	register(fs)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	keyFile := fs.String("hmac-key-file", env("STREAMGATE_HMAC_KEY_FILE", ""),
		"file holding the key of redact's hash action (env STREAMGATE_HMAC_KEY_FILE); without it, env STREAMGATE_HMAC_KEY holds the key; never in a manifest")
	if err := fs.Parse(args); err != nil {
		return nil, rdb.Options{}, err
	}
	if err := loadHashKey(*keyFile); err != nil {
		return nil, rdb.Options{}, err
	}
	log, err := newLogger(*logLevel)
	if err != nil {
		return nil, rdb.Options{}, err
	}
	ropts, err := rdb.FromEnv()
	return log, ropts, err
}

// untilSignal returns a context that ends on SIGINT or SIGTERM.
func untilSignal() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
}

// runDetectors lists the built-in detectors, one a line: name, category,
// checksum, context words and an example with what is found in it.
func runDetectors(w io.Writer, args []string) error {
	if len(args) != 0 {
		return errors.New("usage: streamgate detectors")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DETECTOR\tCATEGORY\tCHECKSUM\tCONTEXT\tEXAMPLE")
	ds := match.Detectors()
	for _, d := range ds {
		ex := ""
		for _, e := range d.Examples {
			if len(e.Want) > 0 {
				ex = e.Line + "  →  " + strings.Join(e.Want, ", ")
				break
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, d.Category, orDash(d.Checksum), orDash(strings.Join(d.Context, ", ")), ex)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d detectors in %d categories (%s); a redact rule names one, a category, or all.\n",
		len(ds), len(match.Categories()), strings.Join(match.Categories(), ", "))
	return err
}

// orDash is s, or "-" when it is empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadHashKey sets the key of redact's hash action from the file at path,
// or, with no path, from $STREAMGATE_HMAC_KEY; with neither, there is none
// and rules with action hash are refused. A file's trailing newline is not
// part of the key. The key is never logged or shown; the variable is
// removed from the environment once read, so that no child process or
// later lookup sees it.
func loadHashKey(path string) error {
	key := []byte(os.Getenv("STREAMGATE_HMAC_KEY"))
	os.Unsetenv("STREAMGATE_HMAC_KEY")
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			// Without the path: should the key itself have been given
			// as the path, the error must not show it.
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("-hmac-key-file: cannot read the key file: %w", err)
		}
		key = bytes.TrimRight(b, "\r\n")
	}
	if len(key) == 0 {
		return nil
	}
	if err := processor.SetHashKey(key); err != nil {
		return fmt.Errorf("-hmac-key-file or STREAMGATE_HMAC_KEY: %w", err)
	}
	return nil
}

func loadManifest(path string) (*manifest.Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest: %w", err)
	}
	m, err := manifest.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

const validateUsage = `usage: streamgate validate FILE

Checks the manifest in FILE as a data plane and POST /publish would: prints
every problem at once, each naming its field (pipelines[0].processors[1]...),
with its line and column where the JSON does not decode (a syntax error, an
unknown field, a value of the wrong type), and exits 1; or a summary and any
warnings, and exits 0. A redact rule with the hash action
needs the key: STREAMGATE_HMAC_KEY_FILE.
`

func runValidate(args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Print(validateUsage)
		return nil
	}
	if len(args) != 1 {
		fmt.Fprint(os.Stderr, validateUsage)
		return errors.New("want one manifest file")
	}
	if err := loadHashKey(os.Getenv("STREAMGATE_HMAC_KEY_FILE")); err != nil {
		return err
	}
	if _, err := os.Stat(args[0]); err != nil {
		return fmt.Errorf("cannot open %s: %w", args[0], errors.Unwrap(err))
	}
	m, err := loadManifest(args[0])
	if err != nil {
		var b strings.Builder
		b.WriteString("manifest is invalid:\n")
		for _, e := range manifest.ErrorList(errors.Unwrap(err)) {
			b.WriteString("  " + e + "\n")
		}
		fmt.Fprint(os.Stderr, b.String())
		return errors.New("invalid manifest")
	}
	cfg, _ := m.Compile()
	fmt.Printf("manifest %s is valid: %d processors, %d outputs, batch size %d\n",
		args[0], len(cfg.Steps), len(cfg.Outputs), cfg.BatchSize)
	if w := m.Warnings(); len(w) > 0 {
		var b strings.Builder
		b.WriteString("warnings:\n")
		for _, line := range w {
			b.WriteString("  " + line + "\n")
		}
		fmt.Fprint(os.Stderr, b.String())
	}
	return nil
}
