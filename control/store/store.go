// Package store keeps the control plane's state in Redis: the draft that the
// API edits (rules, outputs, batch size) and the manifests published from it.
//
// Nothing lives only in memory, so a restarted control plane, or several
// behind a load balancer, see the same state. The draft is one JSON value
// under DraftKey, read-modify-written in optimistic transactions (WATCH,
// MULTI, EXEC), so concurrent writers never lose each other's updates.
//
// Publishing validates the manifest with the data plane's own parser, then
// writes it where the data planes read it (rdb.ConfigKey), appends it to a
// bounded history and announces it on rdb.UpdatesChannel. Those keys live in
// different Redis Cluster slots, so they are written one after another, not
// in one transaction; the live manifest's version never goes backwards.
package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/output"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

// Redis keys owned by the control plane. The published manifest itself is
// under rdb.ConfigKey.
const (
	// DraftKey holds the draft as JSON: {"rules":[...],"outputs":[...],"batch_size":N}.
	DraftKey = "streamgate:draft"
	// VersionKey is the counter that numbers published manifests.
	VersionKey = "streamgate:manifest_version"
	// HistoryKey is a list of the published manifests, newest first.
	HistoryKey = "streamgate:manifests"
)

const (
	// DefaultHistory is how many published manifests are kept by default.
	DefaultHistory = 20
	// PipelineName is the name of the one pipeline a published manifest has.
	PipelineName = "default_pipeline"
	// DefaultBatchSize is the batch size of a draft that sets none.
	DefaultBatchSize = 100

	// maxAttempts bounds the retries of an optimistic transaction.
	maxAttempts = 10
)

// Options configure a Store. The zero value is the default.
type Options struct {
	// History is how many published manifests GET /manifests and Rollback
	// can reach; 0 means DefaultHistory.
	History int
	// Written, when set, is called by every method that may have written
	// to Redis, before it returns, whether it succeeded or not: `streamgate
	// up` saves its embedded Redis to disk there, so that a change is on
	// disk before the API answers. It is called concurrently by concurrent
	// calls, and must not call the Store.
	Written func()
}

// Store is the control plane's state in Redis. It is safe for concurrent
// use, also by several processes sharing one Redis.
type Store struct {
	c       redis.UniversalClient
	history int
	written func() // never nil
}

// New returns a Store keeping its state in c.
func New(c redis.UniversalClient, opts Options) *Store {
	if opts.History <= 0 {
		opts.History = DefaultHistory
	}
	if opts.Written == nil {
		opts.Written = func() {}
	}
	return &Store{c: c, history: opts.History, written: opts.Written}
}

// draft is the value stored under DraftKey.
type draft struct {
	Rules   []processor.Config `json:"rules"`
	Outputs []output.Config    `json:"outputs"`
	// BatchSize is 0 when unset, meaning DefaultBatchSize.
	BatchSize int `json:"batch_size"`
	// OverloadPolicy is carried over from a manifest rolled back to, so a
	// later publish keeps it; "" means the default.
	OverloadPolicy string `json:"overload_policy,omitempty"`
}

// Rules returns the draft's rules in order.
func (s *Store) Rules(ctx context.Context) ([]processor.Config, error) {
	d, err := s.load(ctx, s.c)
	if err != nil {
		return nil, err
	}
	return d.Rules, nil
}

// Rule returns the draft's rule with the given id, or ErrNotFound.
func (s *Store) Rule(ctx context.Context, id string) (processor.Config, error) {
	d, err := s.load(ctx, s.c)
	if err != nil {
		return processor.Config{}, err
	}
	i := d.rule(id)
	if i < 0 {
		return processor.Config{}, fmt.Errorf("cannot get rule %q: %w", id, ErrNotFound)
	}
	return d.Rules[i], nil
}

