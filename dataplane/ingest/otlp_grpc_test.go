package ingest

import (
	"context"
	"strings"
	"testing"
	"time"

	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"streamgate/dataplane/metrics"
)

func startOTLPGRPC(t *testing.T, cfg Config) *grpc.ClientConn {
	t.Helper()
	g, err := ListenOTLPGRPC("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	go g.Serve()
	t.Cleanup(func() { g.Shutdown(context.Background()) })
	cc, err := grpc.NewClient(g.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// TestOTLPGRPC: Export takes records as the HTTP listener does, and answers
// each kind of request with the code OTLP/gRPC says.
func TestOTLPGRPC(t *testing.T) {
	one, _ := proto.Marshal(logsOf(nil, nil, &logspb.LogRecord{Body: sv("hello"), SeverityText: "INFO"}))
	long, _ := proto.Marshal(logsOf(nil, nil, &logspb.LogRecord{Body: sv("short")}, &logspb.LogRecord{Body: sv(strings.Repeat("x", 300))}))
	for _, tc := range []struct {
		name     string
		body     []byte
		gzip     bool
		sink     *otlpSink
		code     codes.Code
		retry    bool
		lines    []string
		rejected int64
		refused  string
	}{
		{name: "records", body: one, code: codes.OK, lines: []string{`{"severityText":"INFO","body":"hello"}`}},
		{name: "gzip", body: one, gzip: true, code: codes.OK, lines: []string{`{"severityText":"INFO","body":"hello"}`}},
		{name: "record over the line limit", body: long, code: codes.OK, lines: []string{`{"body":"short"}`}, rejected: 1},
		{name: "undecodable", body: []byte{0x0a, 0x09, 0x01}, code: codes.InvalidArgument, refused: metrics.RefusedMalformed},
		{name: "over the size limit", body: make([]byte, 5000), code: codes.ResourceExhausted},
		{name: "buffer full", body: one, sink: &otlpSink{drop: true}, code: codes.ResourceExhausted, retry: true, refused: metrics.RefusedBufferFull},
		{name: "shutting down", body: one, sink: &otlpSink{fail: true}, code: codes.Unavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.sink == nil {
				tc.sink = &otlpSink{}
			}
			m := metrics.New()
			cc := startOTLPGRPC(t, Config{Sink: tc.sink, Metrics: m, MaxLine: 256, Limits: Limits{OTLPMaxBody: 4096}})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, resp := rawMessage(tc.body), rawMessage(nil)
			var opts []grpc.CallOption
			if tc.gzip {
				opts = append(opts, grpc.UseCompressor(gzip.Name))
			}
			err := cc.Invoke(ctx, "/"+otlpLogsService+"/Export", &req, &resp, opts...)
			st := status.Convert(err)
			if st.Code() != tc.code {
				t.Fatalf("code: got %v (%v); want %v", st.Code(), err, tc.code)
			}
			hasRetry := false
			for _, d := range st.Details() {
				if _, ok := d.(*errdetails.RetryInfo); ok {
					hasRetry = true
				}
			}
			if hasRetry != tc.retry {
				t.Errorf("RetryInfo: got %v; want %v", hasRetry, tc.retry)
			}
			if tc.code == codes.OK {
				rejected, _ := readExportResponse(t, resp, false)
				if rejected != tc.rejected {
					t.Errorf("rejected: got %d; want %d", rejected, tc.rejected)
				}
			}
			if got := tc.sink.taken(); strings.Join(got, "\n") != strings.Join(tc.lines, "\n") {
				t.Errorf("lines: got %q; want %q", got, tc.lines)
			}
			if tc.refused != "" {
				if n := m.IngestRefused(metrics.ListenerOTLPGRPC, tc.refused).Get(); n != 1 {
					t.Errorf("refused %s: got %d; want 1", tc.refused, n)
				}
			}
		})
	}
}
