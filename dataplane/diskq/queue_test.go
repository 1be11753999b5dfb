package diskq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// openQ opens a queue in o.Dir (a temporary directory if empty), closed at
// the end of the test.
func openQ(t testing.TB, o Options) *Queue {
	t.Helper()
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	if o.Logger == nil {
		o.Logger = quiet
	}
	q, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func closeQ(t testing.TB, q *Queue) {
	t.Helper()
	if err := q.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// payload returns record i: its number, then filler, size bytes in all.
func payload(i, size int) []byte {
	b := fmt.Appendf(nil, "record %06d ", i)
	for len(b) < size {
		b = append(b, byte('a'+(i+len(b))%26))
	}
	return b[:max(size, 14)]
}

func appendN(t testing.TB, q *Queue, from, n, size int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := q.Append(payload(i, size)); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
}

// got is a record handed out, with a copy of its data.
type got struct {
	id   ID
	data string
}

// take hands out every record available now, without acknowledging them.
func take(t testing.TB, q *Queue) []got {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out []got
	for {
		r, err := q.Next(ctx)
		if errors.Is(err, context.Canceled) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		out = append(out, got{r.ID, string(r.Data)})
	}
}

// drain hands out and acknowledges every record available now.
func drain(t testing.TB, q *Queue) []string {
	t.Helper()
	var out []string
	for _, g := range take(t, q) {
		if err := q.Ack(g.id); err != nil {
			t.Fatalf("Ack(%d): %v", g.id, err)
		}
		out = append(out, g.data)
	}
	return out
}

func want(from, n, size int) []string {
	var out []string
	for i := from; i < from+n; i++ {
		out = append(out, string(payload(i, size)))
	}
	return out
}

func checkRecords(t testing.TB, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records; want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("record %d: got %.40q; want %.40q", i, got[i], want[i])
		}
	}
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+segExt))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m)
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name         string
		n, size      int
		segmentBytes int64
	}{
		{"one", 1, 100, 0},
		{"empty records", 5, 0, 0},
		{"one segment", 100, 200, 1 << 20},
		{"many segments", 500, 300, MinSegmentBytes},
		{"record per segment", 20, 5000, MinSegmentBytes},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQ(t, Options{Dir: dir, SegmentBytes: tc.segmentBytes, MaxBytes: 64 << 20})
			appendN(t, q, 0, tc.n, tc.size)
			st := q.Stats()
			if st.Records != int64(tc.n) || st.Bytes != st.DiskBytes {
				t.Fatalf("after appends: Records %d, Bytes %d, DiskBytes %d; want %d records, Bytes = DiskBytes", st.Records, st.Bytes, st.DiskBytes, tc.n)
			}
			checkRecords(t, drain(t, q), want(0, tc.n, tc.size))
			st = q.Stats()
			if st.Records != 0 || st.Bytes != 0 || st.InFlight != 0 || st.Segments > 1 {
				t.Fatalf("after acks: %+v; want no records and at most the write segment", st)
			}
			if n := len(segFiles(t, dir)); n != st.Segments {
				t.Fatalf("%d segment files; want %d", n, st.Segments)
			}
		})
	}
}

func TestSegmentsDeletedOutOfOrder(t *testing.T) {
	dir := t.TempDir()
	const size = 1000 // 1012 bytes a record: 4 per 4 KiB segment
	q := openQ(t, Options{Dir: dir, SegmentBytes: MinSegmentBytes})
	appendN(t, q, 0, 16, size)
	files := segFiles(t, dir)
	if len(files) != 4 {
		t.Fatalf("%d segment files; want 4", len(files))
	}
	recs := take(t, q)
	if len(recs) != 16 {
		t.Fatalf("got %d records; want 16", len(recs))
	}
	// Acknowledge the third segment first, then the second, backwards.
	for i := 11; i >= 4; i-- {
		if err := q.Ack(recs[i].id); err != nil {
			t.Fatal(err)
		}
		if i == 8 {
			if got := segFiles(t, dir); !slices.Equal(got, slices.Delete(slices.Clone(files), 2, 3)) {
				t.Fatalf("after acking segment 3: files %v", got)
			}
		}
	}
	if got := segFiles(t, dir); !slices.Equal(got, []string{files[0], files[3]}) {
		t.Fatalf("after acking segments 2 and 3: files %v; want the first and the last", got)
	}
	for i := 0; i < 4; i++ {
		if err := q.Ack(recs[i].id); err != nil {
			t.Fatal(err)
		}
	}
	if got := segFiles(t, dir); !slices.Equal(got, files[3:]) {
		t.Fatalf("after acking segment 1: files %v; want the last", got)
	}
	for i := 12; i < 16; i++ {
		if err := q.Ack(recs[i].id); err != nil {
			t.Fatal(err)
		}
	}
	// The write segment stays until a new one starts.
	if st := q.Stats(); st.Records != 0 || st.Segments != 1 {
		t.Fatalf("Stats %+v; want no records, one segment", st)
	}
}

