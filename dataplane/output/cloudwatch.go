package output

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// The limits of one PutLogEvents request.
const (
	cwMaxEvents = 10_000
	cwMaxBytes  = 1_048_576
	// cwEventOverhead is what the service adds to each message's size.
	cwEventOverhead = 26
	// cwMaxMessage is the longest message: one event alone in a request.
	cwMaxMessage = cwMaxBytes - cwEventOverhead
	// cwMaxSpan is the widest span of timestamps in one request, less a
	// millisecond: the service refuses a span of 24 hours or more.
	cwMaxSpan = 24*time.Hour - time.Millisecond
	// The service refuses events older than 14 days or more than 2 hours
	// ahead; a timestamp taken from a line is kept this far inside.
	cwMaxAge    = 14*24*time.Hour - 10*time.Minute
	cwMaxFuture = 2*time.Hour - 10*time.Minute

	maxLogGroup  = 512
	maxLogStream = 512
)

var cloudWatchSpec = spec.Component{
	Summary: "Sends each batch to an Amazon CloudWatch Logs stream with PutLogEvents, split within the service's limits; retries throttling and unavailability with backoff. Credentials come from the AWS SDK's default chain.",
	Params: []spec.Param{
		{Name: "log_group", Kind: spec.String, Required: true, Description: "The log group, up to 512 letters, digits and . _ - / #."},
		{Name: "log_stream", Kind: spec.String, Required: true, Description: "The log stream, up to 512 characters other than : and *."},
		{Name: "region", Kind: spec.String, Description: "The AWS region (us-east-1). By default the SDK's: AWS_REGION, or the shared config's profile."},
		{Name: "create", Kind: spec.Boolean, Default: "true", Description: "Create the log group and stream when the service says they do not exist (needs logs:CreateLogGroup and logs:CreateLogStream); with false such a batch is kept as a dead letter."},
		{Name: "endpoint", Kind: spec.String, Description: "The service's URL, for a compatible service or a local stand-in (http://127.0.0.1:4566); by default AWS's endpoint for the region."},
		{Name: "timestamp_field", Kind: spec.String, Description: "A JSON member holding a line's time, as a path of keys separated by / (event/time), each taken literally: an RFC 3339 string, or a number of Unix seconds (below 10^11) or milliseconds. Without it, or when a line lacks it, an event is stamped with the time the batch is written; a time the service would refuse, more than 14 days past or 2 hours ahead, is replaced the same way."},
		{Name: "timeout_ms", Kind: spec.Integer, Default: "10000", Description: "Bound on one request, in milliseconds."},
		{Name: "max_retries", Kind: spec.Integer, Default: "5", Description: "How often a request that failed with throttling, unavailability, a 5xx, a timeout or a connection error is retried, with backoff, before the batch is dropped and counted; other errors, such as bad credentials (UnrecognizedClientException) or missing permissions (AccessDeniedException), are not retried: a batch the service refused with a 4xx is kept as a dead letter, one that failed otherwise dropped and counted."},
	},
	Examples: []string{
		`{"region": "eu-west-1", "log_group": "/streamgate/app", "log_stream": "web-1"}`,
		`{"region": "us-east-1", "log_group": "app", "log_stream": "api", "create": false, "endpoint": "http://127.0.0.1:4566", "timestamp_field": "time", "timeout_ms": 5000, "max_retries": 10}`,
	},
}

// cloudWatchDestination names the region, log group and stream a
// cloudwatch_logs config writes to.
func cloudWatchDestination(c *Config) string {
	return c.Region + ":" + c.LogGroup + ":" + c.LogStream
}

func validateCloudWatch(c *Config) error {
	switch {
	case c.LogGroup == "":
		return errors.New("log_group: required for cloudwatch_logs output")
	case len(c.LogGroup) > maxLogGroup:
		return fmt.Errorf("log_group: at most %d characters; got %d", maxLogGroup, len(c.LogGroup))
	}
	for i := 0; i < len(c.LogGroup); i++ {
		switch ch := c.LogGroup[i]; {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case ch == '.', ch == '_', ch == '-', ch == '/', ch == '#':
		default:
			return fmt.Errorf("log_group: only letters, digits and . _ - / #; got %q at offset %d", ch, i)
		}
	}
	switch {
	case c.LogStream == "":
		return errors.New("log_stream: required for cloudwatch_logs output")
	case len(c.LogStream) > maxLogStream:
		return fmt.Errorf("log_stream: at most %d characters; got %d", maxLogStream, len(c.LogStream))
	case strings.ContainsAny(c.LogStream, ":*"):
		return errors.New("log_stream: must not contain : or *")
	case !utf8.ValidString(c.LogStream):
		return errors.New("log_stream: not valid UTF-8")
	}
	for i := 0; i < len(c.Region); i++ {
		if ch := c.Region[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
			return fmt.Errorf("region: only lower-case letters, digits and -, as in us-east-1; got %q", c.Region)
		}
	}
	if c.Endpoint != "" {
		if err := validateEndpoint(c.Endpoint); err != nil {
			return err
		}
	}
	if c.TimestampField != "" && strings.Contains("/"+c.TimestampField+"/", "//") {
		return fmt.Errorf("timestamp_field: empty key in path %q", c.TimestampField)
	}
	if c.TimeoutMS < 0 {
		return fmt.Errorf("timeout_ms: must not be negative; got %d", c.TimeoutMS)
	}
	if c.MaxRetries != nil && (*c.MaxRetries < 0 || *c.MaxRetries > maxMaxRetries) {
		return fmt.Errorf("max_retries: must be between 0 and %d; got %d", maxMaxRetries, *c.MaxRetries)
	}
	return nil
}

