package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/control/store"
)

// quietLogger silences the Redis client, which logs every failed dial of
// the tests that stop Redis.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func TestMain(m *testing.M) {
	redis.SetLogger(quietLogger{})
	os.Exit(m.Run())
}

// testAPI is the API on an in-process Redis, with its log captured.
type testAPI struct {
	t    testing.TB
	mr   *miniredis.Miniredis
	rc   redis.UniversalClient
	h    http.Handler
	logs *syncBuffer
}

// newTestAPI starts the API on a fresh miniredis. opts.Redis and
// opts.Logger are filled in.
func newTestAPI(t testing.TB, opts Options, sopts store.Options) *testAPI {
	t.Helper()
	a := &testAPI{t: t, mr: miniredis.RunT(t), logs: &syncBuffer{}}
	a.start(opts, sopts)
	return a
}

// start serves a new Store and API on a's Redis, as a restarted control
// plane would.
func (a *testAPI) start(opts Options, sopts store.Options) {
	a.rc = newClient(a.t, a.mr)
	if opts.Redis == nil {
		opts.Redis = a.rc
	}
	opts.Logger = slog.New(slog.NewTextHandler(a.logs, nil))
	a.h = New(store.New(a.rc, sopts), opts)
}

func newClient(t testing.TB, mr *miniredis.Miniredis) redis.UniversalClient {
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

// result is a response.
type result struct {
	status int
	header http.Header
	body   []byte
}

// do serves one request. header holds name, value pairs.
func (a *testAPI) do(method, target, body string, header ...string) *result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, req)
	return &result{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// decode decodes r's JSON body into v.
func (r *result) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("got body %q; want JSON: %v", r.body, err)
	}
}

// detail is the "detail" of an error body, or "" if there is none.
func (r *result) detail() string {
	var e struct {
		Detail string `json:"detail"`
	}
	json.Unmarshal(r.body, &e)
	return e.Detail
}

// sameJSON reports whether a and b encode the same JSON value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	ca, _ := json.Marshal(va)
	cb, _ := json.Marshal(vb)
	return bytes.Equal(ca, cb)
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
