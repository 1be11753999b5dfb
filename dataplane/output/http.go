package output

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fasthttp"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

const (
	defaultHTTPTimeout = 10 * time.Second
	defaultMaxRetries  = 5
	maxMaxRetries      = 100

	// Backoff between retries: base·2^n, capped, with jitter.
	defaultBackoffBase = 100 * time.Millisecond
	defaultBackoffMax  = 5 * time.Second
	// maxRetryAfter caps how long a Retry-After header can make a retry wait.
	maxRetryAfter = 30 * time.Second

	// maxConnsPerHost bounds the connections to the destination; a Write that
	// finds them all busy waits for one up to the request timeout.
	maxConnsPerHost = 64
	// maxResponseBody bounds the response body read, and discarded.
	maxResponseBody = 1 << 20
	// maxPooledBuffer is the largest body buffer kept for reuse.
	maxPooledBuffer = 4 << 20

	// defaultLinger is how long a batch waits for more lines when the
	// output has no request in flight; maxLinger bounds linger_ms. At
	// 100,000 lines/s a first line waits up to the linger, then a request:
	// 2 ms keeps p99 under 5 ms end to end, 5 ms did not (7.4 ms).
	defaultLinger = 2 * time.Millisecond
	maxLinger     = time.Second
	// defaultMaxInFlight and maxMaxInFlight bound the requests at once.
	defaultMaxInFlight = 4
	maxMaxInFlight     = 64
)

// httpOutput posts each batch to one URL with fasthttp, retrying failed
// requests with backoff.
type httpOutput struct {
	client  *fasthttp.HostClient
	url     string      // the request URI
	name    string      // the URL as MaskURL shows it, for errors
	format  *bodyFormat // encodes the body
	headers []header    // sent with every request, after Content-Type
	gzip    bool
	timeout time.Duration
	retries int // retries after the first attempt
	linger  time.Duration
	// inFlight holds a token per request being made, retries and their
	// waits included: at most max_in_flight at once.
	inFlight chan struct{}

	// Retry timing: defaultRetryTiming, shorter in tests.
	retryTiming

	// requests times each request, retries each on its own; retried
	// counts the retries.
	requests *vm.PrometheusHistogram
	retried  *vm.Counter

	// mu is held shared by each Write and exclusively by Close, which so
	// waits for the Writes in flight.
	mu     sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close to cut retry waits short
	once   sync.Once
}

type header struct{ name, value string }

// retryTiming is the retry schedule of an httpOutput.
type retryTiming struct {
	backoffBase   time.Duration
	backoffMax    time.Duration
	retryAfterMax time.Duration
}

var defaultRetryTiming = retryTiming{
	backoffBase:   defaultBackoffBase,
	backoffMax:    defaultBackoffMax,
	retryAfterMax: maxRetryAfter,
}

