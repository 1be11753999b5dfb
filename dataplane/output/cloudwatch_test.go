package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	cwTestKey    = "AKIDSTREAMGATETEST"
	cwTestSecret = "test-secret-never-shown"
)

// cwEventJSON is a log event as the service's JSON 1.1 protocol writes it.
type cwEventJSON struct {
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// fakeCloudWatch is a stand-in for CloudWatch Logs that speaks its JSON
// 1.1 protocol (X-Amz-Target: Logs_20140328.<operation>) for
// CreateLogGroup, CreateLogStream and PutLogEvents, and refuses what the
// service refuses: an unknown access key, a missing group or stream, and a
// PutLogEvents request past its limits.
type fakeCloudWatch struct {
	srv *httptest.Server

	mu      sync.Mutex
	streams map[string][]cwEventJSON // by group + ":" + stream
	groups  map[string]bool
	puts    []int // events per accepted PutLogEvents request
	calls   map[string]int
	// failNext answers the next PutLogEvents requests with these error
	// codes, one each, in order; "" serves its request.
	failNext []string
	// reject, when set, is the rejectedLogEventsInfo of every answer.
	reject map[string]int
}

func newFakeCloudWatch(t *testing.T) *fakeCloudWatch {
	f := &fakeCloudWatch{streams: map[string][]cwEventJSON{}, groups: map[string]bool{}, calls: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// cwStatus is the HTTP status of each error code.
var cwStatus = map[string]int{
	"ServiceUnavailableException": 503,
	"InternalFailure":             500,
}

func (f *fakeCloudWatch) serve(w http.ResponseWriter, r *http.Request) {
	fail := func(code, msg string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		status := cwStatus[code]
		if status == 0 {
			status = 400
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
	}
	op, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "Logs_20140328.")
	if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		fail("UnknownOperationException", "bad request")
		return
	}
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+cwTestKey+"/") {
		fail("UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	var in struct {
		LogGroupName  string        `json:"logGroupName"`
		LogStreamName string        `json:"logStreamName"`
		LogEvents     []cwEventJSON `json:"logEvents"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &in); err != nil {
		fail("SerializationException", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := in.LogGroupName + ":" + in.LogStreamName
	switch op {
	case "CreateLogGroup":
		if f.groups[in.LogGroupName] {
			fail("ResourceAlreadyExistsException", "The specified log group already exists")
			return
		}
		f.groups[in.LogGroupName] = true
	case "CreateLogStream":
		if !f.groups[in.LogGroupName] {
			fail("ResourceNotFoundException", "The specified log group does not exist.")
			return
		}
		if _, ok := f.streams[key]; ok {
			fail("ResourceAlreadyExistsException", "The specified log stream already exists")
			return
		}
		f.streams[key] = []cwEventJSON{}
	case "PutLogEvents":
		if len(f.failNext) > 0 {
			code := f.failNext[0]
			f.failNext = f.failNext[1:]
			if code != "" { // "": this one is served
				fail(code, "injected")
				return
			}
		}
		if _, ok := f.streams[key]; !ok {
			fail("ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		if err := cwCheckLimits(in.LogEvents); err != nil {
			fail("InvalidParameterException", err.Error())
			return
		}
		f.streams[key] = append(f.streams[key], in.LogEvents...)
		f.puts = append(f.puts, len(in.LogEvents))
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		out := map[string]any{"nextSequenceToken": strconv.Itoa(len(f.puts))}
		if f.reject != nil {
			out["rejectedLogEventsInfo"] = f.reject
		}
		json.NewEncoder(w).Encode(out)
		return
	default:
		fail("UnknownOperationException", op)
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	io.WriteString(w, "{}")
}

// cwCheckLimits refuses a PutLogEvents request as the service does.
func cwCheckLimits(events []cwEventJSON) error {
	if len(events) == 0 || len(events) > 10_000 {
		return fmt.Errorf("%d events", len(events))
	}
	size := 0
	for i, e := range events {
		size += len(e.Message) + 26
		if e.Message == "" {
			return fmt.Errorf("event %d is empty", i)
		}
		if i > 0 && e.Timestamp < events[i-1].Timestamp {
			return errors.New("log events not in chronological order")
		}
	}
	if size > 1_048_576 {
		return fmt.Errorf("batch of %d bytes", size)
	}
	if events[len(events)-1].Timestamp-events[0].Timestamp >= 24*3600*1000 {
		return errors.New("batch spans 24 hours or more")
	}
	return nil
}

func (f *fakeCloudWatch) events(group, stream string) []cwEventJSON {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]cwEventJSON(nil), f.streams[group+":"+stream]...)
}

func (f *fakeCloudWatch) putSizes() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int(nil), f.puts...)
}

func (f *fakeCloudWatch) setFail(codes ...string) {
	f.mu.Lock()
	f.failNext = codes
	f.mu.Unlock()
}

// isolateAWS keeps the SDK from reading this machine's AWS configuration
// or asking an instance metadata service.
func isolateAWS(t testing.TB) {
	for k, v := range map[string]string{
		"AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
}

// newTestCloudWatch builds a cloudwatch_logs output through validation and
// the real constructor, pointed at f with static credentials for key.
func newTestCloudWatch(t testing.TB, f *fakeCloudWatch, c *Config, key string, timing retryTiming) *cloudWatchOutput {
	t.Helper()
	isolateAWS(t)
	c.Type = "cloudwatch_logs"
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	c.Endpoint = f.srv.URL
	if err := Validate(c); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	o, err := newCloudWatchOutput(c, timing,
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, cwTestSecret, "")))
	if err != nil {
		t.Fatalf("newCloudWatchOutput: %v", err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func linesBatch(n int, line func(i int) string) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(line(i))
	}
	return out
}

// TestCloudWatchDelivers: the first Write creates the group and stream,
// and every line arrives once, in order.
func TestCloudWatchDelivers(t *testing.T) {
	f := newFakeCloudWatch(t)
	o := newTestCloudWatch(t, f, &Config{LogGroup: "/streamgate/test", LogStream: "web-1"}, cwTestKey, fastRetries)
	var want []string
	for b := range 3 {
		lines := linesBatch(100, func(i int) string { return fmt.Sprintf("batch %d line %d", b, i) })
		for _, l := range lines {
			want = append(want, string(l))
		}
		if err := o.Write(context.Background(), tcpBatch(toStrings(lines)...)); err != nil {
			t.Fatalf("Write %d: %v", b, err)
		}
	}
	got := f.events("/streamgate/test", "web-1")
	if len(got) != len(want) {
		t.Fatalf("got %d events; want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Message != want[i] {
			t.Fatalf("event %d: got %q; want %q", i, got[i].Message, want[i])
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls["CreateLogGroup"] != 1 || f.calls["CreateLogStream"] != 1 || f.calls["PutLogEvents"] != 4 {
		t.Errorf("calls %v; want one CreateLogGroup, one CreateLogStream and 4 PutLogEvents (one refused: no stream yet)", f.calls)
	}
}

func toStrings(lines [][]byte) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	return out
}

// TestCloudWatchSplits: a batch is split within the service's limits.
func TestCloudWatchSplits(t *testing.T) {
	now := time.Now()
	day := func(d int) string { return now.Add(time.Duration(-d) * 24 * time.Hour).UTC().Format(time.RFC3339Nano) }
	for _, c := range []struct {
		name      string
		lines     [][]byte
		tsField   string
		wantPuts  []int
		wantOrder func(t *testing.T, got []cwEventJSON)
	}{
		{"events", linesBatch(25_000, func(i int) string { return "line " + strconv.Itoa(i) }), "", []int{10_000, 10_000, 5_000}, nil},
		// 300,000 + 26 bytes each: three fit in 1,048,576, not four.
		{"bytes", linesBatch(5, func(i int) string { return strings.Repeat(strconv.Itoa(i), 300_000) }), "", []int{3, 2}, nil},
		// 1,048,550 bytes: one event alone fills a request.
		{"one at the limit", linesBatch(3, func(i int) string { return strings.Repeat("x", 1_048_550-i) }), "", []int{1, 1, 1}, nil},
		{"span", linesBatch(6, func(i int) string { return fmt.Sprintf(`{"time":%q,"i":%d}`, day(3-i%3), i) }), "time", []int{2, 2, 2},
			func(t *testing.T, got []cwEventJSON) {
				for i := 1; i < len(got); i++ {
					if got[i].Timestamp < got[i-1].Timestamp {
						t.Errorf("event %d at %d after %d; want sorted", i, got[i].Timestamp, got[i-1].Timestamp)
					}
				}
				// Stable: equal times keep the batch's order.
				if !strings.Contains(got[0].Message, `"i":0`) || !strings.Contains(got[1].Message, `"i":3`) {
					t.Errorf("first events %q, %q; want i 0 then 3", got[0].Message, got[1].Message)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCloudWatch(t)
			o := newTestCloudWatch(t, f, &Config{LogGroup: "g", LogStream: "s", TimestampField: c.tsField}, cwTestKey, fastRetries)
			if err := o.Write(context.Background(), tcpBatch(toStrings(c.lines)...)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if got := f.putSizes(); fmt.Sprint(got) != fmt.Sprint(c.wantPuts) {
				t.Errorf("requests of %v events; want %v", got, c.wantPuts)
			}
			got := f.events("g", "s")
			if len(got) != len(c.lines) {
				t.Errorf("got %d events; want %d", len(got), len(c.lines))
			}
			if c.wantOrder != nil {
				c.wantOrder(t, got)
			}
		})
	}
}

// TestCloudWatchErrors: what is retried, what is not, and what each
// failure says.
func TestCloudWatchErrors(t *testing.T) {
	two := 2
	for _, c := range []struct {
		name       string
		key        string
		fail       []string
		retries    *int
		create     *bool
		wantErr    string // "" for success
		wantPuts   int    // PutLogEvents requests made
		wantStored int
		// wantPermanent is the status of the PermanentError; 0: the
		// error, if any, is not one.
		wantPermanent int
		wantResponse  string
	}{
		{"throttled then accepted", cwTestKey, []string{"ThrottlingException", "ThrottlingException"}, nil, nil, "", 3, 1, 0, ""},
		{"unavailable then accepted", cwTestKey, []string{"ServiceUnavailableException", "InternalFailure"}, nil, nil, "", 3, 1, 0, ""},
		{"unavailable past the retries", cwTestKey, []string{"ServiceUnavailableException", "ServiceUnavailableException", "ServiceUnavailableException", "ServiceUnavailableException"},
			&two, nil, "giving up after 3 attempts", 3, 0, 0, ""},
		{"bad token", "AKIDWRONG", nil, nil, nil, "UnrecognizedClientException", 1, 0,
			400, "UnrecognizedClientException: The security token included in the request is invalid."},
		{"access denied", cwTestKey, []string{"AccessDeniedException"}, nil, nil, "AccessDeniedException", 1, 0, 400, "AccessDeniedException: injected"},
		{"create off", cwTestKey, nil, nil, new(bool), "create is off", 1, 0,
			400, "ResourceNotFoundException: The specified log stream does not exist."},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeCloudWatch(t)
			o := newTestCloudWatch(t, f, &Config{LogGroup: "g", LogStream: "s", MaxRetries: c.retries, Create: c.create}, c.key, fastRetries)
			if c.key == cwTestKey && (c.create == nil || *c.create) {
				if err := o.Write(context.Background(), tcpBatch("first")); err != nil { // creates the stream
					t.Fatalf("first Write: %v", err)
				}
			}
			f.mu.Lock()
			before := f.calls["PutLogEvents"]
			f.mu.Unlock()
			f.setFail(c.fail...)
			err := o.Write(context.Background(), tcpBatch("line"))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Write: got %v; want nil", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Write: got %v; want an error with %q", err, c.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), cwTestSecret) {
				t.Errorf("error %q shows the secret key", err)
			}
			var perm *PermanentError
			switch permanent := errors.As(err, &perm); {
			case permanent != (c.wantPermanent != 0):
				t.Errorf("Write: %v; permanent %v, want %v", err, permanent, c.wantPermanent != 0)
			case permanent && (perm.Status != c.wantPermanent || string(perm.Response) != c.wantResponse || perm.Lines != nil):
				t.Errorf("PermanentError: status %d, response %q, lines %v; want %d, %q, nil", perm.Status, perm.Response, perm.Lines, c.wantPermanent, c.wantResponse)
			}
			f.mu.Lock()
			puts := f.calls["PutLogEvents"] - before
			f.mu.Unlock()
			if puts != c.wantPuts {
				t.Errorf("%d PutLogEvents requests; want %d", puts, c.wantPuts)
			}
			stored := 0
			for _, e := range f.events("g", "s") {
				if e.Message == "line" {
					stored++
				}
			}
			if stored != c.wantStored {
				t.Errorf("line stored %d times; want %d", stored, c.wantStored)
			}
		})
	}
}

// TestCloudWatchPermanentAfterSplit: when a later request of a split batch
// is refused for good, the PermanentError names only the lines of the
// requests not stored.
func TestCloudWatchPermanentAfterSplit(t *testing.T) {
	f := newFakeCloudWatch(t)
	o := newTestCloudWatch(t, f, &Config{LogGroup: "g", LogStream: "s"}, cwTestKey, fastRetries)
	if err := o.Write(context.Background(), tcpBatch("first")); err != nil { // creates the stream
		t.Fatalf("first Write: %v", err)
	}
	f.setFail("", "AccessDeniedException")
	// 300,000 bytes each: requests of 3 and 2 lines.
	lines := linesBatch(5, func(i int) string { return strings.Repeat(strconv.Itoa(i), 300_000) })
	err := o.Write(context.Background(), tcpBatch(toStrings(lines)...))
	var perm *PermanentError
	if !errors.As(err, &perm) {
		t.Fatalf("Write: %v; want a PermanentError", err)
	}
	if fmt.Sprint(perm.Lines) != "[3 4]" {
		t.Errorf("Lines: got %v; want [3 4]", perm.Lines)
	}
}

// TestCloudWatchRejected: events the service rejects make the Write fail,
// saying how many.
func TestCloudWatchRejected(t *testing.T) {
	f := newFakeCloudWatch(t)
	o := newTestCloudWatch(t, f, &Config{LogGroup: "g", LogStream: "s"}, cwTestKey, fastRetries)
	f.reject = map[string]int{"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 4}
	err := o.Write(context.Background(), tcpBatch("a", "b", "c", "d", "e"))
	if err == nil || !strings.Contains(err.Error(), "rejected 2 of 5 events") {
		t.Errorf("Write: got %v; want 2 of 5 events rejected", err)
	}
}

// TestCloudWatchContext: a Write waiting to retry returns when its ctx is
// cancelled, or when the output is closed.
func TestCloudWatchContext(t *testing.T) {
	f := newFakeCloudWatch(t)
	o := newTestCloudWatch(t, f, &Config{LogGroup: "g", LogStream: "s"}, cwTestKey, slowRetries)
	if err := o.Write(context.Background(), tcpBatch("first")); err != nil {
		t.Fatal(err)
	}
	f.setFail("ThrottlingException", "ThrottlingException")
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	if err := o.Write(ctx, tcpBatch("a")); !errors.Is(err, context.Canceled) {
		t.Errorf("Write with ctx cancelled: got %v; want context.Canceled", err)
	}
	done := make(chan error, 1)
	go func() { done <- o.Write(context.Background(), tcpBatch("b")) }()
	time.Sleep(50 * time.Millisecond)
	o.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Write during Close: got %v; want ErrClosed", err)
	}
	if err := o.Write(context.Background(), tcpBatch("c")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: got %v; want ErrClosed", err)
	}
}

// TestCloudWatchDefaultChain: without a region in the config, the
// region and credentials come from the SDK's default chain.
func TestCloudWatchDefaultChain(t *testing.T) {
	f := newFakeCloudWatch(t)
	isolateAWS(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", cwTestKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", cwTestSecret)
	c := &Config{Type: "cloudwatch_logs", LogGroup: "g", LogStream: "s", Endpoint: f.srv.URL}
	out, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer out.Close()
	if err := out.Write(context.Background(), tcpBatch("from the environment")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := f.events("g", "s"); len(got) != 1 {
		t.Errorf("got %d events; want 1", len(got))
	}
	if n := c.Name(); strings.Contains(n, cwTestKey) || strings.Contains(n, cwTestSecret) {
		t.Errorf("Name() = %q; want no credential", n)
	}

	t.Setenv("AWS_REGION", "")
	if _, err := New(c); err == nil || !strings.HasPrefix(err.Error(), "region: not set") {
		t.Errorf("New without a region: got %v; want region: not set", err)
	}
}

func TestCloudWatchEvents(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	nowMS := now.UnixMilli()
	o := &cloudWatchOutput{tsPath: []string{"t"}, now: func() time.Time { return now }}
	for _, c := range []struct {
		line   string
		wantTS int64
		msg    string // "" means the line itself
	}{
		{`{"t":"2026-05-01T11:00:00.250Z"}`, nowMS - 3600_000 + 250, ""},
		{`{"t":"2026-05-01T13:00:00+01:00"}`, nowMS, ""},
		{`{"t":1777633200}`, 1777633200_000, ""},      // seconds
		{`{"t":1777633200123}`, 1777633200_123, ""},   // milliseconds
		{`{"t":1777633200.5}`, 1777633200_500, ""},    // fractional seconds
		{`{"t":"2020-01-01T00:00:00Z"}`, nowMS, ""},   // too old: now
		{`{"t":"2026-05-01T15:00:00Z"}`, nowMS, ""},   // too far ahead: now
		{`{"t":"yesterday"}`, nowMS, ""},              // not RFC 3339
		{`{"u":1}`, nowMS, ""},                        // no member
		{`plain t=1`, nowMS, ""},                      // not JSON
		{"bad \xff utf-8", nowMS, "bad \uFFFD utf-8"}, // replaced as the service would read it
	} {
		ev := o.events([][]byte{[]byte(c.line)})
		want := c.msg
		if want == "" {
			want = c.line
		}
		if len(ev) != 1 || ev[0].ts != c.wantTS || ev[0].msg != want {
			t.Errorf("events(%q): got %+v; want ts %d msg %q", c.line, ev, c.wantTS, want)
		}
	}
	long := strings.Repeat("é", 600_000) // 1,200,000 bytes
	ev := o.events([][]byte{[]byte(long), {}})
	if len(ev) != 1 || len(ev[0].msg) != 1_048_550-1_048_550%2 || !strings.HasPrefix(long, ev[0].msg) {
		t.Errorf("a 1,200,000-byte line: got %d events, the first of %d bytes; want one cut to a rune boundary at most 1,048,550", len(ev), len(ev[0].msg))
	}
}

func TestCloudWatchValidate(t *testing.T) {
	ok := func() Config { return Config{Type: "cloudwatch_logs", LogGroup: "/app/web", LogStream: "i-123"} }
	yes := true
	for _, c := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"minimal", func(*Config) {}, ""},
		{"everything", func(c *Config) {
			c.Region, c.Create, c.Endpoint, c.TimestampField, c.TimeoutMS = "ap-southeast-2", &yes, "https://logs.example", "a/b", 100
		}, ""},
		{"no group", func(c *Config) { c.LogGroup = "" }, "log_group: required"},
		{"bad group", func(c *Config) { c.LogGroup = "a b" }, "log_group: only letters"},
		{"long group", func(c *Config) { c.LogGroup = strings.Repeat("g", 513) }, "log_group: at most 512"},
		{"no stream", func(c *Config) { c.LogStream = "" }, "log_stream: required"},
		{"bad stream", func(c *Config) { c.LogStream = "a:b" }, "log_stream: must not contain"},
		{"region", func(c *Config) { c.Region = "US East" }, "region: only lower-case"},
		{"endpoint scheme", func(c *Config) { c.Endpoint = "ftp://x" }, "endpoint: scheme must be"},
		{"endpoint credentials", func(c *Config) { c.Endpoint = "https://AKID:secret@x" }, "endpoint: takes no credentials"},
		{"timestamp path", func(c *Config) { c.TimestampField = "/t" }, "timestamp_field: empty key"},
		{"timeout", func(c *Config) { c.TimeoutMS = -1 }, "timeout_ms: must not be negative"},
		{"retries", func(c *Config) { n := 101; c.MaxRetries = &n }, "max_retries: must be between"},
		{"url field", func(c *Config) { c.URL = "http://x" }, "url: not used by cloudwatch_logs output"},
		{"topic field", func(c *Config) { c.Topic = "t" }, "topic: not used by cloudwatch_logs output"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok()
			c.edit(&cfg)
			err := Validate(&cfg)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("got %v; want valid", err)
			case c.want != "" && (err == nil || !strings.HasPrefix(err.Error(), c.want)):
				t.Errorf("got %v; want %q…", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q repeats the endpoint's credentials", err)
			}
		})
	}
}

func TestCloudWatchName(t *testing.T) {
	c := Config{Type: "cloudwatch_logs", Region: "eu-west-1", LogGroup: "/app/web", LogStream: "i-1"}
	if got, want := c.Name(), "cloudwatch_logs:eu-west-1:/app/web:i-1"; got != want {
		t.Errorf("Name() = %q; want %q", got, want)
	}
}
