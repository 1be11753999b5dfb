package ingest

import (
	"context"
	"fmt"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// ackWait waits for the lines of acknowledged requests to be settled and
// counts how each wait ended (streamgate_ingest_acks_total); each listener
// answers the outcome in its own protocol.
type ackWait struct {
	ok, failed, timeout *vm.Counter
}

func newAckWait(m *metrics.Metrics) ackWait {
	return ackWait{ok: m.IngestAck(metrics.AckOK), failed: m.IngestAck(metrics.AckFailed), timeout: m.IngestAck(metrics.AckTimeout)}
}

// ackOutcome is how the wait for an acknowledged request's lines ended.
type ackOutcome int

const (
	ackSettled  ackOutcome = iota // every line delivered or kept safe
	ackDropped                    // a line was dropped before it was safe
	ackTimedOut                   // not all settled within the ack timeout
	ackGone                       // the client went away first
)

// await releases the creator's reference of ack, every batch having been
// handed on, and waits at most timeout, or until ctx is done, for the
// lines to be settled.
func (a ackWait) await(ctx context.Context, ack *record.Ack, timeout time.Duration) ackOutcome {
	ack.Release(true) // the batches hold it now
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ack.Done():
		if ack.OK() {
			a.ok.Inc()
			return ackSettled
		}
		a.failed.Inc()
		return ackDropped
	case <-t.C:
		a.timeout.Inc()
		return ackTimedOut
	case <-ctx.Done():
		a.timeout.Inc()
		return ackGone
	}
}

// ackMode reads a request's ?ack= (durable or none; "" keeps def).
func ackMode(q string, def bool) (durable bool, err error) {
	switch q {
	case "":
		return def, nil
	case "durable":
		return true, nil
	case "none":
		return false, nil
	}
	return false, fmt.Errorf("ack: want durable or none; got %q", q)
}

// pushAcked hands the batches of one request on, each carrying the
// request's Ack, after a batch that counts its oversize records. A batch
// the buffer drops fails the Ack at once: then taken is false and the
// rest are not pushed. err is deliver's, when the data plane is shutting
// down. The creator's reference of the Ack is the caller's to release, or
// to hand to ackWait.await.
func pushAcked(ctx context.Context, cfg *Config, batches []*record.Batch, oversize int) (ack *record.Ack, taken bool, err error) {
	ack = record.NewAck()
	for _, b := range batches {
		b.Ack(ack)
	}
	if oversize > 0 {
		deliver(ctx, cfg, record.Get(0), oversize, 0)
	}
	for i, b := range batches {
		batches[i] = nil // handed on, whatever deliver returns
		if err := deliver(ctx, cfg, b, 0, cfg.OverflowWait); err != nil {
			return ack, false, err
		}
		if !ack.OK() {
			return ack, false, nil
		}
	}
	return ack, true, nil
}