func TestFull(t *testing.T) {
	const size = 1000
	q := openQ(t, Options{MaxBytes: 16 << 10, SegmentBytes: MinSegmentBytes})
	n := 0
	for ; ; n++ {
		err := q.Append(payload(n, size))
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatalf("Append(%d): %v", n, err)
		}
	}
	if n != 16 {
		t.Fatalf("%d records fit; want 16 (4 per segment, 4 segments)", n)
	}
	if st := q.Stats(); st.DiskBytes > 16<<10 {
		t.Fatalf("DiskBytes %d over MaxBytes", st.DiskBytes)
	}
	// Acknowledging the first segment's records gives its room back.
	recs := take(t, q)
	for _, r := range recs[:4] {
		if err := q.Ack(r.id); err != nil {
			t.Fatal(err)
		}
	}
	appendN(t, q, n, 4, size)
	if err := q.Append(payload(n+4, size)); !errors.Is(err, ErrFull) {
		t.Fatalf("Append: got %v; want ErrFull", err)
	}
	for _, r := range recs[4:] {
		if err := q.Ack(r.id); err != nil {
			t.Fatal(err)
		}
	}
	checkRecords(t, drain(t, q), want(n, 4, size))
	// Everything acknowledged: even the write segment's room comes back.
	appendN(t, q, 100, 16, size)
}

func TestFullOneSegment(t *testing.T) {
	// A segment as large as the queue: room comes back through the write
	// segment alone.
	q := openQ(t, Options{MaxBytes: 8 << 10, SegmentBytes: 64 << 10})
	for round := 0; round < 3; round++ {
		appendN(t, q, 0, 8, 1000)
		if err := q.Append(payload(8, 1000)); !errors.Is(err, ErrFull) {
			t.Fatalf("round %d: got %v; want ErrFull", round, err)
		}
		checkRecords(t, drain(t, q), want(0, 8, 1000))
	}
}

func TestTooLarge(t *testing.T) {
	q := openQ(t, Options{MaxBytes: MinMaxBytes})
	for _, n := range []int{MinMaxBytes - headerSize + 1, MaxRecordBytes + 1} {
		if err := q.Append(make([]byte, n)); !errors.Is(err, ErrTooLarge) {
			t.Errorf("Append(%d bytes): got %v; want ErrTooLarge", n, err)
		}
	}
	if err := q.Append(make([]byte, MinMaxBytes-headerSize)); err != nil {
		t.Errorf("Append of exactly MaxBytes: %v", err)
	}
}

func TestReopen(t *testing.T) {
	for _, tc := range []struct {
		name string
		ack  []int // of the records handed out, by index
		take int   // records handed out before Close
		want []int // records handed out after reopen
	}{
		{"nothing handed out", nil, 0, seq(0, 10)},
		{"handed out, none acked", nil, 5, seq(0, 10)},
		{"prefix acked", []int{0, 1, 2}, 5, seq(3, 10)},
		{"acked out of order", []int{0, 1, 3, 4}, 5, seq(2, 10)},
		{"all acked", seq(0, 10), 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, mode := range []SyncMode{SyncInterval, SyncAlways, SyncNever} {
				dir := t.TempDir()
				o := Options{Dir: dir, SegmentBytes: MinSegmentBytes, Sync: mode}
				q := openQ(t, o)
				appendN(t, q, 0, 10, 1000)
				recs := take(t, q)[:tc.take]
				for _, i := range tc.ack {
					if err := q.Ack(recs[i].id); err != nil {
						t.Fatal(err)
					}
				}
				closeQ(t, q)
				var heads []string
				o.Recovered = func(head []byte) { heads = append(heads, string(head)) }
				q = openQ(t, o)
				var w []string
				for i, k := range tc.want {
					w = append(w, string(payload(k, 1000)))
					if i >= len(heads) || heads[i] != w[i][:RecoveredPrefix] {
						t.Fatalf("sync %s: Recovered saw %d heads; want the first %d bytes of each of %d records", mode, len(heads), RecoveredPrefix, len(tc.want))
					}
				}
				if len(heads) != len(tc.want) {
					t.Fatalf("sync %s: Recovered called %d times; want %d", mode, len(heads), len(tc.want))
				}
				if st := q.Stats(); st.Records != int64(len(tc.want)) {
					t.Fatalf("sync %s: Records %d after reopen; want %d", mode, st.Records, len(tc.want))
				}
				checkRecords(t, drain(t, q), w)
				closeQ(t, q)
			}
		})
	}
}

