package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

func newClient(t *testing.T, mr *miniredis.Miniredis) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t *testing.T, opts Options) (*Store, *miniredis.Miniredis, redis.UniversalClient) {
	t.Helper()
	mr := miniredis.RunT(t)
	c := newClient(t, mr)
	return New(c, opts), mr, c
}

func rule(id, typ, params string) processor.Config {
	return processor.Config{ID: id, Type: typ, Params: json.RawMessage(params)}
}

func ids(rs []processor.Config) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return strings.Join(out, ",")
}

func TestRules(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})

	steps := []struct {
		name    string
		op      func() error
		wantErr error
		want    string // rule ids after the step
	}{
		{"add first", func() error { return s.AddRule(ctx, rule("a", "filter", `{"value":"DEBUG"}`)) }, nil, "a"},
		{"add second", func() error { return s.AddRule(ctx, rule("b", "filter", `{"value":"TRACE"}`)) }, nil, "a,b"},
		{"add duplicate", func() error { return s.AddRule(ctx, rule("a", "filter", `{"value":"X"}`)) }, ErrDuplicate, "a,b"},
		{"add invalid", func() error { return s.AddRule(ctx, rule("c", "redact", `{"pattern":"("}`)) }, ErrInvalid, "a,b"},
		{"add without id", func() error { return s.AddRule(ctx, rule("", "filter", `{"value":"X"}`)) }, ErrInvalid, "a,b"},
		{"put keeps position", func() error { return s.PutRule(ctx, "a", rule("", "filter", `{"value":"INFO"}`)) }, nil, "a,b"},
		{"put unknown", func() error { return s.PutRule(ctx, "zz", rule("zz", "filter", `{"value":"X"}`)) }, ErrNotFound, "a,b"},
		{"put other id", func() error { return s.PutRule(ctx, "a", rule("b", "filter", `{"value":"X"}`)) }, ErrInvalid, "a,b"},
		{"put invalid", func() error { return s.PutRule(ctx, "a", rule("a", "nope", `{}`)) }, ErrInvalid, "a,b"},
		// The seed's filter form: key is ignored, as the seed's data plane did.
		{"add seed filter", func() error { return s.AddRule(ctx, rule("k", "filter", `{"key":"level","value":"DEBUG"}`)) }, nil, "a,b,k"},
		{"put seed filter", func() error { return s.PutRule(ctx, "k", rule("", "filter", `{"key":"level","value":"TRACE"}`)) }, nil, "a,b,k"},
		{"add key on redact", func() error { return s.AddRule(ctx, rule("r", "redact", `{"key":"level","detector":"ssn"}`)) }, ErrInvalid, "a,b,k"},
		{"delete", func() error { return s.DeleteRule(ctx, "a") }, nil, "b,k"},
		{"delete unknown", func() error { return s.DeleteRule(ctx, "a") }, ErrNotFound, "b,k"},
	}
	for _, st := range steps {
		err := st.op()
		if !errors.Is(err, st.wantErr) || (err != nil && st.wantErr == nil) {
			t.Fatalf("%s: got error %v; want %v", st.name, err, st.wantErr)
		}
		rs, err := s.Rules(ctx)
		if err != nil {
			t.Fatalf("%s: Rules: %v", st.name, err)
		}
		if got := ids(rs); got != st.want {
			t.Fatalf("%s: got rules %q; want %q", st.name, got, st.want)
		}
	}
}

