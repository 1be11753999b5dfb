package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Shape of the burst: burstConns connections at once, each sending
// burstLines lines of burstLineLen bytes, one in four of them DEBUG.
const (
	burstConns   = 4
	burstLines   = 50_000
	burstLineLen = 150
)

// burstLine is line seq of connection conn, burstLineLen bytes without its
// newline; every fourth is DEBUG.
func burstLine(conn, seq int) string {
	level := "INFO "
	if seq%4 == 3 {
		level = "DEBUG"
	}
	l := fmt.Sprintf("%s conn=%d seq=%06d service=checkout msg=order placed ", level, conn, seq)
	return l + strings.Repeat("x", burstLineLen-len(l))
}

// TestBurstAbsorbed: with default flags, a burst far larger than the buffer
// (4 connections sending 50,000 lines each at once, about 31 MB) into a data
// plane that filters DEBUG lines and prints the rest is absorbed: the
// senders are held back while the console catches up, no line is dropped,
// the breaker never opens, so every DEBUG line is filtered and every other
// line printed once.
func TestBurstAbsorbed(t *testing.T) {
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "burst", "pipelines": [{"name": "p",
		"processors": [{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}],
		"outputs": [{"type": "console"}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off",
		"-http-port", "off", "-admin-port", "0", "-manifest", manifestPath)
	tcp, admin := p.waitLog(tcpAddrRE)[1], p.waitLog(adminAddrRE)[1]

	payloads := make([][]byte, burstConns)
	for c := range payloads {
		var b bytes.Buffer
		b.Grow(burstLines * (burstLineLen + 1))
		for seq := range burstLines {
			b.WriteString(burstLine(c, seq))
			b.WriteByte('\n')
		}
		payloads[c] = b.Bytes()
	}
	conns := make([]net.Conn, burstConns)
	for c := range conns {
		if conns[c], err = net.Dial("tcp", tcp); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, burstConns)
	for c, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := conn.Write(payloads[c]); err != nil {
				errs <- fmt.Errorf("connection %d: %w", c, err)
			}
			conn.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	const sent, kept = burstConns * burstLines, burstConns * burstLines * 3 / 4
	var m map[string]float64
	waitUntil(t, "every line received, handled and printed", func() bool {
		m = scrapeMetrics(t, admin)
		handled := m["streamgate_lines_filtered_total"] + m["streamgate_lines_dropped_total"] +
			m["streamgate_output_lines_delivered_total"] + m["streamgate_output_lines_dropped_total"]
		return m["streamgate_lines_received_total"] == sent && handled >= sent && p.StdoutLen() >= int(m["streamgate_output_lines_delivered_total"])
	})
	t.Logf("pushes that waited for room: %.0f; flushes that waited for the console: %.0f",
		m["streamgate_buffer_waits_total"], m["streamgate_output_waits_total"])
	for _, c := range []struct {
		name string
		want float64
	}{
		{"streamgate_lines_received_total", sent},
		{"streamgate_lines_filtered_total", sent - kept},
		{"streamgate_lines_dropped_total", 0},
		{"streamgate_output_lines_dropped_total", 0},
		{"streamgate_output_lines_delivered_total", kept},
		{"streamgate_breaker_opened_total", 0},
		{"streamgate_breaker_bypassed_lines_total", 0},
	} {
		if got := m[c.name]; got != c.want {
			t.Errorf("%s: got %.0f; want %.0f", c.name, got, c.want)
		}
	}

	seen := make(map[string]bool, kept)
	debug, dups := 0, 0
	for _, l := range p.Stdout() {
		switch {
		case strings.HasPrefix(l, "DEBUG"):
			debug++
		case seen[l]:
			dups++
		}
		seen[l] = true
	}
	missing := 0
	for c := range burstConns {
		for seq := range burstLines {
			if seq%4 != 3 && !seen[burstLine(c, seq)] {
				missing++
			}
		}
	}
	if debug != 0 || dups != 0 || missing != 0 {
		t.Errorf("stdout: %d DEBUG lines, %d printed twice, %d of %d others missing; want none", debug, dups, missing, kept)
	}
}

// scrapeMetrics reads the admin port's /metrics: each metric's series
// summed over their labels.
func scrapeMetrics(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	m := map[string]float64{}
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
		series, value := l[:i], l[i+1:]
		name, _, _ := strings.Cut(series, "{")
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", l, err)
		}
		m[name] += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}
