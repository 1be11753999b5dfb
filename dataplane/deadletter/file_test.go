package deadletter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func entry(output string, status int, lines ...string) *Entry {
	e := &Entry{Time: time.Date(2026, 12, 6, 20, 40, 37, 123456789, time.UTC), Output: output, Status: status, Response: []byte(`{"error":"bad"}`)}
	for _, l := range lines {
		e.Lines = append(e.Lines, []byte(l))
	}
	return e
}

// readAll returns every entry of f.
func readAll(t *testing.T, f *File) []*Entry {
	t.Helper()
	var out []*Entry
	if err := f.Entries(func(e *Entry) bool { out = append(out, e); return true }); err != nil {
		t.Fatalf("Entries: %v", err)
	}
	return out
}

func sameEntry(a, b *Entry) bool {
	if !a.Time.Equal(b.Time) || a.Output != b.Output || a.Status != b.Status || !bytes.Equal(a.Response, b.Response) || len(a.Lines) != len(b.Lines) {
		return false
	}
	for i := range a.Lines {
		if !bytes.Equal(a.Lines[i], b.Lines[i]) {
			return false
		}
	}
	return true
}

// TestRoundTrip: every line comes back byte for byte, whatever it holds.
func TestRoundTrip(t *testing.T) {
	for _, c := range []struct {
		name   string
		lines  []string
		format string // the key the file uses
	}{
		{"text", []string{"plain", `{"json":"line","n":1}`, "tab\tand \"quotes\" and \\ and <html> & more"}, `"lines":["plain",`},
		{"unicode", []string{"héllo wörld ✓", "\u2028 line separator", "emoji 🎉"}, `"lines":[`},
		{"control bytes", []string{"nul \x00 byte", "bell \a", "cr \r in the middle"}, `"lines":[`},
		{"not UTF-8", []string{"ok", "bad \xff\xfe bytes", "cut \xe2\x82"}, `"lines_b64":[`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := New(filepath.Join(t.TempDir(), "dlq"), 0)
			f := d.File("http:http://host/logs")
			want := entry("http:http://host/logs", 400, c.lines...)
			if err := f.Append(want); err != nil {
				t.Fatalf("Append: %v", err)
			}
			raw, err := os.ReadFile(f.Path())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(raw, []byte(c.format)) || bytes.Count(raw, []byte("\n")) != 1 {
				t.Errorf("file: %s; want one line with %s", raw, c.format)
			}
			if want := `{"time":"2026-12-06T20:40:37.123456789Z","output":"http:http://host/logs","status":400,"response":"{\"error\":\"bad\"}",`; !bytes.HasPrefix(raw, []byte(want)) {
				t.Errorf("file: %s; want it to start with %s", raw, want)
			}
			got := readAll(t, f)
			if len(got) != 1 || !sameEntry(got[0], want) {
				t.Fatalf("Entries: got %+v; want %+v", got, want)
			}
		})
	}
}

// TestResponseNotUTF8: a response that is not UTF-8 is kept with U+FFFD,
// and the file stays valid JSON.
func TestResponseNotUTF8(t *testing.T) {
	f := New(t.TempDir(), 0).File("x")
	e := entry("x", 400, "a")
	e.Response = []byte("bad \xff")
	if err := f.Append(e); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, f)
	if len(got) != 1 || string(got[0].Response) != "bad \uFFFD" {
		t.Errorf("Entries: %+v; want the response with U+FFFD", got)
	}
}

