package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"streamgate/dataplane/deadletter"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// TestSettle: how the lines of a failed Write are counted.
func TestSettle(t *testing.T) {
	lines := [][]byte{[]byte("a"), []byte("b"), []byte("c"), []byte("d")}
	perm := func(idx []int, failed int) error {
		return fmt.Errorf("wrapped: %w", &output.PermanentError{Status: 400, Lines: idx, Failed: failed, Err: errors.New("refused")})
	}
	for _, c := range []struct {
		name                        string
		err                         error
		delivered, failed, rejected int
		dead                        string
	}{
		{"failure", errors.New("connection refused"), 0, 4, 0, "[]"},
		{"rejected, unnamed", &output.RejectedError{Rejected: 3, Lines: 4}, 1, 0, 3, "[]"},
		{"rejected, more than sent", &output.RejectedError{Rejected: 9, Lines: 4}, 0, 0, 4, "[]"},
		{"refused whole", perm(nil, 0), 0, 0, 0, "[a b c d]"},
		{"refused in part", perm([]int{1, 3}, 0), 2, 0, 0, "[b d]"},
		{"refused in part, some failed", perm([]int{0}, 2), 1, 2, 0, "[a]"},
		{"bad indexes ignored", perm([]int{2, 1, 7, -1}, 0), 3, 0, 0, "[c]"},
		{"failed past the batch", perm([]int{0, 1}, 5), 0, 2, 0, "[a b]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := settle(lines, c.err)
			if s.delivered != c.delivered || s.failed != c.failed || s.rejected != c.rejected || fmt.Sprintf("%s", s.dead) != c.dead {
				t.Errorf("settle: delivered %d, failed %d, rejected %d, dead %s; want %d, %d, %d, %s",
					s.delivered, s.failed, s.rejected, s.dead, c.delivered, c.failed, c.rejected, c.dead)
			}
			if s.delivered+s.failed+s.rejected+len(s.dead) != len(lines) {
				t.Errorf("settle counts %d lines; want %d", s.delivered+s.failed+s.rejected+len(s.dead), len(lines))
			}
		})
	}
}

// flipServer answers every request with its current status, and records
// the lines of the requests it took (2xx).
type flipServer struct {
	*httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []string // lines taken
	seen   int      // requests
}

