// Package api is the control plane's REST API: it edits the draft kept by
// package store (rules, outputs, batch size), publishes it as a manifest for
// the data planes, and shows the published history and the fleet.
//
// The routes, status codes and JSON shapes of the original prototype are
// kept. Every route is declared once, in the table in routes.go, which also
// yields the OpenAPI document (GET /openapi.json) and the HTML reference
// (GET /docs). Every error is JSON {"detail": "..."} naming the offending
// field. Output header values, which hold vendor API keys, and passwords in
// output URLs never appear in a response or a log line.
package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
)

// Options configure the API. The zero value serves without authentication,
// without /fleet, and without logging.
type Options struct {
	// Token, when not empty, is the bearer token that POST, PUT and DELETE
	// requests need in their Authorization header. GET requests stay open.
	Token string
	// Redis is where GET /fleet reads the data planes' heartbeats; when nil,
	// GET /fleet answers 503.
	Redis redis.UniversalClient
	// AdminTLS verifies the data planes' https admin ports, which a
	// preview from a live tap (POST /preview with "tap") calls; nil means
	// the system's certificate authorities.
	AdminTLS *tls.Config
	// Logger receives one line per request: method, path, status and
	// duration, never a body. Nil discards them.
	Logger *slog.Logger
}

// server serves the routes.
type server struct {
	st     *store.Store
	redis  redis.UniversalClient
	log    *slog.Logger
	admin  *http.Client      // calls the data planes' admin ports
	token  [sha256.Size]byte // hash of the token, compared in constant time
	secure bool              // a token is set

	openAPI []byte // GET /openapi.json
	docs    []byte // GET /docs
}

// New returns the API serving st.
func New(st *store.Store, opts Options) http.Handler {
	s := &server{st: st, redis: opts.Redis, log: opts.Logger, admin: adminClient(opts.AdminTLS)}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Token != "" {
		s.secure = true
		s.token = sha256.Sum256([]byte(opts.Token))
	}
	doc := openAPIDocument()
	var err error
	if s.openAPI, err = json.MarshalIndent(doc, "", "  "); err != nil {
		panic("BUG: cannot encode the OpenAPI document: " + err.Error())
	}
	if s.docs, err = renderDocs(doc); err != nil {
		panic("BUG: cannot render the API reference: " + err.Error())
	}

	mux := http.NewServeMux()
	allowed := make(map[string][]string) // path -> methods
	for i := range routes {
		rt := &routes[i]
		mux.Handle(rt.pattern(), s.handler(rt))
		allowed[rt.path] = append(allowed[rt.path], rt.method)
	}
	for path, methods := range allowed {
		if slices.Contains(methods, http.MethodGet) {
			methods = append(methods, http.MethodHead)
		}
		allow := strings.Join(methods, ", ")
		mux.HandleFunc(muxPath(path), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed,
				detail: fmt.Sprintf("method %s not allowed on %s; allowed: %s", r.Method, path, allow)})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &httpError{status: http.StatusNotFound, detail: "Not Found"})
	})
	return s.logged(outputNamePath(mux))
}

// outputNamePath passes a request for /outputs/NAME on with NAME escaped as
// one path segment, so that an output's name may be written with the
// slashes of its URL as they are (DELETE /outputs/http:http://host:9000)
// rather than as %2F: the mux would otherwise take them for segments, and
// clean // away.
func outputNamePath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/outputs/"); ok && strings.Contains(name, "/") {
			u := *r.URL
			u.RawPath = "/outputs/" + url.PathEscape(name)
			r2 := *r
			r2.URL = &u
			r = &r2
		}
		next.ServeHTTP(w, r)
	})
}

