package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"streamgate/dataplane/ingest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/server"
)

func TestOutputQueueBytesFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		want int
		err  bool
	}{
		{args: nil, want: pipeline.DefaultOutputQueue},
		{args: []string{"-output-queue-bytes", "1048576"}, want: 1 << 20},
		{args: []string{"-output-queue-bytes", "0"}, err: true},
		{args: []string{"-output-queue-bytes", "-1"}, err: true},
	} {
		opts, err := parseDataplaneFlags(t, c.args...)
		if (err != nil) != c.err {
			t.Errorf("%q: got error %v; want error %v", c.args, err, c.err)
			continue
		}
		if err == nil && opts.Pipeline.OutputQueueBytes != c.want {
			t.Errorf("%q: OutputQueueBytes %d; want %d", c.args, opts.Pipeline.OutputQueueBytes, c.want)
		}
	}
}

func TestOverflowFlags(t *testing.T) {
	for _, c := range []struct {
		args      []string
		wait      time.Duration // pipeline.Options.OverflowWait: negative is none
		delay     time.Duration // pipeline.Options.BreakerDelay: negative is none
		wantError string
	}{
		{args: nil, wait: pipeline.DefaultOverflowWait, delay: pipeline.DefaultBreakerDelay},
		{args: []string{"-overflow-wait", "5s", "-breaker-delay", "1s"}, wait: 5 * time.Second, delay: time.Second},
		{args: []string{"-overflow-wait", "0", "-breaker-delay", "0"}, wait: -1, delay: -1},
		{args: []string{"-overflow-wait", "-1s"}, wantError: "-overflow-wait: want 0 (drop at once) or a positive duration; got -1s"},
		{args: []string{"-breaker-delay", "-1ms"}, wantError: "-breaker-delay: want 0 (open at once) or a positive duration; got -1ms"},
	} {
		opts, err := parseDataplaneFlags(t, c.args...)
		if c.wantError != "" {
			if err == nil || err.Error() != c.wantError {
				t.Errorf("%q: got error %v; want %q", c.args, err, c.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.args, err)
			continue
		}
		if got := opts.Pipeline; got.OverflowWait != c.wait || got.BreakerDelay != c.delay {
			t.Errorf("%q: OverflowWait %s, BreakerDelay %s; want %s, %s", c.args, got.OverflowWait, got.BreakerDelay, c.wait, c.delay)
		}
	}
}

var (
	adminAddrRE = regexp.MustCompile(`admin=(127\.0\.0\.1:\d+)`)
	logAttrRE   = regexp.MustCompile(`(\S+?)=("(?:[^"\\]|\\.)*"|\S*)`)
)

// logAttrs splits a log line of the text handler into its attributes.
func logAttrs(line string) map[string]string {
	attrs := map[string]string{}
	for _, m := range logAttrRE.FindAllStringSubmatch(line, -1) {
		v := m[2]
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		attrs[m[1]] = v
	}
	return attrs
}

// stoppedLine waits for the final accounting of p's data plane.
func stoppedLine(t *testing.T, p *proc) map[string]string {
	t.Helper()
	line := p.waitLog(regexp.MustCompile(`^.*msg="data plane stopped".*$`))[0]
	return logAttrs(line)
}

// checkAttrs compares the named attributes of a log line.
func checkAttrs(t *testing.T, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q; want %q", k, got[k], v)
		}
	}
}