var httpSpec = spec.Component{
	Summary: "POSTs each batch to an HTTP endpoint over keep-alive connections, in the body format a vendor takes; retries with backoff and honours Retry-After.",
	Params: []spec.Param{
		{Name: "url", Kind: spec.String, Required: true, Description: "http:// or https:// endpoint; its credentials and query values are masked wherever it is shown."},
		{Name: "headers", Kind: spec.StringMap, Description: "Request headers, such as a vendor's API key. Their values are never shown, logged or put in metrics."},
		{Name: "format", Kind: spec.String, Default: "text", Enum: formatNames(), Description: "Body format: text (newline-joined), ndjson, json_array, datadog (Datadog logs intake) or splunk_hec (Splunk HTTP Event Collector)."},
		{Name: "gzip", Kind: spec.Boolean, Default: "false", Description: "Compress request bodies."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on one request, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a request that failed with a connection error, a timeout, 429 or 5xx is retried before the batch is dropped and counted; other 4xx are not retried: the batch is kept as a dead letter."},
		{Name: "linger_ms", Kind: spec.Integer, Default: "2", Description: "When the output has no request in flight, a batch goes this many milliseconds after its first line, full or not; while requests are in flight, batches fill up to batch_size or the flush interval. 0 sends what is batched as soon as the pipeline has nothing more to process. At most 1000."},
		{Name: "max_in_flight", Kind: spec.Integer, Default: "4", Description: "Most requests at once, retries included. Each pipeline worker also sends its batches one at a time, in order, so no more than the workers are ever in flight. 1 to 64."},
		tlsParams("an https:// url")[0],
		tlsParams("an https:// url")[1],
	},
	Examples: []string{
		`{"url": "https://http-intake.logs.datadoghq.com/api/v2/logs", "headers": {"DD-API-KEY": "..."}, "format": "datadog", "gzip": true}`,
		`{"url": "http://localhost:9000", "timeout_ms": 5000, "max_retries": 10, "linger_ms": 20, "max_in_flight": 2}`,
		`{"url": "https://logs.internal.example:8443/ingest", "tls_ca_file": "/etc/streamgate/internal-ca.pem"}`,
		`{"url": "https://10.0.0.7:8443/ingest", "tls_insecure_skip_verify": true}`,
	},
}

// validateHTTP checks the fields an http output uses. Its errors never hold
// header values.
func validateHTTP(c *Config) error {
	u, err := parseHTTPURL(c.URL)
	if err != nil {
		return err
	}
	if err := validateTLS(c, u.Scheme == "https", "https://"); err != nil {
		return err
	}
	if _, ok := formats[c.Format]; !ok {
		return fmt.Errorf("format: unknown format %q (known: %s)", c.Format, strings.Join(formatNames(), ", "))
	}
	return validateRequestFields(c)
}

// validateRequestFields checks the fields that every output posting over
// HTTP takes: timeout_ms, max_retries and headers. Its errors never hold
// header values.
func validateRequestFields(c *Config) error {
	if c.TimeoutMS < 0 {
		return fmt.Errorf("timeout_ms: must not be negative, got %d", c.TimeoutMS)
	}
	if c.MaxRetries != nil && (*c.MaxRetries < 0 || *c.MaxRetries > maxMaxRetries) {
		return fmt.Errorf("max_retries: must be between 0 and %d, got %d", maxMaxRetries, *c.MaxRetries)
	}
	if c.LingerMS != nil && (*c.LingerMS < 0 || time.Duration(*c.LingerMS)*time.Millisecond > maxLinger) {
		return fmt.Errorf("linger_ms: must be between 0 and %d, got %d", maxLinger.Milliseconds(), *c.LingerMS)
	}
	if c.MaxInFlight != nil && (*c.MaxInFlight < 1 || *c.MaxInFlight > maxMaxInFlight) {
		return fmt.Errorf("max_in_flight: must be between 1 and %d, got %d", maxMaxInFlight, *c.MaxInFlight)
	}
	names := make([]string, 0, len(c.Headers))
	for name := range c.Headers {
		names = append(names, name)
	}
	sort.Strings(names) // report the same header first every time
	for _, name := range names {
		if err := validateHeader(name, c.Headers[name]); err != nil {
			return fmt.Errorf("headers[%q]: %w", name, err)
		}
	}
	return nil
}

// parseHTTPURL parses an output URL. Its errors do not repeat the URL, which
// may hold a password.
func parseHTTPURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("url: required for http output")
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("url: cannot parse: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("url: scheme must be http or https, got %q", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("url: host is missing")
	}
	return u, nil
}

// validateHeader checks one custom header. Its errors never hold the value,
// which is often a credential.
func validateHeader(name, value string) error {
	if name == "" {
		return errors.New("name is empty")
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return fmt.Errorf("name has invalid character %q at offset %d", name[i], i)
		}
	}
	switch {
	case strings.EqualFold(name, fasthttp.HeaderContentLength), strings.EqualFold(name, fasthttp.HeaderTransferEncoding):
		return errors.New("set by the output from the body")
	case strings.EqualFold(name, fasthttp.HeaderContentEncoding):
		return errors.New("set by the output: use gzip to compress bodies")
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return fmt.Errorf("value has a control character at offset %d", i)
		}
	}
	return nil
}

// isTokenChar reports whether c may appear in an HTTP token (RFC 9110, 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// newHTTP builds an http output from a validated c.
func newHTTP(c *Config) (Output, error) {
	return newHTTPOutput(c, defaultRetryTiming)
}