func seq(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestReopenAppendsContinue(t *testing.T) {
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentBytes: MinSegmentBytes}
	q := openQ(t, o)
	appendN(t, q, 0, 6, 1000)
	checkRecords(t, drain(t, q)[:3], want(0, 3, 1000)) // all six acked
	closeQ(t, q)
	q = openQ(t, o)
	appendN(t, q, 6, 6, 1000)
	checkRecords(t, drain(t, q), want(6, 6, 1000))
	closeQ(t, q)
	q = openQ(t, o)
	if got := drain(t, q); len(got) != 0 {
		t.Fatalf("got %d records after everything was acked; want 0", len(got))
	}
}

// writeSegments appends n records of size bytes, closes the queue, and
// returns the segment files and the size of each record on disk.
func writeSegments(t *testing.T, o Options, n, size int) []string {
	t.Helper()
	q := openQ(t, o)
	appendN(t, q, 0, n, size)
	closeQ(t, q)
	return segFiles(t, o.Dir)
}

func TestTornTail(t *testing.T) {
	const size, n = 1500, 6 // 3 records a segment: two segments
	const rec = headerSize + size
	for _, tc := range []struct {
		name    string
		damage  func(t *testing.T, path string) // of the last segment
		lost    int                             // records lost
		tornLen int64
	}{
		{"mid header", func(t *testing.T, p string) { truncate(t, p, 2*rec+5) }, 1, 5},
		{"header only", func(t *testing.T, p string) { truncate(t, p, 2*rec+headerSize) }, 1, headerSize},
		{"mid payload", func(t *testing.T, p string) { truncate(t, p, 2*rec+headerSize+300) }, 1, headerSize + 300},
		{"payload short of one byte", func(t *testing.T, p string) { truncate(t, p, 3*rec-1) }, 1, rec - 1},
		{"zeros after", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 4096)) }, 0, 4096},
		{"garbage after", func(t *testing.T, p string) { appendBytes(t, p, []byte("half a reco")) }, 0, 11},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Dir: t.TempDir(), SegmentBytes: 3 * rec}
			files := writeSegments(t, o, n, size)
			tc.damage(t, files[len(files)-1])
			q := openQ(t, o)
			st := q.Stats()
			if st.Torn != (Damage{1, tc.tornLen}) || st.Corrupt != (Damage{}) {
				t.Fatalf("Torn %+v, Corrupt %+v; want Torn {1 %d}, no Corrupt", st.Torn, st.Corrupt, tc.tornLen)
			}
			if fi, err := os.Stat(files[len(files)-1]); err != nil || fi.Size() != int64(3-tc.lost)*rec {
				t.Fatalf("last segment: %v, %v; want %d bytes", fi.Size(), err, (3-tc.lost)*rec)
			}
			appendN(t, q, 100, 2, size)
			checkRecords(t, drain(t, q), append(want(0, n-tc.lost, size), want(100, 2, size)...))
			closeQ(t, q)
			// The cut is durable: nothing torn the second time.
			q = openQ(t, o)
			if st := q.Stats(); st.Torn != (Damage{}) || st.Records != 0 {
				t.Fatalf("second reopen: %+v; want nothing torn, no records", st)
			}
		})
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// flip inverts the byte at off of path.
func flip(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptMiddle(t *testing.T) {
	const size, n = 1500, 9 // 3 records a segment: three segments
	const rec = headerSize + size
	for _, tc := range []struct {
		name    string
		seg     int   // which segment
		off     int64 // offset of the flipped byte
		lost    int   // which record
		badRecs int64
		bad     int64 // bytes counted corrupt
	}{
		{"payload, first segment", 0, rec + 500, 1, 1, rec},
		{"length, middle segment", 1, rec + 1, 4, 1, rec},
		{"payload CRC, middle segment", 1, 6, 3, 1, rec},
		{"header CRC, last segment", 2, rec + 9, 7, 1, rec},
		{"first record of the last segment", 2, headerSize, 6, 1, rec},
		{"last record of a sealed segment", 0, 3*rec - 1, 2, 1, rec},
	} {
		for _, when := range []string{"at open", "while open"} {
			t.Run(tc.name+"/"+when, func(t *testing.T) {
				o := Options{Dir: t.TempDir(), SegmentBytes: 3 * rec}
				var q *Queue
				var files []string
				if when == "at open" {
					files = writeSegments(t, o, n, size)
					flip(t, files[tc.seg], tc.off)
					q = openQ(t, o)
					if st := q.Stats(); st.Records != n-1 || st.Bytes != (n-1)*rec {
						t.Fatalf("Records %d, Bytes %d; want %d, %d", st.Records, st.Bytes, n-1, (n-1)*rec)
					}
				} else {
					q = openQ(t, o)
					appendN(t, q, 0, n, size)
					files = segFiles(t, o.Dir)
					flip(t, files[tc.seg], tc.off)
				}
				wantRecs := slices.Delete(want(0, n, size), tc.lost, tc.lost+1)
				checkRecords(t, drain(t, q), wantRecs)
				st := q.Stats()
				if st.Corrupt != (Damage{tc.badRecs, tc.bad}) || st.Torn != (Damage{}) {
					t.Fatalf("Corrupt %+v, Torn %+v; want Corrupt {%d %d}", st.Corrupt, st.Torn, tc.badRecs, tc.bad)
				}
				if st.Records != 0 || st.Bytes != 0 || st.Segments != 1 {
					t.Fatalf("after acking all: %+v; want no records, one segment", st)
				}
			})
		}
	}
}

func TestCorruptRun(t *testing.T) {
	// Several records overwritten by one run of garbage: one damaged run,
	// the records after it delivered.
	const size, n = 200, 20
	const rec = headerSize + size
	o := Options{Dir: t.TempDir()}
	files := writeSegments(t, o, n, size)
	f, err := os.OpenFile(files[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	garbage := make([]byte, 3*rec+50)
	_, _ = rand.NewChaCha8([32]byte{1}).Read(garbage)
	if _, err := f.WriteAt(garbage, 5*rec+10); err != nil {
		t.Fatal(err)
	}
	f.Close()
	q := openQ(t, o)
	got := drain(t, q)
	w := append(want(0, 5, size), want(9, n-9, size)...)
	checkRecords(t, got, w)
	if st := q.Stats(); st.Corrupt != (Damage{1, 4 * rec}) {
		t.Fatalf("Corrupt %+v; want {1 %d}", st.Corrupt, 4*rec)
	}
}

func TestCursorFallback(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []int
	}{
		{"valid", func(*testing.T, string) {}, seq(4, 12)},
		{"missing", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, seq(0, 12)},
		{"empty", func(t *testing.T, p string) { truncate(t, p, 0) }, seq(0, 12)},
		{"flipped byte", func(t *testing.T, p string) { flip(t, p, 6) }, seq(0, 12)},
		{"not a cursor", func(t *testing.T, p string) {
			if err := os.WriteFile(p, []byte("garbage that is 24 bytes"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, seq(0, 12)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Dir: t.TempDir(), SegmentBytes: MinSegmentBytes}
			q := openQ(t, o)
			appendN(t, q, 0, 12, 1000)
			// Four records, the first segment, acknowledged but its file
			// kept as if a crash came before the delete: the cursor alone
			// says they were delivered.
			recs := take(t, q)
			for _, r := range recs[:4] {
				if err := q.Ack(r.id); err != nil {
					t.Fatal(err)
				}
			}
			closeQ(t, q)
			if len(segFiles(t, o.Dir)) != 2 {
				t.Fatalf("want two segment files left")
			}
			// Put back an acknowledged first segment: rewrite the 4
			// records into segment 1.
			restoreSegment(t, o.Dir, 1, 0, 4, 1000)
			tc.damage(t, filepath.Join(o.Dir, cursorName))
			q = openQ(t, o)
			var w []string
			for _, i := range tc.want {
				w = append(w, string(payload(i, 1000)))
			}
			checkRecords(t, drain(t, q), w)
		})
	}
}

// restoreSegment writes records from..from+n into segment seq, as Append
// would have.
func restoreSegment(t *testing.T, dir string, seq uint64, from, n, size int) {
	t.Helper()
	var b []byte
	for i := from; i < from+n; i++ {
		b = appendRecord(b, payload(i, size))
	}
	path := filepath.Join(dir, fmt.Sprintf("%020d%s", seq, segExt))
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendRecord(b, p []byte) []byte {
	var h [headerSize]byte
	putHeader(h[:], p)
	return append(append(b, h[:]...), p...)
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "queue")
	q := openQ(t, Options{Dir: dir, SegmentBytes: MinSegmentBytes})
	appendN(t, q, 0, 10, 1000)
	closeQ(t, q)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v; want 0700", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v; want 0600", e.Name(), fi.Mode().Perm())
		}
		names[filepath.Ext(e.Name())] = true
		names[e.Name()] = true
	}
	if !names[segExt] || !names[cursorName] || !names[lockName] {
		t.Errorf("files %v; want segments, %s and %s", names, cursorName, lockName)
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	q := openQ(t, Options{Dir: dir})
	if _, err := Open(Options{Dir: dir, Logger: quiet}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v; want ErrLocked", err)
	}
	closeQ(t, q)
	openQ(t, Options{Dir: dir})
}

func TestNack(t *testing.T) {
	q := openQ(t, Options{})
	appendN(t, q, 0, 5, 100)
	recs := take(t, q)
	for _, i := range []int{3, 1} {
		if err := q.Nack(recs[i].id); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.InFlight != 3 || st.Records != 5 {
		t.Fatalf("Stats %+v; want 3 in flight, 5 records", st)
	}
	again := take(t, q)
	if len(again) != 2 || again[0] != recs[1] || again[1] != recs[3] {
		t.Fatalf("after Nack: got %v; want records 1 and 3 again, same IDs", again)
	}
	if err := q.Ack(recs[1].id); err != nil {
		t.Fatal(err)
	}
	if err := q.Nack(recs[1].id); !errors.Is(err, ErrUnknownID) {
		t.Fatalf("Nack after Ack: got %v; want ErrUnknownID", err)
	}
	for _, i := range []int{0, 2, 3, 4} {
		if err := q.Ack(recs[i].id); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Records != 0 || st.InFlight != 0 {
		t.Fatalf("Stats %+v; want empty", st)
	}
}

func TestAckErrors(t *testing.T) {
	q := openQ(t, Options{})
	appendN(t, q, 0, 2, 100)
	recs := take(t, q)
	if err := q.Nack(recs[0].id); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		id   ID
	}{
		{"zero", 0},
		{"never handed out", recs[1].id + 1},
		{"given back", recs[0].id},
	} {
		if err := q.Ack(tc.id); !errors.Is(err, ErrUnknownID) {
			t.Errorf("%s: got %v; want ErrUnknownID", tc.name, err)
		}
	}
	if err := q.Ack(recs[1].id); err != nil {
		t.Fatal(err)
	}
	if err := q.Ack(recs[1].id); !errors.Is(err, ErrUnknownID) {
		t.Errorf("second Ack: got %v; want ErrUnknownID", err)
	}
	closeQ(t, q)
	if err := q.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"Append": q.Append([]byte("x")),
		"Ack":    q.Ack(recs[0].id),
		"Nack":   q.Nack(recs[0].id),
	} {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: got %v; want ErrClosed", name, err)
		}
	}
	if _, err := q.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Next after Close: got %v; want ErrClosed", err)
	}
}

