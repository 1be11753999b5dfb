package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"streamgate/dataplane/manifest"
	"streamgate/dataplane/rdb"
)

// ShadowVersionPrefix starts the version of a shadow manifest, followed
// by when it was published in Unix milliseconds: a shadow takes no number
// from the live manifests' sequence, and never joins their history.
const ShadowVersionPrefix = "shadow-"

// PublishShadow publishes the draft as the shadow manifest: it is
// validated as Publish validates it, stored under rdb.ShadowKey, and
// announced with rdb.ShadowMessage on rdb.UpdatesChannel. Every data
// plane then runs its rules beside the live ones, on the same lines, and
// counts what they would do, delivering nothing of it. It replaces the
// shadow published before, if any. It returns the manifest, with real
// header values, and how many subscribers the announcement reached.
func (s *Store) PublishShadow(ctx context.Context) (*manifest.Manifest, int64, error) {
	defer s.written()
	pls, err := s.draftPipelines(ctx)
	if err != nil {
		return nil, 0, err
	}
	if _, err := encode(pls, "", 0); err != nil {
		return nil, 0, fmt.Errorf("cannot publish shadow manifest: %w", err)
	}
	now := time.Now()
	m := &manifest.Manifest{
		Version:   manifest.Version(ShadowVersionPrefix + strconv.FormatInt(now.UnixMilli(), 10)),
		Timestamp: now.Unix(),
		Pipelines: pls,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot encode shadow manifest: %w", err)
	}
	if err := s.c.Set(ctx, rdb.ShadowKey, raw, 0).Err(); err != nil {
		return nil, 0, fmt.Errorf("cannot write shadow manifest: %w", redisError(err))
	}
	n, err := s.announceShadow(ctx)
	return m, n, err
}

// Shadow returns the shadow manifest, with real header values, or
// ErrNotFound when there is none.
func (s *Store) Shadow(ctx context.Context) (*manifest.Manifest, error) {
	raw, err := s.c.Get(ctx, rdb.ShadowKey).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("no shadow manifest: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read shadow manifest: %w", redisError(err))
	}
	var m manifest.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("cannot decode shadow manifest: %w", err)
	}
	return &m, nil
}

// DeleteShadow removes the shadow manifest and announces it: the data
// planes stop running it. It returns the version removed, or ErrNotFound.
func (s *Store) DeleteShadow(ctx context.Context) (string, int64, error) {
	defer s.written()
	m, err := s.Shadow(ctx)
	if err != nil {
		return "", 0, err
	}
	if err := s.c.Del(ctx, rdb.ShadowKey).Err(); err != nil {
		return "", 0, fmt.Errorf("cannot delete shadow manifest: %w", redisError(err))
	}
	n, err := s.announceShadow(ctx)
	return string(m.Version), n, err
}

// PromoteShadow publishes the shadow manifest's pipelines as the live
// manifest, with the next version, as Publish does; makes them the draft,
// as Rollback does; and removes the shadow. It returns what Publish
// returns, or ErrNotFound when there is no shadow.
func (s *Store) PromoteShadow(ctx context.Context) (*manifest.Manifest, int64, error) {
	sh, err := s.Shadow(ctx)
	if err != nil {
		return nil, 0, err
	}
	m, subscribers, _, err := s.publish(ctx, false, func(context.Context) ([]manifest.Pipeline, error) {
		return sh.Pipelines, nil
	})
	if err != nil {
		return nil, 0, err
	}
	if err := s.setDraft(ctx, &sh.Pipelines[0]); err != nil {
		return nil, 0, fmt.Errorf("promoted shadow manifest %s as version %s, but cannot update the draft: %w", sh.Version, m.Version, err)
	}
	defer s.written()
	if err := s.c.Del(ctx, rdb.ShadowKey).Err(); err != nil {
		return nil, 0, fmt.Errorf("promoted shadow manifest %s as version %s, but cannot delete it: %w", sh.Version, m.Version, redisError(err))
	}
	if _, err := s.announceShadow(ctx); err != nil {
		return nil, 0, err
	}
	return m, subscribers, nil
}

// setDraft makes p the draft.
func (s *Store) setDraft(ctx context.Context, p *manifest.Pipeline) error {
	return s.update(ctx, func(d *draft) error {
		*d = draft{Rules: p.Processors, Outputs: p.Outputs, OverloadPolicy: p.OverloadPolicy}
		if p.BatchSize != nil {
			d.BatchSize = *p.BatchSize
		}
		return nil
	})
}

// announceShadow tells the data planes that the shadow manifest changed.
func (s *Store) announceShadow(ctx context.Context) (int64, error) {
	n, err := s.c.Publish(ctx, rdb.UpdatesChannel, rdb.ShadowMessage).Result()
	if err != nil {
		return 0, fmt.Errorf("cannot announce shadow manifest: %w", redisError(err))
	}
	return n, nil
}
