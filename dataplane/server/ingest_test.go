package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/ingest"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/testcert"
)

// TestIngestTLSAndLimits: the options reach the listeners: TCP, HTTP and
// syslog over TCP speak mutual TLS, and /metrics shows the ingest limits'
// counters.
func TestIngestTLSAndLimits(t *testing.T) {
	certs := testcert.New(t)
	cfg, err := ingest.LoadTLS(certs.CertFile, certs.KeyFile, certs.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	sink := capture.Unique("tls")
	s := start(t, Options{
		HTTPAddr:      "127.0.0.1:0",
		AdminAddr:     "127.0.0.1:0",
		SyslogTCPAddr: "127.0.0.1:0",
		TLS:           cfg,
		Limits:        ingest.Limits{MaxConns: 3, IdleTimeout: time.Minute},
		Manifest:      mustManifest(t, `{"version":"1","pipelines":[{"name":"p","processors":[],"outputs":[{"type":"capture","url":"`+sink+`"}]}]}`),
	})
	clientCert, err := tls.LoadX509KeyPair(certs.ClientCertFile, certs.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	cli := &tls.Config{RootCAs: certs.CAPool, Certificates: []tls.Certificate{clientCert}}

	c, err := tls.Dial("tcp", s.TCPAddr().String(), cli)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "over tls\n")
	c.Close()
	syslogTCP, _ := s.SyslogAddrs()
	sc, err := tls.Dial("tcp", syslogTCP.String(), cli)
	if err != nil {
		t.Fatal(err)
	}
	msg := "<14>1 2026-12-07T08:00:00Z host app - - - syslog over tls"
	fmt.Fprintf(sc, "%d %s", len(msg), msg) // octet counting (RFC 6587)
	sc.Close()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cli}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("https://"+s.HTTPAddr().String()+"/ingest", "text/plain", strings.NewReader("over https\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST over https: got %s; want 202", resp.Status)
	}
	waitFor(t, "the three lines", func() bool { return capture.Get(sink).Len() == 3 })
	if got := strings.Join(capture.Get(sink).Lines(), "\n"); !strings.Contains(got, "syslog over tls") {
		t.Errorf("the syslog message over TLS is not among the lines:\n%s", got)
	}

	resp, err = http.Get("http://" + s.AdminAddr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`streamgate_ingest_refused_total{listener="tcp",reason="max_connections"} 0`,
		`streamgate_ingest_refused_total{listener="http",reason="body_budget"} 0`,
		`streamgate_ingest_closed_total{listener="tcp",reason="line_budget"} 0`,
		`streamgate_ingest_closed_total{listener="http",reason="idle_timeout"} 0`,
		`streamgate_ingest_unfinished_line_bytes `,
		`streamgate_ingest_http_body_bytes 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
}
