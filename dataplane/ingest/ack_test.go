package ingest

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// ackSink does with each batch what its mode says: "settle" settles its
// Acks (the lines are safe), "drop" recycles it unsettled (the lines were
// dropped), "hold" keeps it until release.
type ackSink struct {
	mode  string
	mu    sync.Mutex
	held  []*record.Batch
	acked int // batches that carried an Ack
}

func (s *ackSink) Push(_ context.Context, b *record.Batch, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Acked() {
		s.acked++
	}
	switch s.mode {
	case "settle":
		b.SettleAcks(true)
	case "hold":
		s.held = append(s.held, b)
		return nil
	}
	record.Put(b)
	return nil
}

func (s *ackSink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.held {
		record.Put(b)
	}
	s.held = nil
}

// TestHTTPAck: an acknowledged request is answered 202 once its lines are
// settled, 503 with Retry-After when one was dropped or the wait timed
// out; a request that is not acknowledged is answered at once.
func TestHTTPAck(t *testing.T) {
	for _, tc := range []struct {
		name       string
		durable    bool // -ingest-ack durable
		query      string
		mode       string
		wantStatus int
		wantBody   string
		wantAcked  int    // batches the sink saw with an Ack
		wantResult string // streamgate_ingest_acks_total's result counted, "" none
	}{
		{"durable, settled", false, "?ack=durable", "settle", 202, `"durable":true`, 1, metrics.AckOK},
		{"durable, dropped", false, "?ack=durable", "drop", 503, "dropped before they were safe", 1, metrics.AckFailed},
		{"durable, too slow", false, "?ack=durable", "hold", 503, "not all settled within", 1, metrics.AckTimeout},
		{"durable by default", true, "", "settle", 202, `"durable":true`, 1, metrics.AckOK},
		{"opted out", true, "?ack=none", "drop", 202, `"accepted":2,"oversize":0}`, 0, ""},
		{"not asked", false, "", "drop", 202, `"accepted":2,"oversize":0}`, 0, ""},
		{"unknown mode", false, "?ack=maybe", "settle", 400, `{"detail":"ack: want durable or none; got \"maybe\""}`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink, m := &ackSink{mode: tc.mode}, metrics.New()
			h, err := ListenHTTP("127.0.0.1:0", Config{Sink: sink, Metrics: m,
				Limits: Limits{AckDurable: tc.durable, AckTimeout: 100 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			go h.Serve()
			t.Cleanup(func() { sink.release(); h.Shutdown(context.Background()) })
			resp, err := http.Post("http://"+h.Addr().String()+"/ingest"+tc.query, "text/plain", strings.NewReader("one\ntwo\n"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantBody) {
				t.Fatalf("got %d %q; want %d with %q", resp.StatusCode, body, tc.wantStatus, tc.wantBody)
			}
			if tc.wantStatus == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			sink.mu.Lock()
			acked := sink.acked
			sink.mu.Unlock()
			if acked != tc.wantAcked {
				t.Errorf("batches with an Ack: got %d; want %d", acked, tc.wantAcked)
			}
			for _, r := range []string{metrics.AckOK, metrics.AckFailed, metrics.AckTimeout} {
				want := uint64(0)
				if r == tc.wantResult {
					want = 1
				}
				if got := m.IngestAck(r).Get(); got != want {
					t.Errorf("acks %s: got %d; want %d", r, got, want)
				}
			}
		})
	}
}
