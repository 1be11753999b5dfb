package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// vendorSink is a stand-in for Elasticsearch, Loki, an OTLP collector and
// CloudWatch Logs at once: it answers each API as its service would for a
// request it takes, and keeps the bodies, decompressed, by destination.
type vendorSink struct {
	mu     sync.Mutex
	bodies map[string][]byte
}

func (v *vendorSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var dest string
	switch {
	case strings.HasSuffix(r.URL.Path, "/_bulk"):
		dest = "elasticsearch"
		docs := bytes.Count(b, []byte("\n")) / 2 // an action line and a document each
		items := strings.TrimSuffix(strings.Repeat(`{"index":{"status":201}},`, docs), ",")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, items)
	case strings.HasSuffix(r.URL.Path, "/loki/api/v1/push"):
		dest = "loki"
		w.WriteHeader(http.StatusNoContent)
	case strings.HasSuffix(r.URL.Path, "/v1/logs"):
		dest = "otlp"
		w.Header().Set("Content-Type", "application/x-protobuf")
	case r.Header.Get("X-Amz-Target") != "":
		dest = "cloudwatch_logs"
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, "{}")
	default:
		http.NotFound(w, r)
		return
	}
	v.mu.Lock()
	v.bodies[dest] = append(v.bodies[dest], b...)
	v.mu.Unlock()
}

func (v *vendorSink) body(dest string) []byte {
	v.mu.Lock()
	defer v.mu.Unlock()
	return bytes.Clone(v.bodies[dest])
}

// TestDataplaneVendorOutputs: one line through the binary to an
// Elasticsearch, a Loki, an OTLP and a CloudWatch Logs output, each against
// a stand-in that answers as the service does: every one of them gets the
// line, redacted, in its own wire format.
func TestDataplaneVendorOutputs(t *testing.T) {
	sink := &vendorSink{bodies: map[string][]byte{}}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(fmt.Sprintf(`{"version": "1", "pipelines": [{"name": "p",
		"processors": [{"id": "redact_email", "type": "redact", "params": {"detector": "email"}}],
		"outputs": [
			{"type": "elasticsearch", "url": "%[1]s/es", "index": "logs"},
			{"type": "loki", "url": "%[1]s/loki", "labels": {"job": "streamgate"}},
			{"type": "otlp", "url": "%[1]s/otlp"},
			{"type": "cloudwatch_logs", "region": "us-east-1", "log_group": "app", "log_stream": "api", "endpoint": %[1]q}]}]}`,
		srv.URL)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"AWS_ACCESS_KEY_ID=AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY=secret-for-a-stand-in", "AWS_EC2_METADATA_DISABLED=true"}
	p := startProc(t, env, "dataplane", "-host", "127.0.0.1", "-tcp-port", "0", "-udp-port", "off", "-http-port", "off",
		"-admin-port", "0", "-manifest", manifestPath)
	tcp := p.waitLog(tcpAddrRE)[1]
	conn, err := net.Dial("tcp", tcp)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintln(conn, "order 42 shipped to jane@example.com")
	conn.Close()
	for _, dest := range []string{"elasticsearch", "loki", "otlp", "cloudwatch_logs"} {
		waitUntil(t, dest+" to get the line", func() bool { return bytes.Contains(sink.body(dest), []byte("order 42 shipped to ")) })
		if b := sink.body(dest); bytes.Contains(b, []byte("jane@example.com")) {
			t.Errorf("%s got the email unredacted: %q", dest, b)
		}
	}
	p.stop()
}