// AddRule validates r and appends it to the draft's rules. It returns an
// *InvalidError if r would not build or the draft has manifest.MaxRules
// rules already, and ErrDuplicate if a rule with r's id exists.
func (s *Store) AddRule(ctx context.Context, r processor.Config) error {
	if _, err := processor.Build(r); err != nil {
		return fmt.Errorf("cannot add rule: %w", invalid(err))
	}
	return s.update(ctx, func(d *draft) error {
		if d.rule(r.ID) >= 0 {
			return fmt.Errorf("cannot add rule %q: %w", r.ID, ErrDuplicate)
		}
		if len(d.Rules) >= manifest.MaxRules {
			return fmt.Errorf("cannot add rule %q: %w", r.ID, &InvalidError{Problems: []string{
				fmt.Sprintf("rules: the draft has %d rules already, the limit of a pipeline", len(d.Rules))}})
		}
		d.Rules = append(d.Rules, r)
		return nil
	})
}

// PutRule validates r and replaces the rule with the given id, keeping its
// position. r.ID must be id or empty. It returns ErrNotFound if no rule has
// that id.
func (s *Store) PutRule(ctx context.Context, id string, r processor.Config) error {
	if r.ID == "" {
		r.ID = id
	}
	if r.ID != id {
		return fmt.Errorf("cannot replace rule %q: %w", id,
			&InvalidError{Problems: []string{fmt.Sprintf("id: %q does not match the rule being replaced, %q", r.ID, id)}})
	}
	if _, err := processor.Build(r); err != nil {
		return fmt.Errorf("cannot replace rule %q: %w", id, invalid(err))
	}
	return s.update(ctx, func(d *draft) error {
		i := d.rule(id)
		if i < 0 {
			return fmt.Errorf("cannot replace rule %q: %w", id, ErrNotFound)
		}
		d.Rules[i] = r
		return nil
	})
}

// DeleteRule removes the rule with the given id, or returns ErrNotFound.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	return s.update(ctx, func(d *draft) error {
		i := d.rule(id)
		if i < 0 {
			return fmt.Errorf("cannot delete rule %q: %w", id, ErrNotFound)
		}
		d.Rules = slices.Delete(d.Rules, i, i+1)
		return nil
	})
}

// Outputs returns the draft's outputs in order. Header values are the real
// ones: mask them (manifest.MaskHeaders) before showing them to anyone.
func (s *Store) Outputs(ctx context.Context) ([]output.Config, error) {
	d, err := s.load(ctx, s.c)
	if err != nil {
		return nil, err
	}
	return d.Outputs, nil
}

// AddOutput validates o and appends it to the draft's outputs. It returns an
// *InvalidError if o is invalid, and ErrDuplicate if an output with o's URL
// exists (only http and tcp outputs have one).
func (s *Store) AddOutput(ctx context.Context, o output.Config) error {
	if err := output.Validate(&o); err != nil {
		return fmt.Errorf("cannot add output: %w", invalid(err))
	}
	return s.update(ctx, func(d *draft) error {
		if o.URL != "" && slices.ContainsFunc(d.Outputs, func(x output.Config) bool { return x.URL == o.URL }) {
			// The URL is not repeated: it may hold a password.
			return fmt.Errorf("cannot add output %s: %w", o.Type, ErrDuplicate)
		}
		d.Outputs = append(d.Outputs, o)
		return nil
	})
}

// DeleteOutput removes the output called name from the draft, and returns
// it, or ErrNotFound. An output's name is the one metrics and logs give it
// (manifest.OutputNames): "console", or the type and the URL with its
// credentials and query values masked ("http:http://collector:9000"), or
// the type and its destination; outputs whose names would be the same get
// #2, #3, ... in the order they are listed, so deleting one renames those
// after it.
func (s *Store) DeleteOutput(ctx context.Context, name string) (output.Config, error) {
	var gone output.Config
	err := s.update(ctx, func(d *draft) error {
		i := slices.Index(manifest.OutputNames(d.Outputs), name)
		if i < 0 {
			return fmt.Errorf("cannot delete output %s: %w", manifest.MaskOutputName(name), ErrNotFound)
		}
		gone = d.Outputs[i]
		d.Outputs = slices.Delete(d.Outputs, i, i+1)
		return nil
	})
	return gone, err
}