func newFlipServer(t *testing.T, status int) *flipServer {
	s := &flipServer{}
	s.status.Store(int32(status))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		code := int(s.status.Load())
		s.mu.Lock()
		s.seen++
		if code < 300 {
			s.got = append(s.got, strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")...)
		}
		s.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":"status %d from the test server"}`, code)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *flipServer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// checkOutput asserts the accounting of one output of a quiet pipeline:
// emitted + replayed = delivered + dropped + dead_lettered.
func checkOutput(t *testing.T, m *metrics.Metrics, name string) {
	t.Helper()
	var o metrics.OutputTotals
	for _, x := range m.Outputs() {
		if x.Name == name {
			o = x
		}
	}
	emitted := m.Emitted.Get()
	if emitted+o.Replayed != o.Delivered+o.Dropped+o.DeadLettered {
		t.Fatalf("%s: emitted %d + replayed %d != delivered %d + dropped %d + dead-lettered %d",
			name, emitted, o.Replayed, o.Delivered, o.Dropped, o.DeadLettered)
	}
}

// TestDeadLettersReplayed: batches an http destination refuses with 400
// become dead letters, not drops; once it takes them, a replay delivers
// each line exactly once and empties the file. The accounting holds at
// every step.
func TestDeadLettersReplayed(t *testing.T) {
	srv := newFlipServer(t, http.StatusBadRequest)
	dataDir := t.TempDir()
	oc := output.Config{Type: "http", URL: srv.URL + "/logs", LingerMS: new(int)}
	p, err := New(Options{Workers: 2, FlushInterval: time.Hour, DataDir: dataDir}, &Config{Version: "1", Outputs: []output.Config{oc}, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	name := oc.Name()
	var want []string
	for i := range 4 {
		lines := []string{fmt.Sprintf("line %d.0", i), fmt.Sprintf("line %d.1 \xff", i), fmt.Sprintf("line %d.2", i)}
		want = append(want, lines...)
		if err := p.Push(context.Background(), lineBatch(uint64(i), lines...), 0); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the batches to be dead-lettered", func() bool { return p.m.DeadLettered(name).Get() == 12 })
	if got := p.m.OutputDropped(name, metrics.ReasonOutputFailed).Get(); got != 0 {
		t.Errorf("output_failed: %d; want 0", got)
	}
	checkOutput(t, p.m, name)

	st, err := p.DeadLetters()
	if err != nil || len(st) != 1 || st[0].Output != name || st[0].Entries != 4 || st[0].Lines != 12 {
		t.Fatalf("DeadLetters: %+v, %v; want 4 entries of 12 lines for %s", st, err, name)
	}
	f, err := p.DeadLetterFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if want := dataDir + "/dlq/" + deadletter.FileName(name); f.Path() != want {
		t.Errorf("file %s; want %s", f.Path(), want)
	}
	var kept []string
	f.Entries(func(e *deadletter.Entry) bool {
		if e.Status != 400 || !strings.Contains(string(e.Response), "status 400 from the test server") || e.Output != name {
			t.Errorf("entry %+v; want status 400, the response and the output's name", e)
		}
		for _, l := range e.Lines {
			kept = append(kept, string(l))
		}
		return true
	})
	slices.Sort(kept)
	if !slices.Equal(kept, want) {
		t.Errorf("dead letters hold %q; want %q", kept, want)
	}

	// Refused again: the replay stops, naming the status; nothing moves.
	res, err := p.ReplayDeadLetters(context.Background(), name, time.Minute)
	var refused *RefusedError
	if !errors.As(err, &refused) || refused.Status != 400 || res.Entries != 0 || res.Remaining.Entries != 4 {
		t.Fatalf("replay while refused: %+v, %v; want a RefusedError 400 and 4 entries left", res, err)
	}
	checkOutput(t, p.m, name)

	srv.status.Store(http.StatusOK)
	res, err = p.ReplayDeadLetters(context.Background(), name, time.Minute)
	if err != nil || res.Entries != 4 || res.Lines != 12 || res.Remaining.Entries != 0 || res.Incomplete {
		t.Fatalf("replay: %+v, %v; want 4 entries and 12 lines out, none left", res, err)
	}
	got := srv.lines()
	slices.Sort(got)
	// The http output's text format sends the bytes as they are.
	if !slices.Equal(got, want) {
		t.Errorf("server took %q; want each line once: %q", got, want)
	}
	if got := p.m.DeadLetterReplayed(name).Get(); got != 12 {
		t.Errorf("replayed: %d; want 12", got)
	}
	if got := p.m.Delivered(name).Get(); got != 12 {
		t.Errorf("delivered: %d; want 12", got)
	}
	checkOutput(t, p.m, name)
	if _, err := os.Stat(f.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead-letter file: %v; want it removed once empty", err)
	}
	if st, _ := p.DeadLetters(); len(st) != 0 {
		t.Errorf("DeadLetters after replay: %+v; want none", st)
	}

	// A second replay has nothing to send.
	if res, err := p.ReplayDeadLetters(context.Background(), name, time.Minute); err != nil || res.Entries != 0 {
		t.Errorf("second replay: %+v, %v; want nothing", res, err)
	}
	if _, err := p.ReplayDeadLetters(context.Background(), "http:http://nowhere", time.Minute); !errors.Is(err, ErrNoOutput) {
		t.Errorf("replay of an unknown output: %v; want ErrNoOutput", err)
	}
}

// TestDeadLetterFull: a refused batch the file cannot take is dropped and
// counted (reason dead_letter_full); a purge counts what it removes.
func TestDeadLetterFull(t *testing.T) {
	srv := newFlipServer(t, http.StatusForbidden)
	oc := output.Config{Type: "http", URL: srv.URL, LingerMS: new(int)}
	p, err := New(Options{Workers: 1, FlushInterval: time.Hour, DataDir: t.TempDir(), DeadLetterMaxBytes: 400},
		&Config{Version: "1", Outputs: []output.Config{oc}, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	name := oc.Name()
	for i := range 5 {
		if err := p.Push(context.Background(), lineBatch(0, fmt.Sprintf("a %d", i), strings.Repeat("x", 60)), 0); err != nil {
			t.Fatal(err)
		}
	}
	full := p.m.OutputDropped(name, metrics.ReasonDeadLetterFull)
	waitFor(t, "every batch settled", func() bool { return p.m.DeadLettered(name).Get()+full.Get() == 10 })
	if full.Get() == 0 || p.m.DeadLettered(name).Get() == 0 {
		t.Errorf("dead-lettered %d, dead_letter_full %d; want both", p.m.DeadLettered(name).Get(), full.Get())
	}
	checkOutput(t, p.m, name)

	st, err := p.PurgeDeadLetters(name)
	if err != nil || uint64(st.Lines) != p.m.DeadLettered(name).Get() {
		t.Fatalf("purge: %+v, %v; want the %d lines dead-lettered", st, err, p.m.DeadLettered(name).Get())
	}
	if got := p.m.DeadLetterPurged(name).Get(); got != uint64(st.Lines) {
		t.Errorf("purged counter: %d; want %d", got, st.Lines)
	}
	if _, err := p.PurgeDeadLetters("http:http://nowhere"); !errors.Is(err, ErrNoOutput) {
		t.Errorf("purge of an unknown output: %v; want ErrNoOutput", err)
	}
}

// partialOutput refuses for good, by index, the lines that start with
// "bad", as elasticsearch does; while refuse is off it takes every line.
type partialOutput struct {
	refuse *atomic.Bool
	mu     *sync.Mutex
	got    *[]string
}

func (o partialOutput) Write(_ context.Context, b *record.Batch) error {
	var bad []int
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, l := range b.Lines {
		if o.refuse.Load() && strings.HasPrefix(string(l), "bad") {
			bad = append(bad, i)
			continue
		}
		*o.got = append(*o.got, string(l))
	}
	if bad == nil {
		return nil
	}
	return &output.PermanentError{Status: 400, Response: []byte("mapper_parsing_exception"), Lines: bad, Err: errors.New("refused")}
}

func (partialOutput) Close() error { return nil }

var (
	registerPartial sync.Once
	partialRefuse   atomic.Bool
	partialMu       sync.Mutex
	partialGot      []string
)

// TestDeadLettersInPart: the lines a destination names as refused become
// dead letters, the others of their batch are delivered; a replay sends
// only the refused ones.
func TestDeadLettersInPart(t *testing.T) {
	registerPartial.Do(func() {
		err := output.Register("partial", output.Type{
			Validate: func(*output.Config) error { return nil },
			New: func(*output.Config) (output.Output, error) {
				return partialOutput{refuse: &partialRefuse, mu: &partialMu, got: &partialGot}, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	partialRefuse.Store(true)
	p, err := New(Options{Workers: 1, FlushInterval: time.Hour, DataDir: t.TempDir()}, &Config{
		Version: "1", Outputs: []output.Config{{Type: "partial"}}, BatchSize: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	if err := p.Push(context.Background(), lineBatch(1, "ok 1", "bad 1", "ok 2", "bad 2", "ok 3"), 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the batch settled", func() bool { return p.m.DeadLettered("partial").Get() == 2 })
	if got := p.m.Delivered("partial").Get(); got != 3 {
		t.Errorf("delivered %d; want the 3 kept", got)
	}
	checkOutput(t, p.m, "partial")
	partialRefuse.Store(false)
	res, err := p.ReplayDeadLetters(context.Background(), "partial", time.Minute)
	if err != nil || res.Lines != 2 {
		t.Fatalf("replay: %+v, %v; want 2 lines", res, err)
	}
	partialMu.Lock()
	got := slices.Clone(partialGot)
	partialMu.Unlock()
	if want := []string{"ok 1", "ok 2", "ok 3", "bad 1", "bad 2"}; !slices.Equal(got, want) {
		t.Errorf("destination took %q; want %q", got, want)
	}
	checkOutput(t, p.m, "partial")
}