// handler serves rt: it checks the token, bounds the body, runs the route's
// function and writes its result or error.
func (s *server) handler(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.mutating() && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			s.writeError(w, r, &httpError{status: http.StatusUnauthorized, detail: "missing or invalid bearer token"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		res, err := rt.serve(s, r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if raw, ok := res.(rawBody); ok {
			h := w.Header()
			h.Set("Content-Type", raw.contentType)
			// The reference is self-contained: let it load nothing.
			csp := raw.csp
			if csp == "" {
				csp = "default-src 'none'; style-src 'unsafe-inline'"
			}
			h.Set("Content-Security-Policy", csp)
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Content-Type-Options", "nosniff")
			w.Write(raw.data)
			return
		}
		s.writeJSON(w, http.StatusOK, res)
	})
}

// authorized reports whether r carries the bearer token, or none is needed.
func (s *server) authorized(r *http.Request) bool {
	if !s.secure {
		return true
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Hashing first makes the comparison independent of the token's length.
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], s.token[:]) == 1
}

// rawBody is a response that is not JSON.
type rawBody struct {
	contentType string
	data        []byte
	csp         string // Content-Security-Policy; "" loads nothing but inline style
}

// errorBody is the body of every error response.
type errorBody struct {
	Detail string `json:"detail"`
	// Errors lists every problem when there are several.
	Errors []string `json:"errors,omitempty"`
}

// httpError is an error with its status and the detail to send.
type httpError struct {
	status int
	detail string
	errors []string
}

func (e *httpError) Error() string { return e.detail }

// badRequest returns a 400 error with the given detail.
func badRequest(format string, args ...any) *httpError {
	return &httpError{status: http.StatusBadRequest, detail: fmt.Sprintf(format, args...)}
}

// writeError maps err to a status and writes it as an errorBody. Errors the
// client cannot fix are logged; their detail is generic.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var (
		he  *httpError
		inv *store.InvalidError
		b   errorBody
		st  int
	)
	switch {
	case errors.As(err, &he):
		st, b = he.status, errorBody{Detail: he.detail, Errors: he.errors}
	case errors.As(err, &inv):
		st, b = http.StatusBadRequest, errorBody{Detail: inv.Error()}
		if len(inv.Problems) > 1 {
			b.Errors = inv.Problems
		}
	case errors.Is(err, store.ErrUnavailable):
		st, b = http.StatusServiceUnavailable, errorBody{Detail: "redis unavailable: " + err.Error()}
	case errors.Is(err, store.ErrConflict):
		st, b = http.StatusConflict, errorBody{Detail: err.Error() + "; try again"}
	case errors.Is(err, store.ErrNotFound):
		st, b = http.StatusNotFound, errorBody{Detail: err.Error()}
	case errors.Is(err, store.ErrDuplicate):
		st, b = http.StatusBadRequest, errorBody{Detail: err.Error()}
	default:
		st, b = http.StatusInternalServerError, errorBody{Detail: "internal error"}
	}
	if st >= http.StatusInternalServerError {
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String("method", r.Method), slog.String("path", logPath(r.URL.Path)), slog.Int("status", st), slog.Any("error", err))
	}
	s.writeJSON(w, st, b)
}

// writeJSON writes v as the JSON body of a response with the given status.
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"detail":"internal error"}`)
		s.log.Error("cannot encode response", slog.Any("error", err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// logPath is path as a log line shows it: an output's name in it, which
// a client may have written with its URL's password, masked.
func logPath(path string) string {
	if name, ok := strings.CutPrefix(path, "/outputs/"); ok {
		return "/outputs/" + manifest.MaskOutputName(name)
	}
	return path
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logged logs one line per request and turns a panic into a 500.
func (s *server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "handler panicked",
					slog.String("method", r.Method), slog.String("path", logPath(r.URL.Path)), slog.Any("panic", p))
				if sw.status == 0 {
					s.writeJSON(sw, http.StatusInternalServerError, errorBody{Detail: "internal error"})
				}
			}
			level := slog.LevelInfo
			if sw.status >= http.StatusInternalServerError {
				level = slog.LevelError
			}
			s.log.LogAttrs(r.Context(), level, "request",
				slog.String("method", r.Method),
				slog.String("path", logPath(r.URL.Path)),
				slog.Int("status", sw.status),
				slog.Duration("duration", time.Since(start)))
		}()
		next.ServeHTTP(sw, r)
	})
}