func TestNextBlocks(t *testing.T) {
	q := openQ(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		r, err := q.Next(ctx)
		if err == nil && string(r.Data) != "late" {
			err = fmt.Errorf("got %q; want late", r.Data)
		}
		res <- err
	}()
	if err := q.Append([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := <-res; err != nil {
		t.Fatalf("Next: %v", err)
	}

	// Cancelled while waiting.
	cctx, ccancel := context.WithCancel(context.Background())
	go func() { _, err := q.Next(cctx); res <- err }()
	ccancel()
	if err := <-res; !errors.Is(err, context.Canceled) {
		t.Fatalf("Next cancelled: got %v; want context.Canceled", err)
	}

	// Waiting in Next, and waiting to read: both get ErrClosed.
	for range 2 {
		go func() { _, err := q.Next(ctx); res <- err }()
	}
	closeQ(t, q)
	for range 2 {
		if err := <-res; !errors.Is(err, ErrClosed) {
			t.Fatalf("Next across Close: got %v; want ErrClosed", err)
		}
	}
}

func TestSyncModes(t *testing.T) {
	t.Run("always", func(t *testing.T) {
		q := openQ(t, Options{Sync: SyncAlways, SyncInterval: time.Hour, SegmentBytes: MinSegmentBytes})
		before := q.Stats().Syncs
		appendN(t, q, 0, 10, 1000)
		if got := q.Stats().Syncs - before; got < 10 {
			t.Fatalf("%d fsyncs for 10 appends; want at least 10", got)
		}
	})
	t.Run("never", func(t *testing.T) {
		dir := t.TempDir()
		q := openQ(t, Options{Dir: dir, Sync: SyncNever, SyncInterval: time.Millisecond, SegmentBytes: MinSegmentBytes})
		appendN(t, q, 0, 10, 1000)
		drain(t, q)
		closeQ(t, q)
		if got := q.Stats().Syncs; got != 0 {
			t.Fatalf("%d fsyncs; want 0", got)
		}
	})
	t.Run("interval", func(t *testing.T) {
		dir := t.TempDir()
		q := openQ(t, Options{Dir: dir, SyncInterval: time.Millisecond})
		before := q.Stats().Syncs
		appendN(t, q, 0, 3, 100)
		if got := q.Stats().Syncs; got != before {
			t.Fatalf("Append fsynced (%d fsyncs); want the background to", got-before)
		}
		drain(t, q)
		// The background fsyncs the segment and saves the cursor.
		checkFor(t, 10*time.Second, func() error {
			if _, off, ok, err := readCursor(filepath.Join(dir, cursorName)); !ok || off != 3*(headerSize+100) {
				return fmt.Errorf("cursor offset %d, %v; want %d", off, err, 3*(headerSize+100))
			}
			if q.Stats().Syncs == before {
				return errors.New("no fsync")
			}
			return nil
		})
	})
}

// checkFor polls f until it returns nil, or fails the test after d.
func checkFor(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want string // in the error; empty: valid
	}{
		{"defaults", Options{Dir: "x"}, ""},
		{"no dir", Options{}, "Dir: required"},
		{"small MaxBytes", Options{Dir: "x", MaxBytes: 100}, "MaxBytes 100"},
		{"small SegmentBytes", Options{Dir: "x", SegmentBytes: 10}, "SegmentBytes 10"},
		{"negative interval", Options{Dir: "x", SyncInterval: -1}, "SyncInterval"},
		{"bad sync", Options{Dir: "x", Sync: 7}, "Sync 7"},
		{"all at once", Options{MaxBytes: 1, SegmentBytes: 1}, "Options.Dir: required\nOptions.MaxBytes 1: must be at least 4096\nOptions.SegmentBytes 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.withDefaults().validate()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.want))) {
				t.Fatalf("got %v; want %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		max, want int64
	}{
		{MinMaxBytes, MinSegmentBytes},
		{8 << 20, 1 << 20},
		{DefaultMaxBytes, MaxSegmentBytes},
	} {
		if got := (Options{MaxBytes: tc.max}).withDefaults().SegmentBytes; got != tc.want {
			t.Errorf("MaxBytes %d: SegmentBytes %d; want %d", tc.max, got, tc.want)
		}
	}
}

func TestParseSync(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want SyncMode
		err  bool
	}{
		{"", SyncInterval, false},
		{"interval", SyncInterval, false},
		{"always", SyncAlways, false},
		{"never", SyncNever, false},
		{"sometimes", 0, true},
	} {
		got, err := ParseSync(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseSync(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != tc.in && tc.in != "" {
			t.Errorf("%v.String() = %q; want %q", got, got.String(), tc.in)
		}
	}
}

func TestConcurrent(t *testing.T) {
	const appenders, perAppender, deliverers, size = 3, 400, 4, 300
	dir := t.TempDir()
	q := openQ(t, Options{Dir: dir, MaxBytes: 64 << 10, SegmentBytes: MinSegmentBytes, SyncInterval: time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	acked := map[string]int{}
	var wg sync.WaitGroup
	for d := range deliverers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(d), 7))
			for {
				r, err := q.Next(ctx)
				if err != nil {
					if !errors.Is(err, context.Canceled) {
						t.Errorf("Next: %v", err)
					}
					return
				}
				data := string(r.Data)
				if rng.IntN(10) == 0 { // a failed delivery: give it back
					if err := q.Nack(r.ID); err != nil {
						t.Errorf("Nack: %v", err)
					}
					continue
				}
				mu.Lock()
				acked[data]++
				mu.Unlock()
				if err := q.Ack(r.ID); err != nil {
					t.Errorf("Ack: %v", err)
				}
			}
		}()
	}
	var awg sync.WaitGroup
	for a := range appenders {
		awg.Add(1)
		go func() {
			defer awg.Done()
			for i := range perAppender {
				p := payload(a*perAppender+i, size)
				for {
					err := q.Append(p)
					if err == nil {
						break
					}
					if !errors.Is(err, ErrFull) {
						t.Errorf("Append: %v", err)
						return
					}
					runtime.Gosched()
				}
			}
		}()
	}
	awg.Wait()
	checkFor(t, 30*time.Second, func() error {
		if st := q.Stats(); st.Records != 0 {
			return fmt.Errorf("%d records left", st.Records)
		}
		return nil
	})
	cancel()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) != appenders*perAppender {
		t.Fatalf("%d distinct records acked; want %d", len(acked), appenders*perAppender)
	}
	for d, n := range acked {
		if n != 1 {
			t.Fatalf("%.20q acked %d times; want once", d, n)
		}
	}
	if st := q.Stats(); st.Segments > 1 || st.InFlight != 0 || st.Corrupt != (Damage{}) {
		t.Fatalf("Stats %+v; want at most one segment, nothing in flight or corrupt", st)
	}
}

func TestOpenMemory(t *testing.T) {
	// Recovery reads through a window: what Open allocates does not grow
	// with the queue.
	const size = 64 << 10
	dir := t.TempDir()
	o := Options{Dir: dir, MaxBytes: 64 << 20, SegmentBytes: 4 << 20}
	q := openQ(t, o)
	for i := range 512 { // 32 MiB
		if err := q.Append(payload(i, size)); err != nil {
			t.Fatal(err)
		}
	}
	closeQ(t, q)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	q = openQ(t, o)
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 2<<20 {
		t.Fatalf("Open allocated %d bytes for a 32 MiB queue; want under 2 MiB", got)
	}
	if st := q.Stats(); st.Records != 512 {
		t.Fatalf("Records %d; want 512", st.Records)
	}
}

func TestCloseReleases(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts open files in /proc/self/fd")
	}
	fds := func() int {
		e, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(e)
	}
	dir := t.TempDir()
	o := Options{Dir: dir, SegmentBytes: MinSegmentBytes, Logger: quiet}
	files, goroutines := fds(), runtime.NumGoroutine()
	for _, mode := range []SyncMode{SyncInterval, SyncAlways, SyncNever} {
		o.Sync = mode
		q, err := Open(o)
		if err != nil {
			t.Fatal(err)
		}
		appendN(t, q, 0, 10, 1000)
		recs := take(t, q)
		if err := q.Ack(recs[0].id); err != nil {
			t.Fatal(err)
		}
		// A Next waiting when Close comes.
		res := make(chan error)
		go func() {
			_, err := q.Next(context.Background())
			res <- err
		}()
		if err := q.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-res; !errors.Is(err, ErrClosed) {
			t.Fatalf("Next: got %v; want ErrClosed", err)
		}
	}
	if got := fds(); got != files {
		t.Errorf("%d files open after Close; want %d as before Open", got, files)
	}
	checkFor(t, 10*time.Second, func() error {
		if got := runtime.NumGoroutine(); got > goroutines {
			return fmt.Errorf("%d goroutines after Close; want %d as before Open", got, goroutines)
		}
		return nil
	})
}