// ClearOutputs removes every output from the draft; a manifest without
// outputs writes to the console.
func (s *Store) ClearOutputs(ctx context.Context) error {
	return s.update(ctx, func(d *draft) error {
		d.Outputs = nil
		return nil
	})
}

// BatchSize returns the draft's batch size, DefaultBatchSize if unset.
func (s *Store) BatchSize(ctx context.Context) (int, error) {
	d, err := s.load(ctx, s.c)
	if err != nil {
		return 0, err
	}
	return d.batchSize(), nil
}

// SetBatchSize sets the draft's batch size. It returns an *InvalidError
// unless n is between manifest.MinBatchSize and manifest.MaxBatchSize.
func (s *Store) SetBatchSize(ctx context.Context, n int) error {
	if n < manifest.MinBatchSize || n > manifest.MaxBatchSize {
		return fmt.Errorf("cannot set batch size: %w", &InvalidError{Problems: []string{
			fmt.Sprintf("batch_size: must be between %d and %d; got %d", manifest.MinBatchSize, manifest.MaxBatchSize, n)}})
	}
	return s.update(ctx, func(d *draft) error {
		d.BatchSize = n
		return nil
	})
}

// Publish turns the draft into a manifest with the next version and
// publishes it: the data planes load it, and it joins the history. It
// returns the manifest, with real header values, and how many subscribers
// the reload announcement reached. A draft that does not make a valid
// manifest is rejected as a whole with an *InvalidError listing every
// problem, and nothing is written. It publishes even a draft the live
// manifest already holds; PublishChanged does not.
func (s *Store) Publish(ctx context.Context) (*manifest.Manifest, int64, error) {
	m, n, _, err := s.publish(ctx, false, s.draftPipelines)
	return m, n, err
}

// PublishChanged publishes the draft as Publish does, unless the live
// manifest (rdb.ConfigKey) already holds the same pipelines: the same
// rules, outputs and settings, compared as canonical JSON, whatever their
// version and timestamp. Then it writes nothing, announces nothing and
// takes no version, so the history keeps its rollback points, and returns
// the live manifest with unchanged true and no subscribers.
func (s *Store) PublishChanged(ctx context.Context) (m *manifest.Manifest, subscribers int64, unchanged bool, err error) {
	return s.publish(ctx, true, s.draftPipelines)
}

// Draft returns the manifest the draft would publish, with real header
// values, version "draft".
func (s *Store) Draft(ctx context.Context) (*manifest.Manifest, error) {
	pls, err := s.draftPipelines(ctx)
	if err != nil {
		return nil, err
	}
	return &manifest.Manifest{Version: "draft", Pipelines: pls}, nil
}

// draftPipelines returns the pipelines of a manifest made of the draft.
func (s *Store) draftPipelines(ctx context.Context) ([]manifest.Pipeline, error) {
	d, err := s.load(ctx, s.c)
	if err != nil {
		return nil, err
	}
	return []manifest.Pipeline{d.pipeline()}, nil
}

// Manifests returns the published manifests still in the history, newest
// first, with real header values.
func (s *Store) Manifests(ctx context.Context) ([]*manifest.Manifest, error) {
	raws, err := s.c.LRange(ctx, HistoryKey, 0, int64(s.history)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("cannot read manifest history: %w", redisError(err))
	}
	ms := make([]*manifest.Manifest, 0, len(raws))
	for i, raw := range raws {
		var m manifest.Manifest
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("cannot decode manifest history entry %d: %w", i, err)
		}
		ms = append(ms, &m)
	}
	// Two publishes racing may push in the opposite order of their versions.
	slices.SortStableFunc(ms, func(a, b *manifest.Manifest) int {
		va, okA := parseVersion(a.Version)
		vb, okB := parseVersion(b.Version)
		if !okA || !okB {
			return 0
		}
		return cmp.Compare(vb, va)
	})
	return ms, nil
}

