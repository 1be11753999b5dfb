package server

// The admin tap (package tap):
//
//	GET /tap[?rule=ID][&output=NAME][&n=N]
//
// streams, as NDJSON over a chunked answer, a sample of the lines the data
// plane processes as its outputs receive them: one JSON object a line,
// {"time", "line", "rules", "outputs"} for a kept line, {"time",
// "dropped_by", "rules"} for a dropped one, never its text. It ends after
// n lines, when the client goes away, or at shutdown. Errors are JSON
// {"detail": "..."}: 400 a parameter missing or wrong, 404 the tap is off
// (-tap=false), 429 too many taps attached.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"streamgate/dataplane/metrics"
	"streamgate/dataplane/tap"
)

// TapOptions bound the admin tap. The zero value serves it with the
// defaults of package tap.
type TapOptions struct {
	// Off answers GET /tap with 404.
	Off bool
	// MaxTaps is the most taps attached at once; 0 means
	// tap.DefaultMaxTaps.
	MaxTaps int
	// Rate is the most lines a second a tap is sent; 0 means
	// tap.DefaultRate.
	Rate float64
	// MaxLines is the largest n= a tap may ask for; 0 means
	// tap.DefaultMaxLines.
	MaxLines int
}

// maxLines is o.MaxLines or its default.
func (o TapOptions) maxLines() int {
	if o.MaxLines > 0 {
		return o.MaxLines
	}
	return tap.DefaultMaxLines
}

// newTapHub returns the hub of the admin tap, counted in m.
func newTapHub(o TapOptions, m *metrics.Metrics) *tap.Hub {
	h := tap.NewHub(tap.Options{
		MaxTaps:     o.MaxTaps,
		Rate:        o.Rate,
		Refused:     m.TapRefused(metrics.TapMaxTaps),
		SkippedRate: m.TapSkipped(metrics.TapRateLimit),
		SkippedSlow: m.TapSkipped(metrics.TapSlow),
		Sent:        m.TapSent(),
	})
	m.Gauge("streamgate_taps_attached", func() float64 { return float64(h.Attached()) })
	return h
}

// tapQuery is what GET /tap asks for.
type tapQuery struct {
	filter tap.Filter
	n      int
}

// parseTapQuery parses the query of GET /tap: rule, output and n, each at
// most once, n from 1 to maxLines (tap.DefaultLines when absent); any
// other parameter is an error.
func parseTapQuery(q url.Values, maxLines int) (tapQuery, error) {
	t := tapQuery{n: min(tap.DefaultLines, maxLines)}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		vs := q[k]
		if len(vs) != 1 {
			return t, fmt.Errorf("%s: give it once; got it %d times", k, len(vs))
		}
		v := vs[0]
		switch k {
		case "rule":
			if v == "" {
				return t, errors.New("rule: want a rule's id; got an empty value")
			}
			t.filter.Rule = v
		case "output":
			if v == "" {
				return t, errors.New("output: want an output's name; got an empty value")
			}
			t.filter.Output = v
		case "n":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxLines {
				return t, fmt.Errorf("n: want a number of lines from 1 to %d (-tap-max-lines); got %q", maxLines, v)
			}
			t.n = n
		default:
			return t, fmt.Errorf("unknown parameter %q: want rule, output or n", k)
		}
	}
	return t, nil
}

// handleTap adds GET /tap to mux.
func (s *Server) handleTap(mux *http.ServeMux) {
	mux.HandleFunc("/tap", onlyMethod(http.MethodGet, s.tap))
}

func (s *Server) tap(w http.ResponseWriter, r *http.Request) {
	hub := s.lopts.Pipeline.Tap
	if hub == nil {
		writeError(w, http.StatusNotFound, "the tap is off on this data plane (-tap=false)")
		return
	}
	q, err := parseTapQuery(r.URL.Query(), s.lopts.Tap.maxLines())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f := q.filter.Rule; f != "" {
		if rules := s.p.Rules(); !slices.Contains(rules, f) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("rule: no rule %q runs here (running: %s)", f, list(rules)))
			return
		}
	}
	if f := q.filter.Output; f != "" {
		if outs := s.p.OutputNames(); !slices.Contains(outs, f) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("output: no output %q runs here (running: %s)", f, list(outs)))
			return
		}
	}
	t, err := hub.Attach(q.filter, q.n)
	switch {
	case errors.Is(err, tap.ErrTooMany):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusTooManyRequests, fmt.Sprintf("%d taps are attached, the most this data plane allows (-max-taps): try again once one ends", s.lopts.Tap.maxTaps()))
		return
	case err != nil:
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	defer hub.Detach(t)

	// A tap lasts as long as its client reads: no deadline to read the
	// (absent) body, and one for each write, not for the whole answer.
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc.SetWriteDeadline(time.Now().Add(adminWriteTimeout))
	if err := rc.Flush(); err != nil {
		return
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		select {
		case <-r.Context().Done():
			return
		case rec, ok := <-t.C:
			if !ok {
				return
			}
			rc.SetWriteDeadline(time.Now().Add(adminWriteTimeout))
			if enc.Encode(rec) != nil {
				return
			}
			// Flush when nothing more is waiting: a burst goes out in
			// one chunk.
			if len(t.C) == 0 && rc.Flush() != nil {
				return
			}
		}
	}
}

// maxTaps is o.MaxTaps or its default.
func (o TapOptions) maxTaps() int {
	if o.MaxTaps > 0 {
		return o.MaxTaps
	}
	return tap.DefaultMaxTaps
}

// list joins names for an error message, "none" when there are none.
func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
