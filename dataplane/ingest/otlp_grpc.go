package ingest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/encoding/gzip" // gzip-compressed requests
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// OTLPGRPC takes OpenTelemetry logs over OTLP/gRPC: the Export method of
// opentelemetry.proto.collector.logs.v1.LogsService, gzip-compressed or
// not. Each log record becomes one JSON line, as over OTLP/HTTP.
//
// It answers as OTLP/gRPC says: OK with an ExportLogsServiceResponse, whose
// partial_success counts the records dropped for being longer than the
// line limit; INVALID_ARGUMENT for a request that does not decode;
// RESOURCE_EXHAUSTED, with a RetryInfo, when the buffer did not take the
// records within the overflow rules or it serves as many requests as it
// may (Limits.HTTPMaxRequests), and, from gRPC itself, for a request over
// Limits.OTLPMaxBody; UNAVAILABLE while shutting down, and, with a
// RetryInfo, when an acknowledged request's records were not settled.
//
// It holds at most Limits.MaxConns connections; a connection idle for
// Limits.IdleTimeout is closed, and a new one must complete its handshake
// within Limits.HTTPReadTimeout.
type OTLPGRPC struct {
	cfg     Config
	ln      net.Listener
	srv     *grpc.Server
	lim     *connLimiter
	maxBody int64

	requests atomic.Int64

	malformed, bufferFull, tooMany *limitCounter
	acks                           ackWait // of acknowledged requests

	ctx    context.Context // ends when Shutdown gives up waiting
	cancel context.CancelFunc
}

// otlpLogsService is the gRPC service OTLP exporters call.
const otlpLogsService = "opentelemetry.proto.collector.logs.v1.LogsService"

// rawMessage is a message as its bytes: the service decodes its requests
// itself, and encodes its answers.
type rawMessage []byte

// rawCodec passes rawMessages as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	m, ok := v.(*rawMessage)
	if !ok {
		return nil, fmt.Errorf("BUG: cannot marshal %T", v)
	}
	return *m, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	m, ok := v.(*rawMessage)
	if !ok {
		return fmt.Errorf("BUG: cannot unmarshal into %T", v)
	}
	*m = append((*m)[:0], data...) // gRPC reuses data
	return nil
}

func (rawCodec) Name() string { return "proto" }

var otlpLogsServiceDesc = grpc.ServiceDesc{
	ServiceName: otlpLogsService,
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Export",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			var req rawMessage
			if err := dec(&req); err != nil {
				return nil, err
			}
			return srv.(*OTLPGRPC).export(ctx, req)
		},
	}},
	Metadata: "opentelemetry/proto/collector/logs/v1/logs_service.proto",
}

// ListenOTLPGRPC listens on addr.
func ListenOTLPGRPC(addr string, cfg Config) (*OTLPGRPC, error) {
	cfg = cfg.withDefaults()
	lim := cfg.Limits
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &OTLPGRPC{cfg: cfg, ln: ln, maxBody: lim.OTLPMaxBody, ctx: ctx, cancel: cancel}
	m, log := cfg.Metrics, cfg.Logger
	const l = metrics.ListenerOTLPGRPC
	g.lim = &connLimiter{max: int64(lim.MaxConns), refused: newLimitCounter(m.IngestRefused(l, metrics.RefusedMaxConnections), log,
		"otlp/grpc ingest refused a connection: it holds its most connections (-max-connections)", "max_connections", lim.MaxConns)}
	g.tooMany = newLimitCounter(m.IngestRefused(l, metrics.RefusedMaxRequests), log,
		"otlp/grpc ingest answered RESOURCE_EXHAUSTED: it serves its most requests (-http-max-requests)", "max_requests", lim.HTTPMaxRequests)
	g.malformed = newLimitCounter(m.IngestRefused(l, metrics.RefusedMalformed), log,
		"otlp/grpc ingest answered INVALID_ARGUMENT: the request does not decode")
	g.bufferFull = newLimitCounter(m.IngestRefused(l, metrics.RefusedBufferFull), log,
		"otlp/grpc ingest answered RESOURCE_EXHAUSTED: the buffer did not take the records in time (-overflow, -overflow-wait)")
	g.acks = newAckWait(m)
	m.Gauge(`streamgate_ingest_connections{listener="`+l+`"}`, func() float64 { return float64(g.lim.open.Load()) })
	opts := []grpc.ServerOption{
		grpc.ForceServerCodec(rawCodec{}),
		grpc.MaxRecvMsgSize(int(min(lim.OTLPMaxBody, 1<<31-1))),
		grpc.ConnectionTimeout(lim.HTTPReadTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: lim.IdleTimeout}),
	}
	if cfg.TLS != nil {
		c := cfg.TLS.Clone()
		c.NextProtos = []string{"h2"}
		opts = append(opts, grpc.Creds(credentials.NewTLS(c)))
	}
	g.srv = grpc.NewServer(opts...)
	g.srv.RegisterService(&otlpLogsServiceDesc, g)
	return g, nil
}

