package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// otlpLogsPath is where OTLP/HTTP exporters send logs.
const otlpLogsPath = "/v1/logs"

// otlpBatchBytes bounds the line bytes of one batch an OTLP request's
// records are handed on in.
const otlpBatchBytes = 1 << 20

// OTLPHTTP takes OpenTelemetry logs over OTLP/HTTP: POST /v1/logs with an
// ExportLogsServiceRequest, protobuf (application/x-protobuf) or JSON
// (application/json, OTLP's JSON encoding), plain or gzip-compressed
// (Content-Encoding: gzip). Each log record becomes one JSON line (see
// otlpLines).
//
// It answers as OTLP/HTTP says, in the request's encoding: 200 with an
// ExportLogsServiceResponse, whose partial_success counts the records it
// dropped for being longer than the line limit; 400 with a google.rpc.Status
// when the body does not decode; 404 for another path, 405 for another
// method; 415 for another content type or encoding; 413 when the body,
// before or after decompression, is over Limits.OTLPMaxBody; 429 with
// Retry-After when the buffer did not take the records within the overflow
// rules (a full buffer under drop_newest), and when it serves as many
// requests, or holds as many body bytes, as it may; 503 while shutting
// down. A client that sends a 429 or 503 request again may so deliver some
// records twice, never none.
//
// It shares the HTTP listener's limits (Config.Limits: connections,
// requests, body budget, read and idle timeouts), each listener counting
// its own, its TLS and its acknowledgements: an acknowledged request
// (?ack=durable, or Limits.AckDurable) is answered 200 only once its
// records are settled, and 503 with Retry-After when one was dropped or
// that took longer than Limits.AckTimeout.
//
// A request holds its body, its decompressed body and its lines at once,
// about three times its decompressed size; the body budget bounds the
// first two.
type OTLPHTTP struct {
	h       *HTTP
	maxBody int64

	malformed  *limitCounter
	mediaType  *limitCounter
	bufferFull *limitCounter
}

// ListenOTLPHTTP listens on addr.
func ListenOTLPHTTP(addr string, cfg Config) (*OTLPHTTP, error) {
	cfg = cfg.withDefaults()
	lim := cfg.Limits
	h, err := listenHTTP(addr, cfg, httpKind{
		listener: metrics.ListenerOTLPHTTP, name: "otlp/http ingest",
		maxBody: lim.OTLPMaxBody, maxBodyFlag: "-otlp-max-body",
		requestsGauge: "streamgate_ingest_otlp_http_requests", bodyGauge: "streamgate_ingest_otlp_http_body_bytes",
	})
	if err != nil {
		return nil, err
	}
	m, log := cfg.Metrics, cfg.Logger
	const l = metrics.ListenerOTLPHTTP
	o := &OTLPHTTP{h: h, maxBody: lim.OTLPMaxBody}
	o.malformed = newLimitCounter(m.IngestRefused(l, metrics.RefusedMalformed), log,
		"otlp/http ingest refused a request with 400: its body does not decode")
	o.mediaType = newLimitCounter(m.IngestRefused(l, metrics.RefusedMediaType), log,
		"otlp/http ingest refused a request with 415: a content type or encoding it does not take")
	o.bufferFull = newLimitCounter(m.IngestRefused(l, metrics.RefusedBufferFull), log,
		"otlp/http ingest answered 429: the buffer did not take the records in time (-overflow, -overflow-wait)")
	h.srv.Handler = o
	return o, nil
}

// Addr is the address listened on.
func (o *OTLPHTTP) Addr() net.Addr { return o.h.Addr() }

// Serve serves until Shutdown; it returns http.ErrServerClosed then.
func (o *OTLPHTTP) Serve() error { return o.h.Serve() }

// Shutdown stops accepting, closes idle connections and waits for requests
// in progress until ctx ends; then it closes their connections.
func (o *OTLPHTTP) Shutdown(ctx context.Context) error {
	return o.h.Shutdown(ctx)
}

// Errors of readBody.
var (
	errBodyTooLarge = errors.New("body over the limit")
	errBodyBudget   = errors.New("body budget exhausted")
)