func TestRuleGetAndReplace(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	if err := s.AddRule(ctx, rule("a", "filter", `{"value":"DEBUG"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutRule(ctx, "a", rule("", "redact", `{"detector":"ssn"}`)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Rule(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "a" || r.Type != "redact" || string(r.Params) != `{"detector":"ssn"}` {
		t.Fatalf("got %+v; want rule a of type redact with params {\"detector\":\"ssn\"}", r)
	}
	if _, err := s.Rule(ctx, "b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rule(b): got %v; want ErrNotFound", err)
	}
}

func TestInvalidRuleNamesField(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	err := s.AddRule(context.Background(), rule("r", "redact", `{"pattern":"(unclosed"}`))
	var inv *InvalidError
	if !errors.As(err, &inv) || len(inv.Problems) != 1 || !strings.HasPrefix(inv.Problems[0], "params.pattern: ") {
		t.Fatalf("got %v; want an *InvalidError with one problem starting with params.pattern", err)
	}
}

func TestOutputs(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	http1 := output.Config{Type: "http", URL: "http://a:9000", Headers: map[string]string{"DD-API-KEY": "k"}}
	cases := []struct {
		name    string
		o       output.Config
		wantErr error
	}{
		{"http", http1, nil},
		{"console", output.Config{Type: "console"}, nil},
		{"duplicate url", output.Config{Type: "http", URL: "http://a:9000"}, ErrDuplicate},
		{"other url", output.Config{Type: "http", URL: "http://b:9000"}, nil},
		{"with a token", output.Config{Type: "http", URL: "http://b:9000?token=A"}, nil},
		// Different URLs, the same once masked: allowed, as in the seed; a
		// manifest tells their names apart.
		{"with another token", output.Config{Type: "http", URL: "http://b:9000?token=B"}, nil},
		{"with the same token", output.Config{Type: "http", URL: "http://b:9000?token=B"}, ErrDuplicate},
		{"with a password", output.Config{Type: "http", URL: "http://u:pw@b:9000"}, nil},
		{"with another password", output.Config{Type: "http", URL: "http://u:other@b:9000"}, nil},
		{"missing url", output.Config{Type: "http"}, ErrInvalid},
		{"unknown type", output.Config{Type: "pigeon"}, ErrInvalid},
	}
	for _, tc := range cases {
		if err := s.AddOutput(ctx, tc.o); !errors.Is(err, tc.wantErr) || (err != nil && tc.wantErr == nil) {
			t.Fatalf("%s: got %v; want %v", tc.name, err, tc.wantErr)
		}
	}
	os, err := s.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 7 || os[0].Headers["DD-API-KEY"] != "k" {
		t.Fatalf("got %+v; want 7 outputs, the first with its real header value", os)
	}
	if err := s.ClearOutputs(ctx); err != nil {
		t.Fatal(err)
	}
	if os, _ := s.Outputs(ctx); len(os) != 0 {
		t.Fatalf("after ClearOutputs: got %d outputs; want 0", len(os))
	}
}

func TestBatchSize(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{})
	if n, err := s.BatchSize(ctx); err != nil || n != DefaultBatchSize {
		t.Fatalf("default: got %d, %v; want %d", n, err, DefaultBatchSize)
	}
	for _, n := range []int{0, -1, manifest.MaxBatchSize + 1} {
		if err := s.SetBatchSize(ctx, n); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "batch_size: ") {
			t.Fatalf("SetBatchSize(%d): got %v; want an error naming batch_size", n, err)
		}
	}
	for _, n := range []int{1, 500, manifest.MaxBatchSize} {
		if err := s.SetBatchSize(ctx, n); err != nil {
			t.Fatalf("SetBatchSize(%d): %v", n, err)
		}
		if got, _ := s.BatchSize(ctx); got != n {
			t.Fatalf("got %d; want %d", got, n)
		}
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	s, _, c := newStore(t, Options{})
	sub := c.Subscribe(ctx, rdb.UpdatesChannel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}

	m, n, err := s.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "1" || n != 1 {
		t.Fatalf("empty draft: got version %q, %d subscribers; want 1, 1", m.Version, n)
	}
	if msg, err := sub.ReceiveMessage(ctx); err != nil || msg.Payload != rdb.ReloadMessage {
		t.Fatalf("got message %v, %v; want %s", msg, err, rdb.ReloadMessage)
	}

	if err := s.AddRule(ctx, rule("drop_debug", "filter", `{"value":"DEBUG"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOutput(ctx, output.Config{Type: "http", URL: "http://x:9000", Headers: map[string]string{"K": "secret"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBatchSize(ctx, 50); err != nil {
		t.Fatal(err)
	}
	m, _, err = s.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, rdb.ConfigKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	live, err := manifest.Parse(raw)
	if err != nil {
		t.Fatalf("published manifest does not parse: %v", err)
	}
	p := live.Pipelines[0]
	if live.Version != "2" || m.Version != "2" || p.Name != PipelineName || ids(p.Processors) != "drop_debug" ||
		*p.BatchSize != 50 || p.Outputs[0].Headers["K"] != "secret" || live.Timestamp == 0 {
		t.Fatalf("got %s; want version 2 with the draft and the real header value", raw)
	}
	// The version is a JSON string, as the seed's data plane decodes it.
	if !strings.Contains(string(raw), `"version":"2"`) {
		t.Fatalf("got %s; want a string version", raw)
	}
}

// TestPublishChanged: the draft live already is not published again; a
// changed one is, and Publish publishes either.
func TestPublishChanged(t *testing.T) {
	ctx := context.Background()
	s, mr, _ := newStore(t, Options{})
	for i, step := range []struct {
		name      string
		change    func() error
		publish   func() (*manifest.Manifest, bool, error)
		version   manifest.Version
		unchanged bool
	}{
		{name: "nothing live", version: "1"},
		{name: "same draft", version: "1", unchanged: true},
		{name: "rule added", change: func() error { return s.AddRule(ctx, rule("a", "filter", `{"value":"X"}`)) }, version: "2"},
		{name: "same again", version: "2", unchanged: true},
		{name: "Publish", publish: func() (*manifest.Manifest, bool, error) { m, _, err := s.Publish(ctx); return m, false, err }, version: "3"},
		{name: "rule deleted", change: func() error { return s.DeleteRule(ctx, "a") }, version: "4"},
		{name: "invalid draft", change: func() error {
			return mr.Set(DraftKey, `{"rules":[{"id":"a","type":"filter","params":{"value":"X"}},{"id":"a","type":"filter","params":{"value":"X"}}]}`)
		}},
	} {
		if step.change != nil {
			if err := step.change(); err != nil {
				t.Fatalf("step %d, %s: %v", i, step.name, err)
			}
		}
		publish := step.publish
		if publish == nil {
			publish = func() (*manifest.Manifest, bool, error) {
				m, _, unchanged, err := s.PublishChanged(ctx)
				return m, unchanged, err
			}
		}
		m, unchanged, err := publish()
		if step.version == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("step %d, %s: got %v; want the invalid draft refused, not taken as unchanged", i, step.name, err)
			}
			continue
		}
		if err != nil || m.Version != step.version || unchanged != step.unchanged {
			t.Fatalf("step %d, %s: got %v, unchanged %v, %v; want version %s, unchanged %v", i, step.name, m, unchanged, err, step.version, step.unchanged)
		}
		if hist, _ := mr.List(HistoryKey); len(hist) != int(mustAtoi(t, string(step.version))) {
			t.Fatalf("step %d, %s: history holds %d manifests; want %s", i, step.name, len(hist), step.version)
		}
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPublishInvalidDraftWritesNothing(t *testing.T) {
	ctx := context.Background()
	s, mr, _ := newStore(t, Options{})
	// Each output is valid alone; together they are not.
	mr.Set(DraftKey, `{"rules":[],"outputs":[{"type":"http","url":"http://a"},{"type":"http","url":"http://a"}],"batch_size":0}`)
	_, _, err := s.Publish(ctx)
	var inv *InvalidError
	if !errors.As(err, &inv) || !strings.Contains(inv.Error(), "pipelines[0].outputs[1].url") {
		t.Fatalf("got %v; want an *InvalidError naming pipelines[0].outputs[1].url", err)
	}
	for _, k := range []string{rdb.ConfigKey, VersionKey, HistoryKey} {
		if mr.Exists(k) {
			t.Fatalf("key %s exists after a rejected publish; want nothing written", k)
		}
	}
}

func TestHistory(t *testing.T) {
	ctx := context.Background()
	s, _, _ := newStore(t, Options{History: 3})
	for range 5 {
		if _, _, err := s.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ms, err := s.Manifests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, string(m.Version))
	}
	if strings.Join(got, ",") != "5,4,3" {
		t.Fatalf("got versions %v; want 5,4,3", got)
	}
}

func TestRestartKeepsState(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	s1 := New(newClient(t, mr), Options{})
	if err := s1.AddRule(ctx, rule("a", "filter", `{"value":"X"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s1.SetBatchSize(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s1.Publish(ctx); err != nil {
		t.Fatal(err)
	}

	s2 := New(newClient(t, mr), Options{})
	rs, _ := s2.Rules(ctx)
	n, _ := s2.BatchSize(ctx)
	if ids(rs) != "a" || n != 7 {
		t.Fatalf("after restart: got rules %q, batch size %d; want a, 7", ids(rs), n)
	}
	m, _, err := s2.Publish(ctx)
	if err != nil || m.Version != "2" {
		t.Fatalf("after restart: got version %v, %v; want 2", m, err)
	}
}

func TestVersionNeverBelowLive(t *testing.T) {
	ctx := context.Background()
	s, mr, _ := newStore(t, Options{})
	// The counter is gone but a manifest is live, e.g. after a partial restore.
	mr.Set(rdb.ConfigKey, `{"version":"41","pipelines":[{"name":"p","processors":[],"outputs":[]}]}`)
	m, _, err := s.Publish(ctx)
	if err != nil || m.Version != "42" {
		t.Fatalf("got %v, %v; want version 42", m, err)
	}
	// A seed manifest's version is not a number and sets no floor.
	mr.Set(rdb.ConfigKey, `{"version":"1.0","pipelines":[]}`)
	if m, _, err := s.Publish(ctx); err != nil || m.Version != "43" {
		t.Fatalf("got %v, %v; want version 43", m, err)
	}
}

func TestSetLiveRefusesOlderVersion(t *testing.T) {
	ctx := context.Background()
	s, mr, _ := newStore(t, Options{})
	mr.Set(rdb.ConfigKey, `{"version":"10"}`)
	for _, v := range []uint64{9, 10} {
		if err := s.setLive(ctx, []byte(`{"version":"x"}`), v); !errors.Is(err, errSuperseded) {
			t.Fatalf("setLive(%d): got %v; want errSuperseded", v, err)
		}
	}
	if err := s.setLive(ctx, []byte(`{"version":"11"}`), 11); err != nil {
		t.Fatal(err)
	}
	if got, _ := mr.Get(rdb.ConfigKey); got != `{"version":"11"}` {
		t.Fatalf("got %s; want version 11 live", got)
	}
}

func TestRollback(t *testing.T) {
	ctx := context.Background()
	s, _, c := newStore(t, Options{})
	if err := s.AddRule(ctx, rule("old", "filter", `{"value":"X"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBatchSize(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRule(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRule(ctx, rule("new", "filter", `{"value":"Y"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetBatchSize(ctx, 20); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Publish(ctx); err != nil {
		t.Fatal(err)
	}

	m, _, err := s.Rollback(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "3" || ids(m.Pipelines[0].Processors) != "old" || *m.Pipelines[0].BatchSize != 10 {
		t.Fatalf("got version %s rules %s; want version 3 with rule old and batch size 10", m.Version, ids(m.Pipelines[0].Processors))
	}
	live, _ := c.Get(ctx, rdb.ConfigKey).Result()
	if !strings.Contains(live, `"version":"3"`) || !strings.Contains(live, `"old"`) {
		t.Fatalf("live manifest: got %s; want version 3 with rule old", live)
	}
	rs, _ := s.Rules(ctx)
	n, _ := s.BatchSize(ctx)
	if ids(rs) != "old" || n != 10 {
		t.Fatalf("draft: got rules %q, batch size %d; want old, 10", ids(rs), n)
	}
	if _, _, err := s.Rollback(ctx, "99"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rollback(99): got %v; want ErrNotFound", err)
	}
}

func TestConcurrentWritersLoseNothing(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		s := New(newClient(t, mr), Options{}) // one control plane each
		wg.Go(func() {
			for i := range each {
				errs <- s.AddRule(ctx, rule(fmt.Sprintf("w%d-%d", w, i), "filter", `{"value":"X"}`))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs, err := New(newClient(t, mr), Options{}).Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != writers*each {
		t.Fatalf("got %d rules; want %d", len(rs), writers*each)
	}
}

func TestConcurrentPublishes(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	const publishers = 4
	var wg sync.WaitGroup
	versions := make(chan manifest.Version, publishers)
	for range publishers {
		s := New(newClient(t, mr), Options{})
		wg.Go(func() {
			m, _, err := s.Publish(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			versions <- m.Version
		})
	}
	wg.Wait()
	close(versions)
	seen := map[manifest.Version]bool{}
	var newest uint64
	for v := range versions {
		if seen[v] {
			t.Fatalf("version %s returned twice", v)
		}
		seen[v] = true
		n, _ := parseVersion(v)
		newest = max(newest, n)
	}
	// A publish that lost the race started over with a newer version, so
	// the live manifest is the newest one returned.
	live, _ := mr.Get(rdb.ConfigKey)
	if !strings.Contains(live, fmt.Sprintf(`"version":"%d"`, newest)) {
		t.Fatalf("live manifest: got %s; want the newest version returned, %d", live, newest)
	}
}

func TestRedisErrors(t *testing.T) {
	ctx := context.Background()

	t.Run("unreachable", func(t *testing.T) {
		s, mr, _ := newStore(t, Options{})
		mr.Close()
		ops := map[string]error{}
		_, ops["Rules"] = s.Rules(ctx)
		ops["AddRule"] = s.AddRule(ctx, rule("a", "filter", `{"value":"X"}`))
		ops["SetBatchSize"] = s.SetBatchSize(ctx, 5)
		_, _, ops["Publish"] = s.Publish(ctx)
		_, ops["Manifests"] = s.Manifests(ctx)
		for name, err := range ops {
			if !errors.Is(err, ErrUnavailable) {
				t.Errorf("%s: got %v; want ErrUnavailable", name, err)
			}
		}
	})

	t.Run("wrong type", func(t *testing.T) {
		s, mr, _ := newStore(t, Options{})
		mr.Lpush(DraftKey, "x")
		_, err := s.Rules(ctx)
		if err == nil || errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v; want an error that is not ErrUnavailable", err)
		}
	})
}

// TestWrittenAfterEveryWrite: every method that writes calls Written before
// it returns, once what it wrote is in Redis, so a hook that copies Redis
// then copies the change; methods that only read do not call it.
func TestWrittenAfterEveryWrite(t *testing.T) {
	ctx := context.Background()
	var (
		s     *Store
		mr    *miniredis.Miniredis
		calls int
		seen  string // the draft and the live manifest at the last call
	)
	s, mr, _ = newStore(t, Options{Written: func() {
		calls++
		draft, _ := mr.Get(DraftKey)
		live, _ := mr.Get(rdb.ConfigKey)
		seen = draft + " | " + live
	}})
	for _, c := range []struct {
		name  string
		op    func() error
		calls int    // Written calls the step makes
		seen  string // in what the last call saw
	}{
		{"add rule", func() error { return s.AddRule(ctx, rule("a", "filter", `{"value":"X"}`)) }, 1, `"id":"a"`},
		{"replace rule", func() error { return s.PutRule(ctx, "a", rule("a", "filter", `{"value":"Y"}`)) }, 1, `"value":"Y"`},
		{"add output", func() error { return s.AddOutput(ctx, output.Config{Type: "console"}) }, 1, `"type":"console"`},
		{"batch size", func() error { return s.SetBatchSize(ctx, 42) }, 1, `"batch_size":42`},
		{"publish", func() error { _, _, err := s.Publish(ctx); return err }, 1, `"version":"1"`},
		{"clear outputs", func() error { return s.ClearOutputs(ctx) }, 1, `"outputs":null`},
		{"delete rule", func() error { return s.DeleteRule(ctx, "a") }, 1, `"rules":[]`},
		{"rollback: publish, then the draft", func() error { _, _, err := s.Rollback(ctx, "1"); return err }, 2, `"version":"2"`},
		{"failed write", func() error { return s.DeleteRule(ctx, "nope") }, 1, ""},
		{"reads", func() error {
			_, err1 := s.Rules(ctx)
			_, err2 := s.Manifests(ctx)
			_, err3 := s.BatchSize(ctx)
			return errors.Join(err1, err2, err3)
		}, 0, ""},
	} {
		before := calls
		if err := c.op(); err != nil && c.name != "failed write" {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := calls - before; got != c.calls {
			t.Errorf("%s: Written called %d times; want %d", c.name, got, c.calls)
		}
		if !strings.Contains(seen, c.seen) {
			t.Errorf("%s: Written saw %s; want the write done, with %s", c.name, seen, c.seen)
		}
	}
	// After the rollback the draft is version 1's again.
	if !strings.Contains(seen, `"id":"a"`) {
		t.Errorf("after rollback, Written saw %s; want the draft with rule a", seen)
	}
}
