package drill

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"streamgate/dataplane/diskq"
)

// testRecord encodes lines as the pipeline writes a batch to its disk
// queue: version, time, line count, each line prefixed by its length.
func testRecord(lines ...string) []byte {
	b := []byte{recordVersion}
	b = binary.LittleEndian.AppendUint64(b, uint64(time.Now().UnixNano()))
	b = binary.AppendUvarint(b, uint64(len(lines)))
	for _, l := range lines {
		b = binary.AppendUvarint(b, uint64(len(l)))
		b = append(b, l...)
	}
	return b
}

// writeQueue writes records of 10 lines each of source src, sequence
// numbers from 1, to a disk queue in dir, through the data plane's own
// queue, and acknowledges the first acked of them.
func writeQueue(t *testing.T, dir, src string, records, acked int) {
	t.Helper()
	q, err := diskq.Open(diskq.Options{Dir: dir, MaxBytes: 1 << 20, SegmentBytes: 8 << 10, Sync: diskq.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	seq := 0
	for range records {
		var lines []string
		for range 10 {
			seq++
			lines = append(lines, fmt.Sprintf("ts=1 src=%s seq=%d level=INFO msg=\"a line long enough to fill segments\"", src, seq))
		}
		if err := q.Append(testRecord(lines...)); err != nil {
			t.Fatal(err)
		}
	}
	for range acked {
		rec, err := q.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if err := q.Ack(rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestScanQueues(t *testing.T) {
	root := t.TempDir()
	queues := filepath.Join(root, "queues")
	writeQueue(t, filepath.Join(queues, "http-1", "0"), "r-0", 200, 30)
	writeQueue(t, filepath.Join(queues, "http-1", "1"), "r-1", 150, 0)

	sc, err := scanQueues(queues)
	if err != nil {
		t.Fatal(err)
	}
	// The 30 records acknowledged are behind the cursor: not counted.
	if sc.queues != 2 || sc.lines != (170+150)*10 || len(sc.records) != 320 || sc.damaged != 0 || sc.unparsed != 0 {
		t.Fatalf("got %d queues, %d lines in %d records, %d damaged, %d unparsed; want 2, 3200 in 320, 0, 0",
			sc.queues, sc.lines, len(sc.records), sc.damaged, sc.unparsed)
	}
	if sc.maxSeq["r-0"] != 2000 || sc.maxSeq["r-1"] != 1500 || sc.sumMaxSeq() != 3500 {
		t.Fatalf("highest sequence numbers %v; want r-0 2000, r-1 1500", sc.maxSeq)
	}
	segs := map[string]bool{}
	for _, r := range sc.records {
		segs[r.path] = true
	}
	if len(segs) < 4 {
		t.Fatalf("records in %d segments; want several per queue", len(segs))
	}

	torn, flipped, err := damageQueues(sc)
	if err != nil {
		t.Fatal(err)
	}
	if !torn.lastSeg || !torn.lastRec || flipped.lastRec || filepath.Dir(torn.path) == filepath.Dir(flipped.path) {
		t.Fatalf("damaged %+v and %+v; want the end of a queue, and a record with one after it in another queue", torn, flipped)
	}
	after, err := scanQueues(queues)
	if err != nil {
		t.Fatal(err)
	}
	if want := sc.lines - int64(torn.lines+flipped.lines); after.damaged != 2 || after.lines != want {
		t.Fatalf("after the damage: %d damaged runs, %d lines; want 2, %d", after.damaged, after.lines, want)
	}

	// The data plane's queue finds the same: what it restores, and what
	// it counts as damaged.
	var restored int64
	for _, lane := range []string{"0", "1"} {
		q, err := diskq.Open(diskq.Options{Dir: filepath.Join(queues, "http-1", lane), MaxBytes: 1 << 20, SegmentBytes: 8 << 10,
			Sync: diskq.SyncNever, Recovered: func(head []byte) {
				n, _ := binary.Uvarint(head[9:])
				restored += int64(n)
			}})
		if err != nil {
			t.Fatal(err)
		}
		st := q.Stats()
		if st.Corrupt.Records+st.Torn.Records != 1 {
			t.Errorf("lane %s: the queue found %d corrupt and %d torn records; want 1 in all", lane, st.Corrupt.Records, st.Torn.Records)
		}
		q.Close()
	}
	if restored != after.lines {
		t.Fatalf("the queue restored %d lines; the scan says %d", restored, after.lines)
	}
}

func TestScanQueuesMissing(t *testing.T) {
	sc, err := scanQueues(filepath.Join(t.TempDir(), "none"))
	if err != nil || sc.lines != 0 || sc.queues != 0 {
		t.Fatalf("got %+v, %v; want nothing, no error", sc, err)
	}
}
