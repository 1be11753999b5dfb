package main

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
)

// TestPreviewFromLiveTap runs `up` with lines flowing and previews the
// draft on the lines its data plane processes: POST /preview with "tap"
// finds the data plane's admin port in its heartbeat, reads its tap, and
// says where the lines came from; they come redacted by the live rules.
func TestPreviewFromLiveTap(t *testing.T) {
	up := startProc(t, []string{"EMBEDDED_REDIS_ADDR=127.0.0.1:0"}, append([]string{"up", "-api-host", "127.0.0.1", "-api-port", "0"}, onFreePorts...)...)
	api := up.waitLog(apiRE)[1]
	tcp, admin := up.waitLog(tcpAddrRE)[1], up.waitLog(adminAddrRE)[1]

	// Live: redact SSNs. Draft: also drop DEBUG.
	post(t, api+"/rules", `{"id": "redact_ssn", "type": "redact", "params": {"detector": "ssn"}}`)
	version := publishVersion(t, api)
	waitFleet(t, api, 1, version)
	post(t, api+"/rules", `{"id": "drop_debug", "type": "filter", "params": {"value": "DEBUG"}}`)

	var fleet struct {
		Instances []struct {
			ID          string `json:"id"`
			AdminAddr   string `json:"admin_addr"`
			AdminScheme string `json:"admin_scheme"`
		} `json:"instances"`
	}
	getJSON(t, api+"/fleet", &fleet)
	if len(fleet.Instances) != 1 || fleet.Instances[0].AdminAddr != admin || fleet.Instances[0].AdminScheme != "http" {
		t.Fatalf("GET /fleet: %+v; want one instance with admin_addr %s, http", fleet, admin)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sendTraffic(ctx, t, tcp)
	}()

	body := post(t, api+"/preview", `{"tap": {"n": 40, "wait_ms": 15000}}`)
	var p struct {
		Version string `json:"version"`
		Lines   []struct {
			Kept      bool    `json:"kept"`
			DroppedBy string  `json:"dropped_by"`
			Output    *string `json:"output"`
		} `json:"lines"`
		Totals struct {
			Lines   int `json:"lines"`
			Dropped int `json:"dropped"`
		} `json:"totals"`
		Source struct {
			Instance string `json:"instance"`
			Tapped   int    `json:"tapped"`
			Lines    int    `json:"lines"`
		} `json:"source"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if s := p.Source; s.Instance != fleet.Instances[0].ID || s.Tapped != 40 || s.Lines != 40 || p.Totals.Lines != 40 || p.Version != "draft" {
		t.Fatalf("POST /preview from the tap: %s; want 40 lines of %s previewed through the draft", body, fleet.Instances[0].ID)
	}
	if strings.Contains(body, "123-45-") {
		t.Errorf("the preview shows an SSN the live rules redact: %s", body)
	}
	redacted := 0
	for _, l := range p.Lines {
		if !l.Kept && l.DroppedBy != "drop_debug" {
			t.Errorf("a line dropped by %q; want drop_debug alone", l.DroppedBy)
		}
		if l.Output != nil && strings.Contains(*l.Output, "ssn=") {
			redacted++
		}
	}
	// One line in four is DEBUG, one an SSN.
	if p.Totals.Dropped == 0 || redacted == 0 {
		t.Errorf("the preview drops %d lines and shows %d redacted; want some of each: %s", p.Totals.Dropped, redacted, body)
	}
}
