package diskq

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// SyncMode says when appended records are forced to stable storage (fsync).
type SyncMode uint8

const (
	// SyncInterval fsyncs the segment being written every SyncInterval, and
	// every segment once it is full, from a background goroutine: a crash of
	// the machine loses at most the last interval of records. A crash of the
	// process alone loses nothing that Append accepted. The default.
	SyncInterval SyncMode = iota
	// SyncAlways fsyncs before Append returns. Concurrent Appends share one
	// fsync (group commit).
	SyncAlways
	// SyncNever leaves writing back to the operating system. The cursor is
	// still saved (without fsync) every SyncInterval and at Close.
	SyncNever
)

// ParseSync parses "interval" (or ""), "always" or "never".
func ParseSync(s string) (SyncMode, error) {
	switch s {
	case "interval", "":
		return SyncInterval, nil
	case "always":
		return SyncAlways, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("unknown sync mode %q (want interval, always or never)", s)
}

func (m SyncMode) String() string {
	switch m {
	case SyncInterval:
		return "interval"
	case SyncAlways:
		return "always"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncMode(%d)", m)
}

// Defaults and bounds of Options.
const (
	DefaultMaxBytes     = 1 << 30
	DefaultSyncInterval = time.Second
	// MaxSegmentBytes is the default segment size for a MaxBytes of 64 MiB
	// or more; smaller queues get MaxBytes/8, and at least MinSegmentBytes,
	// so that acknowledged space comes back in small steps.
	MaxSegmentBytes = 8 << 20
	// MinSegmentBytes is the smallest segment size Options takes.
	MinSegmentBytes = 4 << 10
	// MinMaxBytes is the smallest MaxBytes Options takes.
	MinMaxBytes = 4 << 10
	// MaxRecordBytes is the longest record Append takes. Readers trust no
	// length beyond it, whatever a header says.
	MaxRecordBytes = 64 << 20
	// RecoveredPrefix is how much of each record Options.Recovered sees.
	RecoveredPrefix = 32
)

// Options are fixed for the life of a Queue. The zero value of each field but
// Dir means its default.
type Options struct {
	// Dir holds the segment files, the cursor and a lock file. It is created
	// with mode 0700 if missing; files are created with mode 0600. One Queue
	// at a time may have a directory open.
	Dir string
	// MaxBytes bounds the bytes of the segment files on disk. Append returns
	// ErrFull rather than go past it. Acknowledged records keep their bytes
	// until every record of their segment is acknowledged and the segment
	// file is deleted. 0 means DefaultMaxBytes.
	MaxBytes int64
	// SegmentBytes is the size at which the queue starts a new segment file
	// (a longer record gets a segment to itself). 0 means MaxBytes/8 between
	// MinSegmentBytes and MaxSegmentBytes.
	SegmentBytes int64
	// Sync says when records are fsynced; the zero value is SyncInterval.
	Sync SyncMode
	// SyncInterval is the period of the background fsync under
	// SyncInterval, and of saving the cursor under every mode. 0 means
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// Recovered, when set, is called by Open with the first bytes, up to
	// RecoveredPrefix, of every record it finds waiting: what the last run
	// left, to be handed out again. The bytes are valid during the call
	// only.
	Recovered func(head []byte)
	// Logger receives what goes wrong in the background (a failed fsync or
	// delete); nil means slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentBytes == 0 {
		o.SegmentBytes = min(max(o.MaxBytes/8, MinSegmentBytes), MaxSegmentBytes)
	}
	if o.SyncInterval == 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validate returns every problem at once; o has its defaults.
func (o Options) validate() error {
	var errs []error
	if o.Dir == "" {
		errs = append(errs, errors.New("Options.Dir: required"))
	}
	if o.MaxBytes < MinMaxBytes {
		errs = append(errs, fmt.Errorf("Options.MaxBytes %d: must be at least %d", o.MaxBytes, MinMaxBytes))
	}
	if o.SegmentBytes < MinSegmentBytes {
		errs = append(errs, fmt.Errorf("Options.SegmentBytes %d: must be at least %d", o.SegmentBytes, MinSegmentBytes))
	}
	if o.Sync > SyncNever {
		errs = append(errs, fmt.Errorf("Options.Sync %d: unknown mode", o.Sync))
	}
	if o.SyncInterval < 0 {
		errs = append(errs, fmt.Errorf("Options.SyncInterval %s: must be positive", o.SyncInterval))
	}
	return errors.Join(errs...)
}