// otlpBuffers are the per-request memory of the listener.
type otlpBuffers struct {
	lines otlpLines
	wire  wireLines
	data  logspb.LogsData
}

var otlpBufferPool = sync.Pool{New: func() any { return new(otlpBuffers) }}

// putOTLPBuffers recycles buf, but for what it grew too large.
func putOTLPBuffers(buf *otlpBuffers) {
	buf.data.Reset()
	if cap(buf.lines.line) > otlpBatchBytes {
		buf.lines.line = nil
	}
	if cap(buf.wire.lines) > otlpBatchBytes || cap(buf.wire.line) > otlpBatchBytes {
		buf.wire = wireLines{}
	}
	otlpBufferPool.Put(buf)
}

// ServeHTTP takes one request.
func (o *OTLPHTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := o.h
	lim := &h.cfg.Limits
	isJSON, known := otlpMediaType(r.Header.Get("Content-Type"))
	if r.URL.Path != otlpLogsPath {
		o.fail(w, isJSON, http.StatusNotFound, "OTLP logs are taken at POST "+otlpLogsPath)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		o.fail(w, isJSON, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !known {
		o.mediaType.inc("remote", r.RemoteAddr, "content_type", r.Header.Get("Content-Type"))
		o.fail(w, false, http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q: want %s or %s", r.Header.Get("Content-Type"), otlpProtobuf, otlpJSON))
		return
	}
	gz := false
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		o.mediaType.inc("remote", r.RemoteAddr, "content_encoding", enc)
		o.fail(w, isJSON, http.StatusUnsupportedMediaType, fmt.Sprintf("content encoding %q: want gzip or none", enc))
		return
	}
	durable, err := ackMode(r.URL.Query().Get("ack"), lim.AckDurable)
	if err != nil {
		o.fail(w, isJSON, http.StatusBadRequest, err.Error())
		return
	}
	if r.ContentLength > o.maxBody {
		h.tooLarge.inc("remote", r.RemoteAddr, "content_length", r.ContentLength)
		o.fail(w, isJSON, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", o.maxBody))
		return
	}
	if h.requests.Add(1) > int64(lim.HTTPMaxRequests) {
		h.requests.Add(-1)
		h.tooMany.inc("remote", r.RemoteAddr)
		o.refuse(w, isJSON, "too many requests in progress")
		return
	}
	defer h.requests.Add(-1)
	var reserved int64
	defer func() { h.inflight.Add(-reserved) }()

	body, err := o.readBody(r.Body, r.ContentLength, &reserved)
	if err == nil && gz {
		body, err = o.gunzip(body, &reserved)
	}
	if err != nil {
		switch {
		case errors.Is(err, errBodyTooLarge):
			h.tooLarge.inc("remote", r.RemoteAddr, "read", len(body))
			o.fail(w, isJSON, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", o.maxBody))
		case errors.Is(err, errBodyBudget):
			h.overBudget.inc("remote", r.RemoteAddr, "read", len(body))
			o.refuse(w, isJSON, "too many request bodies in flight")
		case errors.Is(err, os.ErrDeadlineExceeded):
			o.fail(w, isJSON, http.StatusRequestTimeout, fmt.Sprintf("the request was not read within %s", lim.HTTPReadTimeout))
		default:
			o.malformed.inc("remote", r.RemoteAddr, "err", err)
			o.fail(w, isJSON, http.StatusBadRequest, err.Error())
		}
		return
	}

	buf := otlpBufferPool.Get().(*otlpBuffers)
	defer putOTLPBuffers(buf)
	// Protobuf as encoders write it goes straight to lines; the rest is
	// decoded into messages first.
	each := func(emit func([]byte)) { buf.lines.each(&buf.data, emit) }
	if isJSON || !buf.wire.each(body, nil) {
		if err := decodeOTLPLogs(body, isJSON, &buf.data); err != nil {
			o.malformed.inc("remote", r.RemoteAddr, "err", err)
			o.fail(w, isJSON, http.StatusBadRequest, err.Error())
			return
		}
	} else {
		each = buf.wire.emit
	}
	batches, records, oversize := otlpBatches(each, len(body), h.cfg.MaxLine)
	defer func() {
		for _, b := range batches {
			record.Put(b) // those not handed on
		}
	}()
	if records == 0 {
		o.reply(w, isJSON, http.StatusOK, appendExportResponse(nil, isJSON, 0, ""))
		return
	}

	ack, taken, err := pushAcked(h.ctx, &h.cfg, batches, oversize)
	switch {
	case err != nil:
		ack.Release(true)
		o.fail(w, isJSON, http.StatusServiceUnavailable, "shutting down")
		return
	case !taken:
		ack.Release(true)
		o.bufferFull.inc("remote", r.RemoteAddr)
		o.refuse(w, isJSON, "the buffer is full: send the request again later")
		return
	case !durable:
		ack.Release(true)
	case !o.awaitAck(w, r, isJSON, ack):
		return
	}
	msg := ""
	if oversize > 0 {
		msg = fmt.Sprintf("%d log records were dropped: longer than the line limit of %d bytes (-max-line)", oversize, h.cfg.MaxLine)
	}
	o.reply(w, isJSON, http.StatusOK, appendExportResponse(nil, isJSON, oversize, msg))
}

// otlpBatches turns the lines each gives, of a request of bodyLen bytes,
// into batches, and counts them and those longer than maxLine, which are
// left out.
func otlpBatches(each func(emit func([]byte)), bodyLen, maxLine int) (batches []*record.Batch, records, oversize int) {
	size := min(max(2*bodyLen, 4<<10), otlpBatchBytes)
	key := nextKey() // the request's records stay in order
	var b *record.Batch
	each(func(line []byte) {
		records++
		if len(line) > maxLine {
			oversize++
			return
		}
		if b == nil || len(b.Lines) > 0 && len(b.Data)+len(line) > cap(b.Data) {
			b = record.Get(size)
			b.Key = key
			batches = append(batches, b)
		}
		b.AppendLine(line)
	})
	return batches, records, oversize
}

// readBody reads a request body into memory: at once when its length is
// known (it was reserved before), else growing as it comes, each growth
// reserved from the body budget and counted in reserved.
func (o *OTLPHTTP) readBody(src io.Reader, length int64, reserved *int64) ([]byte, error) {
	if length >= 0 {
		if !o.h.reserve(length) {
			return nil, errBodyBudget
		}
		*reserved += length
		body := make([]byte, length)
		if _, err := io.ReadFull(src, body); err != nil {
			return nil, fmt.Errorf("cannot read the request body: %w", err)
		}
		return body, nil
	}
	return o.readAll(src, nil, reserved)
}

// gunzip decompresses body, growing the result as readAll does.
func (o *OTLPHTTP) gunzip(body []byte, reserved *int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("cannot read the gzip body: %w", err)
	}
	out, err := o.readAll(zr, nil, reserved)
	if err != nil && !errors.Is(err, errBodyTooLarge) && !errors.Is(err, errBodyBudget) {
		return out, fmt.Errorf("cannot read the gzip body: %w", err)
	}
	return out, err
}

// readAll reads src to its end into buf, at most maxBody bytes, growing buf
// as needed, each growth reserved from the body budget and counted in
// reserved.
func (o *OTLPHTTP) readAll(src io.Reader, buf []byte, reserved *int64) ([]byte, error) {
	limit := o.maxBody
	for {
		if len(buf) == cap(buf) {
			// Room for one byte past the limit tells a body over it.
			grow := min(int64(max(cap(buf), 32<<10)), limit+1-int64(cap(buf)))
			if !o.h.reserve(grow) {
				return buf, errBodyBudget
			}
			*reserved += grow
			nb := make([]byte, len(buf), cap(buf)+int(grow))
			copy(nb, buf)
			buf = nb
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, errBodyTooLarge
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// awaitAck waits for the records of an acknowledged request to be
// settled, and answers 503 with Retry-After, reporting false, when one was
// dropped or the wait took longer than the ack timeout. It releases the
// creator's reference of ack.
func (o *OTLPHTTP) awaitAck(w http.ResponseWriter, r *http.Request, isJSON bool, ack *record.Ack) bool {
	timeout := o.h.cfg.Limits.AckTimeout
	switch o.h.acks.await(r.Context(), ack, timeout) {
	case ackSettled:
		return true
	case ackDropped:
		w.Header().Set("Retry-After", retryAfter)
		o.fail(w, isJSON, http.StatusServiceUnavailable, "some records were dropped before they were safe (see streamgate_lines_dropped_total and streamgate_output_lines_dropped_total): send the request again")
	case ackTimedOut:
		w.Header().Set("Retry-After", retryAfter)
		o.fail(w, isJSON, http.StatusServiceUnavailable, fmt.Sprintf("the records were not all settled within %s (-ack-timeout): send the request again", timeout))
	}
	return false
}

// otlpMediaType reads a Content-Type: whether it is JSON, and whether it
// is one OTLP/HTTP uses at all.
func otlpMediaType(ct string) (isJSON, ok bool) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, false
	}
	switch mt {
	case otlpProtobuf, "application/protobuf":
		return false, true
	case otlpJSON:
		return true, true
	}
	return false, false
}

// refuse answers 429 with Retry-After.
func (o *OTLPHTTP) refuse(w http.ResponseWriter, isJSON bool, why string) {
	w.Header().Set("Retry-After", retryAfter)
	o.fail(w, isJSON, http.StatusTooManyRequests, why)
}

// fail answers an error with a google.rpc.Status in the request's encoding
// and closes the connection: what is left of the request is not read.
func (o *OTLPHTTP) fail(w http.ResponseWriter, isJSON bool, status int, msg string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	o.reply(w, isJSON, status, appendStatus(nil, isJSON, rpcCode(status), msg))
}

func (o *OTLPHTTP) reply(w http.ResponseWriter, isJSON bool, status int, body []byte) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(replyTimeout))
	ct := otlpProtobuf
	if isJSON {
		ct = otlpJSON
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// rpcCode is the gRPC status code of an HTTP status, as google.rpc.Status
// carries it.
func rpcCode(status int) int32 {
	switch status {
	case http.StatusBadRequest, http.StatusUnsupportedMediaType, http.StatusRequestEntityTooLarge:
		return 3 // INVALID_ARGUMENT
	case http.StatusRequestTimeout:
		return 4 // DEADLINE_EXCEEDED
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusTooManyRequests:
		return 8 // RESOURCE_EXHAUSTED
	case http.StatusMethodNotAllowed:
		return 12 // UNIMPLEMENTED
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 2 // UNKNOWN
}

// appendStatus appends a google.rpc.Status of code and msg, protobuf or
// JSON.
func appendStatus(dst []byte, isJSON bool, code int32, msg string) []byte {
	if isJSON {
		dst = append(dst, `{"code":`...)
		dst = strconv.AppendInt(dst, int64(code), 10)
		dst = append(dst, `,"message":`...)
		dst = appendString(dst, msg)
		return append(dst, '}')
	}
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, uint64(code))
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	return protowire.AppendString(dst, msg)
}

// appendExportResponse appends an ExportLogsServiceResponse, protobuf or
// JSON: empty on full success, else with a partial_success of the records
// rejected and why.
func appendExportResponse(dst []byte, isJSON bool, rejected int, msg string) []byte {
	if isJSON {
		if rejected == 0 {
			return append(dst, "{}"...)
		}
		dst = append(dst, `{"partialSuccess":{"rejectedLogRecords":"`...)
		dst = strconv.AppendInt(dst, int64(rejected), 10)
		dst = append(dst, `","errorMessage":`...)
		dst = appendString(dst, msg)
		return append(dst, "}}"...)
	}
	if rejected == 0 {
		return dst
	}
	var ps []byte
	ps = protowire.AppendTag(ps, 1, protowire.VarintType)
	ps = protowire.AppendVarint(ps, uint64(rejected))
	ps = protowire.AppendTag(ps, 2, protowire.BytesType)
	ps = protowire.AppendString(ps, msg)
	dst = protowire.AppendTag(dst, 1, protowire.BytesType)
	return protowire.AppendBytes(dst, ps)
}
