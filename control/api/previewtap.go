package api

// POST /preview with {"tap": {...}}: the lines to preview come from a live
// data plane's tap, GET /tap on the admin port its heartbeat names
// (admin_addr). The tap sends lines as the outputs receive them, after the
// live rules: never a line as it was read, so never what they redacted.

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"streamgate/dataplane/rdb"
	"streamgate/dataplane/tap"
)

// Bounds of a preview from a tap. The longest wait stays under the REST
// API's write timeout (30 s), so that the answer always goes out.
const (
	DefaultTapPreviewLines = 100
	DefaultTapWait         = 5 * time.Second
	MaxTapWait             = 20 * time.Second
)

// maxTapRecordBytes bounds one record of the tap (a line, escaped, with its
// rules and outputs), and maxTapBytes all that is read of one tap: past it,
// the preview has the records read so far.
const (
	maxTapRecordBytes = 8 << 20
	maxTapBytes       = 64 << 20
)

// previewTap is the "tap" of a POST /preview body.
type previewTap struct {
	// Instance is the id of the data plane to tap, as GET /fleet lists it;
	// "" means the first live one (by id) that reports an admin address.
	Instance string `json:"instance,omitempty"`
	// N is the records to read from the tap, 1 to MaxPreviewLines.
	N *int `json:"n,omitempty"`
	// WaitMS is the longest wait for them, in milliseconds.
	WaitMS *int `json:"wait_ms,omitempty"`
}

// previewSource says where the lines of a preview came from.
type previewSource struct {
	Instance string `json:"instance"`
	// Tapped is the records the tap sent; Lines those previewed.
	Tapped int `json:"tapped"`
	Lines  int `json:"lines"`
	// DroppedLive is the records the live rules dropped: the tap sends no
	// text for them. Bypassed is the lines the live rules skipped while
	// the data plane's breaker was open: not previewed, as the live rules
	// did not redact them.
	DroppedLive int `json:"dropped_live"`
	Bypassed    int `json:"bypassed"`
	// TimedOut is set when wait_ms ended the tap before n records came.
	TimedOut bool `json:"timed_out,omitempty"`
}

// adminClient is how the control plane calls data planes' admin ports:
// verifying an https one with cfg (nil: the system's certificate
// authorities), following no redirect; a request is bounded by its
// context.
func adminClient(cfg *tls.Config) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr.TLSClientConfig = cfg.Clone()
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// tapLines reads the lines of a preview from a live data plane's tap, as t
// asks, within its wait.
func (s *server) tapLines(ctx context.Context, t *previewTap) ([]string, *previewSource, error) {
	n := DefaultTapPreviewLines
	if t.N != nil {
		if n = *t.N; n < 1 || n > MaxPreviewLines {
			return nil, nil, badRequest("tap.n: want a number of lines from 1 to %d; got %d", MaxPreviewLines, n)
		}
	}
	wait := DefaultTapWait
	if t.WaitMS != nil {
		ms := *t.WaitMS
		if ms < 1 || time.Duration(ms)*time.Millisecond > MaxTapWait {
			return nil, nil, badRequest("tap.wait_ms: want a number of milliseconds from 1 to %d; got %d", MaxTapWait.Milliseconds(), ms)
		}
		wait = time.Duration(ms) * time.Millisecond
	}
	hb, err := s.tapInstance(ctx, t.Instance)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	u := url.URL{Scheme: hb.AdminScheme, Host: hb.AdminAddr, Path: "/tap", RawQuery: url.Values{"n": {strconv.Itoa(n)}}.Encode()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, &httpError{status: http.StatusBadGateway,
			detail: fmt.Sprintf("tap: data plane %q reports an admin address that is not one: %q", hb.ID, hb.AdminAddr)}
	}
	resp, err := s.admin.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, &httpError{status: http.StatusGatewayTimeout,
				detail: fmt.Sprintf("tap: the admin port of data plane %q at %s did not answer within wait_ms=%d", hb.ID, u.Host, wait.Milliseconds())}
		}
		hint := ""
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			hint = " (the control plane's -admin-ca names the certificate authorities it trusts)"
		}
		return nil, nil, &httpError{status: http.StatusBadGateway,
			detail: fmt.Sprintf("tap: cannot reach the admin port of data plane %q at %s: %v%s", hb.ID, u.Host, errors.Unwrap(err), hint)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, tapError(hb.ID, resp)
	}
	src := &previewSource{Instance: hb.ID}
	var lines []string
	sc := bufio.NewScanner(io.LimitReader(resp.Body, maxTapBytes))
	sc.Buffer(make([]byte, 0, 64<<10), maxTapRecordBytes)
	for src.Tapped < n && sc.Scan() {
		var rec tap.Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, nil, &httpError{status: http.StatusBadGateway,
				detail: fmt.Sprintf("tap: data plane %q sent a record that is not one: %v", hb.ID, err)}
		}
		src.Tapped++
		switch {
		case rec.Line == nil:
			src.DroppedLive++
		case rec.Bypassed:
			src.Bypassed++
		default:
			lines = append(lines, *rec.Line)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() == nil {
			return nil, nil, &httpError{status: http.StatusBadGateway,
				detail: fmt.Sprintf("tap: the tap of data plane %q ended: %v", hb.ID, err)}
		}
		src.TimedOut = true
	}
	if src.Tapped == 0 && ctx.Err() == nil {
		return nil, nil, &httpError{status: http.StatusBadGateway,
			detail: fmt.Sprintf("tap: the tap of data plane %q ended before it sent a line (is it shutting down?)", hb.ID)}
	}
	if src.Tapped == 0 {
		return nil, nil, &httpError{status: http.StatusGatewayTimeout,
			detail: fmt.Sprintf("tap: data plane %q processed no line within wait_ms=%d: is traffic flowing?", hb.ID, wait.Milliseconds())}
	}
	src.Lines = len(lines)
	return lines, src, nil
}

