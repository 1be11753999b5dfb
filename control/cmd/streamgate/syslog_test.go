package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

var (
	syslogTCPAddrRE = regexp.MustCompile(`syslog_tcp=(127\.0\.0\.1:\d+)`)
	syslogUDPAddrRE = regexp.MustCompile(`syslog_udp=(127\.0\.0\.1:\d+)`)
)

// TestDataplaneSyslog: syslog over TCP (octet counting) and UDP, in the json
// format, through an attribute_filter on log.level that drops debug and
// info. A malformed message is passed on as received and counted.
func TestDataplaneSyslog(t *testing.T) {
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "p",
		"processors": [{"id": "quiet", "type": "attribute_filter", "params": {"path": "log/level", "operator": "regex", "value": "^(debug|info)$"}}],
		"outputs": [{"type": "console"}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "off", "-udp-port", "off", "-http-port", "off",
		"-admin-port", "0", "-syslog-tcp-port", "0", "-syslog-udp-port", "0", "-syslog-format", "json", "-manifest", manifestPath)
	stcp, sudp, admin := p.waitLog(syslogTCPAddrRE)[1], p.waitLog(syslogUDPAddrRE)[1], p.waitLog(adminAddrRE)[1]
	// Listeners turned off show as off, as their flags say.
	p.waitLog(regexp.MustCompile(`msg="data plane running" tcp=off udp=off http=off admin=127\.0\.0\.1:\d+ syslog_tcp=127\S+ syslog_udp=127\S+ otlp_http=off otlp_grpc=off `))

	conn, err := net.Dial("tcp", stcp)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{
		`<11>1 2024-05-01T10:00:00Z web api 42 - [req id="7"] disk full`, // user.err: kept
		`<15>1 2024-05-01T10:00:01Z web api 42 - - cache miss`,           // user.debug: filtered
		`<14>May  1 10:00:02 web cron: job done`,                         // user.info: filtered
		`not syslog`,                                                     // malformed: kept as received
	} {
		fmt.Fprintf(conn, "%d %s", len(m), m)
	}
	conn.Close()
	udp, err := net.Dial("udp", sudp)
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	fmt.Fprint(udp, `<12>Oct 11 22:14:15 db postgres[9]: slow query`) // user.warning: kept
	waitUntil(t, "three lines on stdout", func() bool { return len(p.Stdout()) >= 3 })

	out := p.Stdout()
	var levels []string
	for _, l := range out {
		if l == "not syslog" {
			levels = append(levels, "raw")
			continue
		}
		var r struct {
			Message string `json:"message"`
			Log     struct {
				Level string `json:"level"`
			} `json:"log"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("stdout line %q: %v", l, err)
		}
		levels = append(levels, r.Log.Level+":"+r.Message)
	}
	slices.Sort(levels)
	if want := []string{"error:disk full", "raw", "warning:slow query"}; !slices.Equal(levels, want) {
		t.Errorf("stdout %q; want the levels and messages %q", out, want)
	}
	m := scrapeMetrics(t, admin) // summed over labels
	for series, want := range map[string]float64{
		"streamgate_syslog_malformed_total": 1,
		"streamgate_lines_received_total":   5,
		"streamgate_lines_filtered_total":   2,
	} {
		if got := m[series]; got != want {
			t.Errorf("%s = %v; want %v", series, got, want)
		}
	}
	p.stop()
}
