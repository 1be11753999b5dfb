package ingest

import (
	"context"
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
