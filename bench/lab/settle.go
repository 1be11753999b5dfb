package lab

import (
	"context"
	"fmt"
	"time"

	lgsink "streamgate/loadgen/sink"
)

// SettleTimeout bounds Settle. The longest healthy drain is the chaos
// sink drill's: an HTTP output working off a queue of up to 64 MiB once
// its sink is back, a batch that failed first waiting out a back-off of
// up to 5 s, while the proxy shares the machine's cores with the sender
// and the sink. The bench's backlogs clear in a second or two (it had
// 60 s); 90 s leaves the drills room on a slow machine. A proxy that has
// not settled by then is stuck, not slow: a run that settles sooner pays
// nothing for the longer bound, and only a stuck one reports later.
const SettleTimeout = 90 * time.Second

// settlePoll is how often Settle looks again.
const settlePoll = 20 * time.Millisecond

// Mark is where a run's accounting starts: the proxy's counters and the
// sink's statistics at one moment.
type Mark struct {
	// Counters are the proxy's.
	Counters Counters
	// Sink is the sink's.
	Sink lgsink.Stats
}

// TakeMark reads the proxy's counters, then the sink's statistics.
func TakeMark(ctx context.Context, px *Proxy, s *Sink) (Mark, error) {
	c, err := px.Counters()
	if err != nil {
		return Mark{}, fmt.Errorf("cannot read proxy counters: %w", err)
	}
	st, err := s.Snapshot(ctx)
	return Mark{Counters: c, Sink: st}, err
}

// Want is what Settle waits for.
type Want struct {
	// Base is where the run started.
	Base Mark
	// Sent is how many lines the proxy must have received since Base; 0
	// when the caller cannot say.
	Sent int64
	// Out is the metrics name (Output.Name) of the output whose lines
	// reach the sink.
	Out string
	// Others name more outputs that must have nothing queued, e.g.
	// "console".
	Others []string
}

// backlog is what a proxy has yet to do, since a Mark, before it has
// settled.
type backlog struct {
	received, sent float64 // lines received since the mark, of sent
	inPipeline     float64 // received, not yet filtered, dropped or emitted
	queued         float64 // emitted since the mark, not yet delivered or dropped, over the outputs named
	atSink, toSink float64 // lines at the sink since the mark, of those delivered to it
}

// backlog is the proxy's backlog by counters c and sink statistics st.
func (w Want) backlog(c Counters, st lgsink.Stats) backlog {
	b := backlog{
		received:   c.Received - w.Base.Counters.Received,
		sent:       float64(w.Sent),
		inPipeline: c.InPipeline(),
		atSink:     float64(st.Lines - w.Base.Sink.Lines),
		toSink:     c.OutputDelivered(w.Out) - w.Base.Counters.OutputDelivered(w.Out),
	}
	for _, o := range append([]string{w.Out}, w.Others...) {
		b.queued += c.QueuedSince(w.Base.Counters, o)
	}
	return b
}

// settled is the settle rule: the proxy has received what was sent, holds
// nothing in its pipeline, has nothing queued for the outputs named, and
// the sink has at least what the proxy delivered to it. The sink may have
// more: lines delivered twice, after a retry, count as well.
func (b backlog) settled() bool {
	return b.received >= b.sent && b.inPipeline == 0 && b.queued == 0 && b.atSink >= b.toSink
}

func (b backlog) String() string {
	return fmt.Sprintf("received %.0f of %.0f lines sent, %.0f in the pipeline, %.0f queued for outputs, the sink has %.0f of the %.0f delivered to it",
		b.received, b.sent, b.inPipeline, b.queued, b.atSink, b.toSink)
}

// Settle waits until the proxy has settled by w (see backlog.settled),
// polling the proxy and the sink, for at most SettleTimeout or until ctx
// ends. It returns the counters and the sink's statistics it last read.
func Settle(ctx context.Context, px *Proxy, s *Sink, w Want) (Counters, lgsink.Stats, error) {
	return settle(ctx, px, s, w, SettleTimeout)
}

func settle(ctx context.Context, px *Proxy, s *Sink, w Want, timeout time.Duration) (Counters, lgsink.Stats, error) {
	deadline := time.Now().Add(timeout)
	t := time.NewTimer(0)
	defer t.Stop()
	var (
		c   Counters
		st  lgsink.Stats
		err error
	)
	for {
		select {
		case <-ctx.Done():
			return c, st, fmt.Errorf("cannot settle proxy: %w", ctx.Err())
		case <-t.C:
		}
		if c, err = px.Counters(); err != nil {
			return c, st, fmt.Errorf("cannot read proxy counters: %w", err)
		}
		if st, err = s.Snapshot(ctx); err != nil {
			return c, st, err
		}
		b := w.backlog(c, st)
		if b.settled() {
			return c, st, nil
		}
		if time.Now().After(deadline) {
			return c, st, fmt.Errorf("proxy did not settle within %s: %s", timeout, b)
		}
		t.Reset(settlePoll)
	}
}

// SettleSink waits until the sink has at least n lines since it was last
// reset, for a sender that writes straight to it (the lab's floor), for at
// most SettleTimeout or until ctx ends. It returns the statistics it last
// read.
func SettleSink(ctx context.Context, s *Sink, n int64) (lgsink.Stats, error) {
	deadline := time.Now().Add(SettleTimeout)
	for {
		st, err := s.Snapshot(ctx)
		if err != nil {
			return st, err
		}
		if st.Lines >= n {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("the sink has %d of %d lines after %s", st.Lines, n, SettleTimeout)
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("cannot settle sink: %w", ctx.Err())
		case <-time.After(settlePoll):
		}
	}
}