// validateEndpoint checks an endpoint URL. Its errors do not repeat it.
func validateEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("endpoint: cannot parse: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint: scheme must be http or https; got %q", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("endpoint: host is missing")
	}
	if u.User != nil {
		return errors.New("endpoint: takes no credentials: they come from the SDK's default chain")
	}
	return nil
}

// cloudWatchOutput puts each batch's lines as events to one log stream,
// sorted by timestamp and split into requests within the service's
// limits. Requests of one Write go one after the other; Writes of several
// lanes run at once (the service takes concurrent PutLogEvents on a
// stream).
type cloudWatchOutput struct {
	client  *cloudwatchlogs.Client
	name    string // for errors
	group   string
	stream  string
	create  bool
	tsPath  []string // nil: the time of writing
	timeout time.Duration
	retries int
	retryTiming
	now func() time.Time

	// createMu serialises creating the group and stream.
	createMu sync.Mutex
	// requests counts PutLogEvents calls, for tests.
	requests atomic.Int64

	// mu is held shared by each Write and exclusively by Close.
	mu     sync.RWMutex
	closed bool
	done   chan struct{} // closed by Close to cut retry waits short
	once   sync.Once
}

func newCloudWatch(c *Config) (Output, error) {
	return newCloudWatchOutput(c, defaultRetryTiming)
}

// newCloudWatchOutput builds a cloudWatchOutput from a validated c that
// retries on the schedule t; opts are added to the SDK's loading of its
// configuration (tests give static credentials). It reads the SDK's
// configuration, from the environment and the shared files, and makes no
// request.
func newCloudWatchOutput(c *Config, t retryTiming, opts ...func(*config.LoadOptions) error) (*cloudWatchOutput, error) {
	if c.Region != "" {
		opts = append([]func(*config.LoadOptions) error{config.WithRegion(c.Region)}, opts...)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("cannot load the AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("region: not set, and the AWS SDK found none (AWS_REGION, or the region of the shared config's profile)")
	}
	endpoint := c.Endpoint
	client := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.Retryer = aws.NopRetryer{} // Write retries, with its own schedule
	})
	o := &cloudWatchOutput{
		client:      client,
		name:        "cloudwatch_logs:" + cfg.Region + ":" + c.LogGroup + ":" + c.LogStream,
		group:       c.LogGroup,
		stream:      c.LogStream,
		create:      c.Create == nil || *c.Create,
		timeout:     defaultHTTPTimeout,
		retries:     defaultMaxRetries,
		retryTiming: t,
		now:         time.Now,
		done:        make(chan struct{}),
	}
	if c.TimestampField != "" {
		o.tsPath = strings.Split(c.TimestampField, "/")
	}
	if c.TimeoutMS > 0 {
		o.timeout = time.Duration(c.TimeoutMS) * time.Millisecond
	}
	if c.MaxRetries != nil {
		o.retries = *c.MaxRetries
	}
	return o, nil
}

// cwEvent is one line as an event.
type cwEvent struct {
	ts  int64 // Unix milliseconds
	msg string
	idx int // the line's index in its batch
}

