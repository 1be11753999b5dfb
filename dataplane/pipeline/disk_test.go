package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/metrics"
	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// diskConfig is a capture output writing to sink with a disk buffer.
func diskConfig(sink string, buf output.BufferConfig) output.Config {
	c := capture.Config(sink)
	buf.Type = output.BufferDisk
	c.Buffer = &buf
	return c
}

// pushLines pushes n lines "<prefix> <i>" in batches of 10 under key 1.
func pushLines(t *testing.T, p *Pipeline, prefix string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i += 10 {
		var texts []string
		for j := i; j < min(i+10, from+n); j++ {
			texts = append(texts, fmt.Sprintf("%s %d", prefix, j))
		}
		if err := p.Push(context.Background(), lineBatch(1, texts...), 0); err != nil {
			t.Fatal(err)
		}
	}
}

// outputBalance checks an output's accounting: what it was handed this
// run (emitted) and what its disk buffer restored equal what it delivered,
// dropped and still queues.
func outputBalance(t *testing.T, p *Pipeline, name string, emitted uint64) {
	t.Helper()
	m := p.Metrics()
	restored := m.OutputCount(name, metrics.OutputRestored).Get()
	var out metrics.OutputTotals
	for _, o := range m.Outputs() {
		if o.Name == name {
			out = o
		}
	}
	queued := p.queueOf(name).Lines
	if emitted+restored != out.Delivered+out.Dropped+uint64(queued) {
		t.Fatalf("%s: emitted %d + restored %d != delivered %d + dropped %d + queued %d",
			name, emitted, restored, out.Delivered, out.Dropped, queued)
	}
}

// TestDiskBufferDelivers: lines go through the disk queue to the output,
// in order, and the queue is empty and its segments gone once they are
// delivered. Files are private to the data plane's user.
func TestDiskBufferDelivers(t *testing.T) {
	dir := t.TempDir()
	sink := capture.Unique("disk")
	cfg := diskConfig(sink, output.BufferConfig{Sync: "always"})
	p, err := New(Options{Workers: 2, DataDir: dir, FlushInterval: 5 * time.Millisecond},
		&Config{Version: "1", Outputs: []output.Config{cfg}, BatchSize: 7})
	if err != nil {
		t.Fatal(err)
	}
	pushLines(t, p, "line", 0, 1000)
	waitFor(t, "1000 lines delivered", func() bool { return capture.Get(sink).Len() == 1000 })
	want := make([]string, 1000)
	for i := range want {
		want[i] = fmt.Sprintf("line %d", i)
	}
	if got := capture.Get(sink).Lines(); !slices.Equal(got, want) {
		t.Fatalf("delivered out of order or changed: first %q", got[:min(5, len(got))])
	}
	waitFor(t, "the queue empty", func() bool { return p.queueOf(cfg.Name()).Lines == 0 })
	qdir := filepath.Join(dir, queuesDir, cfg.QueueID())
	for _, path := range []string{filepath.Join(dir, queuesDir), qdir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, mode %v; want a folder of mode 0700", path, err, fi.Mode().Perm())
		}
	}
	filepath.WalkDir(qdir, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v; want 0600", path, fi.Mode().Perm())
			}
		}
		return nil
	})
	closePipeline(t, p)
	outputBalance(t, p, cfg.Name(), 1000)
	if q := p.Queues(); len(q) != 0 {
		t.Errorf("Queues after Close: %+v; want none", q)
	}
}

