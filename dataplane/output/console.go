package output

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"streamgate/dataplane/record"
)

// Stdout is where console outputs write. It carries log lines only: the
// proxy's own diagnostics go to stderr. Tests may replace it before building
// outputs.
var Stdout io.Writer = os.Stdout

// console writes each line followed by '\n'. Lanes share one buffered writer,
// so a batch is written whole and batches never interleave.
type console struct {
	mu     sync.Mutex
	w      *bufio.Writer
	closed bool
}

func validateConsole(c *Config) error {
	if c.URL != "" {
		return errors.New("url: not used by console output")
	}
	if len(c.Headers) != 0 {
		return errors.New("headers: not used by console output")
	}
	return nil
}

func newConsole(*Config) (Output, error) {
	return &console{w: bufio.NewWriterSize(Stdout, 64<<10)}, nil
}

// Write writes b's lines and flushes them, so a line is on stdout no later
// than its batch's flush.
func (c *console) Write(_ context.Context, b *record.Batch) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	for _, l := range b.Lines {
		c.w.Write(l)
		c.w.WriteByte('\n')
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("cannot write to stdout: %w", err)
	}
	return nil
}

// Close flushes and stops the output; stdout itself stays open.
func (c *console) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.w.Flush()
}