// Rollback publishes the pipelines of the manifest with the given version,
// from the history, as a new manifest with the next version, and makes them
// the draft. It returns what Publish returns, or ErrNotFound if the version
// is not in the history.
func (s *Store) Rollback(ctx context.Context, version string) (*manifest.Manifest, int64, error) {
	ms, err := s.Manifests(ctx)
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(ms, func(m *manifest.Manifest) bool { return string(m.Version) == version })
	if i < 0 {
		return nil, 0, fmt.Errorf("cannot roll back to manifest %q: %w", version, ErrNotFound)
	}
	old := ms[i]
	if _, err := encode(old.Pipelines, "", 0); err != nil {
		return nil, 0, fmt.Errorf("cannot roll back to manifest %q: %w", version, err)
	}
	// Publish first: if it fails, the draft is left as it was.
	m, subscribers, _, err := s.publish(ctx, false, func(context.Context) ([]manifest.Pipeline, error) {
		return old.Pipelines, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if err := s.setDraft(ctx, &old.Pipelines[0]); err != nil {
		return nil, 0, fmt.Errorf("rolled back to manifest %q as version %s, but cannot update the draft: %w", version, m.Version, err)
	}
	return m, subscribers, nil
}

// rule returns the index of the rule with the given id, or -1.
func (d *draft) rule(id string) int {
	return slices.IndexFunc(d.Rules, func(r processor.Config) bool { return r.ID == id })
}

func (d *draft) batchSize() int {
	if d.BatchSize == 0 {
		return DefaultBatchSize
	}
	return d.BatchSize
}

// pipeline returns the pipeline the draft describes.
func (d *draft) pipeline() manifest.Pipeline {
	p := manifest.Pipeline{
		Name:           PipelineName,
		Processors:     d.Rules,
		Outputs:        d.Outputs,
		OverloadPolicy: d.OverloadPolicy,
	}
	// Written as [] rather than null, as the seed wrote them.
	if p.Processors == nil {
		p.Processors = []processor.Config{}
	}
	if p.Outputs == nil {
		p.Outputs = []output.Config{}
	}
	if d.BatchSize != 0 {
		n := d.BatchSize
		p.BatchSize = &n
	}
	return p
}

// getter is what load needs: a client or a transaction.
type getter interface {
	Get(ctx context.Context, key string) *redis.StringCmd
}

// load reads the draft; a missing key is an empty draft.
func (s *Store) load(ctx context.Context, g getter) (draft, error) {
	var d draft
	raw, err := g.Get(ctx, DraftKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("cannot read draft: %w", redisError(err))
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return d, fmt.Errorf("cannot decode draft: %w", err)
	}
	return d, nil
}

// update applies fn to the draft in an optimistic transaction, retrying
// when another writer changed the draft in between. An error from fn aborts
// the update and is returned as it is.
//
// update and publish are the only paths that write to Redis; each calls
// s.written before it returns.
func (s *Store) update(ctx context.Context, fn func(d *draft) error) error {
	defer s.written()
	return s.setWatched(ctx, DraftKey, "update draft", func(tx *redis.Tx) ([]byte, error) {
		d, err := s.load(ctx, tx)
		if err != nil {
			return nil, err
		}
		if err := fn(&d); err != nil {
			return nil, err
		}
		raw, err := json.Marshal(&d)
		if err != nil {
			return nil, err
		}
		if len(raw) > manifest.MaxSize {
			return nil, &InvalidError{Problems: []string{fmt.Sprintf(
				"draft: would be %d bytes, over the manifest size limit of %d", len(raw), manifest.MaxSize)}}
		}
		return raw, nil
	})
}

// setWatched sets key to what compute returns, in an optimistic
// transaction on key: if another writer changes key in between, it starts
// over (with backoff, at most maxAttempts times). An error from compute
// aborts and is returned as it is; other errors are wrapped "cannot what".
func (s *Store) setWatched(ctx context.Context, key, what string, compute func(tx *redis.Tx) ([]byte, error)) error {
	for attempt := range maxAttempts {
		var own error // an error of compute's rather than of the transaction
		err := s.c.Watch(ctx, func(tx *redis.Tx) error {
			raw, err := compute(tx)
			if err != nil {
				own = err
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, raw, 0)
				return nil
			})
			return err
		}, key)
		switch {
		case err == nil:
			return nil
		case own != nil:
			return own
		case errors.Is(err, redis.TxFailedErr):
			if err := backoff(ctx, attempt); err != nil {
				return fmt.Errorf("cannot %s: %w", what, err)
			}
		default:
			return fmt.Errorf("cannot %s: %w", what, redisError(err))
		}
	}
	return fmt.Errorf("cannot %s: %w", what, ErrConflict)
}

