package ingest

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/record"
)

// DefaultMaxBody bounds an HTTP ingest request body.
const DefaultMaxBody = 32 << 20

// HTTP accepts POST requests whose body is newline-delimited lines, on any
// path. It answers 202 with the number of lines read; 405 for other
// methods; 413 when the body is over the limit; 429 with Retry-After when
// it serves as many requests, or holds as many body bytes, as it may; 408
// when the request did not arrive within the read timeout; 400 when it
// cannot be read; and 503 while shutting down. Every answer but 202 closes
// the connection, and what the client had not sent of its request is never
// read.
// A request is taken whole or not at all: its lines are handed on once the
// body has been read to its end. Lines dropped later (a full buffer under a
// drop policy) are counted in /metrics.
//
// An acknowledged request (?ack=durable, or every request with
// Limits.AckDurable unless it says ?ack=none) is answered 202 only once
// each of its lines is settled: filtered or sampled away, or taken by
// every output (persisted to its disk buffer, delivered by an output that
// queues in memory); and 503 with Retry-After when one was dropped, or
// when that takes longer than Limits.AckTimeout. A client that sends a 503
// request again may so deliver some lines twice, never none.
//
// What clients can make it hold is bounded (Config.Limits): at most
// MaxConns connections, beyond which a new one is accepted and closed at
// once; HTTPMaxRequests requests at a time; and HTTPBodyBudget bytes of
// request bodies, reserved from a request's Content-Length before any of
// its body is read, or as a chunked body is read. A request beyond either
// is answered 429 with Retry-After, and its body is not read. A request must
// be read in full within HTTPReadTimeout; a kept-alive connection is closed
// after IdleTimeout without a request.
type HTTP struct {
	cfg Config
	ln  net.Listener // the socket, for Addr
	srv *http.Server

	inflight atomic.Int64 // body bytes reserved by requests in progress
	requests atomic.Int64 // requests in progress

	lim         *connLimiter
	tooMany     *limitCounter
	overBudget  *limitCounter
	tooLarge    *limitCounter
	idleClosed  *limitCounter
	readTimeout *limitCounter
	tlsFailed   *limitCounter

	acks ackWait // of acknowledged requests

	ctx    context.Context // ends when the shutdown deadline passes
	cancel context.CancelFunc
}

// Answers' Retry-After, in seconds: bodies in flight are read within the
// read timeout, and most much sooner.
const retryAfter = "1"

// replyTimeout bounds the writing of an answer.
const replyTimeout = 10 * time.Second

// chunkReserve is how much of the body budget a chunked body reserves at a
// time, as it is read.
const chunkReserve = 256 << 10

// ListenHTTP listens on addr.
func ListenHTTP(addr string, cfg Config) (*HTTP, error) {
	cfg = cfg.withDefaults()
	h, err := listenHTTP(addr, cfg, httpKind{
		listener: metrics.ListenerHTTP, name: "http ingest",
		maxBody: cfg.Limits.HTTPMaxBody, maxBodyFlag: "-http-max-body",
		requestsGauge: "streamgate_ingest_http_requests", bodyGauge: "streamgate_ingest_http_body_bytes",
	})
	if err != nil {
		return nil, err
	}
	h.srv.Handler = h
	return h, nil
}

// httpKind is what sets an HTTP-based listener apart from the others that
// share the HTTP limits: the listener label of its counters, its name in
// logs, its body limit and the flag that sets it, and its gauges.
type httpKind struct {
	listener, name           string
	maxBody                  int64
	maxBodyFlag              string
	requestsGauge, bodyGauge string
}