// newHTTPOutput builds an httpOutput from a validated c that retries on the
// schedule t.
func newHTTPOutput(c *Config, t retryTiming) (*httpOutput, error) {
	u, err := parseHTTPURL(c.URL)
	if err != nil {
		return nil, err
	}
	timeout := defaultHTTPTimeout
	if c.TimeoutMS > 0 {
		timeout = time.Duration(c.TimeoutMS) * time.Millisecond
	}
	retries := defaultMaxRetries
	if c.MaxRetries != nil {
		retries = *c.MaxRetries
	}
	linger := defaultLinger
	if c.LingerMS != nil {
		linger = time.Duration(*c.LingerMS) * time.Millisecond
	}
	inFlight := defaultMaxInFlight
	if c.MaxInFlight != nil {
		inFlight = *c.MaxInFlight
	}
	headers := make([]header, 0, len(c.Headers))
	for name, value := range c.Headers {
		headers = append(headers, header{name, value})
	}
	sort.Slice(headers, func(i, j int) bool { return headers[i].name < headers[j].name })

	isTLS := u.Scheme == "https"
	var tlsConfig *tls.Config
	if isTLS {
		if tlsConfig, err = clientTLS(c, u.Hostname()); err != nil {
			return nil, err
		}
	}
	o := &httpOutput{
		client: &fasthttp.HostClient{
			Addr:                      fasthttp.AddMissingPort(u.Host, isTLS),
			IsTLS:                     isTLS,
			TLSConfig:                 tlsConfig,
			Name:                      "streamgate",
			MaxConns:                  maxConnsPerHost,
			MaxConnWaitTimeout:        timeout,
			ReadTimeout:               timeout,
			WriteTimeout:              timeout,
			ReadBufferSize:            16 << 10,
			MaxResponseBodySize:       maxResponseBody,
			MaxIdemponentCallAttempts: 2,
			RetryIfErr:                retryStaleConn,
			SecureErrorLogMessage:     true,
		},
		url:         c.URL,
		name:        MaskURL(c.URL), // u.Redacted would keep the query's tokens
		format:      formats[c.Format],
		headers:     headers,
		gzip:        c.Gzip,
		timeout:     timeout,
		retries:     retries,
		linger:      linger,
		inFlight:    make(chan struct{}, inFlight),
		retryTiming: t,
		done:        make(chan struct{}),
		requests:    counters.GetOrCreatePrometheusHistogramExt(RequestDuration+"{output="+strconv.Quote(c.Name())+"}", requestBuckets),
		retried:     counters.GetOrCreateCounter(OutputRetries + "{output=" + strconv.Quote(c.Name()) + "}"),
	}
	return o, nil
}

// The http-based outputs' own metrics, by output (see WritePrometheus).
const (
	// RequestDuration is a histogram of the time of each request to the
	// destination, from sending it to its answer; each retry is a request.
	RequestDuration = "streamgate_output_request_duration_seconds"
	// OutputRetries counts requests made again after a failure.
	OutputRetries = "streamgate_output_retries_total"
)

// requestBuckets are RequestDuration's bucket bounds, in seconds: from a
// loopback collector's fraction of a millisecond to a timeout.
var requestBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Linger implements Lingerer.
func (o *httpOutput) Linger() time.Duration { return o.linger }

