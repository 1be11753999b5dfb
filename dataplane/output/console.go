package output

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// Stdout is where console outputs write. It carries log lines only: the
// proxy's own diagnostics go to stderr. Tests may replace it before building
// outputs.
var Stdout io.Writer = os.Stdout

// stdout is the one buffered writer every console output shares: a console
// output removed by one reload and added back by the next may overlap with
// its predecessor's draining lanes, and batches must still never
// interleave.
var stdout struct {
	mu     sync.Mutex
	w      *bufio.Writer
	target io.Writer // the Stdout w was made for
}

// The console streams: a worker with nothing more to process flushes at once.
var _ Streamer = (*console)(nil)

// console writes each line followed by '\n', a whole batch at a time.
type console struct {
	mu     sync.Mutex
	closed bool
}

var consoleSpec = spec.Component{
	Summary:  "Writes each line to standard output. The default when a pipeline has no outputs.",
	Examples: []string{`{}`},
}

// validateConsole has nothing to check: a console output takes no field
// but its type.
func validateConsole(*Config) error { return nil }

func newConsole(*Config) (Output, error) {
	return &console{}, nil
}

// Write writes b's lines and flushes them, so a line is on stdout no later
// than its batch's flush.
func (c *console) Write(ctx context.Context, b *record.Batch) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	stdout.mu.Lock()
	defer stdout.mu.Unlock()
	if stdout.w == nil || stdout.target != Stdout {
		stdout.w, stdout.target = bufio.NewWriterSize(Stdout, 64<<10), Stdout
	}
	w := stdout.w
	for _, l := range b.Lines {
		w.Write(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("cannot write to stdout: %w", err)
	}
	countWire(ctx, b.Size()+len(b.Lines))
	return nil
}

// Streams implements Streamer: a batch is one write to stdout.
func (c *console) Streams() {}

// Close stops the output; stdout itself stays open. Every Write flushes, so
// nothing is left buffered.
func (c *console) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}