// Write puts b's lines, as events sorted by timestamp, in as few requests
// as the service's limits allow: 10,000 events, 1,048,576 bytes counting
// 26 per event, a span of less than 24 hours. It returns nil once every
// request was accepted and the service rejected no event.
func (o *cloudWatchOutput) Write(ctx context.Context, b *record.Batch) error {
	if len(b.Lines) == 0 {
		return nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	events := o.events(b.Lines)
	rejected := 0
	for start := 0; start < len(events); {
		end := cwChunkEnd(events, start)
		n, err := o.put(ctx, events[start:end])
		if err != nil {
			var perm *PermanentError
			if start > 0 && errors.As(err, &perm) {
				// The earlier requests were stored: only the rest is refused.
				for _, e := range events[start:] {
					perm.Lines = append(perm.Lines, e.idx)
				}
				slices.Sort(perm.Lines)
			}
			return err
		}
		rejected += n
		countWire(ctx, cwRequestBytes(events[start:end]))
		start = end
	}
	if rejected > 0 {
		return fmt.Errorf("cannot put log events to %s: the service rejected %d of %d events as too old, too new or past the group's retention; the others were stored", o.name, rejected, len(events))
	}
	return nil
}

// cwRequestBytes is the size of a request of events as the service
// meters it: each message's UTF-8 bytes and 26 bytes.
func cwRequestBytes(events []cwEvent) int {
	n := 0
	for i := range events {
		n += len(events[i].msg) + 26
	}
	return n
}

// events turns lines into events sorted by timestamp. A line that is not
// valid UTF-8 has its bad bytes replaced with U+FFFD, as the service would
// read them; a message longer than one request can take is cut at a rune
// boundary; an empty line, which the service refuses and which carries
// nothing, is left out.
func (o *cloudWatchOutput) events(lines [][]byte) []cwEvent {
	now := o.now()
	nowMS := now.UnixMilli()
	events := make([]cwEvent, 0, len(lines))
	for i, line := range lines {
		if len(line) == 0 {
			continue
		}
		msg := string(line)
		if !utf8.ValidString(msg) {
			msg = strings.ToValidUTF8(msg, "\uFFFD")
		}
		if len(msg) > cwMaxMessage {
			cut := cwMaxMessage
			for cut > 0 && !utf8.RuneStart(msg[cut]) {
				cut--
			}
			msg = msg[:cut]
		}
		ts := nowMS
		if o.tsPath != nil {
			ts = lineTime(line, o.tsPath, now)
		}
		events = append(events, cwEvent{ts: ts, msg: msg, idx: i})
	}
	if o.tsPath != nil {
		slices.SortStableFunc(events, func(a, b cwEvent) int { return cmpInt64(a.ts, b.ts) })
	}
	return events
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// lineTime returns the time in Unix milliseconds of the member of line at
// path: an RFC 3339 string, or a number of Unix seconds (below 10^11) or
// milliseconds. It returns now's when there is none, it does not parse or
// it lies outside what the service takes.
func lineTime(line []byte, path []string, now time.Time) int64 {
	ms, ok := parseLineTime(line, path)
	if !ok || ms < now.Add(-cwMaxAge).UnixMilli() || ms > now.Add(cwMaxFuture).UnixMilli() {
		return now.UnixMilli()
	}
	return ms
}

func parseLineTime(line []byte, path []string) (int64, bool) {
	if !match.IsJSONObject(line) {
		return 0, false
	}
	v, ok := match.LookupJSON(line, path)
	if !ok || len(v) == 0 {
		return 0, false
	}
	if v[0] == '"' {
		t, err := time.Parse(time.RFC3339Nano, string(match.JSONText(v)))
		if err != nil {
			return 0, false
		}
		return t.UnixMilli(), true
	}
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f <= 0 {
		return 0, false
	}
	if f < 1e11 {
		f *= 1000
	}
	return int64(f), true
}

// cwChunkEnd returns the end of the longest run of events from start that
// one request can take. Each request takes at least one event.
func cwChunkEnd(events []cwEvent, start int) int {
	size := 0
	first := events[start].ts
	for i := start; i < len(events); i++ {
		sz := len(events[i].msg) + cwEventOverhead
		if i > start && (i-start == cwMaxEvents || size+sz > cwMaxBytes || events[i].ts-first > cwMaxSpan.Milliseconds()) {
			return i
		}
		size += sz
	}
	return len(events)
}

// put sends one request's events, retrying what may pass later, and
// creating the group and stream once if they are missing and o may. It
// returns how many events the service rejected.
func (o *cloudWatchOutput) put(ctx context.Context, events []cwEvent) (int, error) {
	in := &cloudwatchlogs.PutLogEventsInput{
		LogGroupName:  &o.group,
		LogStreamName: &o.stream,
		LogEvents:     make([]types.InputLogEvent, len(events)),
	}
	for i := range events {
		in.LogEvents[i] = types.InputLogEvent{Message: &events[i].msg, Timestamp: &events[i].ts}
	}
	created := false
	var last error
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return 0, o.fail(err, attempt, last)
		}
		out, err := o.putOnce(ctx, in)
		if err == nil {
			return rejectedEvents(out.RejectedLogEventsInfo, len(events)), nil
		}
		last = err
		switch cwClassify(err) {
		case cwNotFound:
			if !o.create || created {
				return 0, cwPermanent(fmt.Errorf("cannot put log events to %s: %w, not retried (create is off)", o.name, err))
			}
			created = true
			if err := o.ensure(ctx); err != nil {
				return 0, err
			}
			attempt-- // creating is not a failed attempt
			continue
		case cwFinal:
			return 0, cwPermanent(fmt.Errorf("cannot put log events to %s: %w, not retried", o.name, err))
		}
		if ctx.Err() != nil {
			return 0, o.fail(ctx.Err(), attempt+1, last)
		}
		if attempt == o.retries {
			return 0, o.fail(nil, attempt+1, last)
		}
		if err := sleep(ctx, o.backoff(attempt), o.done); err != nil {
			return 0, o.fail(err, attempt+1, last)
		}
	}
}

