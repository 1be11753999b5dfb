package server

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"
)

// MaxProfileSeconds is the longest CPU profile, execution trace or delta
// profile /debug/pprof takes: a longer seconds= is refused with 400.
const MaxProfileSeconds = 60

// The admin server's timeouts. A slow client cannot hold a connection: the
// admin routes read no body worth the name. The write deadline is that of
// an answer; net/http/pprof extends it by a profile's duration.
const (
	adminReadHeaderTimeout = 10 * time.Second
	adminIdleTimeout       = 2 * time.Minute
)

// adminReadTimeout bounds reading a request, and adminWriteTimeout writing
// one answer. Variables so that tests can show that a profile and a tap
// outlast them.
var (
	adminReadTimeout  = 30 * time.Second
	adminWriteTimeout = 30 * time.Second
)

// newAdminServer returns the admin HTTP server of mux, adding the
// /debug/pprof routes to mux when opts.Pprof is set.
func newAdminServer(mux *http.ServeMux, opts Options) *http.Server {
	if opts.Pprof {
		handlePprof(mux, opts.Cmdline)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: adminReadHeaderTimeout,
		ReadTimeout:       adminReadTimeout,
		WriteTimeout:      adminWriteTimeout,
		IdleTimeout:       adminIdleTimeout,
	}
	if opts.AdminTLS != nil {
		srv.TLSConfig = opts.AdminTLS.Clone()
	}
	return srv
}

// serveAdmin serves the admin server on its listener, over TLS when it has
// a TLS configuration.
func (s *Server) serveAdmin() error {
	if s.admin.TLSConfig != nil {
		return s.admin.ServeTLS(s.adminLn, "", "")
	}
	return s.admin.Serve(s.adminLn)
}

// handlePprof adds net/http/pprof's routes to mux, each seconds= capped at
// MaxProfileSeconds. /debug/pprof/cmdline shows cmdline, or is 404 when it
// is nil: the process's own arguments may hold secrets.
func handlePprof(mux *http.ServeMux, cmdline []string) {
	mux.HandleFunc("GET /debug/pprof/", capSeconds(pprof.Index))
	mux.HandleFunc("GET /debug/pprof/profile", capSeconds(pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/trace", capSeconds(pprof.Trace))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/cmdline", func(w http.ResponseWriter, r *http.Request) {
		if cmdline == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		io.WriteString(w, strings.Join(cmdline, "\x00"))
	})
}

// capSeconds refuses a request whose seconds= is not a number of seconds
// up to MaxProfileSeconds, and passes the others to h. The routes it wraps
// take GET only, so seconds= comes from the query alone.
func capSeconds(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsNaN(sec) || sec > MaxProfileSeconds {
				http.Error(w, fmt.Sprintf("seconds: want a number of seconds up to %d; got %q", MaxProfileSeconds, v), http.StatusBadRequest)
				return
			}
		}
		h(w, r)
	}
}