// tapInstance is the live data plane to tap: the one with id, or when id
// is "" the first (by id) that reports an admin address.
func (s *server) tapInstance(ctx context.Context, id string) (*rdb.Heartbeat, error) {
	if s.redis == nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: no Redis client configured for the fleet"}
	}
	hbs, err := rdb.ListFleet(ctx, s.redis)
	if err != nil {
		return nil, &httpError{status: http.StatusServiceUnavailable, detail: "redis unavailable: " + err.Error()}
	}
	slices.SortFunc(hbs, func(a, b rdb.Heartbeat) int { return strings.Compare(a.ID, b.ID) })
	if id == "" {
		for i := range hbs {
			if hbs[i].AdminAddr != "" {
				return &hbs[i], nil
			}
		}
		if len(hbs) == 0 {
			return nil, &httpError{status: http.StatusConflict, detail: "tap: no live data plane to tap (GET /fleet lists none)"}
		}
		return nil, &httpError{status: http.StatusConflict,
			detail: "tap: no live data plane reports an admin address (admin_addr): they run without an admin port, or are older than it"}
	}
	ids := make([]string, 0, len(hbs))
	for i := range hbs {
		if hbs[i].ID != id {
			ids = append(ids, hbs[i].ID)
			continue
		}
		if hbs[i].AdminAddr == "" {
			return nil, &httpError{status: http.StatusConflict,
				detail: fmt.Sprintf("tap.instance: data plane %q reports no admin address (admin_addr): it runs without an admin port, or is older than it", id)}
		}
		return &hbs[i], nil
	}
	return nil, notFound(fmt.Sprintf("tap.instance: no live data plane %q (live: %s)", id, listOr(ids, "none")))
}

// tapError is the error of a tap the data plane refused.
func tapError(id string, resp *http.Response) *httpError {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(body, &e) != nil || e.Detail == "" {
		e.Detail = strings.TrimSpace(string(body))
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		if e.Detail == "404 page not found" {
			e.Detail = "its admin port has no tap (a data plane older than it?)"
		}
		return &httpError{status: http.StatusConflict, detail: fmt.Sprintf("tap: data plane %q has no tap to read: %s", id, e.Detail)}
	case http.StatusTooManyRequests:
		return &httpError{status: http.StatusTooManyRequests, detail: fmt.Sprintf("tap: data plane %q: %s", id, e.Detail)}
	}
	return &httpError{status: http.StatusBadGateway, detail: fmt.Sprintf("tap: data plane %q answered %s: %s", id, resp.Status, e.Detail)}
}

// listOr joins names for an error message, or is none when there are none.
func listOr(names []string, none string) string {
	if len(names) == 0 {
		return none
	}
	return strings.Join(names, ", ")
}