// retryStaleConn lets fasthttp resend a request at once, on a new connection,
// when the server closed the connection without answering. That is what a
// pooled keep-alive connection the server timed out looks like, and it should
// not cost a backoff. fasthttp allows one such resend (MaxIdemponentCallAttempts);
// every other failure is left to Write's own retries.
func retryStaleConn(_ *fasthttp.Request, _ int, err error) (resetTimeout, retry bool) {
	return false, errors.Is(err, io.EOF) || errors.Is(err, fasthttp.ErrConnectionClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// httpScratch is the per-Write memory, recycled through scratchPool.
type httpScratch struct {
	body []byte
	zout appendWriter
	zw   *gzip.Writer
}

// appendWriter is an io.Writer that appends to a slice.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

var scratchPool = sync.Pool{New: func() any { return new(httpScratch) }}

func putScratch(s *httpScratch) {
	if cap(s.body) > maxPooledBuffer {
		s.body = nil
	}
	if cap(s.zout.b) > maxPooledBuffer {
		s.zout.b = nil
	}
	scratchPool.Put(s)
}

// encode returns the request body for lines, in memory owned by s.
func (o *httpOutput) encode(s *httpScratch, lines [][]byte) []byte {
	s.body = o.format.appendBody(s.body[:0], lines)
	return o.compress(s, s.body)
}

// compress returns body gzipped in memory owned by s when o compresses,
// body itself otherwise.
func (o *httpOutput) compress(s *httpScratch, body []byte) []byte {
	if !o.gzip {
		return body
	}
	s.zout.b = s.zout.b[:0]
	if s.zw == nil {
		s.zw, _ = gzip.NewWriterLevel(&s.zout, gzip.DefaultCompression) // the level is valid
	} else {
		s.zw.Reset(&s.zout)
	}
	s.zw.Write(body) // appendWriter does not fail
	s.zw.Close()
	return s.zout.b
}

// Write posts b's lines as one request, retrying on connection errors,
// timeouts, 408, 429 and 5xx responses. Any other status is final; 2xx is
// success, and a 4xx a PermanentError.
func (o *httpOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	s := scratchPool.Get().(*httpScratch)
	defer putScratch(s)
	return o.exchange(func(req *fasthttp.Request, resp *fasthttp.Response) error {
		select {
		case o.inFlight <- struct{}{}:
			defer func() { <-o.inFlight }()
		case <-ctx.Done():
			return ctx.Err()
		case <-o.done:
			return ErrClosed
		}
		o.prepare(req, o.format.contentType)
		req.SetBodyRaw(o.encode(s, b.Lines))
		return o.retry(ctx, func() (time.Duration, bool, error) { return o.post(ctx, req, resp) })
	})
}

// exchange runs one Write of an output built on o: refused with ErrClosed
// once o is closed, or else given a request and a response for its
// attempts, which Close waits for and which are released when send
// returns. The scratch that a request's body points into must be taken
// before exchange and given back after it.
func (o *httpOutput) exchange(send func(req *fasthttp.Request, resp *fasthttp.Response) error) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	return send(req, resp)
}

// prepare sets up req as a POST of a body of contentType to o's URL, with
// o's headers.
func (o *httpOutput) prepare(req *fasthttp.Request, contentType string) {
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(o.url)
	req.Header.SetContentType(contentType)
	if o.gzip {
		req.Header.SetContentEncoding("gzip")
	}
	for _, h := range o.headers {
		req.Header.Set(h.name, h.value)
	}
}

// retry calls try, which makes one attempt and reports as post does, until
// it succeeds or fails for good, ctx is done, o is closed or o's retries run
// out, waiting between attempts as the server asked or o's backoff says.
func (o *httpOutput) retry(ctx context.Context, try func() (wait time.Duration, retry bool, err error)) error {
	var last error // the last failure
	lastStatus := 0
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return o.fail(err, attempt, last, lastStatus)
		}
		wait, retry, err := try()
		if err == nil {
			return nil
		}
		last = err
		if se, ok := err.(*statusError); ok {
			lastStatus = se.code
		}
		if !retry {
			err = fmt.Errorf("cannot post batch to %s: %w, not retried", o.name, err)
			if se, ok := last.(*statusError); ok && PermanentStatus(se.code) {
				return &PermanentError{Status: se.code, Response: se.body, Err: err}
			}
			return err
		}
		if attempt == o.retries {
			return o.fail(nil, attempt+1, last, lastStatus)
		}
		if wait == 0 {
			wait = o.backoff(attempt)
		}
		if err := o.sleep(ctx, wait); err != nil {
			return o.fail(err, attempt+1, last, lastStatus)
		}
		o.retried.Inc()
	}
}

