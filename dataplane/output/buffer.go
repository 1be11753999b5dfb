package output

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"streamgate/dataplane/spec"
)

// Buffer kinds of BufferConfig.Type.
const (
	BufferMemory = "memory"
	BufferDisk   = "disk"
)

// Defaults of a disk buffer.
const (
	DefaultDiskMaxBytes     = 1 << 30
	DefaultDiskSyncInterval = time.Second
	// MinDiskMaxBytes keeps a disk buffer able to hold a few batches.
	MinDiskMaxBytes = 1 << 20
)

// BufferConfig is where an output's queue lives, any output type alike: in
// memory (the default; bounded by the data plane's -output-queue-bytes) or
// on disk, in a folder of the data plane's -data-dir, where it outlives a
// crash or a restart.
type BufferConfig struct {
	// Type is "memory" or "disk".
	Type string `json:"type"`
	// MaxBytes bounds a disk buffer's bytes not yet delivered; 0 means
	// DefaultDiskMaxBytes.
	MaxBytes int64 `json:"max_bytes,omitempty"`
	// Sync says when a disk buffer's writes reach the disk: "interval"
	// (the default: every SyncIntervalMS), "always" (before a batch counts
	// as queued) or "never" (when the operating system decides).
	Sync string `json:"sync,omitempty"`
	// SyncIntervalMS is the interval of sync "interval"; 0 means 1000.
	SyncIntervalMS int `json:"sync_interval_ms,omitempty"`
}

// Disk reports whether c asks for a disk buffer.
func (c *BufferConfig) Disk() bool { return c != nil && c.Type == BufferDisk }

// validate checks c; errors name the field under "buffer.".
func (c *BufferConfig) validate() error {
	switch c.Type {
	case BufferMemory:
		if c.MaxBytes != 0 || c.Sync != "" || c.SyncIntervalMS != 0 {
			return fmt.Errorf(`buffer: a "memory" buffer takes no other field (its bound is the data plane's -output-queue-bytes)`)
		}
		return nil
	case BufferDisk:
	case "":
		return fmt.Errorf(`buffer.type: missing (want "memory" or "disk")`)
	default:
		return fmt.Errorf(`buffer.type: unknown buffer type %q (want "memory" or "disk")`, c.Type)
	}
	if c.MaxBytes != 0 && c.MaxBytes < MinDiskMaxBytes {
		return fmt.Errorf("buffer.max_bytes: want at least %d (1 MiB), or 0 for %d (1 GiB); got %d", MinDiskMaxBytes, DefaultDiskMaxBytes, c.MaxBytes)
	}
	switch c.Sync {
	case "", "interval", "always", "never":
	default:
		return fmt.Errorf(`buffer.sync: unknown sync mode %q (want "interval", "always" or "never")`, c.Sync)
	}
	if c.SyncIntervalMS < 0 || c.SyncIntervalMS > 60_000 {
		return fmt.Errorf("buffer.sync_interval_ms: want 1 to 60000, or 0 for 1000; got %d", c.SyncIntervalMS)
	}
	if c.SyncIntervalMS != 0 && c.Sync != "" && c.Sync != "interval" {
		return fmt.Errorf(`buffer.sync_interval_ms: only sync "interval" takes it; sync is %q`, c.Sync)
	}
	return nil
}

// DiskMaxBytes is the bound of a disk buffer, its default filled in.
func (c *BufferConfig) DiskMaxBytes() int64 {
	if c.MaxBytes == 0 {
		return DefaultDiskMaxBytes
	}
	return c.MaxBytes
}

// SyncInterval is the interval of sync "interval", its default filled in.
func (c *BufferConfig) SyncInterval() time.Duration {
	if c.SyncIntervalMS == 0 {
		return DefaultDiskSyncInterval
	}
	return time.Duration(c.SyncIntervalMS) * time.Millisecond
}

// QueueID names the disk queue of an output: a stable hash of every
// setting but the buffer's own, so a reload that keeps an output, or only
// changes how its buffer syncs or how large it may grow, keeps its queue,
// and a restart finds it again. It shows nothing of the settings (a header
// may hold an API key).
func (c *Config) QueueID() string {
	d := *c
	d.Buffer, d.CostPerGB = nil, nil
	b, err := json.Marshal(&d) // map keys are sorted, so this is canonical
	if err != nil {
		panic("BUG: cannot marshal output config: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return c.Type + "-" + hex.EncodeToString(sum[:8])
}

// BufferSpec documents the buffer field every output type takes.
var BufferSpec = spec.Component{
	Summary: "Every output type takes `buffer`: where its queue lives. In memory by default, bounded by the data plane's `-output-queue-bytes`. On disk, in `-data-dir`, the queue outlives a crash, a restart or a long vendor outage: batches are written there, after redaction, and removed only once the output has delivered them (at least once).",
	Params: []spec.Param{
		{Name: "type", Kind: spec.String, Required: true, Enum: []string{BufferMemory, BufferDisk}, Description: "Where the queue lives."},
		{Name: "max_bytes", Kind: spec.Integer, Default: "1073741824", Description: "Disk: the most bytes on disk not yet delivered, at least 1 MiB, shared evenly by the data plane's workers. When it is reached, under `-overflow block` the pipeline waits; under the drop policies the newest batches are dropped and counted (`reason=\"disk_full\"`)."},
		{Name: "sync", Kind: spec.String, Default: "interval", Enum: []string{"interval", "always", "never"}, Description: "Disk: when writes are flushed to the device (fsync). `always`: before a batch counts as queued, so a power cut loses nothing queued; `interval`: every `sync_interval_ms`, so a crash of the process loses nothing queued and a power cut at most that interval; `never`: when the operating system decides."},
		{Name: "sync_interval_ms", Kind: spec.Integer, Default: "1000", Description: "Disk, sync `interval`: milliseconds between flushes, up to 60000."},
	},
	Examples: []string{`{"type": "disk", "max_bytes": 1073741824, "sync": "interval", "sync_interval_ms": 1000}`, `{"type": "memory"}`},
}
