package pipeline

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"streamgate/dataplane/buffer"
	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/match"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
)

// Lines of the egress audit tests.
const (
	auditSSN       = "INFO user created ssn=123-45-6789"
	auditEscaped   = `{"a":"123\u002d45\u002d6789"}` // the SSN behind JSON escapes
	auditEmail     = "INFO mail sent to bob@example.com"
	auditClean     = "INFO GET /api/v1/orders/12345 status=200 duration=12.3ms"
	auditCleanJSON = `{"msg":"caf\u00e9 ready","orders":12345}`
)

// repeatLines returns texts repeated n times.
func repeatLines(n int, texts ...string) []string {
	var out []string
	for range n {
		out = append(out, texts...)
	}
	return out
}

// TestEgressAudit runs lines through a chain of redact rules, each naming
// a detector, to two outputs, with the egress audit scanning 1 line in
// every, and checks what it counts for each detector and output, and its
// warning: one, naming the detector, the version and the position of the
// first line found, never a value. A chain that forgot the ssn rule is
// caught, escaped SSNs included; one with the rule, or with the audit off,
// counts nothing; sampling scans exactly the every-th line.
func TestEgressAudit(t *testing.T) {
	mixed := []string{auditSSN, auditClean, auditEscaped, auditEmail, auditCleanJSON, auditSSN}
	cases := []struct {
		name  string
		rules []string // detectors the chain redacts
		every int
		lines []string
		want  map[string]uint64 // findings by detector, for each output
		// wantLine is the position (1-based, in the worker's emitted
		// lines) the warning names; 0 when there is no warning.
		wantLine int
	}{
		{"ssn_rule_missing", []string{"email"}, 1, mixed, map[string]uint64{"ssn": 3}, 1},
		{"ssn_rule_present", []string{"email", "ssn"}, 1, mixed, nil, 0},
		{"no_rule", nil, 1, mixed, map[string]uint64{"ssn": 3, "email": 1}, 1},
		{"off", nil, -1, mixed, nil, 0},
		{"one_in_3_due_lines_leak", nil, 3, repeatLines(10, auditClean, auditCleanJSON, auditSSN), map[string]uint64{"ssn": 10}, 3},
		{"one_in_3_due_lines_clean", nil, 3, repeatLines(10, auditSSN, auditEscaped, auditClean), nil, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var steps []processor.Step
			for _, d := range c.rules {
				steps = append(steps, mustStep(t, "redact_"+d, "redact", `{"detector":"`+d+`"}`))
			}
			sinks := []string{capture.Unique("audit-a"), capture.Unique("audit-b")}
			var outs []output.Config
			for _, s := range sinks {
				outs = append(outs, capture.Config(s))
			}
			var logs logbuf.Buffer
			p, err := New(Options{Workers: 1, Overflow: buffer.Block, AuditEvery: c.every, Logger: logs.Logger()},
				&Config{Version: "v7", Chain: processor.NewChain(steps...), Outputs: outs, BatchSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			p.m.Received.Add(len(c.lines))
			if err := p.Push(context.Background(), lineBatch(0, c.lines...), 0); err != nil {
				t.Fatal(err)
			}
			closePipeline(t, p)
			checkAccounting(t, p.m, 0)
			for _, s := range sinks {
				if got := capture.Get(s).Len(); got != len(c.lines) {
					t.Fatalf("output %s: got %d lines; want %d", s, got, len(c.lines))
				}
			}

			var total uint64
			for _, n := range c.want {
				total += n * uint64(len(outs))
			}
			if got := p.m.EgressPIITotal(); got != total {
				t.Errorf("EgressPIITotal: got %d; want %d", got, total)
			}
			wantAudited := 0
			if c.every > 0 {
				wantAudited = len(c.lines) / c.every
			}
			if got := p.m.EgressAudited.Get(); got != uint64(wantAudited) {
				t.Errorf("lines audited: got %d; want %d", got, wantAudited)
			}
			var exposition bytes.Buffer
			p.m.WritePrometheus(&exposition)
			if c.every < 0 {
				if strings.Contains(exposition.String(), "streamgate_egress_pii_total") {
					t.Errorf("audit off, yet /metrics has egress series:\n%s", exposition.String())
				}
			} else {
				for _, oc := range outs {
					for _, d := range match.DetectorNames() {
						if got, want := p.m.EgressPII(d, oc.Name()).Get(), c.want[d]; got != want {
							t.Errorf("streamgate_egress_pii_total{detector=%q,output=%q}: got %d; want %d", d, oc.Name(), got, want)
						}
					}
				}
				series := `streamgate_egress_pii_total{detector="ssn",output="` + outs[1].Name() + `"} `
				if !strings.Contains(exposition.String(), series) {
					t.Errorf("/metrics lacks %s", series)
				}
			}

			log := logs.String()
			if n := strings.Count(log, "personal data found leaving"); n != min(1, c.wantLine) {
				t.Fatalf("got %d warnings; want %d (rate-limited):\n%s", n, min(1, c.wantLine), log)
			}
			if c.wantLine > 0 {
				line := logs.LineWith("personal data found leaving")
				for _, want := range []string{"level=WARN", "version=v7", "worker=0", "line=" + strconv.Itoa(c.wantLine), outs[0].Name(), outs[1].Name()} {
					if !strings.Contains(line, want) {
						t.Errorf("warning %q lacks %q", line, want)
					}
				}
			}
			for _, secret := range []string{"6789", "u002d", "bob@"} {
				if strings.Contains(log, secret) {
					t.Errorf("the log holds %q, part of a line's value:\n%s", secret, log)
				}
			}
		})
	}
}

// TestAuditKeyContext: the audit's combined pass finds what needs the key
// of a JSON value as its context word, as each detector alone does.
func TestAuditKeyContext(t *testing.T) {
	a, err := newAudit([]string{"us_ssn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{`{"ssn":"123456789"}`, `{"\u0073sn":123456789}`, "ssn=123456789"} {
		if !a.any.Finds([]byte(l)) || !a.auditors[0].r.Finds([]byte(l)) {
			t.Errorf("%s: any %v, us_ssn %v; want both to find it", l, a.any.Finds([]byte(l)), a.auditors[0].r.Finds([]byte(l)))
		}
	}
	if _, err := newAudit([]string{"nope"}); err == nil {
		t.Error("newAudit(nope): got nil; want an error")
	}
}
