package processor

import (
	"encoding/json"
	"fmt"
	"math/bits"
	"math/rand/v2"

	"streamgate/dataplane/match"
	"streamgate/dataplane/record"
	"streamgate/dataplane/spec"
)

// maxSampleRate bounds sample's rate.
const maxSampleRate = 1_000_000

var sampleSpec = spec.Component{
	Summary: "Keeps one line in rate and drops the rest, counted as sampled: at random, or by a hash of a key, so that every line of one trace or user is kept or dropped together. Lines with an always_keep keyword are never dropped.",
	Params: append([]spec.Param{
		{Name: "rate", Kind: spec.Integer, Required: true, Description: "Keep one line in rate, 2 to 1000000."},
		{Name: "always_keep", Kind: spec.Strings, Description: "Keywords, such as ERROR: a line containing one is always kept."},
		onOverloadParam(false),
	}, keySpecParams("by which lines are kept or dropped together; lines without it are sampled at random")...),
	Examples: []string{
		`{"rate": 10, "always_keep": ["ERROR", "WARN"], "on_overload": "run"}`,
		`{"rate": 100, "key_attribute": "trace_id"}`,
		`{"rate": 20, "key_regex": "request_id=(\\w+)"}`,
		`{"rate": 50, "key_path": "resource/attributes/host.name"}`,
	},
}

// sampleParams are the params of a sample rule (sampleSpec).
type sampleParams struct {
	Rate       int        `json:"rate"`
	AlwaysKeep StringList `json:"always_keep"`
	keyParams
}

// sample keeps one line in rate.
type sample struct {
	rate   uint64
	always match.Literals // empty when there are no keywords
	key    *lineKey       // nil: at random
}

// newSample builds a sample rule from its params; see sampleParams.
func newSample(raw json.RawMessage) (Processor, error) {
	var p sampleParams
	if err := decodeParams(raw, &p); err != nil {
		return nil, err
	}
	if p.Rate < 2 || p.Rate > maxSampleRate {
		return nil, fmt.Errorf("params.rate: must be between 2 and %d, got %d", maxSampleRate, p.Rate)
	}
	for i, k := range p.AlwaysKeep {
		if k == "" {
			return nil, fmt.Errorf("params.always_keep[%d]: must not be empty", i)
		}
	}
	key, err := newLineKey(p.keyParams)
	if err != nil {
		return nil, err
	}
	return &sample{rate: uint64(p.Rate), always: match.NewLiterals(p.AlwaysKeep...), key: key}, nil
}

// Process implements Processor. A batch's random draws are one splitmix64
// sequence from a random start: each costs a few multiplications, not a
// call into the runtime's generator. A draw keeps its line when the high
// word of it times rate is 0, 1 time in rate: a multiplication where a
// draw % rate would be a division (Lemire, 2019); 2^64 is so much more
// than rate that the bias is nil.
func (s *sample) Process(b *record.Batch) {
	state := rand.Uint64()
	removeIf(b, func(line []byte) bool {
		state += splitmixGamma
		draw, _ := bits.Mul64(splitmix(state), s.rate)
		keep := s.key == nil && draw == 0 || s.always.Len() > 0 && s.always.In(line) || s.key != nil && s.keyKeeps(line, draw)
		return !keep
	})
}

// keyKeeps reports whether the hash of line's key is one sample keeps,
// or, for a line without the key, whether its draw does (draw is 0).
func (s *sample) keyKeeps(line []byte, draw uint64) bool {
	if k, ok := s.key.find(line); ok {
		return keyHash(k)%s.rate == 0
	}
	return draw == 0
}

// splitmixGamma is splitmix64's increment: a draw is splitmix of the
// state advanced by it.
const splitmixGamma = 0x9e3779b97f4a7c15

// splitmix is splitmix64's output function (Steele, Lea and Flood, 2014).
func splitmix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// keyHash is the hash that picks the keys a sample keeps: FNV-1a, the same
// on every data plane and across restarts, so a fleet keeps the same keys.
func keyHash(k []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