// putOnce makes one PutLogEvents request, bounded by o's timeout.
func (o *cloudWatchOutput) putOnce(ctx context.Context, in *cloudwatchlogs.PutLogEventsInput) (*cloudwatchlogs.PutLogEventsOutput, error) {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	o.requests.Add(1)
	return o.client.PutLogEvents(ctx, in)
}

// rejectedEvents counts the events of a request of n that info says were
// rejected.
func rejectedEvents(info *types.RejectedLogEventsInfo, n int) int {
	if info == nil {
		return 0
	}
	old := 0 // the events before these indexes (exclusive) are rejected
	if info.TooOldLogEventEndIndex != nil {
		old = max(old, int(*info.TooOldLogEventEndIndex))
	}
	if info.ExpiredLogEventEndIndex != nil {
		old = max(old, int(*info.ExpiredLogEventEndIndex))
	}
	newer := 0 // the events from this index on are rejected
	if info.TooNewLogEventStartIndex != nil {
		newer = n - int(*info.TooNewLogEventStartIndex)
	}
	return min(n, max(old, 0)+max(newer, 0))
}

// ensure creates the log group and stream, taking "already exists" as
// success.
func (o *cloudWatchOutput) ensure(ctx context.Context) error {
	o.createMu.Lock()
	defer o.createMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	_, err := o.client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &o.group})
	var exists *types.ResourceAlreadyExistsException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("cannot create log group for %s: %w", o.name, err)
	}
	_, err = o.client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: &o.group, LogStreamName: &o.stream})
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("cannot create log stream for %s: %w", o.name, err)
	}
	return nil
}

// cwClass is what to do after a failed request.
type cwClass int

const (
	cwRetry    cwClass = iota // throttled, unavailable, a 5xx, a timeout or a connection error
	cwNotFound                // the group or stream does not exist
	cwFinal                   // anything else: retrying would fail the same way
)

// cwClassify says what to do after err.
func cwClassify(err error) cwClass {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) {
		return cwNotFound
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException", "Throttling", "ServiceUnavailableException", "ServiceUnavailable",
			"InternalFailure", "InternalServerError", "RequestTimeout", "RequestTimeoutException":
			return cwRetry
		}
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		if code := re.HTTPStatusCode(); code >= 500 || code == 429 || code == 408 {
			return cwRetry
		}
		return cwFinal
	}
	if ae != nil {
		return cwFinal
	}
	return cwRetry // no answer: a connection error or a timeout
}

// cwPermanent returns err as a *PermanentError when the service refused
// the request with a status that refuses it for good (PermanentStatus);
// its Response is the service's error code and message. Otherwise, with
// no status to go by, it returns err.
func cwPermanent(err error) error {
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) || !PermanentStatus(re.HTTPStatusCode()) {
		return err
	}
	var resp string
	var ae smithy.APIError
	if errors.As(err, &ae) {
		resp = ae.ErrorCode()
		if msg := ae.ErrorMessage(); msg != "" {
			resp += ": " + msg
		}
	}
	return &PermanentError{Status: re.HTTPStatusCode(), Response: []byte(truncate(resp, MaxResponseExcerpt)), Err: err}
}

// fail builds the error of a put that made attempts requests, the last of
// which failed with last, and gives up: because of why (ctx's error or
// ErrClosed), or with why nil because its retries ran out.
func (o *cloudWatchOutput) fail(why error, attempts int, last error) error {
	switch {
	case last == nil:
		return fmt.Errorf("cannot put log events to %s: %w", o.name, why)
	case why == nil:
		return fmt.Errorf("cannot put log events to %s: giving up after %s: %w", o.name, plural(attempts, "attempt"), last)
	}
	return fmt.Errorf("cannot put log events to %s: %w after %s, last: %w", o.name, why, plural(attempts, "attempt"), last)
}

// Close makes Write return ErrClosed, ends the retry waits of Writes in
// flight and waits for them.
func (o *cloudWatchOutput) Close() error {
	o.once.Do(func() { close(o.done) })
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	return nil
}