// listenHTTP listens on addr and builds the server, counters and limits of
// an HTTP-based listener; the caller sets the server's handler. cfg has
// its defaults.
func listenHTTP(addr string, cfg Config, k httpKind) (*HTTP, error) {
	lim := cfg.Limits
	if lim.HTTPBodyBudget < k.maxBody {
		return nil, fmt.Errorf("%s body budget of %d bytes (-http-body-budget) is less than the largest body, %d bytes (%s): such a body could never be taken", k.name, lim.HTTPBodyBudget, k.maxBody, k.maxBodyFlag)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &HTTP{cfg: cfg, ln: ln, ctx: ctx, cancel: cancel}
	m, log := cfg.Metrics, cfg.Logger
	l := k.listener
	h.lim = &connLimiter{max: int64(lim.MaxConns), refused: newLimitCounter(m.IngestRefused(l, metrics.RefusedMaxConnections), log,
		k.name+" refused a connection: it holds its most connections (-max-connections)", "max_connections", lim.MaxConns)}
	h.tooMany = newLimitCounter(m.IngestRefused(l, metrics.RefusedMaxRequests), log,
		k.name+" refused a request with 429: it serves its most requests (-http-max-requests)", "max_requests", lim.HTTPMaxRequests)
	h.overBudget = newLimitCounter(m.IngestRefused(l, metrics.RefusedBodyBudget), log,
		k.name+" refused a request with 429: the bodies in flight would exceed their budget (-http-body-budget)", "body_budget", lim.HTTPBodyBudget)
	h.tooLarge = newLimitCounter(m.IngestRefused(l, metrics.RefusedBodyTooLarge), log,
		k.name+" refused a request with 413: its body is over the limit ("+k.maxBodyFlag+")", "max_body", k.maxBody)
	h.idleClosed = newLimitCounter(m.IngestClosed(l, metrics.ClosedIdleTimeout), log,
		k.name+" closed an idle connection (-idle-timeout)", "idle_timeout", lim.IdleTimeout)
	h.readTimeout = newLimitCounter(m.IngestClosed(l, metrics.ClosedReadTimeout), log,
		k.name+" closed a connection whose request did not arrive in time (-http-read-timeout)", "read_timeout", lim.HTTPReadTimeout)
	h.tlsFailed = newLimitCounter(m.IngestRefused(l, metrics.RefusedTLSHandshake), log,
		k.name+" refused a connection: TLS handshake failed")
	h.acks = newAckWait(m)
	m.Gauge(`streamgate_ingest_connections{listener="`+l+`"}`, func() float64 { return float64(h.lim.open.Load()) })
	m.Gauge(k.requestsGauge, func() float64 { return float64(h.requests.Load()) })
	m.Gauge(k.bodyGauge, func() float64 { return float64(h.inflight.Load()) })
	h.srv = &http.Server{
		// ReadTimeout bounds the whole request, headers and body, and a
		// new connection's wait for its first one (and its TLS
		// handshake); IdleTimeout a kept-alive connection's wait for the
		// next. Answers set their own write deadline.
		ReadTimeout:    lim.HTTPReadTimeout,
		IdleTimeout:    lim.IdleTimeout,
		MaxHeaderBytes: 16 << 10,
		ConnState:      h.connState,
		BaseContext:    func(net.Listener) context.Context { return ctx },
		// Its messages are about clients it could not read (the client
		// got its answer, or hung up): debug level.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return h, nil
}

// Addr is the address listened on.
func (h *HTTP) Addr() net.Addr { return h.ln.Addr() }

// Serve serves until Shutdown; it returns http.ErrServerClosed then.
func (h *HTTP) Serve() error {
	var ln net.Listener = &limitListener{Listener: h.ln, lim: h.lim}
	if h.cfg.TLS != nil {
		c := h.cfg.TLS.Clone()
		c.NextProtos = []string{"http/1.1"} // one request at a time per connection
		ln = tls.NewListener(ln, c)
	}
	return h.srv.Serve(ln)
}

// Shutdown stops accepting, closes idle connections and waits for requests
// in progress until ctx ends; then it closes their connections.
func (h *HTTP) Shutdown(ctx context.Context) error {
	err := h.srv.Shutdown(ctx)
	h.cancel() // unblock pushes waiting for room
	if err != nil {
		h.srv.Close()
	}
	return err
}

// connState counts the connections closed after a timeout and those whose
// TLS handshake failed.
func (h *HTTP) connState(c net.Conn, state http.ConnState) {
	tc := tracked(c)
	if tc == nil {
		return
	}
	prev := http.ConnState(tc.state.Swap(int32(state)))
	if state != http.StateClosed {
		return
	}
	if t, ok := c.(*tls.Conn); ok && !t.ConnectionState().HandshakeComplete {
		h.tlsFailed.inc("remote", tc.RemoteAddr().String())
		return
	}
	if !tc.timedOut.Load() {
		return
	}
	// New or idle: no byte of a request had come (a request's first byte
	// makes the connection active).
	if prev == http.StateNew || prev == http.StateIdle {
		h.idleClosed.inc("remote", tc.RemoteAddr().String())
	} else {
		h.readTimeout.inc("remote", tc.RemoteAddr().String())
	}
}

// ServeHTTP takes one request.
func (h *HTTP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.fail(w, http.StatusMethodNotAllowed, "use POST with a newline-delimited body")
		return
	}
	lim := &h.cfg.Limits
	durable, err := ackMode(r.URL.Query().Get("ack"), lim.AckDurable)
	if err != nil {
		h.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.ContentLength > lim.HTTPMaxBody {
		h.tooLarge.inc("remote", r.RemoteAddr, "content_length", r.ContentLength)
		h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", lim.HTTPMaxBody))
		return
	}
	if h.requests.Add(1) > int64(lim.HTTPMaxRequests) {
		h.requests.Add(-1)
		h.tooMany.inc("remote", r.RemoteAddr)
		h.refuse(w, "too many requests in progress")
		return
	}
	defer h.requests.Add(-1)
	var reserved int64
	defer func() { h.inflight.Add(-reserved) }()
	if r.ContentLength > 0 {
		if !h.reserve(r.ContentLength) {
			h.overBudget.inc("remote", r.RemoteAddr, "content_length", r.ContentLength)
			h.refuse(w, "too many request bodies in flight")
			return
		}
		reserved = r.ContentLength
	}

	// Frame the body as it comes, but hand nothing on before it has all
	// come: a request is taken whole or not at all.
	body := http.MaxBytesReader(w, r.Body, lim.HTTPMaxBody)
	st := newStream(nextKey(), h.cfg.MaxLine) // the request's lines stay in order
	var ready []*record.Batch
	defer func() {
		for _, b := range ready {
			record.Put(b)
		}
	}()
	oversize := 0
	var read int64
	for {
		buf := st.buf()
		if need := min(read+int64(len(buf)), lim.HTTPMaxBody); r.ContentLength < 0 && need > reserved {
			// A chunked body reserves its budget as it is read, up to the
			// largest body: a read past that fails.
			step := min(max(chunkReserve, need-reserved), lim.HTTPMaxBody-reserved)
			if !h.reserve(step) {
				st.abort()
				h.overBudget.inc("remote", r.RemoteAddr, "chunked_read", read)
				h.refuse(w, "too many request bodies in flight")
				return
			}
			reserved += step
		}
		n, err := body.Read(buf)
		read += int64(n)
		b, ov := st.advance(n)
		oversize += ov
		if b != nil {
			ready = append(ready, b)
		}
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		st.abort()
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			h.tooLarge.inc("remote", r.RemoteAddr, "chunked_read", read)
			h.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the limit of %d bytes", lim.HTTPMaxBody))
		case errors.Is(err, os.ErrDeadlineExceeded):
			h.fail(w, http.StatusRequestTimeout, fmt.Sprintf("the request was not read within %s", lim.HTTPReadTimeout))
		default:
			h.fail(w, http.StatusBadRequest, "cannot read the request body: "+err.Error())
		}
		return
	}
	if b, ov := st.end(); b != nil || ov > 0 {
		oversize += ov
		if b != nil {
			ready = append(ready, b)
		}
	}

	accepted := 0
	var ack *record.Ack
	if durable {
		ack = record.NewAck()
		defer func() {
			if ack != nil { // not handed to awaitAck: release the creator's reference
				ack.Release(true)
			}
		}()
	}
	for _, b := range ready {
		accepted += len(b.Lines)
		if ack != nil && len(b.Lines) > 0 {
			b.Ack(ack)
		}
	}
	if oversize > 0 {
		deliver(h.ctx, &h.cfg, record.Get(0), oversize, 0)
	}
	for i, b := range ready {
		ready[i] = nil // handed on, whatever deliver returns
		if err := deliver(h.ctx, &h.cfg, b, 0, h.cfg.OverflowWait); err != nil {
			h.fail(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
	}
	ready = ready[:0]
	reply := `{"accepted":` + strconv.Itoa(accepted) + `,"oversize":` + strconv.Itoa(oversize)
	if ack != nil {
		a := ack
		ack = nil
		if !h.awaitAck(w, r, a) {
			return
		}
		reply += `,"durable":true`
	}
	h.reply(w, http.StatusAccepted, "application/json", reply+"}\n")
}

// awaitAck waits for the lines of an acknowledged request to be settled,
// and answers 503 with Retry-After, reporting false, when one was dropped
// or the wait took longer than the ack timeout.
func (h *HTTP) awaitAck(w http.ResponseWriter, r *http.Request, ack *record.Ack) bool {
	switch h.acks.await(r.Context(), ack, h.cfg.Limits.AckTimeout) {
	case ackSettled:
		return true
	case ackDropped:
		w.Header().Set("Retry-After", retryAfter)
		h.fail(w, http.StatusServiceUnavailable, "some lines were dropped before they were safe (see streamgate_lines_dropped_total and streamgate_output_lines_dropped_total): send the request again")
	case ackTimedOut:
		w.Header().Set("Retry-After", retryAfter)
		h.fail(w, http.StatusServiceUnavailable, fmt.Sprintf("the lines were not all settled within %s (-ack-timeout): send the request again", h.cfg.Limits.AckTimeout))
	}
	return false
}

// reserve takes n bytes of the body budget, or reports that they are not
// left.
func (h *HTTP) reserve(n int64) bool {
	if h.inflight.Add(n) > h.cfg.Limits.HTTPBodyBudget {
		h.inflight.Add(-n)
		return false
	}
	return true
}

// refuse answers 429 with Retry-After and closes the connection, whose
// unread body is not read.
func (h *HTTP) refuse(w http.ResponseWriter, why string) {
	w.Header().Set("Retry-After", retryAfter)
	h.fail(w, http.StatusTooManyRequests, why)
}

// fail answers an error, {"detail": msg} as the control plane's API does,
// and closes the connection: what is left of the request is not read.
func (h *HTTP) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Connection", "close")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	body, _ := json.Marshal(struct {
		Detail string `json:"detail"`
	}{msg})
	h.reply(w, status, "application/json", string(body)+"\n")
}

func (h *HTTP) reply(w http.ResponseWriter, status int, contentType, body string) {
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(replyTimeout))
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}
