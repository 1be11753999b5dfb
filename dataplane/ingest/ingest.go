package ingest

import (
	"context"
	"crypto/tls"
	"log/slog"
	"sync/atomic"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// Sink takes batches of lines; the pipeline implements it. Push takes
// ownership of b whatever it returns. Batches with the same Key must keep
// their order. When the sink is full, Push may hold the caller back for up
// to wait before it drops lines (longer under a blocking overflow policy):
// the TCP and HTTP listeners pass Config.OverflowWait, since holding them
// back slows their senders down; the UDP listener, whose senders cannot
// be slowed, passes 0.
type Sink interface {
	Push(ctx context.Context, b *record.Batch, wait time.Duration) error
}

// Config is shared by the listeners.
type Config struct {
	// Sink receives every batch.
	Sink Sink
	// OverflowWait is how long a TCP or HTTP push may wait for room in a
	// full sink before lines are dropped (pipeline.Pipeline.OverflowWait);
	// 0 drops at once. UDP never waits.
	OverflowWait time.Duration
	// Metrics counts received and oversize lines.
	Metrics *metrics.Metrics
	// MaxLine is the longest line accepted; 0 means DefaultMaxLine.
	MaxLine int
	// Logger receives diagnostics; nil means slog.Default().
	Logger *slog.Logger
	// Limits bound what clients can make the TCP and HTTP listeners hold;
	// zero fields take their defaults.
	Limits Limits
	// TLS, when set, makes the TCP and HTTP listeners speak TLS only (see
	// LoadTLS); with ClientAuth tls.RequireAndVerifyClientCert they take
	// only clients whose certificate ClientCAs verifies. UDP is never
	// encrypted.
	TLS *tls.Config
	// Syslog, when set, makes the TCP and UDP listeners take syslog
	// messages (see Syslog).
	Syslog *Syslog
	// Name is the listener label of a TCP listener's counters; "" means
	// metrics.ListenerTCP.
	Name string
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.MaxLine <= 0 {
		d.MaxLine = DefaultMaxLine
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	d.Limits = d.Limits.withDefaults(d.MaxLine)
	return d
}

// keys hands out source keys: every connection, request or peer gets its own,
// so the pipeline spreads sources over its workers.
var keys atomic.Uint64

func nextKey() uint64 { return keys.Add(1) }

// deliver counts b's lines and oversize drops as received and pushes b,
// waiting up to wait for room, or recycles it when it has no line.
func deliver(ctx context.Context, c *Config, b *record.Batch, oversize int, wait time.Duration) error {
	if oversize > 0 {
		c.Metrics.Received.Add(oversize)
		c.Metrics.Dropped(metrics.ReasonOversize).Add(oversize)
	}
	if len(b.Lines) == 0 {
		record.Put(b)
		return nil
	}
	c.Metrics.Received.Add(len(b.Lines))
	if c.Syslog != nil {
		c.Syslog.decode(b)
	}
	b.Born = time.Now().UnixNano()
	return c.Sink.Push(ctx, b, wait)
}
