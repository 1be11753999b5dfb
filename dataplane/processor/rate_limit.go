package processor

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

const (
	// maxRateLimit bounds rate_limit's lines_per_second.
	maxRateLimit = 10_000_000
	// defaultRateLimitKeys and maxRateLimitKeys bound the keys a
	// rate_limit tracks in one second.
	defaultRateLimitKeys = 10_000
	maxRateLimitKeys     = 1_000_000
)

var rateLimitSpec = spec.Component{
	Summary: "Keeps at most lines_per_second lines each second, per key or for all lines, and drops the rest, counted as sampled.",
	Params: append([]spec.Param{
		{Name: "lines_per_second", Kind: spec.Integer, Required: true, Description: "Lines kept per key in each second of the clock, 1 to 10000000."},
		{Name: "max_keys", Kind: spec.Integer, Default: "10000", Description: "Keys tracked in one second; the lines of further keys share one more budget of lines_per_second."},
		onOverloadParam(false),
	}, keySpecParams("each of whose values gets its own budget; lines without it share one")...),
	Examples: []string{
		`{"lines_per_second": 1000, "on_overload": "run"}`,
		`{"lines_per_second": 50, "key_attribute": "service.name"}`,
		`{"lines_per_second": 10, "key_path": "attributes/user.id", "max_keys": 50000}`,
		`{"lines_per_second": 5, "key_regex": "client=(\\S+)"}`,
	},
}

// rateLimitParams are the params of a rate_limit rule (rateLimitSpec).
type rateLimitParams struct {
	LinesPerSecond int `json:"lines_per_second"`
	MaxKeys        int `json:"max_keys"`
	keyParams
}

// rateLimit keeps at most perSecond lines per key in each second. The
// workers share it: its state is behind a lock taken once per batch.
type rateLimit struct {
	perSecond int
	maxKeys   int
	key       *lineKey // nil: one budget for every line

	mu     sync.Mutex
	second int64 // the second counts are for, Unix time
	// counts holds the lines kept this second of each key, at its place
	// in keys: a line of a key seen before costs no allocation.
	keys   map[string]int
	counts []int
	shared int // lines kept this second without a key, or over maxKeys
}

// newRateLimit builds a rate_limit rule from its params; see
// rateLimitParams.
func newRateLimit(raw json.RawMessage) (Processor, error) {
	var p rateLimitParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.LinesPerSecond < 1 || p.LinesPerSecond > maxRateLimit {
		return nil, fmt.Errorf("params.lines_per_second: must be between 1 and %d, got %d", maxRateLimit, p.LinesPerSecond)
	}
	if p.MaxKeys == 0 {
		p.MaxKeys = defaultRateLimitKeys
	}
	if p.MaxKeys < 1 || p.MaxKeys > maxRateLimitKeys {
		return nil, fmt.Errorf("params.max_keys: must be between 1 and %d, got %d", maxRateLimitKeys, p.MaxKeys)
	}
	key, err := newLineKey(p.keyParams)
	if err != nil {
		return nil, err
	}
	return &rateLimit{perSecond: p.LinesPerSecond, maxKeys: p.MaxKeys, key: key, keys: map[string]int{}}, nil
}

// Process implements Processor.
func (r *rateLimit) Process(b *record.Batch) {
	r.process(b, time.Now().Unix())
}

func (r *rateLimit) process(b *record.Batch, now int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now != r.second {
		r.second = now
		clear(r.keys)
		r.counts = r.counts[:0]
		r.shared = 0
	}
	if r.key == nil {
		// Every line counts against the one budget: the first that fit
		// pass, the rest are dropped, with no look at any line.
		if room := max(0, r.perSecond-r.shared); len(b.Lines) > room {
			clear(b.Lines[room:])
			b.Lines = b.Lines[:room]
		}
		r.shared += len(b.Lines)
		return
	}
	removeIf(b, r.drop)
}

// drop reports whether line is over its budget, counting it if not: its
// key's, or the shared one when it has no key or its key finds no room.
// r has a key (process counts lines without one in bulk). Lock mu should
// be held.
func (r *rateLimit) drop(line []byte) bool {
	if k, ok := r.key.find(line); ok {
		if i, seen := r.keys[string(k)]; seen {
			if r.counts[i] >= r.perSecond {
				return true
			}
			r.counts[i]++
			return false
		}
		if len(r.counts) < r.maxKeys {
			r.keys[string(k)] = len(r.counts)
			r.counts = append(r.counts, 1)
			return false
		}
	}
	if r.shared >= r.perSecond {
		return true
	}
	r.shared++
	return false
}
