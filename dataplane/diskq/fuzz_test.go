package diskq

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen writes arbitrary bytes as a segment file, opens the queue and
// reads it out. Open must succeed and never panic; every record handed out
// must be a valid record of the file, in file order; every byte of the file
// must be delivered or counted damaged; appends must continue after.
func FuzzOpen(f *testing.F) {
	var valid []byte
	for i := range 5 {
		valid = appendRecord(valid, payload(i, 10+i*30))
	}
	f.Add([]byte{})
	f.Add(valid)
	f.Add(valid[:len(valid)-7])                      // torn payload
	f.Add(valid[:len(valid)-len(payload(4, 130))-5]) // torn header
	f.Add(append(bytes.Clone(valid), make([]byte, 100)...))
	flipped := bytes.Clone(valid)
	flipped[headerSize+60] ^= 1
	f.Add(flipped)
	lenFlipped := bytes.Clone(valid)
	lenFlipped[headerSize+10+1] ^= 0x80
	f.Add(lenFlipped)
	f.Add(appendRecord(nil, nil))
	f.Add(append([]byte("garbage before"), valid...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001"+segExt), data, 0o600); err != nil {
			t.Fatal(err)
		}
		o := Options{Dir: dir, Sync: SyncNever, Logger: quiet}
		q, err := Open(o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer q.Close()
		st := q.Stats()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		var delivered, pos int64
		var n int64
		for {
			r, err := q.Next(ctx)
			if errors.Is(err, context.Canceled) {
				break
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			frame := appendRecord(nil, r.Data)
			i := bytes.Index(data[pos:], frame)
			if i < 0 {
				t.Fatalf("record %d (%d bytes) handed out is not a valid record of the file after offset %d", n, len(r.Data), pos)
			}
			pos += int64(i + len(frame))
			delivered += int64(len(frame))
			n++
			if err := q.Ack(r.ID); err != nil {
				t.Fatal(err)
			}
		}
		if n != st.Records {
			t.Fatalf("handed out %d records; Open counted %d", n, st.Records)
		}
		st = q.Stats()
		if got := delivered + st.Corrupt.Bytes + st.Torn.Bytes; got != int64(len(data)) {
			t.Fatalf("delivered %d + corrupt %d + torn %d bytes = %d; want the file's %d", delivered, st.Corrupt.Bytes, st.Torn.Bytes, got, len(data))
		}
		if st.Records != 0 || st.Bytes != 0 {
			t.Fatalf("after acking all: %+v", st)
		}
		if err := q.Append([]byte("after")); err != nil {
			t.Fatalf("Append: %v", err)
		}
		r, err := q.Next(ctx)
		if err != nil || string(r.Data) != "after" {
			t.Fatalf("Next after Append: %q, %v", r.Data, err)
		}
		if err := q.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		q, err = Open(o)
		if err != nil {
			t.Fatalf("reopen: %v", err)
		}
		defer q.Close()
		if st := q.Stats(); st.Records != 1 || st.Torn != (Damage{}) {
			t.Fatalf("reopen: %+v; want the one record not acked, nothing torn", st)
		}
	})
}