func TestLargeRecords(t *testing.T) {
	// Around copyLimit, where Append stops copying, and past the largest
	// pooled buffer.
	sizes := []int{copyLimit - 1, copyLimit, 1 << 20, 1<<maxBufShift + 1}
	o := Options{Dir: t.TempDir(), MaxBytes: 64 << 20, SegmentBytes: 1 << 20}
	q := openQ(t, o)
	for i, n := range sizes {
		if err := q.Append(payload(i, n)); err != nil {
			t.Fatalf("Append(%d bytes): %v", n, err)
		}
	}
	closeQ(t, q)
	q = openQ(t, o)
	var w []string
	for i, n := range sizes {
		w = append(w, string(payload(i, n)))
	}
	checkRecords(t, drain(t, q), w)
	if st := q.Stats(); st.Corrupt != (Damage{}) || st.Torn != (Damage{}) {
		t.Fatalf("Stats %+v; want no damage", st)
	}
}

func TestDamagedWhileGivenBack(t *testing.T) {
	const size = 1000
	dir := t.TempDir()
	q := openQ(t, Options{Dir: dir})
	appendN(t, q, 0, 3, size)
	recs := take(t, q)
	if err := q.Nack(recs[1].id); err != nil {
		t.Fatal(err)
	}
	flip(t, segFiles(t, dir)[0], headerSize+size+headerSize+10)
	if got := take(t, q); len(got) != 0 {
		t.Fatalf("got %d records; want the damaged one skipped", len(got))
	}
	for _, i := range []int{0, 2} {
		if err := q.Ack(recs[i].id); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Corrupt != (Damage{1, headerSize + size}) || st.Records != 0 || st.InFlight != 0 {
		t.Fatalf("Stats %+v; want one corrupt record, nothing left", st)
	}
}

func TestCutShortWhileOpen(t *testing.T) {
	// A sealed segment truncated behind the queue's back: what is missing
	// is counted, the next segment delivered.
	const size = 1000
	const rec = headerSize + size
	dir := t.TempDir()
	q := openQ(t, Options{Dir: dir, SegmentBytes: MinSegmentBytes}) // 4 records a segment
	appendN(t, q, 0, 8, size)
	truncate(t, segFiles(t, dir)[0], rec+rec/2)
	checkRecords(t, drain(t, q), append(want(0, 1, size), want(4, 4, size)...))
	if st := q.Stats(); st.Corrupt != (Damage{1, 3 * rec}) || st.Records != 0 {
		t.Fatalf("Stats %+v; want Corrupt {1 %d}, no records", st, 3*rec)
	}
}

// TestHotRecord: a record appended when the reader has read everything
// before it is handed out from memory, as written, not read back; given
// back, it is read from the file like any other, checks and all.
func TestHotRecord(t *testing.T) {
	const size = 1000
	dir := t.TempDir()
	q := openQ(t, Options{Dir: dir})
	appendN(t, q, 0, 2, size) // the second is read from the file
	first := take(t, q)
	checkRecords(t, datas(first), want(0, 2, size))
	appendN(t, q, 2, 1, size) // the reader is at the end: kept in memory
	// The bytes on disk go bad behind the queue's back: the reader does
	// not see it, as it does not read them.
	flip(t, segFiles(t, dir)[0], 2*(headerSize+size)+headerSize+10)
	hot := take(t, q)
	checkRecords(t, datas(hot), want(2, 1, size))
	if err := q.Nack(hot[0].id); err != nil {
		t.Fatal(err)
	}
	if got := take(t, q); len(got) != 0 {
		t.Fatalf("got %d records; want the damaged one, read back, skipped", len(got))
	}
	for _, r := range first {
		if err := q.Ack(r.id); err != nil {
			t.Fatal(err)
		}
	}
	if st := q.Stats(); st.Corrupt != (Damage{1, headerSize + size}) || st.Records != 0 {
		t.Fatalf("Stats %+v; want the record given back counted damaged, nothing left", st)
	}
}

// datas returns the data of gs.
func datas(gs []got) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.data)
	}
	return out
}
