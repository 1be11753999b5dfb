package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/internal/logbuf"
	"streamgate/dataplane/pipeline"
	"streamgate/dataplane/rdb"
	"streamgate/dataplane/watch"
)

// forgotEmail redacts SSNs, cards and IPv4 addresses, but has no rule for
// e-mail addresses.
func forgotEmail(sink string) string {
	return `{"version":"4","pipelines":[{"name":"p","processors":[
		{"id":"ssn","type":"redact","params":{"detector":"ssn"}},
		{"id":"cards","type":"redact","params":{"detector":"credit_card"}},
		{"id":"ips","type":"redact","params":{"detector":"ipv4"}}],
		"outputs":[{"type":"capture","url":"` + sink + `"}],"batch_size":50}]}`
}

// adminGet fetches path from s's admin port.
func adminGet(t *testing.T, s *Server, path string) []byte {
	t.Helper()
	resp, err := http.Get("http://" + s.AdminAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d, %v\n%s", path, resp.StatusCode, err, body)
	}
	return body
}

// TestEgressAuditCatchesMissingRule runs a data plane whose manifest forgot
// the e-mail rule, following a Redis, and sends it lines over TCP, each
// with an e-mail address and values the other rules redact. The egress
// audit counts the addresses it samples, and only them, in /metrics, in
// /status and in the heartbeat the fleet reads, and warns once, naming the
// manifest version and not the address; the lines themselves leave as the
// chain made them.
func TestEgressAuditCatchesMissingRule(t *testing.T) {
	const lines = 300
	for _, c := range []struct {
		name  string
		every int // pipeline.Options.AuditEvery
		want  uint64
	}{
		{"default", 0, lines / pipeline.DefaultAuditEvery},
		{"every_line", 1, lines},
		{"off", -1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink := capture.Unique("egress")
			logs := &logbuf.Buffer{}
			rc := rdb.NewClient(rdb.Options{Addrs: []string{miniredis.RunT(t).Addr()}})
			t.Cleanup(func() { rc.Close() })
			s := start(t, Options{
				AdminAddr: "127.0.0.1:0",
				Manifest:  mustManifest(t, forgotEmail(sink)),
				Pipeline:  pipeline.Options{Workers: 1, AuditEvery: c.every},
				Watch:     &watch.Options{Client: rc, ID: "dp-egress", Heartbeat: 20 * time.Millisecond, Resync: time.Minute},
				Logger:    logs.Logger(),
			})
			conn, err := net.Dial("tcp", s.TCPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			w := bufio.NewWriter(conn)
			for i := range lines {
				fmt.Fprintf(w, "INFO signup n=%d user=user%d@example.com ssn=123-45-6789 card=4111 1111 1111 1111 from 10.1.2.3\n", i, i)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			waitFor(t, "every line delivered", func() bool { return capture.Get(sink).Len() == lines })
			for _, l := range capture.Get(sink).Lines() {
				if hasSSN([]byte(l)) || strings.Contains(l, "4111") || strings.Contains(l, "10.1.2.3") || !strings.Contains(l, "@example.com") {
					t.Fatalf("line %q: want the SSN, card and address redacted and the e-mail address left, as the chain says", l)
				}
			}

			series := func(detector string) string {
				return `streamgate_egress_pii_total{detector="` + detector + `",output="capture:` + sink + `"}`
			}
			if c.every < 0 {
				if m := adminGet(t, s, "/metrics"); strings.Contains(string(m), "streamgate_egress_pii_total") {
					t.Errorf("audit off, yet /metrics has egress series")
				}
			} else {
				if got := metricValue(t, s, series("email")); got != c.want {
					t.Errorf("%s: got %d; want %d", series("email"), got, c.want)
				}
				for _, d := range []string{"ssn", "credit_card", "ipv4"} {
					if got := metricValue(t, s, series(d)); got != 0 {
						t.Errorf("%s: got %d; want 0: the chain redacts it", series(d), got)
					}
				}
			}

			var st struct {
				Emitted   uint64 `json:"emitted"`
				EgressPII uint64 `json:"egress_pii"`
			}
			if err := json.Unmarshal(adminGet(t, s, "/status"), &st); err != nil {
				t.Fatal(err)
			}
			if st.Emitted != lines || st.EgressPII != c.want {
				t.Errorf("/status: emitted %d, egress_pii %d; want %d, %d", st.Emitted, st.EgressPII, lines, c.want)
			}
			var fleet []rdb.Heartbeat
			waitFor(t, "a heartbeat with every line", func() bool {
				fleet, err = rdb.ListFleet(context.Background(), rc)
				return err == nil && len(fleet) == 1 && fleet[0].Emitted == lines
			})
			if fleet[0].EgressPII != c.want {
				t.Errorf("fleet heartbeat: egress_pii %d; want %d", fleet[0].EgressPII, c.want)
			}

			warnings := strings.Count(logs.String(), "personal data found leaving")
			if want := min(1, c.want); uint64(warnings) != want {
				t.Errorf("got %d warnings; want %d (one a minute)\n%s", warnings, want, logs)
			}
			if c.want > 0 {
				line := logs.LineWith("personal data found leaving")
				for _, want := range []string{"level=WARN", "detector=email", "version=4", "worker=0", "capture:" + sink} {
					if !strings.Contains(line, want) {
						t.Errorf("warning %q lacks %q", line, want)
					}
				}
			}
			if strings.Contains(logs.String(), "@example.com") {
				t.Errorf("the log holds an e-mail address:\n%s", logs)
			}
		})
	}
}