// Addr is the address listened on.
func (g *OTLPGRPC) Addr() net.Addr { return g.ln.Addr() }

// Serve serves until Shutdown.
func (g *OTLPGRPC) Serve() error {
	err := g.srv.Serve(&limitListener{Listener: g.ln, lim: g.lim})
	if errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}

// Shutdown stops accepting and waits for requests in progress until ctx
// ends; then it closes their connections.
func (g *OTLPGRPC) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		g.srv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		g.cancel()
		return nil
	case <-ctx.Done():
		g.cancel() // unblock pushes waiting for room
		g.srv.Stop()
		<-done
		return ctx.Err()
	}
}

// retryInfo is the RetryInfo of RESOURCE_EXHAUSTED and UNAVAILABLE answers
// that may be sent again.
var retryInfo = &errdetails.RetryInfo{RetryDelay: durationpb.New(time.Second)}

// retryable is an error status with a RetryInfo.
func retryable(code codes.Code, msg string) error {
	st, err := status.New(code, msg).WithDetails(retryInfo)
	if err != nil {
		return status.Error(code, msg)
	}
	return st.Err()
}

// export takes one request.
func (g *OTLPGRPC) export(ctx context.Context, body rawMessage) (any, error) {
	lim := &g.cfg.Limits
	if g.requests.Add(1) > int64(lim.HTTPMaxRequests) {
		g.requests.Add(-1)
		g.tooMany.inc()
		return nil, retryable(codes.ResourceExhausted, "too many requests in progress")
	}
	defer g.requests.Add(-1)

	buf := otlpBufferPool.Get().(*otlpBuffers)
	defer putOTLPBuffers(buf)
	each := buf.wire.emit
	if !buf.wire.each(body, nil) {
		if err := decodeOTLPLogs(body, false, &buf.data); err != nil {
			g.malformed.inc("err", err)
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		each = func(emit func([]byte)) { buf.lines.each(&buf.data, emit) }
	}
	batches, records, oversize := otlpBatches(each, len(body), g.cfg.MaxLine)
	defer func() {
		for _, b := range batches {
			record.Put(b)
		}
	}()
	if records > 0 {
		if err := g.push(ctx, batches, oversize); err != nil {
			return nil, err
		}
		batches = nil
	}
	msg := ""
	if oversize > 0 {
		msg = fmt.Sprintf("%d log records were dropped: longer than the line limit of %d bytes (-max-line)", oversize, g.cfg.MaxLine)
	}
	resp := rawMessage(appendExportResponse(nil, false, oversize, msg))
	return &resp, nil
}

// push hands batches on as the HTTP listener does, and waits for them to
// be settled when the listener acknowledges requests (Limits.AckDurable).
func (g *OTLPGRPC) push(ctx context.Context, batches []*record.Batch, oversize int) error {
	ack, taken, err := pushAcked(g.ctx, &g.cfg, batches, oversize)
	switch {
	case err != nil:
		ack.Release(true)
		return status.Error(codes.Unavailable, "shutting down")
	case !taken:
		ack.Release(true)
		g.bufferFull.inc()
		return retryable(codes.ResourceExhausted, "the buffer is full: send the request again later")
	case !g.cfg.Limits.AckDurable:
		ack.Release(true)
		return nil
	}
	switch g.acks.await(ctx, ack, g.cfg.Limits.AckTimeout) {
	case ackDropped:
		return retryable(codes.Unavailable, "some records were dropped before they were safe: send the request again")
	case ackTimedOut:
		return retryable(codes.Unavailable, fmt.Sprintf("the records were not all settled within %s (-ack-timeout): send the request again", g.cfg.Limits.AckTimeout))
	case ackGone:
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}
