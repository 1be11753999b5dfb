package output

import "context"

// wireKey is the context key of the wire counter.
type wireKey struct{}

// WithWireCounter returns ctx carrying c, which a Write given ctx adds to
// the bytes its destination accepted, as they went on the wire: encoded,
// compressed, framed. The pipeline derives one such context per lane and
// deliverer, not per batch. Outputs count at their shared send points:
// httpOutput.post (http, elasticsearch, loki, otlp), the tcp and console
// writes, kafka's acknowledged records (before the client's own
// compression) and cloudwatch_logs' events (as the service meters them).
func WithWireCounter(ctx context.Context, c interface{ Add(int) }) context.Context {
	return context.WithValue(ctx, wireKey{}, c)
}

// countWire adds n to ctx's wire counter, if it carries one.
func countWire(ctx context.Context, n int) {
	if c, ok := ctx.Value(wireKey{}).(interface{ Add(int) }); ok && n > 0 {
		c.Add(n)
	}
}