// nextVersion increments VersionKey and returns its value, but at least
// floor+1, so a counter that was lost or reset while a manifest stayed
// published never hands out a version that is not newer than it.
var nextVersion = redis.NewScript(`
local v = redis.call('INCR', KEYS[1])
local floor = tonumber(ARGV[1])
if v <= floor then
	v = floor + 1
	redis.call('SET', KEYS[1], v)
end
return v
`)

// publishTimeout bounds the writes of a publish once its version is taken.
const publishTimeout = 10 * time.Second

// samePipelines reports whether a and b encode alike.
func samePipelines(a, b []manifest.Pipeline) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// canonicalJSON encodes v as JSON with every object's members sorted by
// key and no insignificant space, so two values that mean the same encode
// alike whatever the order of the members of a rule's params; numbers keep
// their text.
func canonicalJSON(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var generic any
	if err := d.Decode(&generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// liveIfSame returns the live manifest if it holds the same pipelines as
// pipelines, compared as canonical JSON, or nil. A live manifest that does
// not parse is never the same: publishing replaces it.
func (s *Store) liveIfSame(ctx context.Context, pipelines []manifest.Pipeline) (*manifest.Manifest, error) {
	raw, err := s.c.Get(ctx, rdb.ConfigKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the published manifest: %w", redisError(err))
	}
	live, err := manifest.Parse(raw)
	if err != nil {
		return nil, nil
	}
	a, errA := canonicalJSON(pipelines)
	b, errB := canonicalJSON(live.Pipelines)
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		return nil, nil
	}
	return live, nil
}

// errSuperseded means a newer manifest was published while this one was
// being prepared.
var errSuperseded = errors.New("superseded by a newer manifest")

// publish builds a manifest from the pipelines source returns, validates it
// and publishes it with a new version. If a concurrent publish got a newer
// version live first, it starts over, so the live manifest is never older
// than the one this call returns. With ifChanged, pipelines the live
// manifest already holds are not published: it returns the live manifest
// and unchanged true.
func (s *Store) publish(ctx context.Context, ifChanged bool, source func(context.Context) ([]manifest.Pipeline, error)) (_ *manifest.Manifest, _ int64, unchanged bool, _ error) {
	defer s.written()
	for attempt := range maxAttempts {
		live, err := s.versionFloor(ctx)
		if err != nil {
			return nil, 0, false, err
		}
		pipelines, err := source(ctx)
		if err != nil {
			return nil, 0, false, err
		}
		// The version and timestamp do not affect validity: validate before
		// taking a version, so a rejected draft leaves no trace.
		if _, err := encode(pipelines, "", 0); err != nil {
			return nil, 0, false, fmt.Errorf("cannot publish manifest: %w", err)
		}
		if ifChanged {
			same, err := s.liveIfSame(ctx, pipelines)
			if err != nil {
				return nil, 0, false, err
			}
			if same != nil {
				return same, 0, true, nil
			}
		}
		n, err := nextVersion.Run(ctx, s.c, []string{VersionKey}, live).Int64()
		if err != nil {
			return nil, 0, false, fmt.Errorf("cannot allocate manifest version: %w", redisError(err))
		}
		// A publish that read the draft before us may have taken a lower
		// version and gone live since; one that reads it after us takes a
		// higher version. So if the draft is still what we read, it is the
		// newest content for our version; if it changed, start over, or an
		// older draft could go live over a newer one.
		again, err := source(ctx)
		if err != nil {
			return nil, 0, false, err
		}
		if !samePipelines(pipelines, again) {
			continue
		}
		version := strconv.FormatInt(n, 10)
		m := &manifest.Manifest{
			Version:   manifest.Version(version),
			Timestamp: time.Now().Unix(),
			Pipelines: pipelines,
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return nil, 0, false, fmt.Errorf("cannot encode manifest %s: %w", version, err)
		}
		// From here on the manifest may go live: finish even if the client
		// goes away, so it is recorded and announced, not left half done.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
		defer cancel()
		ctx := wctx
		err = s.setLive(ctx, raw, uint64(n))
		if errors.Is(err, errSuperseded) {
			if err := backoff(ctx, attempt); err != nil {
				return nil, 0, false, fmt.Errorf("cannot publish manifest %s: %w", version, err)
			}
			continue
		}
		if err != nil {
			return nil, 0, false, err
		}
		_, err = s.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.LPush(ctx, HistoryKey, raw)
			p.LTrim(ctx, HistoryKey, 0, int64(s.history)-1)
			return nil
		})
		if err != nil {
			return nil, 0, false, fmt.Errorf("cannot record manifest %s in the history: %w", version, redisError(err))
		}
		subscribers, err := s.c.Publish(ctx, rdb.UpdatesChannel, rdb.ReloadMessage).Result()
		if err != nil {
			return nil, 0, false, fmt.Errorf("cannot announce manifest %s: %w", version, redisError(err))
		}
		return m, subscribers, false, nil
	}
	return nil, 0, false, fmt.Errorf("cannot publish manifest: %w", ErrConflict)
}

