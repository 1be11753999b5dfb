package output

import (
	"bytes"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"
)

// MaxResponseExcerpt is how much of a refusal's response body a
// PermanentError keeps.
const MaxResponseExcerpt = 512

// PermanentError is the error of a Write whose destination refused lines
// for good: it answered with a status that blames the request itself (a
// 4xx other than 408 Request Timeout and 429 Too Many Requests, see
// PermanentStatus), so sending the same lines again, unchanged, to the
// same destination as it stands would be refused again. Retrying is
// pointless; fixing the cause (credentials, a mapping, a missing log
// group) and sending them again is not. The pipeline keeps such lines as
// dead letters instead of dropping them; find the error with errors.As.
//
// Outputs that cannot tell a refusal for good from a failure (tcp,
// console, kafka) never return one.
type PermanentError struct {
	// Status is the destination's HTTP status.
	Status int
	// Response is the start of the destination's answer, at most
	// MaxResponseExcerpt bytes: its body (decompressed when gzipped), or,
	// for a service reached through an SDK, its error code and message.
	Response []byte
	// Lines are the indexes in the batch of the lines refused, ascending;
	// nil means every line of the batch. A destination that answers for
	// each line (elasticsearch's bulk API) refuses some and keeps the
	// others, which count as delivered.
	Lines []int
	// Failed is the number of the batch's lines, not in Lines, that the
	// Write gave up on for another reason (its retries ran out): counted
	// as failed, not as delivered.
	Failed int
	// Err says what happened, for the log. It never holds a line.
	Err error
}

func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *PermanentError) Unwrap() error { return e.Err }

// PermanentStatus reports whether an HTTP status refuses a request for
// good: a 4xx other than 408 and 429, which are the destination being
// slow or busy. 5xx are failures of the destination, and 3xx of the
// output's URL: neither says the lines are at fault.
func PermanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != fasthttp.StatusRequestTimeout && code != fasthttp.StatusTooManyRequests
}

// responseExcerpt copies the first MaxResponseExcerpt bytes of resp's body,
// gunzipped when the destination compressed it (no more than that is ever
// inflated).
func responseExcerpt(resp *fasthttp.Response) []byte {
	body := resp.Body()
	if bytes.EqualFold(bytes.TrimSpace(resp.Header.ContentEncoding()), []byte("gzip")) {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			buf := make([]byte, MaxResponseExcerpt)
			n, _ := io.ReadFull(zr, buf) // a short or broken stream keeps what it gave
			return buf[:n]
		}
	}
	return bytes.Clone(body[:min(len(body), MaxResponseExcerpt)])
}
