package sender

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/loadgen/corpus"
)

// TestSyslogFraming: a line becomes one RFC 5424 message, octet counted or
// newline ended, and completeFrames counts the whole ones of a cut write.
func TestSyslogFraming(t *testing.T) {
	h := syslogHeader(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC))
	if want := "<14>1 2026-01-02T03:04:05.000006Z loadgen-host loadgen - - - "; h != want {
		t.Fatalf("header: got %q; want %q", h, want)
	}
	line := []byte("ts=1 src=a seq=1 hello")
	for _, tc := range []struct {
		framing string
		want    string
	}{
		{SyslogOctet, "83 " + h + string(line)},
		{SyslogNewline, h + string(line) + "\n"},
	} {
		got := string(appendSyslog(nil, h, line, tc.framing))
		if got != tc.want {
			t.Errorf("%s: got %q; want %q", tc.framing, got, tc.want)
		}
		two := got + got
		for _, c := range []struct {
			cut   int
			n     int
			whole bool
		}{{len(two), 2, true}, {len(got), 1, true}, {len(got) + 3, 1, false}, {2, 0, false}} {
			n, whole := completeFrames([]byte(two[:c.cut]), tc.framing)
			if n != c.n || whole != c.whole {
				t.Errorf("%s cut at %d: got %d, %v; want %d, %v", tc.framing, c.cut, n, whole, c.n, c.whole)
			}
		}
	}
}

// TestOTLPTarget: an otlp:// target POSTs protobuf requests to /v1/logs,
// one per batch, each record holding its line.
func TestOTLPTarget(t *testing.T) {
	var mu sync.Mutex
	var requests int
	var bodies []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path != "/v1/logs" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("got %s %s; want /v1/logs, application/x-protobuf", r.URL.Path, r.Header.Get("Content-Type"))
		}
		requests++
		bodies = append(bodies, b...)
	}))
	defer srv.Close()
	sum, err := Run(context.Background(), Config{Target: "otlp://" + strings.TrimPrefix(srv.URL, "http://"), Conns: 1, Lines: 25, Batch: 10, Run: "r", Corpus: corpus.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 25 || requests != 3 {
		t.Fatalf("sent %d lines in %d requests; want 25 in 3", sum.Sent, requests)
	}
	for seq := 1; seq <= 25; seq++ {
		if !strings.Contains(string(bodies), " seq="+strconv.Itoa(seq)+" ") && !strings.Contains(string(bodies), `"seq":`+strconv.Itoa(seq)+",") {
			t.Errorf("no record of line %d", seq)
		}
	}
	if _, err := Run(context.Background(), Config{Target: "udp://127.0.0.1:9", Syslog: SyslogOctet, Corpus: corpus.DefaultConfig()}); err == nil || !strings.Contains(err.Error(), "syslog framing is for tcp") {
		t.Errorf("syslog over udp: got %v; want an error", err)
	}
}
