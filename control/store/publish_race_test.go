package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/control/store"
	"streamgate/dataplane/manifest"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

type heldKey struct{}

// versionGate blocks the first version allocation (the EVAL of the version
// script) of a call whose context carries heldKey, until released; reached
// is closed when it gets there.
type versionGate struct {
	once             sync.Once
	reached, release chan struct{}
}

func (g *versionGate) DialHook(next redis.DialHook) redis.DialHook { return next }
func (g *versionGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (g *versionGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); ctx.Value(heldKey{}) != nil && (n == "evalsha" || n == "eval") {
			g.once.Do(func() {
				close(g.reached)
				<-g.release
			})
		}
		return next(ctx, cmd)
	}
}

// TestPublishStaleDraftNeverWins: publish A reads the draft, then stalls
// before taking its version; meanwhile a redaction rule is added and
// published (B). When A resumes it must not put the draft it read, without
// the rule, live over B's.
func TestPublishStaleDraftNeverWins(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	g := &versionGate{reached: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(g)
	st := store.New(c, store.Options{})
	ctx := context.Background()

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, _, err := st.Publish(context.WithValue(ctx, heldKey{}, true)); err != nil {
			t.Error(err)
		}
	}()
	<-g.reached
	rule := processor.Config{ID: "redact_ssn", Type: "redact", Params: json.RawMessage(`{"pattern":"\\d{3}-\\d{2}-\\d{4}","replacement":"XXX"}`)}
	if err := st.AddRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	close(g.release)
	wg.Wait()
	raw, _ := mr.Get(rdb.ConfigKey)
	live, err := manifest.Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(live.Pipelines[0].Processors); n != 1 {
		t.Fatalf("live manifest %s has %d rules; want the published redaction rule", live.Version, n)
	}
}

// cancelAtHistory cancels the request's context just before the history
// write, as a client that gives up does.
type cancelAtHistory struct{ cancel context.CancelFunc }

func (h cancelAtHistory) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (h cancelAtHistory) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (h cancelAtHistory) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if c.Name() == "lpush" {
				h.cancel()
			}
		}
		return next(ctx, cmds)
	}
}

// TestPublishCompletesWhenClientLeaves: once a manifest can go live, a
// publish finishes (history, announcement) even if its caller goes away.
func TestPublishCompletesWhenClientLeaves(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c.AddHook(cancelAtHistory{cancel})
	st := store.New(c, store.Options{})
	if _, _, err := st.Publish(ctx); err != nil {
		t.Fatalf("Publish: %v; want it to complete", err)
	}
	hist, _ := mr.List(store.HistoryKey)
	if live, _ := mr.Get(rdb.ConfigKey); live == "" || len(hist) != 1 {
		t.Fatalf("live %q, history %d entries; want the manifest live and recorded", live, len(hist))
	}
}

// TestRollbackKeepsOverloadPolicy rolls back to a manifest with
// overload_policy bypass_all: the policy stays in the draft, so the next
// publish keeps it.
func TestRollbackKeepsOverloadPolicy(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	st := store.New(c, store.Options{})
	ctx := context.Background()
	old := `{"version":"5","pipelines":[{"name":"default_pipeline","processors":[],"outputs":[],"overload_policy":"bypass_all"}]}`
	if _, err := mr.Lpush(store.HistoryKey, old); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.Rollback(ctx, "5"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddRule(ctx, processor.Config{ID: "f", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)}); err != nil {
		t.Fatal(err)
	}
	m, _, err := st.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Pipelines[0].OverloadPolicy; got != manifest.PolicyBypassAll {
		t.Fatalf("overload policy after rollback and publish: got %q; want %q", got, manifest.PolicyBypassAll)
	}
}

// TestVersionsNotReusedAfterKeysLost: with the live manifest and the
// counter gone but the history kept, the next version is above the
// history's newest.
func TestVersionsNotReusedAfterKeysLost(t *testing.T) {
	mr := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer c.Close()
	st := store.New(c, store.Options{})
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, _, err := st.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mr.Del(rdb.ConfigKey)
	mr.Del(store.VersionKey)
	m, _, err := st.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != "4" {
		t.Fatalf("version after losing the live key and the counter: got %q; want 4", m.Version)
	}
}