// encode marshals a manifest of pipelines and validates it with the data
// plane's parser. It returns an *InvalidError listing every problem.
func encode(pipelines []manifest.Pipeline, version string, timestamp int64) ([]byte, error) {
	raw, err := json.Marshal(&manifest.Manifest{
		Version:   manifest.Version(version),
		Timestamp: timestamp,
		Pipelines: pipelines,
	})
	if err != nil {
		return nil, fmt.Errorf("cannot encode manifest: %w", err)
	}
	if _, err := manifest.Parse(raw); err != nil {
		return nil, invalid(err)
	}
	return raw, nil
}

// setLive writes raw, the manifest with the given version, to rdb.ConfigKey
// unless the manifest there has the same or a newer version, in which case
// it returns errSuperseded.
func (s *Store) setLive(ctx context.Context, raw []byte, version uint64) error {
	return s.setWatched(ctx, rdb.ConfigKey, "write manifest", func(tx *redis.Tx) ([]byte, error) {
		live, err := s.liveVersion(ctx, tx)
		if err == nil && live >= version {
			err = errSuperseded
		}
		return raw, err
	})
}

// liveVersion returns the version of the manifest under rdb.ConfigKey, or 0
// if there is none or its version is not a number (the seed wrote "1.0").
func (s *Store) liveVersion(ctx context.Context, g getter) (uint64, error) {
	raw, err := g.Get(ctx, rdb.ConfigKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the published manifest: %w", redisError(err))
	}
	return manifestVersion(raw), nil
}

// versionFloor is the version a new one must exceed: the live manifest's,
// or the newest in the history if that is higher, so numbers are never
// reused even if the live key and the counter were lost.
func (s *Store) versionFloor(ctx context.Context) (uint64, error) {
	live, err := s.liveVersion(ctx, s.c)
	if err != nil {
		return 0, err
	}
	raw, err := s.c.LIndex(ctx, HistoryKey, 0).Bytes()
	if errors.Is(err, redis.Nil) {
		return live, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the manifest history: %w", redisError(err))
	}
	return max(live, manifestVersion(raw)), nil
}

// manifestVersion is the version of an encoded manifest this package wrote,
// or 0.
func manifestVersion(raw []byte) uint64 {
	var m struct {
		Version manifest.Version `json:"version"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return 0
	}
	v, _ := parseVersion(m.Version)
	return v
}

// parseVersion parses a version this package wrote.
func parseVersion(v manifest.Version) (uint64, bool) {
	n, err := strconv.ParseUint(string(v), 10, 64)
	return n, err == nil
}

// backoff waits a random time that grows with attempt, so writers that
// collided spread out, or returns ctx's error.
func backoff(ctx context.Context, attempt int) error {
	t := time.NewTimer(rand.N(time.Duration(attempt+1) * time.Millisecond))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