// TestDataplaneFinalAccounting: on SIGTERM the data plane logs its final
// counters on one line, and they add up: two outputs, one of them down, a
// filtered line and an oversize one. /status serves the same counters while
// it runs. The down output's URL holds a password, which no log line shows.
func TestDataplaneFinalAccounting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const password = "pw-SECRET"
	dead := "http://user:" + password + "@" + ln.Addr().String()
	deadName := "http:http://" + output.Mask + "@" + ln.Addr().String()
	ln.Close() // nothing listens there: every request fails at once
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err = os.WriteFile(manifestPath, []byte(`{"version": "7", "pipelines": [{"name": "p",
		"processors": [{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}],
		"outputs": [{"type": "console"}, {"type": "http", "url": "`+dead+`", "max_retries": 0}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "0",
		"-http-port", "off", "-admin-port", "0", "-max-line", "64", "-manifest", manifestPath)
	tcp, admin := p.waitLog(tcpAddrRE)[1], p.waitLog(adminAddrRE)[1]
	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "INFO one\nDEBUG two\nINFO three\n%s\nDEBUG four\nINFO five\n", strings.Repeat("x", 100))
	conn.Close()
	waitUntil(t, "three lines on stdout", func() bool { return len(p.Stdout()) >= 3 })

	resp, err := http.Get("http://" + admin + "/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var status map[string]any
	if err := json.Unmarshal(body, &status); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /status: %v, Content-Type %q\n%s", err, resp.Header.Get("Content-Type"), body)
	}
	if status["version"] != "7" || status["received"] != 6.0 || status["filtered"] != 2.0 || status["dropped"] != 1.0 || status["emitted"] != 3.0 {
		t.Errorf("GET /status: %s; want version 7, received 6, filtered 2, dropped 1, emitted 3", body)
	}

	p.stop()
	got := stoppedLine(t, p)
	checkAttrs(t, got, map[string]string{
		"level": "INFO", "received": "6", "filtered": "2", "dropped": "1", "emitted": "3", "in_pipeline": "0",
		// Both outputs got the 3 lines emitted: the console delivered
		// them, the dead http output dropped them.
		"delivered": "3", "output_dropped": "3", "udp_datagrams_dropped": "0",
		"dropped_reason.oversize": "1", "dropped_reason.buffer_full": "0",
		"output.console.lines_delivered": "3", "output.console.lines_dropped": "0",
		"output." + deadName + ".lines_delivered": "0", "output." + deadName + ".lines_dropped": "3",
	})
	if _, err := time.ParseDuration(got["took"]); err != nil {
		t.Errorf("took=%q: %v", got["took"], err)
	}
	if logs := strings.Join(p.Logs(), "\n"); strings.Contains(logs, password) {
		t.Errorf("the log holds the output's password:\n%s", logs)
	}
}

func TestEgressAuditFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string
		err  string
	}{
		{args: nil, want: []string{"ssn", "credit_card", "email", "ipv4"}},
		{args: []string{"-egress-audit-detectors", "secrets,us_ssn"}, want: []string{"secrets", "us_ssn"}},
		{args: []string{"-egress-audit-detectors", "all"}, want: []string{"all"}},
		{args: []string{"-egress-audit-detectors", "emial"}, err: `-egress-audit-detectors: unknown detector or category "emial"; did you mean email?`},
		{args: []string{"-egress-audit", "-1"}, err: "-egress-audit: want 0 (off) or a positive number of lines; got -1"},
	} {
		opts, err := parseDataplaneFlags(t, c.args...)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: got error %v; want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(opts.Pipeline.AuditDetectors, c.want) {
			t.Errorf("%q: got %q, %v; want %q", c.args, opts.Pipeline.AuditDetectors, err, c.want)
		}
	}
}

func TestBootPolicyFlag(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
		want server.BootPolicy
		err  string
	}{
		{want: server.BootClosed},
		{args: []string{"-boot-policy", "passthrough"}, want: server.BootPassthrough},
		{env: "passthrough", want: server.BootPassthrough},
		{env: "passthrough", args: []string{"-boot-policy", "closed"}, want: server.BootClosed},
		{args: []string{"-boot-policy", "open"}, err: `-boot-policy: want closed or passthrough; got "open"`},
	} {
		t.Setenv("STREAMGATE_BOOT_POLICY", c.env)
		opts, err := parseDataplaneFlags(t, c.args...)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("env %q, %q: got error %v; want %q", c.env, c.args, err, c.err)
			}
			continue
		}
		if err != nil || opts.BootPolicy != c.want {
			t.Errorf("env %q, %q: got %v, %v; want %v", c.env, c.args, opts.BootPolicy, err, c.want)
		}
	}
}

// TestDataplaneBootClosed runs the binary following a Redis that is not
// there yet. Under the default policy its TCP port refuses connections and
// /readyz answers 503 with the reason, until Redis comes up holding a
// manifest: then the port opens and lines leave filtered and redacted.
// Under -boot-policy passthrough the port opens at once and lines leave as
// they came, as before any rule.
func TestDataplaneBootClosed(t *testing.T) {
	const lines = "DEBUG: user login attempt\nSSN: 123-45-6789\n"
	for _, c := range []struct {
		policy string
		want   []string // stdout, once ingest is open
	}{
		{policy: "closed", want: []string{"SSN: XXX-XX-XXXX"}},
		{policy: "passthrough", want: []string{"DEBUG: user login attempt", "SSN: 123-45-6789"}},
	} {
		t.Run(c.policy, func(t *testing.T) {
			free := func() string {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				return ln.Addr().String()
			}
			redisAddr, tcp := free(), free() // nothing listens on either yet
			p := startProc(t, []string{"REDIS_ADDR=" + redisAddr, "STREAMGATE_BOOT_POLICY=" + c.policy}, "dataplane", "-host", "127.0.0.1",
				"-tcp-port", tcp[strings.LastIndexByte(tcp, ':')+1:], "-udp-port", "off", "-http-port", "off", "-admin-port", "0", "-heartbeat", "200ms")
			admin := p.waitLog(adminAddrRE)[1]
			readyz := func() (int, string) {
				resp, err := http.Get("http://" + admin + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(body)
			}
			if c.policy == "closed" {
				if conn, err := net.Dial("tcp", tcp); err == nil {
					conn.Close()
					t.Fatalf("dial %s: connected; want refused while Redis is unreachable", tcp)
				}
				if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "ingest closed: redis unreachable: dial tcp "+redisAddr) {
					t.Fatalf("GET /readyz: %d %q; want 503 naming the unreachable Redis", code, body)
				}
				p.waitLog(regexp.MustCompile(`level=ERROR msg="ingest closed: no valid manifest to run.*reason="redis unreachable`))
				mr := miniredis.NewMiniRedis()
				if err := mr.StartAddr(redisAddr); err != nil {
					t.Fatal(err)
				}
				defer mr.Close()
				err := mr.Set(rdb.ConfigKey, `{"version": "3", "pipelines": [{"name": "p", "processors": [
					{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}},
					{"id": "redact_ssn", "type": "redact", "params": {"pattern": "\\d{3}-\\d{2}-\\d{4}", "replacement": "XXX-XX-XXXX"}}]}]}`)
				if err != nil {
					t.Fatal(err)
				}
				p.waitLog(regexp.MustCompile(`msg="ingest open" tcp=` + regexp.QuoteMeta(tcp) + ` .*manifest="version 3"`))
			} else {
				p.waitLog(regexp.MustCompile(`msg="data plane running" tcp=` + regexp.QuoteMeta(tcp) + ` `))
			}
			if code, body := readyz(); code != http.StatusOK {
				t.Fatalf("GET /readyz: %d %q; want 200 once ingest is open", code, body)
			}
			conn, err := net.Dial("tcp", tcp)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprint(conn, lines)
			conn.Close()
			waitUntil(t, fmt.Sprintf("%d lines on stdout", len(c.want)), func() bool { return len(p.Stdout()) >= len(c.want) })
			p.stop()
			if got := p.Stdout(); !slices.Equal(got, c.want) {
				t.Fatalf("stdout %q; want %q", got, c.want)
			}
		})
	}
}

func TestIngestLimitFlags(t *testing.T) {
	defaults := ingest.Limits{
		MaxConns:        ingest.DefaultMaxConns,
		IdleTimeout:     ingest.DefaultIdleTimeout,
		LineBudget:      ingest.DefaultLineBudget,
		HTTPMaxBody:     ingest.DefaultMaxBody,
		OTLPMaxBody:     ingest.DefaultOTLPMaxBody,
		HTTPBodyBudget:  ingest.DefaultHTTPBodyBudget,
		HTTPMaxRequests: ingest.DefaultHTTPMaxRequests,
		HTTPReadTimeout: ingest.DefaultHTTPReadTimeout,
		AckTimeout:      ingest.DefaultAckTimeout,
	}
	set := defaults
	set.MaxConns, set.IdleTimeout, set.LineBudget = 5, time.Second, 1<<20
	set.HTTPMaxBody, set.HTTPBodyBudget, set.HTTPMaxRequests, set.HTTPReadTimeout = 1000, 2000, 3, 2*time.Second
	set.AckDurable, set.AckTimeout = true, 250*time.Millisecond
	set.OTLPMaxBody = 1500
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want ingest.Limits
		err  string
	}{
		{name: "defaults", want: defaults},
		{name: "every flag", args: []string{"-max-connections", "5", "-idle-timeout", "1s", "-line-budget", "1048576",
			"-http-max-body", "1000", "-http-body-budget", "2000", "-http-max-requests", "3", "-http-read-timeout", "2s",
			"-ingest-ack", "durable", "-ack-timeout", "250ms", "-otlp-max-body", "1500"}, want: set},
		{name: "unknown ack mode", args: []string{"-ingest-ack", "always"},
			err: `-ingest-ack: want none or durable; got "always"`},
		{name: "zero and negative", args: []string{"-max-connections", "0", "-idle-timeout", "-1s", "-http-max-requests", "0"},
			err: "-max-connections: want a positive value; got 0\n-idle-timeout: want a positive value; got -1000000000\n-http-max-requests: want a positive value; got 0"},
		{name: "budget below the largest body", args: []string{"-http-body-budget", "1000"},
			err: "-http-body-budget: want at least -http-max-body (33554432), or no body that large could ever be taken; got 1000"},
		{name: "budget below the largest OTLP body", args: []string{"-otlp-http-port", "0", "-http-max-body", "1000", "-http-body-budget", "2000"},
			err: "-http-body-budget: want at least -otlp-max-body (16777216), or no OTLP body that large could ever be taken; got 2000"},
		{name: "certificate without key", args: []string{"-tls-cert", "cert.pem"},
			err: "-tls-cert and -tls-key: give both (and -tls-client-ca only with them)"},
		{name: "client CA alone", args: []string{"-tls-client-ca", "ca.pem"},
			err: "-tls-cert and -tls-key: give both (and -tls-client-ca only with them)"},
		{name: "missing certificate", args: []string{"-tls-cert", "missing-cert.pem", "-tls-key", "missing-key.pem"},
			err: "-tls-cert, -tls-key, -tls-client-ca: cannot load the certificate missing-cert.pem and key missing-key.pem: open missing-cert.pem: no such file or directory"},
		{name: "certificate from the environment", env: map[string]string{"INGEST_TLS_CERT": "env-cert.pem", "INGEST_TLS_KEY": "env-key.pem"},
			err: "-tls-cert, -tls-key, -tls-client-ca: cannot load the certificate env-cert.pem and key env-key.pem: open env-cert.pem: no such file or directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			opts, err := parseDataplaneFlags(t, c.args...)
			if c.err != "" {
				if err == nil || err.Error() != c.err {
					t.Fatalf("got error %v; want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opts.Limits != c.want {
				t.Errorf("limits: got %+v; want %+v", opts.Limits, c.want)
			}
			if opts.TLS != nil {
				t.Errorf("TLS without -tls-cert: got %+v; want none", opts.TLS)
			}
		})
	}
}

func TestShadowCPUBudgetFlag(t *testing.T) {
	for _, c := range []struct {
		args      []string
		want      float64
		wantError string
	}{
		{args: nil, want: pipeline.DefaultShadowCPU},
		{args: []string{"-shadow-cpu-budget", "0.5"}, want: 0.5},
		{args: []string{"-shadow-cpu-budget", "1"}, want: 1},
		{args: []string{"-shadow-cpu-budget", "0"}, wantError: "-shadow-cpu-budget: want a fraction of a second above 0 (1 or more: no bound); got 0"},
		{args: []string{"-shadow-cpu-budget", "-0.1"}, wantError: "-shadow-cpu-budget: want a fraction of a second above 0 (1 or more: no bound); got -0.1"},
		{args: []string{"-shadow-cpu-budget", "NaN"}, wantError: "-shadow-cpu-budget: want a fraction of a second above 0 (1 or more: no bound); got NaN"},
	} {
		opts, err := parseDataplaneFlags(t, c.args...)
		if c.wantError != "" {
			if err == nil || err.Error() != c.wantError {
				t.Errorf("%q: got error %v; want %q", c.args, err, c.wantError)
			}
			continue
		}
		if err != nil || opts.Pipeline.ShadowCPU != c.want {
			t.Errorf("%q: got %v, %v; want ShadowCPU %v", c.args, opts.Pipeline.ShadowCPU, err, c.want)
		}
	}
}

// parseDataplaneFlags parses a data plane's flags, args after a memory
// limit that leaves the test process's alone, into its options.
func parseDataplaneFlags(t *testing.T, args ...string) (server.Options, error) {
	t.Helper()
	var f dataplaneFlags
	fs := flag.NewFlagSet("dataplane", flag.ContinueOnError)
	f.register(fs)
	if err := fs.Parse(append([]string{"-memory-limit", "off"}, args...)); err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return f.options(slog.Default())
}
