package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"streamgate/dataplane/internal/capture"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/record"
)

// TestAckSettles: an acknowledged batch's Ack is done once each line is
// filtered away or taken by every output: persisted by one with a disk
// buffer (while its destination is down), delivered by one that queues in
// memory; it fails when an output loses its lines.
func TestAckSettles(t *testing.T) {
	down := errors.New("vendor down")
	for _, tc := range []struct {
		name   string
		filter bool // drop every line
		outs   func(t *testing.T) []output.Config
		wantOK bool
	}{
		{"delivered", false, func(*testing.T) []output.Config {
			return []output.Config{capture.Config(capture.Unique("ack"))}
		}, true},
		{"filtered", true, func(*testing.T) []output.Config {
			return []output.Config{capture.Config(capture.Unique("ack"))}
		}, true},
		{"persisted while the destination is down", false, func(t *testing.T) []output.Config {
			s := capture.Unique("ack")
			capture.Get(s).SetFail(down)
			return []output.Config{diskConfig(s, output.BufferConfig{Sync: "always"})}
		}, true},
		{"one output of two failed", false, func(*testing.T) []output.Config {
			bad := capture.Unique("ack")
			capture.Get(bad).SetFail(down)
			return []output.Config{capture.Config(capture.Unique("ack")), capture.Config(bad)}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{Version: "1", Outputs: tc.outs(t), BatchSize: 3}
			if tc.filter {
				cfg.Chain = processor.NewChain(mustStep(t, "drop_all", "filter", `{"value": "line"}`))
			}
			p, err := New(Options{Workers: 2, DataDir: t.TempDir(), FlushInterval: 5 * time.Millisecond}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				p.Close(ctx)
			}()
			a := record.NewAck()
			for i := range 4 { // 4 batches of 2 lines: output batches of 3 carry two Acks' lines
				b := lineBatch(uint64(i%2), "line a", "line b")
				b.Ack(a)
				if err := p.Push(context.Background(), b, 0); err != nil {
					t.Fatal(err)
				}
			}
			a.Release(true)
			select {
			case <-a.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the Ack is not done")
			}
			if a.OK() != tc.wantOK {
				t.Errorf("OK: got %v; want %v", a.OK(), tc.wantOK)
			}
		})
	}
}

// TestAckFailsOnBufferFull: lines a full buffer drops fail their Ack.
func TestAckFailsOnBufferFull(t *testing.T) {
	sink := capture.Unique("ack")
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	p, err := New(Options{Workers: 1, BufferLines: 2, FlushInterval: 5 * time.Millisecond},
		&Config{Version: "1", Chain: processor.NewChain(processor.Step{ID: "gate", Type: "gate", P: g, RunOnOverload: true}), Outputs: []output.Config{capture.Config(sink)}})
	if err != nil {
		t.Fatal(err)
	}
	defer closePipeline(t, p)
	p.Push(context.Background(), lineBatch(1, "held by the gate"), 0)
	<-g.entered
	p.Push(context.Background(), lineBatch(1, "fills", "the buffer"), 0)
	a := record.NewAck()
	b := lineBatch(1, "dropped")
	b.Ack(a)
	p.Push(context.Background(), b, 0) // drop_oldest evicts "fills the buffer"
	p.Push(context.Background(), lineBatch(1, "evicts", "it"), 0)
	a.Release(true)
	close(g.release)
	select {
	case <-a.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the Ack is not done")
	}
	if a.OK() {
		t.Error("OK: got true for lines the full buffer dropped")
	}
}