// post sends req once. On failure it reports whether to retry, and how long
// the server asked to wait first: 0 if it did not, and the backoff applies.
func (o *httpOutput) post(ctx context.Context, req *fasthttp.Request, resp *fasthttp.Response) (wait time.Duration, retry bool, err error) {
	timeout := o.timeout
	if deadline, ok := ctx.Deadline(); ok {
		if left := time.Until(deadline); left < timeout {
			timeout = max(left, time.Millisecond)
		}
	}
	req.SetTimeout(timeout)
	start := time.Now()
	err = o.client.Do(req, resp)
	o.requests.UpdateDuration(start)
	if err != nil && !errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return 0, true, err // no status: a connection error or a timeout
	}
	// With ErrBodyTooLarge the status line was read: it decides.
	code := resp.StatusCode()
	switch {
	case code >= 200 && code < 300:
		countWire(ctx, len(req.Body()))
		return 0, false, nil
	case code == fasthttp.StatusTooManyRequests, code == fasthttp.StatusServiceUnavailable:
		return o.retryAfter(resp.Header.Peek(fasthttp.HeaderRetryAfter), time.Now()), true, &statusError{code: code}
	case code == fasthttp.StatusRequestTimeout, code >= 500:
		return 0, true, &statusError{code: code}
	case PermanentStatus(code):
		return 0, false, &statusError{code: code, body: responseExcerpt(resp)}
	default:
		return 0, false, &statusError{code: code}
	}
}

// retryAfter returns the delay a Retry-After header value asks for, in
// delay-seconds or as an HTTP-date, capped at o.retryAfterMax. It returns 0,
// meaning the backoff applies, for a missing, invalid or zero delay.
func (o *httpOutput) retryAfter(v []byte, now time.Time) time.Duration {
	if len(v) == 0 {
		return 0
	}
	if v[0] >= '0' && v[0] <= '9' {
		var d time.Duration
		for _, c := range v {
			if c < '0' || c > '9' {
				return 0
			}
			if d < o.retryAfterMax { // saturate: the value may overflow
				d = d*10 + time.Duration(c-'0')*time.Second
			}
		}
		return min(d, o.retryAfterMax)
	}
	t, err := fasthttp.ParseHTTPDate(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), o.retryAfterMax)
}

// backoff returns the wait before retry n+1: d = base·2^n capped at
// backoffMax, jittered uniformly into [d/2, d].
func (t retryTiming) backoff(n int) time.Duration {
	d := t.backoffMax
	if n < 32 && t.backoffBase<<n < t.backoffMax && t.backoffBase<<n > 0 {
		d = t.backoffBase << n
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d, or until ctx is done or o is closed.
func (o *httpOutput) sleep(ctx context.Context, d time.Duration) error {
	return sleep(ctx, d, o.done)
}

// sleep waits for d between retries, or until ctx is done (its error) or
// done is closed (ErrClosed). The outputs share it.
func sleep(ctx context.Context, d time.Duration, done <-chan struct{}) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return ErrClosed
	}
}

// fail builds the error of a Write that made attempts requests, the last of
// which failed with last, and gives up: because of why (ctx's error or
// ErrClosed), or with why nil because its retries ran out. lastStatus is the
// status of the last response received, 0 if none.
func (o *httpOutput) fail(why error, attempts int, last error, lastStatus int) error {
	if last == nil {
		return fmt.Errorf("cannot post batch to %s: %w", o.name, why)
	}
	status := ""
	if _, ok := last.(*statusError); !ok && lastStatus != 0 {
		status = " (last status " + strconv.Itoa(lastStatus) + ")"
	}
	if why == nil {
		return fmt.Errorf("cannot post batch to %s: giving up after %s: %w%s", o.name, plural(attempts, "attempt"), last, status)
	}
	return fmt.Errorf("cannot post batch to %s: %w after %s, last: %w%s", o.name, why, plural(attempts, "attempt"), last, status)
}

// Close makes Write return ErrClosed, ends the retry waits of Writes in
// flight, waits for them and closes the idle connections.
func (o *httpOutput) Close() error {
	o.once.Do(func() { close(o.done) })
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.client.CloseIdleConnections()
	return nil
}

// plural returns "1 <noun>" or "<n> <noun>s".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// statusError is a response with a status that is not success. body is
// the start of the response's body (responseExcerpt), kept only for a
// status that refuses the request for good (PermanentStatus).
type statusError struct {
	code int
	body []byte
}

func (e *statusError) Error() string {
	return "status " + strconv.Itoa(e.code) + " " + fasthttp.StatusMessage(e.code)
}
