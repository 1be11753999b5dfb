package ingest

import (
	"net"
	"strconv"

	"github.com/valyala/fasthttp"

	"streamgate/dataplane/record"
)

// DefaultMaxBody bounds an HTTP ingest request body.
const DefaultMaxBody = 32 << 20

// HTTP accepts POST requests whose body is newline-delimited lines, on any
// path. It answers 202 with the number of lines accepted, 413 when the body
// is over the limit, 405 for other methods and 503 while shutting down.
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
		NoDefaultDate:      true,
		CloseOnShutdown:    true,
	}
	return h, nil
}

// Addr is the address listened on.
func (h *HTTP) Addr() net.Addr { return h.ln.Addr() }

// Serve serves until Shutdown.
func (h *HTTP) Serve() error { return h.srv.Serve(h.ln) }

// Shutdown stops accepting and waits for requests in progress.
func (h *HTTP) Shutdown() error { return h.srv.Shutdown() }

func (h *HTTP) handle(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		ctx.Error("use POST with a newline-delimited body\n", fasthttp.StatusMethodNotAllowed)
		return
	}
	body := ctx.PostBody()
	b := record.Get(len(body))
	b.Key = nextKey()
	b.Data = append(b.Data, body...)
	oversize := splitAll(b, h.cfg.MaxLine)
	n := len(b.Lines)
	if err := deliver(ctx, &h.cfg, b, oversize); err != nil {
		ctx.Error("shutting down\n", fasthttp.StatusServiceUnavailable)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"accepted":` + strconv.Itoa(n) + `,"oversize":` + strconv.Itoa(oversize) + "}\n")
}
