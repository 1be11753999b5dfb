package diskq

import "errors"

var (
	// ErrFull is returned by Append when the record would take the segment
	// files past Options.MaxBytes. Room comes back as acknowledged segments
	// are deleted.
	ErrFull = errors.New("disk queue full")

	// ErrTooLarge is returned by Append for a record that can never fit:
	// longer than MaxRecordBytes, or than Options.MaxBytes with its header.
	ErrTooLarge = errors.New("record too large for the disk queue")

	// ErrClosed is returned by every method but Stats after Close.
	ErrClosed = errors.New("disk queue closed")

	// ErrUnknownID is returned by Ack and Nack for an ID that is not handed
	// out: never handed out by this Queue, already acknowledged, or given
	// back by Nack and not yet handed out again.
	ErrUnknownID = errors.New("record not handed out")

	// ErrNotSynced is returned by Append under SyncAlways when the record
	// was written but its fsync failed: it is in the queue, and will be
	// handed out, but may not survive a power cut.
	ErrNotSynced = errors.New("record written but not synced")

	// ErrLocked is returned by Open when another Queue, in this process or
	// another, has the directory open.
	ErrLocked = errors.New("disk queue directory in use")
)

// errCorrupt marks a record that fails its checks; readers skip to the next
// valid record and count the bytes in between.
var errCorrupt = errors.New("corrupt record")
