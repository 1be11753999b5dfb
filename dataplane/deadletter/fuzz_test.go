package deadletter

import (
	"bytes"
	"os"
	"testing"
)

// FuzzFile reads whatever a dead-letter file may hold (a crash can cut a
// line short; a person can edit it): no input may make the reader panic,
// every entry read must write back as itself, and a replay must keep
// exactly what it is told to keep, damaged lines included.
func FuzzFile(f *testing.F) {
	var good bytes.Buffer
	appendEntry(&good, entry("http:http://host/logs", 400, "a", "b \"quoted\""))
	appendEntry(&good, entry("http:http://host/logs", 422, "bad \xff byte"))
	f.Add(good.Bytes())
	for i := 0; i < good.Len(); i += 37 {
		f.Add(good.Bytes()[:i]) // cut anywhere
	}
	f.Add([]byte(`{"time":"2026-12-06T20:40:37Z","output":"o","status":400,"response":"","lines":["x"],"lines_b64":["eA=="]}` + "\n"))
	f.Add([]byte(`{"lines":[]}` + "\n" + `{"lines_b64":["!!"]}` + "\n\n  \n" + `{"lines":[null,"\ud800"]}`))
	f.Add([]byte("[1,2]\nnull\n\"s\"\n{}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		// Scan alone: each entry round-trips.
		entries, damaged := 0, 0
		err := Scan(bytes.NewReader(data), func(raw []byte, e *Entry, err error) bool {
			if err != nil {
				damaged++
				return true
			}
			entries++
			if len(e.Lines) == 0 {
				t.Fatalf("entry without lines from %q", raw)
			}
			var again bytes.Buffer
			if err := appendEntry(&again, e); err != nil {
				t.Fatalf("cannot encode %+v read from %q: %v", e, raw, err)
			}
			back, err := decodeEntry(again.Bytes())
			if err != nil || !sameEntry(back, e) {
				t.Fatalf("entry %+v read from %q: written as %q, read back as %+v, %v", e, raw, again.Bytes(), back, err)
			}
			return true
		})
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}

		// The same bytes as a file.
		d := New(t.TempDir(), 0)
		file := d.File("o")
		if err := os.WriteFile(file.Path(), data, fileMode); err != nil {
			t.Fatal(err)
		}
		st, err := file.Stats()
		if err != nil || st.Entries != entries || st.Damaged != damaged {
			t.Fatalf("Stats: %+v, %v; want %d entries and %d damaged", st, err, entries, damaged)
		}
		// Keep every other entry, without its first line when it has more.
		n, keptLines := 0, 0
		res, err := file.Replay(func(e *Entry) (*Entry, error) {
			n++
			if n%2 == 1 {
				return nil, nil
			}
			rest := *e
			if len(rest.Lines) > 1 {
				rest.Lines = rest.Lines[1:]
			}
			keptLines += len(rest.Lines)
			return &rest, nil
		})
		if err != nil {
			t.Fatalf("Replay: %v", err)
		}
		if res.Remaining.Entries != entries/2 || res.Remaining.Lines != keptLines || res.Remaining.Damaged != damaged {
			t.Fatalf("after Replay: %+v; want %d entries of %d lines, %d damaged", res.Remaining, entries/2, keptLines, damaged)
		}
		if _, err := file.Purge(); err != nil {
			t.Fatalf("Purge: %v", err)
		}
	})
}
