package server

// The admin routes of the dead letters (see pipeline/deadletter.go):
//
//	GET  /dlq                               every output's: entries, lines, bytes, oldest, newest
//	GET  /dlq?output=NAME[&limit=N][&lines=1] one output's, with its oldest entries' summaries
//	POST /dlq/replay?output=NAME            send them again through the running output
//	POST /dlq/purge?output=NAME             delete them
//
// Answers are JSON; errors are {"detail": "..."} with 400 (a parameter
// missing or wrong), 404 (no such output), 405 (wrong method), 409 (a
// replay or purge of that output under way) or 502 (the destination
// refused or failed again).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"streamgate/dataplane/deadletter"
	"streamgate/dataplane/pipeline"
)

// Bounds of GET /dlq?output=NAME: entries shown by default, and at most.
const (
	dlqDefaultLimit = 20
	dlqMaxLimit     = 1000
)

// A replay must answer before the admin server's write timeout
// (adminWriteTimeout, 30 s): it starts no entry after replayBudget, and
// stops a Write still running at replayTimeout. What is left stays for
// the next replay; the answer says so (incomplete).
const (
	replayBudget  = 20 * time.Second
	replayTimeout = 25 * time.Second
)

// handleDLQ adds the dead-letter routes to mux.
func (s *Server) handleDLQ(mux *http.ServeMux) {
	mux.HandleFunc("/dlq", onlyMethod(http.MethodGet, s.dlqList))
	mux.HandleFunc("/dlq/replay", onlyMethod(http.MethodPost, s.dlqReplay))
	mux.HandleFunc("/dlq/purge", onlyMethod(http.MethodPost, s.dlqPurge))
}

// onlyMethod passes the requests of method (and HEAD with GET) to h, and
// answers the others 405 with an Allow header.
func onlyMethod(method string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && (method != http.MethodGet || r.Method != http.MethodHead) {
			w.Header().Set("Allow", method)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use %s", r.Method, method))
			return
		}
		h(w, r)
	}
}

// writeJSON answers v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// writeError answers {"detail": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"detail": msg})
}

// dlqError answers err of a dead-letter operation with its status.
func dlqError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, pipeline.ErrNoOutput):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, deadletter.ErrBusy):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusInternalServerError, err.Error())
	}
}

// outputParam returns the request's output parameter, or answers 400.
func outputParam(w http.ResponseWriter, r *http.Request) (string, bool) {
	name := r.URL.Query().Get("output")
	if name == "" {
		writeError(w, http.StatusBadRequest, "output: required: the output's name, as GET /dlq and the metrics' output label give it")
		return "", false
	}
	return name, true
}

// dlqEntry is an entry as GET /dlq?output=NAME shows it; its lines only
// with lines=1, as the file writes them.
type dlqEntry struct {
	Time      time.Time `json:"time"`
	Status    int       `json:"status"`
	Response  string    `json:"response"`
	LineCount int       `json:"line_count"`
	Lines     []string  `json:"lines,omitempty"`
	LinesB64  [][]byte  `json:"lines_b64,omitempty"`
}

// dlqOutput is what GET /dlq?output=NAME answers.
type dlqOutput struct {
	deadletter.Stats
	List []dlqEntry `json:"list"`
}

func (s *Server) dlqList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if !q.Has("output") {
		list, err := s.p.DeadLetters()
		if err != nil {
			dlqError(w, err)
			return
		}
		if list == nil {
			list = []deadletter.Stats{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"dir": s.p.DeadLetterDir(), "outputs": list})
		return
	}
	name, ok := outputParam(w, r)
	if !ok {
		return
	}
	limit := dlqDefaultLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > dlqMaxLimit {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit: want a number of entries from 1 to %d; got %q", dlqMaxLimit, v))
			return
		}
		limit = n
	}
	withLines := false
	switch v := q.Get("lines"); v {
	case "", "0", "false":
	case "1", "true":
		withLines = true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("lines: want 1 to show the entries' lines, or 0; got %q", v))
		return
	}
	f, err := s.p.DeadLetterFile(name)
	if err != nil {
		dlqError(w, err)
		return
	}
	st, err := f.Stats()
	if err != nil {
		dlqError(w, err)
		return
	}
	st.Output = name
	out := dlqOutput{Stats: st, List: []dlqEntry{}}
	err = f.Entries(func(e *deadletter.Entry) bool {
		de := dlqEntry{Time: e.Time, Status: e.Status, Response: string(e.Response), LineCount: len(e.Lines)}
		if withLines {
			de.Lines, de.LinesB64 = linesJSON(e.Lines)
		}
		out.List = append(out.List, de)
		return len(out.List) < limit
	})
	if err != nil {
		dlqError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// linesJSON returns lines as strings when each is valid UTF-8, otherwise
// as they are, for base64: the dead-letter file's encoding.
func linesJSON(lines [][]byte) ([]string, [][]byte) {
	for _, l := range lines {
		if !utf8.Valid(l) {
			return nil, lines
		}
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	return out, nil
}

// replayAnswer is what POST /dlq/replay answers.
type replayAnswer struct {
	Output           string `json:"output"`
	ReplayedEntries  int    `json:"replayed_entries"`
	ReplayedLines    int    `json:"replayed_lines"`
	RemainingEntries int    `json:"remaining_entries"`
	RemainingLines   int    `json:"remaining_lines"`
	// Incomplete: the replay used its time and stopped with entries left;
	// ask again.
	Incomplete bool `json:"incomplete"`
	// Status and Detail say why the replay stopped short (502): the
	// status of the refusal for good, or 0 for another failure.
	Status int    `json:"status,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (s *Server) dlqReplay(w http.ResponseWriter, r *http.Request) {
	name, ok := outputParam(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), replayTimeout)
	defer cancel()
	res, err := s.p.ReplayDeadLetters(ctx, name, replayBudget)
	ans := replayAnswer{
		Output:           name,
		ReplayedEntries:  res.Entries,
		ReplayedLines:    res.Lines,
		RemainingEntries: res.Remaining.Entries,
		RemainingLines:   res.Remaining.Lines,
		Incomplete:       res.Incomplete,
	}
	var refused *pipeline.RefusedError
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, ans)
	case errors.Is(err, pipeline.ErrNoOutput), errors.Is(err, deadletter.ErrBusy):
		dlqError(w, err)
	case errors.As(err, &refused):
		ans.Status = refused.Status
		ans.Detail = fmt.Sprintf("the destination refused an entry again with status %d: replay stopped; the entry and those after it are kept: %v", refused.Status, refused.Err)
		writeJSON(w, http.StatusBadGateway, ans)
	default:
		ans.Detail = fmt.Sprintf("replay stopped; the entry and those after it are kept: %v", err)
		writeJSON(w, http.StatusBadGateway, ans)
	}
}

// purgeAnswer is what POST /dlq/purge answers.
type purgeAnswer struct {
	Output        string `json:"output"`
	PurgedEntries int    `json:"purged_entries"`
	PurgedLines   int    `json:"purged_lines"`
	PurgedBytes   int64  `json:"purged_bytes"`
}

func (s *Server) dlqPurge(w http.ResponseWriter, r *http.Request) {
	name, ok := outputParam(w, r)
	if !ok {
		return
	}
	st, err := s.p.PurgeDeadLetters(name)
	if err != nil {
		dlqError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, purgeAnswer{Output: name, PurgedEntries: st.Entries, PurgedLines: st.Lines, PurgedBytes: st.Bytes})
}
