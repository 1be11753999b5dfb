// Package diskq is a disk-backed FIFO of records with at-least-once
// delivery, the disk buffer of an output: the pipeline appends each
// processed batch as one record, deliverers take records with Next and
// acknowledge each with Ack once the receiver accepted it.
//
// A record leaves the queue when it is acknowledged, not when it is read.
// Several deliverers may hold records at once and acknowledge them in any
// order; a deliverer that gives up on a record without delivering it gives
// it back with Nack. A record handed out and not acknowledged when the queue
// closes, or when the process dies, is handed out again by the next run:
// receivers may see a record twice, never miss one that Append accepted
// (within what the sync mode makes durable).
//
// # On disk
//
// A queue directory holds numbered segment files (00000000000000000001.seg,
// ...), a cursor file and a lock file. A segment is a sequence of records,
// each a 12-byte header and the payload, integers little-endian:
//
//	0   uint32  payload length n (at most MaxRecordBytes)
//	4   uint32  CRC-32C (Castagnoli) of the payload
//	8   uint32  CRC-32C of bytes 0..8
//	12  n bytes payload
//
// The header's own CRC lets a reader that meets a damaged record find the
// next valid one by trying each following offset at the cost of one 8-byte
// CRC, instead of checksumming a payload for every offset whose length
// looks plausible. A zeroed header fails it, so a block the file system
// never wrote is not read as an empty record.
//
// New segments start once the current one reaches Options.SegmentBytes. A
// segment file is deleted once it is full and every record in it is
// acknowledged. The cursor (24 bytes: "SGQC", segment number, offset,
// CRC-32C) is the position of the oldest record not acknowledged; it is
// saved, by writing a temporary file and renaming it, every
// Options.SyncInterval and at Close, so a restart hands out again at most
// what was acknowledged since the last save. A missing or invalid cursor
// means every segment is delivered again from its start.
//
// Open validates every record after the cursor. A damaged run is counted in
// Stats.Corrupt and skipped, the records after it delivered; an incomplete
// record at the end of the last segment (the write a crash interrupted) is
// cut off and counted in Stats.Torn, and appending continues from the last
// valid record. Next checks every record it reads from a file again before
// handing it out, so a record whose CRC fails is never handed out. The one
// exception reads nothing: a record appended when the reader had read
// everything before it is handed out from the buffer it was written from,
// so a queue whose reader keeps up costs a write per record and no read.
//
// Memory does not grow with the queue: Open reads segments through a
// 256 KiB window, Next reads one record at a time into pooled buffers, at
// most one record just appended is kept for the reader, and the state kept
// per record is only for records handed out and not yet acknowledged.
//
// # Why not a library
//
// The two maintained Go segment logs were considered. github.com/nsqio/go-diskqueue
// (diskqueue.go) stores records as a big-endian length and the payload with
// no checksum (writeOne, readOne); it removes a record from the queue as
// soon as it is sent on ReadChan (moveForward), so there is no
// acknowledgement, let alone out of order; on any bad length it renames the
// whole rest of the file to .bad and jumps to the next file
// (handleReadError), losing every later record of it; it bounds only the size of
// one file, not the queue; and the module proxy does not serve it.
// github.com/tidwall/wal (wal.go) also has no checksum (appendBinaryEntry
// writes a uvarint length and the payload); Open fails with ErrCorrupt on a
// torn tail (load, loadSegmentEntries) rather than cutting it; a damaged
// length makes the whole segment unreadable, with nothing to resynchronise
// on; it reads whole segments into memory (loadSegmentEntries uses
// os.ReadFile, and the tail segment's entries stay in memory) where a
// half-full 1 GiB queue must stay within a few MB; it can only drop a prefix
// (TruncateFront), by rewriting the segment that holds the new first entry
// into a temporary file; and it has neither a blocking read, nor a bound, nor
// a periodic fsync (NoSync or an fsync per write). Wrapping either would have
// meant re-implementing the framing, the recovery and the acknowledgement
// tracking around it, which is all of this package.
package diskq