// TestModes: the folder is made 0700 and the file 0600, on the first
// Append only.
func TestModes(t *testing.T) {
	root := filepath.Join(t.TempDir(), "data")
	d := New(filepath.Join(root, "dlq"), 0)
	f := d.File("console")
	if _, err := f.Stats(); err != nil {
		t.Fatal(err)
	}
	if list, err := d.List(); err != nil || len(list) != 0 {
		t.Fatalf("List: %v, %v; want nothing", list, err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("data folder: %v; want it not made before a dead letter", err)
	}
	if err := f.Append(entry("console", 400, "a")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{root: 0o700 | os.ModeDir, d.Path(): 0o700 | os.ModeDir, f.Path(): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode(); got != want {
			t.Errorf("%s: mode %v; want %v", path, got, want)
		}
	}
}

// TestBound: an entry that would take the file past its bound is refused
// and nothing of it written; smaller ones still fit.
func TestBound(t *testing.T) {
	d := New(t.TempDir(), 400)
	f := d.File("o")
	small := entry("o", 400, "a")
	if err := f.Append(small); err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stats()
	one := st.Bytes
	if err := f.Append(entry("o", 400, strings.Repeat("x", 400))); !errors.Is(err, ErrFull) {
		t.Fatalf("Append past the bound: %v; want ErrFull", err)
	}
	n := 1
	for ; ; n++ {
		if err := f.Append(small); errors.Is(err, ErrFull) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	st, err := f.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != n || st.Bytes > 400 || st.Bytes+one <= 400 {
		t.Errorf("Stats: %+v; want %d entries within 400 bytes, full", st, n)
	}
	if fi, _ := os.Stat(f.Path()); fi.Size() != st.Bytes {
		t.Errorf("file of %d bytes; Stats say %d", fi.Size(), st.Bytes)
	}
}

// TestConcurrentAppends: entries appended at once each stay whole, on
// their line.
func TestConcurrentAppends(t *testing.T) {
	f := New(t.TempDir(), 0).File("o")
	const writers, each = 8, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := f.Append(entry("o", 400, fmt.Sprintf("w%d-%d", w, i), strings.Repeat("y", 100*w))); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, e := range readAll(t, f) {
		seen[string(e.Lines[0])] = true
	}
	if len(seen) != writers*each {
		t.Errorf("read %d distinct entries; want %d", len(seen), writers*each)
	}
	st, _ := f.Stats()
	if st.Entries != writers*each || st.Lines != 2*writers*each || st.Damaged != 0 {
		t.Errorf("Stats: %+v; want %d entries, %d lines", st, writers*each, 2*writers*each)
	}
}

// TestStatsFromDisk: a file left by an earlier run is found, and its
// output named from its entries; a torn last line is counted damaged and
// the next entry starts on a line of its own.
func TestStatsFromDisk(t *testing.T) {
	dir := t.TempDir()
	first := New(dir, 0)
	name := "http:http://host:9000/logs?token=********"
	for i := range 3 {
		e := entry(name, 400+i, "l1", "l2")
		e.Time = e.Time.Add(time.Duration(i) * time.Hour)
		if err := first.File(name).Append(e); err != nil {
			t.Fatal(err)
		}
	}
	path := first.File(name).Path()
	wf, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	wf.WriteString(`{"time":"2026-12-06T20:40:37Z","output":"`) // a crash mid-write
	wf.Close()

	d := New(dir, 0)
	list, err := d.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("List: %+v; want one file", list)
	}
	st := list[0]
	if st.Output != name || st.Entries != 3 || st.Lines != 6 || st.Damaged != 1 ||
		!st.Oldest.Equal(entry("", 0).Time) || !st.Newest.Equal(entry("", 0).Time.Add(2*time.Hour)) {
		t.Errorf("Stats: %+v", st)
	}
	if err := d.File(name).Append(entry(name, 404, "after")); err != nil {
		t.Fatal(err)
	}
	got := readAll(t, d.File(name))
	if len(got) != 4 || string(got[3].Lines[0]) != "after" {
		t.Errorf("Entries: %d, last %+v; want 4, the last appended after the torn line", len(got), got[len(got)-1])
	}
	if st, _ := d.File(name).Stats(); st.Entries != 4 || st.Damaged != 1 {
		t.Errorf("Stats after append: %+v; want 4 entries, 1 damaged", st)
	}
}

// TestFileName: names are safe, distinct and stable.
func TestFileName(t *testing.T) {
	for _, c := range []struct{ name, want string }{
		{"console", "console.jsonl"},
		{"http:http://127.0.0.1:9000/logs", "http_http___127.0.0.1_9000_logs-"},
		{"../../etc/passwd", "_._.._etc_passwd-"},
		{".hidden", "_hidden-"},
		{"", "-"},
	} {
		got := FileName(c.name)
		if !strings.HasPrefix(got, c.want) || !strings.HasSuffix(got, Ext) || strings.ContainsAny(got, "/\\:") || strings.HasPrefix(got, ".") {
			t.Errorf("FileName(%q) = %q; want a safe name starting %q", c.name, got, c.want)
		}
	}
	long := strings.Repeat("a", 300)
	if got := FileName(long); len(got) > 120 {
		t.Errorf("FileName of 300 bytes: %d bytes; want at most 120", len(got))
	}
	if a, again := FileName("http:a/b"), FileName("http:a/b"); a == FileName("http:a_b") || a != again {
		t.Error("FileName: want distinct names for distinct outputs, the same for the same")
	}
}

// TestReplay: delivered entries go, kept ones stay with what is left of
// them, a stop keeps the rest, and entries appended meanwhile and damaged
// lines are kept.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	d := New(dir, 0)
	f := d.File("o")
	for i := range 5 {
		if err := f.Append(entry("o", 400, fmt.Sprintf("e%d-a", i), fmt.Sprintf("e%d-b", i))); err != nil {
			t.Fatal(err)
		}
	}
	wf, _ := os.OpenFile(f.Path(), os.O_WRONLY|os.O_APPEND, 0)
	wf.WriteString("not json\n")
	wf.Close()
	f.Append(entry("o", 400, "e5-a"))

	stop := errors.New("destination refused again")
	res, err := f.Replay(func(e *Entry) (*Entry, error) {
		switch string(e.Lines[0]) {
		case "e0-a", "e2-a":
			return nil, nil
		case "e1-a": // one line refused again
			rest := *e
			rest.Lines = e.Lines[1:]
			rest.Status = 422
			return &rest, nil
		case "e3-a":
			if err := f.Append(entry("o", 400, "meanwhile")); err != nil {
				t.Errorf("Append during Replay: %v", err)
			}
			if _, err := f.Purge(); !errors.Is(err, ErrBusy) {
				t.Errorf("Purge during Replay: %v; want ErrBusy", err)
			}
			return e, stop
		}
		t.Errorf("send called with %q after the stop", e.Lines[0])
		return e, nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Replay: %v; want the send's error", err)
	}
	if res.Entries != 2 || res.Lines != 5 {
		t.Errorf("Replay: %+v; want 2 entries and 5 lines out", res)
	}
	var got []string
	for _, e := range readAll(t, f) {
		got = append(got, fmt.Sprintf("%d:%s", e.Status, bytes.Join(e.Lines, []byte(","))))
	}
	if want := "[422:e1-b 400:e3-a,e3-b 400:e4-a,e4-b 400:e5-a 400:meanwhile]"; fmt.Sprint(got) != want {
		t.Errorf("after Replay: %v; want %s", got, want)
	}
	if res.Remaining.Entries != 5 || res.Remaining.Damaged != 1 {
		t.Errorf("Remaining: %+v; want 5 entries and the damaged line", res.Remaining)
	}
	if fi, err := os.Stat(f.Path()); err != nil || fi.Mode() != 0o600 {
		t.Errorf("rewritten file: %v, %v; want mode 0600", fi, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".replay-*")); len(tmps) != 0 {
		t.Errorf("left behind: %v", tmps)
	}

	// Everything goes: the damaged line stays; purging removes the file.
	res, err = f.Replay(func(*Entry) (*Entry, error) { return nil, nil })
	if err != nil || res.Entries != 5 || res.Remaining.Entries != 0 || res.Remaining.Damaged != 1 {
		t.Fatalf("second Replay: %+v, %v; want 5 entries out, the damaged line left", res, err)
	}
	st, err := f.Purge()
	if err != nil || st.Damaged != 1 {
		t.Fatalf("Purge: %+v, %v", st, err)
	}
	if _, err := os.Stat(f.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Purge: %v; want the file gone", err)
	}
	if list, _ := d.List(); len(list) != 0 {
		t.Errorf("List after Purge: %+v; want nothing", list)
	}
}

// TestReplayEmpties: a replay that delivers everything removes the file.
func TestReplayEmpties(t *testing.T) {
	f := New(t.TempDir(), 0).File("o")
	for range 3 {
		f.Append(entry("o", 400, "x"))
	}
	res, err := f.Replay(func(*Entry) (*Entry, error) { return nil, nil })
	if err != nil || res.Entries != 3 || res.Lines != 3 || res.Remaining.Entries != 0 {
		t.Fatalf("Replay: %+v, %v", res, err)
	}
	if _, err := os.Stat(f.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file: %v; want it removed", err)
	}
	if err := f.Append(entry("o", 400, "again")); err != nil {
		t.Fatalf("Append after Replay: %v", err)
	}
	if got := readAll(t, f); len(got) != 1 {
		t.Errorf("Entries: %d; want 1", len(got))
	}
	if res, err := New(t.TempDir(), 0).File("none").Replay(func(*Entry) (*Entry, error) {
		t.Error("send called for a file that does not exist")
		return nil, nil
	}); err != nil || res.Entries != 0 {
		t.Errorf("Replay of nothing: %+v, %v", res, err)
	}
}
