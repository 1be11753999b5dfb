package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"streamgate/dataplane/record"
)

// DefaultMaxBody bounds an HTTP ingest request body.
const DefaultMaxBody = 32 << 20

// HTTP accepts POST requests whose body is newline-delimited lines, on any
// path. It answers 202 with the number of lines read, 413 when the body is
// over the limit, 405 for other methods and 503 while shutting down. Lines
// dropped later (a full buffer under a drop policy) are counted in /metrics.
//
// A body is framed into batches of about batchBytes, cut at newlines, so one
// large request is not one huge batch.
type HTTP struct {
	cfg Config
	ln  net.Listener
	srv *fasthttp.Server
}

// ListenHTTP listens on addr.
func ListenHTTP(addr string, cfg Config) (*HTTP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &HTTP{cfg: cfg.withDefaults(), ln: ln}
	h.srv = &fasthttp.Server{
		Handler:            h.handle,
		Name:               "streamgate",
		MaxRequestBodySize: max(DefaultMaxBody, 2*h.cfg.MaxLine),
		ReadBufferSize:     16 << 10,
		// A client that opens a request and stalls must not hold its
		// buffers, or a shutdown, for long.
		ReadTimeout:     30 * time.Second,
		WriteTimeout:    10 * time.Second,
		IdleTimeout:     60 * time.Second,
		NoDefaultDate:   true,
		CloseOnShutdown: true,
	}
	h.srv.ErrorHandler = h.requestError
	h.srv.Logger = debugLogger{h.cfg.Logger}
	return h, nil
}

// requestError answers a request fasthttp could not read. A body over the
// limit is refused from its Content-Length, before the client sends it, as
// 413; fasthttp's default answer would be a 400.
func (h *HTTP) requestError(ctx *fasthttp.RequestCtx, err error) {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		ctx.Error(fmt.Sprintf("body over the limit of %d bytes\n", h.srv.MaxRequestBodySize), fasthttp.StatusRequestEntityTooLarge)
		return
	}
	ctx.Error("cannot read the request: "+err.Error()+"\n", fasthttp.StatusBadRequest)
}

// debugLogger takes fasthttp's messages, which are about clients that sent
// something it could not read (the client got its answer), at debug level.
type debugLogger struct{ l *slog.Logger }

func (d debugLogger) Printf(format string, args ...any) {
	d.l.Debug("http ingest: " + fmt.Sprintf(format, args...))
}

// Addr is the address listened on.
func (h *HTTP) Addr() net.Addr { return h.ln.Addr() }

// Serve serves until Shutdown.
func (h *HTTP) Serve() error { return h.srv.Serve(h.ln) }

// Shutdown stops accepting and waits for requests in progress until ctx
// ends.
func (h *HTTP) Shutdown(ctx context.Context) error { return h.srv.ShutdownWithContext(ctx) }

// batchBytes is the target size of the batches a body is cut into.
const batchBytes = 64 << 10

func (h *HTTP) handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		ctx.Error("use POST with a newline-delimited body\n", fasthttp.StatusMethodNotAllowed)
		return
	}
	body := ctx.PostBody()
	key := nextKey() // the request's lines stay in order
	accepted, oversize := 0, 0
	for len(body) > 0 {
		cut := len(body)
		if cut > batchBytes {
			if j := bytes.IndexByte(body[batchBytes:], '\n'); j >= 0 {
				cut = batchBytes + j + 1
			}
		}
		b := record.Get(cut)
		b.Key = key
		b.Data = append(b.Data, body[:cut]...)
		body = body[cut:]
		ov := splitAll(b, 0, h.cfg.MaxLine)
		accepted += len(b.Lines)
		oversize += ov
		if err := deliver(ctx, &h.cfg, b, ov); err != nil {
			ctx.Error("shutting down\n", fasthttp.StatusServiceUnavailable)
			return
		}
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"accepted":` + strconv.Itoa(accepted) + `,"oversize":` + strconv.Itoa(oversize) + "}\n")
}
