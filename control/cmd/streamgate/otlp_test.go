package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var otlpHTTPAddrRE = regexp.MustCompile(`otlp_http=(127\.0\.0\.1:\d+)`)

// TestDataplaneOTLP: OTLP/HTTP logs in OTLP JSON through the binary, an
// attribute_filter on the resource's service.name and a redact rule: each
// record leaves as one JSON line, the filtered service's record does not.
func TestDataplaneOTLP(t *testing.T) {
	manifestPath := filepath.Join(t.TempDir(), "manifest.json")
	err := os.WriteFile(manifestPath, []byte(`{"version": "1", "pipelines": [{"name": "p",
		"processors": [
			{"id": "drop_noisy", "type": "attribute_filter", "params": {"attribute": "service.name", "value": "noisy"}},
			{"id": "redact_email", "type": "redact", "params": {"detector": "email"}}],
		"outputs": [{"type": "console"}]}]}`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	p := startProc(t, nil, "dataplane", "-host", "127.0.0.1", "-tcp-port", "off", "-udp-port", "off", "-http-port", "off",
		"-admin-port", "0", "-otlp-http-port", "0", "-manifest", manifestPath)
	addr, admin := p.waitLog(otlpHTTPAddrRE)[1], p.waitLog(adminAddrRE)[1]

	body := `{"resourceLogs":[
	  {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},
	   "scopeLogs":[{"scope":{"name":"app"},"logRecords":[
	     {"timeUnixNano":"1767225600000000000","severityNumber":17,"severityText":"ERROR",
	      "body":{"stringValue":"payment failed for jane@example.com"},
	      "attributes":[{"key":"http.status_code","value":{"intValue":"502"}}]}]}]},
	  {"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"noisy"}}]},
	   "scopeLogs":[{"logRecords":[{"severityText":"DEBUG","body":{"stringValue":"tick"}}]}]}]}`
	resp, err := http.Post("http://"+addr+"/v1/logs", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/logs: %s; want 200", resp.Status)
	}
	resp, err = http.Post("http://"+addr+"/v1/logs", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST /v1/logs as text/plain: %s; want 415", resp.Status)
	}
	waitUntil(t, "a line on stdout", func() bool { return len(p.Stdout()) >= 1 })
	waitUntil(t, "both records counted", func() bool {
		return scrapeMetrics(t, admin)["streamgate_lines_filtered_total"] == 1
	})

	out := p.Stdout()
	if len(out) != 1 {
		t.Fatalf("stdout %q; want the checkout record alone", out)
	}
	var rec struct {
		SeverityText string         `json:"severityText"`
		Body         string         `json:"body"`
		Attributes   map[string]any `json:"attributes"`
		Resource     struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"resource"`
	}
	if err := json.Unmarshal([]byte(out[0]), &rec); err != nil {
		t.Fatalf("stdout line %q: %v", out[0], err)
	}
	if rec.SeverityText != "ERROR" || rec.Resource.Attributes["service.name"] != "checkout" || rec.Attributes["http.status_code"] == nil {
		t.Errorf("line %q: severity, resource or attributes lost", out[0])
	}
	if strings.Contains(out[0], "jane@example.com") || !strings.HasPrefix(rec.Body, "payment failed for ") {
		t.Errorf("line %q: the email is not redacted, or the body is lost", out[0])
	}
	m := scrapeMetrics(t, admin)
	if got := m["streamgate_lines_received_total"]; got != 2 {
		t.Errorf("streamgate_lines_received_total = %v; want 2", got)
	}
	p.stop()
}