// TestDiskBufferOutlivesRestart: what an output could not deliver stays on
// disk across a restart, is counted as queued, and is delivered first by
// the next pipeline on the same data directory.
func TestDiskBufferOutlivesRestart(t *testing.T) {
	dir := t.TempDir()
	sink := capture.Unique("disk")
	capture.Get(sink).SetFail(errors.New("vendor down"))
	cfg := diskConfig(sink, output.BufferConfig{Sync: "interval", SyncIntervalMS: 10})
	name := cfg.Name()
	opts := Options{Workers: 2, DataDir: dir, FlushInterval: 5 * time.Millisecond}
	p, err := New(opts, &Config{Version: "1", Outputs: []output.Config{cfg}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	pushLines(t, p, "first", 0, 500)
	waitFor(t, "500 lines on disk", func() bool {
		q := p.queueOf(name)
		return q.Lines == 500 && q.MemoryBytes == 0 && q.DiskBytes > 0
	})
	waitFor(t, "a batch being tried", func() bool { return p.queueOf(name).OldestSeconds > 0 })
	closePipeline(t, p) // does not wait for the vendor
	outputBalance(t, p, name, 500)
	if n := p.m.Delivered(name).Get(); n != 0 {
		t.Fatalf("delivered %d while the vendor was down", n)
	}

	capture.Get(sink).SetFail(nil)
	p2, err := New(opts, &Config{Version: "1", Outputs: []output.Config{cfg}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got := p2.m.OutputCount(name, metrics.OutputRestored).Get(); got != 500 {
		t.Fatalf("restored %d lines; want 500", got)
	}
	pushLines(t, p2, "second", 0, 100)
	waitFor(t, "600 lines delivered", func() bool { return capture.Get(sink).Len() == 600 })
	lines := capture.Get(sink).Lines()
	if !strings.HasPrefix(lines[0], "first ") || !strings.HasPrefix(lines[599], "second ") {
		t.Errorf("the last run's lines were not delivered first: %q ... %q", lines[0], lines[599])
	}
	closePipeline(t, p2)
	outputBalance(t, p2, name, 100)
}

// TestDiskBufferFull: under a drop policy, a disk queue at its bound drops
// the newest batches, counted (reason disk_full), and loses nothing else.
func TestDiskBufferFull(t *testing.T) {
	dir := t.TempDir()
	sink := capture.Unique("disk")
	capture.Get(sink).SetFail(errors.New("vendor down"))
	cfg := diskConfig(sink, output.BufferConfig{MaxBytes: output.MinDiskMaxBytes, Sync: "never"})
	name := cfg.Name()
	p, err := New(Options{Workers: 1, DataDir: dir, FlushInterval: 5 * time.Millisecond},
		&Config{Version: "1", Outputs: []output.Config{cfg}, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 200)
	for i := range 100 {
		pushLines(t, p, fmt.Sprintf("%s %d", long, i), 0, 100) // 100 × 100 lines of ~210 B: 2 MiB
	}
	full := p.m.OutputDropped(name, metrics.ReasonDiskFull)
	waitFor(t, "every line on disk or dropped", func() bool {
		q := p.queueOf(name)
		return q.MemoryBytes == 0 && uint64(q.Lines)+full.Get() == 10000
	})
	if full.Get() == 0 {
		t.Fatal("no line dropped as disk_full past max_bytes")
	}
	if b := p.queueOf(name).DiskBytes; b > output.MinDiskMaxBytes {
		t.Errorf("disk bytes %d over max_bytes %d", b, output.MinDiskMaxBytes)
	}
	capture.Get(sink).SetFail(nil)
	waitFor(t, "the queue delivered", func() bool { return p.queueOf(name).Lines == 0 })
	closePipeline(t, p)
	outputBalance(t, p, name, 10000)
	if got, want := uint64(capture.Get(sink).Len()), 10000-full.Get(); got != want {
		t.Errorf("delivered %d lines; want the %d not dropped", got, want)
	}
}

// TestDiskBufferReload: a reload that changes only the buffer's settings
// keeps the queue; one that removes the output drains it, and one that
// cannot drain it in time drops what is left, counted, and deletes it.
func TestDiskBufferReload(t *testing.T) {
	dir := t.TempDir()
	sink := capture.Unique("disk")
	s := capture.Get(sink)
	s.SetFail(errors.New("vendor down"))
	a := diskConfig(sink, output.BufferConfig{Sync: "never"})
	b := diskConfig(sink, output.BufferConfig{Sync: "always"})
	name := a.Name()
	p, err := New(Options{Workers: 2, DataDir: dir, FlushInterval: 5 * time.Millisecond, DiskDrainTimeout: 300 * time.Millisecond},
		&Config{Version: "1", Outputs: []output.Config{a}, BatchSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	pushLines(t, p, "v1", 0, 200)
	waitFor(t, "200 lines on disk", func() bool { return p.queueOf(name).Lines == 200 })
	if err := p.Apply(&Config{Version: "2", Outputs: []output.Config{b}, BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	pushLines(t, p, "v2", 0, 100)
	waitFor(t, "300 lines on disk", func() bool { return p.queueOf(name).Lines == 300 })
	s.SetFail(nil)
	waitFor(t, "300 lines delivered", func() bool { return s.Len() == 300 })

	// Removed while the vendor is down: not drained in time, dropped.
	s.SetFail(errors.New("vendor down again"))
	pushLines(t, p, "v2", 100, 50)
	waitFor(t, "50 lines on disk", func() bool { return p.queueOf(name).Lines == 50 })
	console := capture.Config(capture.Unique("other"))
	if err := p.Apply(&Config{Version: "3", Outputs: []output.Config{console}, BatchSize: 10}); err != nil {
		t.Fatal(err)
	}
	removed := p.m.OutputDropped(name, metrics.ReasonRemoved)
	var counted uint64
	waitFor(t, "the removed output's lines dropped", func() bool {
		for _, o := range p.m.Outputs() {
			if o.Name == name {
				counted = removed.Get()
				return false
			}
		}
		return true // retired: its series moved to the unlabelled ones
	})
	if _, err := os.Stat(filepath.Join(dir, queuesDir, a.QueueID())); !os.IsNotExist(err) {
		t.Errorf("the removed output's queue is still there: %v", err)
	}
	if counted != 50 && removed.Get() != 50 {
		t.Errorf("output_removed: got %d; want 50", max(counted, removed.Get()))
	}
	closePipeline(t, p)
}

// TestDiskRecordCodec: a batch survives its encoding, and a damaged record
// is refused rather than misread.
func TestDiskRecordCodec(t *testing.T) {
	in := lineBatch(1, "one", "", "three \x00\xff", strings.Repeat("z", 300))
	now := time.Unix(1700000000, 123)
	rec := appendRecord(nil, in, now.UnixNano())
	var out record.Batch
	at, err := decodeRecord(rec, &out)
	if err != nil || at != now.UnixNano() {
		t.Fatalf("decode: %v, %d", err, at)
	}
	if len(out.Lines) != len(in.Lines) {
		t.Fatalf("lines: got %d; want %d", len(out.Lines), len(in.Lines))
	}
	for i := range in.Lines {
		if string(out.Lines[i]) != string(in.Lines[i]) {
			t.Errorf("line %d: got %q; want %q", i, out.Lines[i], in.Lines[i])
		}
	}
	for _, bad := range [][]byte{nil, {2}, rec[:5], rec[:len(rec)-1], append(append([]byte(nil), rec...), 'x')} {
		if _, err := decodeRecord(bad, &out); err == nil {
			t.Errorf("decode of %d damaged bytes: got no error", len(bad))
		}
	}
}

// FuzzDecodeRecord: any bytes decode to lines inside them, or an error;
// never a panic.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, lineBatch(1, "a", "bc"), 1e9))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var b record.Batch
		if _, err := decodeRecord(rec, &b); err != nil {
			return
		}
		n := 0
		for _, l := range b.Lines {
			n += len(l)
		}
		if n > len(rec) {
			t.Fatalf("%d line bytes out of a %d-byte record", n, len(rec))
		}
	})
}

// TestDiskBufferQueueLimit: the lanes of a disk-buffered output hold at
// most diskLaneBytes each in memory, within -output-queue-bytes; an output
// queued in memory has all of it.
func TestDiskBufferQueueLimit(t *testing.T) {
	for _, tc := range []struct {
		name        string
		disk        bool
		workers, qb int
		want        int64
	}{
		{"memory", false, 2, 8 << 20, 8 << 20},
		{"disk", true, 2, 8 << 20, 2 * diskLaneBytes},
		{"disk, more workers", true, 4, 8 << 20, 4 * diskLaneBytes},
		{"disk, a smaller queue", true, 2, 1 << 20, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := capture.Config(capture.Unique("limit"))
			if tc.disk {
				cfg = diskConfig(capture.Unique("limit"), output.BufferConfig{Sync: "interval"})
			}
			p, err := New(Options{Workers: tc.workers, DataDir: t.TempDir(), OutputQueueBytes: tc.qb},
				&Config{Version: "1", Outputs: []output.Config{cfg}})
			if err != nil {
				t.Fatal(err)
			}
			defer closePipeline(t, p)
			runners := (*p.byName.Load())[cfg.Name()]
			if len(runners) != 1 {
				t.Fatalf("%d runners of %s; want 1", len(runners), cfg.Name())
			}
			if got := runners[0].limit; got != tc.want {
				t.Errorf("queue limit %d bytes; want %d", got, tc.want)
			}
		})
	}
}
