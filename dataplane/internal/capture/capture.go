// Package capture provides in-memory outputs for tests: the "capture" and
// "capture_stream" output types, whose url names the Sink that collects
// their lines.
package capture

import (
	"context"
	"fmt"
	"sync"
	"time"

	"streamgate/dataplane/output"
	"streamgate/dataplane/record"
)

// Sink collects what capture outputs with its name wrote.
type Sink struct {
	mu      sync.Mutex
	lines   []string
	batches int
	maxFoot int // largest Footprint of a batch handed to Write
	hook    func([]byte)
	// Gate, when not nil, is received from before each Write: tests use it
	// to block an output.
	Gate chan struct{}
	fail error // returned by Write while set; mu
}

// SetFail makes every Write fail with err, nil to succeed again.
func (s *Sink) SetFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

var (
	once  sync.Once
	mu    sync.Mutex
	sinks = map[string]*Sink{}
)

// Register adds the "capture" output type; calling it again is harmless.
func Register() {
	once.Do(func() {
		err := output.Register("capture", output.Type{
			Validate: func(*output.Config) error { return nil },
			New: func(c *output.Config) (output.Output, error) {
				return &out{s: Get(c.URL)}, nil
			},
		})
		if err != nil {
			panic("BUG: " + err.Error())
		}
		err = output.Register("capture_stream", output.Type{
			Validate: func(*output.Config) error { return nil },
			New: func(c *output.Config) (output.Output, error) {
				return &streamOut{out{s: Get(c.URL)}}, nil
			},
		})
		if err != nil {
			panic("BUG: " + err.Error())
		}
		err = output.Register("capture_linger", output.Type{
			Validate: func(*output.Config) error { return nil },
			New: func(c *output.Config) (output.Output, error) {
				return &lingerOut{out{s: Get(c.URL)}, time.Duration(*c.LingerMS) * time.Millisecond}, nil
			},
		})
		if err != nil {
			panic("BUG: " + err.Error())
		}
	})
}

// Get returns the sink with the given name, creating it.
func Get(name string) *Sink {
	mu.Lock()
	defer mu.Unlock()
	s := sinks[name]
	if s == nil {
		s = &Sink{}
		sinks[name] = s
	}
	return s
}

var seq int

// Unique returns a sink name starting with prefix that no earlier call
// returned, so repeated test runs never share a sink.
func Unique(prefix string) string {
	mu.Lock()
	defer mu.Unlock()
	seq++
	return fmt.Sprintf("%s-%d", prefix, seq)
}

// Config returns the output config of a capture output writing to name.
func Config(name string) output.Config {
	return output.Config{Type: "capture", URL: name}
}

// StreamConfig is Config for a capture output that streams
// (output.Streamer), as console and tcp do.
func StreamConfig(name string) output.Config {
	return output.Config{Type: "capture_stream", URL: name}
}

// LingerConfig is Config for a capture output that lingers
// (output.Lingerer) for ms milliseconds, as http does.
func LingerConfig(name string, ms int) output.Config {
	return output.Config{Type: "capture_linger", URL: name, LingerMS: &ms}
}

// OnLine makes the sink call f with each line instead of keeping it; f runs
// under the sink's lock and must not keep the line.
func (s *Sink) OnLine(f func(line []byte)) {
	s.mu.Lock()
	s.hook = f
	s.mu.Unlock()
}

// Lines returns a copy of the lines kept so far.
func (s *Sink) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// Len is the number of lines kept so far.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// MaxFootprint is the largest Footprint of a batch handed to Write so
// far, counting batches still waiting at the Gate: the memory one queued
// batch can hold.
func (s *Sink) MaxFootprint() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxFoot
}

// Batches is the number of batches written so far.
func (s *Sink) Batches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.batches
}

type out struct{ s *Sink }

func (o *out) Write(ctx context.Context, b *record.Batch) error {
	o.s.mu.Lock()
	o.s.maxFoot = max(o.s.maxFoot, b.Footprint())
	o.s.mu.Unlock()
	if g := o.s.Gate; g != nil {
		select {
		case <-g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o.s.mu.Lock()
	defer o.s.mu.Unlock()
	if o.s.fail != nil {
		return o.s.fail
	}
	o.s.batches++
	for _, l := range b.Lines {
		if o.s.hook != nil {
			o.s.hook(l)
		} else {
			o.s.lines = append(o.s.lines, string(l))
		}
	}
	return nil
}

func (o *out) Close() error { return nil }

type streamOut struct{ out }

func (*streamOut) Streams() {}

var _ output.Streamer = (*streamOut)(nil)

type lingerOut struct {
	out
	linger time.Duration
}

func (o *lingerOut) Linger() time.Duration { return o.linger }

var _ output.Lingerer = (*lingerOut)(nil)
