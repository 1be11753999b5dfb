package snapshot

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
)

// Version is the format version this build writes, and the newest it reads.
const Version = 1

// formatName is the value of a snapshot's "format" member.
const formatName = "streamgate-redis-snapshot"

// The key types a snapshot holds, as miniredis (and Redis's TYPE) names
// them.
const (
	typeString = "string"
	typeHash   = "hash"
	typeList   = "list"
	typeSet    = "set"
	typeZSet   = "zset"
)

// encodingBase64 marks an entry whose every string (the key's name, hash
// fields and values, list and set elements, sorted-set members) is base64
// (standard, padded): the entry holds bytes that are not UTF-8, which JSON
// strings cannot carry as they are.
const encodingBase64 = "base64"

// document is the file: a header and the keys of database 0, sorted by
// name.
//
//	{"format": "streamgate-redis-snapshot", "version": 1, "keys": [
//	  {"key": "streamgate:draft", "type": "string", "value": "{\"rules\":[]}"},
//	  {"key": "streamgate:manifests", "type": "list", "value": ["{...}", "{...}"]},
//	  {"key": "streamgate:instance:a", "type": "hash", "value": {"id": "a"}, "expires_unix_ms": 1767225600000},
//	  {"key": "streamgate:fleet", "type": "zset", "value": [{"member": "a", "score": "1767225594000"}]},
//	  {"key": "tags", "type": "set", "value": ["x", "y"]}
//	]}
type document struct {
	Format  string  `json:"format"`
	Version int     `json:"version"`
	Keys    []entry `json:"keys"`
}

// entry is one key. Value is a JSON string (string), an object of fields
// (hash), an array of strings (list, in order; set, sorted) or an array of
// members (zset, by score then member).
type entry struct {
	Key      string `json:"key"`
	Type     string `json:"type"`
	Encoding string `json:"encoding,omitempty"`
	// Expires is when the key expires, in Unix milliseconds; 0 for never.
	Expires int64 `json:"expires_unix_ms,omitempty"`
	// FieldExpires are the expiry times of a hash's fields that have one
	// (HEXPIRE), in Unix milliseconds.
	FieldExpires map[string]int64 `json:"field_expires_unix_ms,omitempty"`
	Value        json.RawMessage  `json:"value"`
}

// member is one member of a sorted set. The score is a string, so that
// +inf and -inf, which JSON numbers cannot hold, are kept too.
type member struct {
	Member string `json:"member"`
	Score  string `json:"score"`
}

// key is one decoded key, its strings raw bytes.
type key struct {
	name         string
	typ          string
	str          string            // string
	hash         map[string]string // hash
	elems        []string          // list, set
	zset         []zmember         // zset
	expires      int64             // Unix ms, 0 for never
	fieldExpires map[string]int64  // hash fields' expiry, Unix ms
}

type zmember struct {
	member string
	score  float64
}

// maxAttempts bounds how often encode reads a key again whose type changed
// while it was being read.
const maxAttempts = 3

// encode returns the snapshot of m's database 0 at now, and how many keys
// it holds. Each key is read on its own: a write between two keys can show
// in the one read after it and not in the one before. A key of a type the
// format does not hold (stream, HyperLogLog) is an error rather than left
// out.
func encode(m *miniredis.Miniredis, now time.Time) ([]byte, int, error) {
	db := m.DB(0) // also expires what ClockTTL made due
	names := db.Keys()
	doc := document{Format: formatName, Version: Version, Keys: make([]entry, 0, len(names))}
	for _, name := range names {
		var (
			k   *key
			err error
		)
		for range maxAttempts {
			if k, err = readKey(db, name, now); !errors.Is(err, miniredis.ErrWrongType) {
				break
			}
		}
		if err != nil {
			return nil, 0, fmt.Errorf("cannot read key %q: %w", name, err)
		}
		if k == nil { // deleted or expired meanwhile
			continue
		}
		e, err := k.entry()
		if err != nil {
			return nil, 0, fmt.Errorf("cannot encode key %q: %w", name, err)
		}
		doc.Keys = append(doc.Keys, e)
	}
	data, err := json.MarshalIndent(&doc, "", "  ")
	if err != nil {
		return nil, 0, fmt.Errorf("cannot encode the snapshot: %w", err)
	}
	return append(data, '\n'), len(doc.Keys), nil
}

// readKey reads the key name of db, or returns nil if it is gone or its
// time to live has run out.
func readKey(db *miniredis.RedisDB, name string, now time.Time) (*key, error) {
	k := &key{name: name, typ: db.Type(name)}
	var err error
	switch k.typ {
	case "":
		return nil, nil
	case typeString:
		k.str, err = db.Get(name)
	case typeHash:
		var fields []string
		if fields, err = db.HKeys(name); err == nil {
			k.hash = make(map[string]string, len(fields))
			for _, f := range fields {
				k.hash[f] = db.HGet(name, f)
				if ttl := db.HTTL(name, f); ttl > 0 {
					if k.fieldExpires == nil {
						k.fieldExpires = make(map[string]int64)
					}
					k.fieldExpires[f] = now.Add(ttl).UnixMilli()
				}
			}
		}
	case typeList:
		k.elems, err = db.List(name)
	case typeSet:
		k.elems, err = db.Members(name)
	case typeZSet:
		var scores map[string]float64
		if scores, err = db.SortedSet(name); err == nil {
			for m, s := range scores {
				k.zset = append(k.zset, zmember{member: m, score: s})
			}
			slices.SortFunc(k.zset, func(a, b zmember) int {
				return cmp.Or(cmp.Compare(a.score, b.score), cmp.Compare(a.member, b.member))
			})
		}
	default:
		return nil, fmt.Errorf("a %s, which a snapshot cannot hold", k.typ)
	}
	if errors.Is(err, miniredis.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	switch ttl := db.TTL(name); {
	case ttl < 0:
		return nil, nil
	case ttl > 0:
		k.expires = now.Add(ttl).UnixMilli()
	}
	return k, nil
}

// strings calls f with every string of k.
func (k *key) strings(f func(string)) {
	f(k.name)
	f(k.str)
	for field, v := range k.hash {
		f(field)
		f(v)
	}
	for _, e := range k.elems {
		f(e)
	}
	for _, m := range k.zset {
		f(m.member)
	}
}

// entry returns k as the file holds it.
func (k *key) entry() (entry, error) {
	text := true
	k.strings(func(s string) { text = text && utf8.ValidString(s) })
	enc := func(s string) string { return s }
	e := entry{Type: k.typ, Expires: k.expires}
	if !text {
		e.Encoding = encodingBase64
		enc = func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	}
	e.Key = enc(k.name)
	var v any
	switch k.typ {
	case typeString:
		v = enc(k.str)
	case typeHash:
		h := make(map[string]string, len(k.hash))
		for f, x := range k.hash {
			h[enc(f)] = enc(x)
		}
		v = h
		for f, t := range k.fieldExpires {
			if e.FieldExpires == nil {
				e.FieldExpires = make(map[string]int64, len(k.fieldExpires))
			}
			e.FieldExpires[enc(f)] = t
		}
	case typeList, typeSet:
		l := make([]string, len(k.elems))
		for i, x := range k.elems {
			l[i] = enc(x)
		}
		v = l
	case typeZSet:
		l := make([]member, len(k.zset))
		for i, m := range k.zset {
			l[i] = member{Member: enc(m.member), Score: strconv.FormatFloat(m.score, 'g', -1, 64)}
		}
		v = l
	}
	var err error
	e.Value, err = json.Marshal(v)
	return e, err
}

// decode parses and checks a snapshot, all of it, before anything is
// restored from it. A snapshot of a newer format version is ErrNewerFormat;
// any other problem is an error naming the position at fault.
func decode(data []byte) ([]key, error) {
	// json.Unmarshal also refuses anything after the one value.
	var head struct {
		Format  *string `json:"format"`
		Version *int    `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	switch {
	case head.Format == nil || *head.Format != formatName:
		return nil, fmt.Errorf("format: want %q", formatName)
	case head.Version == nil || *head.Version < 1:
		return nil, errors.New("version: want a positive number")
	case *head.Version > Version:
		return nil, fmt.Errorf("format version %d, and this build reads version %d at most: %w", *head.Version, Version, ErrNewerFormat)
	}
	var doc document
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("cannot decode: %w", err)
	}
	keys := make([]key, 0, len(doc.Keys))
	seen := make(map[string]bool, len(doc.Keys))
	for i := range doc.Keys {
		k, err := doc.Keys[i].key()
		if err != nil {
			return nil, fmt.Errorf("keys[%d]: %w", i, err)
		}
		if seen[k.name] {
			return nil, fmt.Errorf("keys[%d]: key %q appears twice", i, k.name)
		}
		seen[k.name] = true
		keys = append(keys, k)
	}
	return keys, nil
}

// key decodes and checks e.
func (e *entry) key() (key, error) {
	dec := func(s string) (string, error) { return s, nil }
	switch e.Encoding {
	case "":
	case encodingBase64:
		dec = func(s string) (string, error) {
			b, err := base64.StdEncoding.DecodeString(s)
			return string(b), err
		}
	default:
		return key{}, fmt.Errorf("encoding: want %q or none; got %q", encodingBase64, e.Encoding)
	}
	name, err := dec(e.Key)
	if err != nil {
		return key{}, fmt.Errorf("key: %w", err)
	}
	k := key{name: name, typ: e.Type, expires: e.Expires}
	if e.Expires < 0 {
		return k, fmt.Errorf("key %q: expires_unix_ms: want a time after 1970; got %d", name, e.Expires)
	}
	if len(e.Value) == 0 || bytes.Equal(e.Value, []byte("null")) {
		return k, fmt.Errorf("key %q: value: missing", name)
	}
	if e.FieldExpires != nil && e.Type != typeHash {
		return k, fmt.Errorf("key %q: field_expires_unix_ms: only a hash has fields; this is a %s", name, e.Type)
	}
	if err := k.decodeValue(e.Value, dec); err != nil {
		return k, fmt.Errorf("key %q: value: %w", name, err)
	}
	for f, t := range e.FieldExpires {
		field, err := dec(f)
		if err != nil {
			return k, fmt.Errorf("key %q: field_expires_unix_ms: %w", name, err)
		}
		if _, ok := k.hash[field]; !ok {
			return k, fmt.Errorf("key %q: field_expires_unix_ms: field %q is not in the hash", name, field)
		}
		if t <= 0 {
			return k, fmt.Errorf("key %q: field_expires_unix_ms: field %q: want a time after 1970; got %d", name, field, t)
		}
		if k.fieldExpires == nil {
			k.fieldExpires = make(map[string]int64, len(e.FieldExpires))
		}
		k.fieldExpires[field] = t
	}
	return k, nil
}

// decodeValue sets k's value from raw, whose shape k.typ gives; dec undoes
// the entry's encoding of each string.
func (k *key) decodeValue(raw json.RawMessage, dec func(string) (string, error)) error {
	var err error
	decodeAll := func(l []string) ([]string, error) {
		for i := range l {
			if l[i], err = dec(l[i]); err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return l, nil
	}
	switch k.typ {
	case typeString:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return errors.New("want a string")
		}
		k.str, err = dec(s)
		return err
	case typeHash:
		var h map[string]string
		if err := json.Unmarshal(raw, &h); err != nil {
			return errors.New("want an object of strings")
		}
		k.hash = make(map[string]string, len(h))
		for f, v := range h {
			field, err := dec(f)
			if err != nil {
				return fmt.Errorf("field: %w", err)
			}
			if k.hash[field], err = dec(v); err != nil {
				return fmt.Errorf("field %q: %w", field, err)
			}
		}
		return nil
	case typeList, typeSet:
		var l []string
		if err := json.Unmarshal(raw, &l); err != nil {
			return errors.New("want an array of strings")
		}
		k.elems, err = decodeAll(l)
		return err
	case typeZSet:
		var l []member
		if err := json.Unmarshal(raw, &l); err != nil {
			return errors.New(`want an array of {"member", "score"}`)
		}
		k.zset = make([]zmember, len(l))
		for i, m := range l {
			score, err := strconv.ParseFloat(m.Score, 64)
			if err != nil || math.IsNaN(score) {
				return fmt.Errorf("[%d].score: want a number, +inf or -inf; got %q", i, m.Score)
			}
			name, err := dec(m.Member)
			if err != nil {
				return fmt.Errorf("[%d].member: %w", i, err)
			}
			k.zset[i] = zmember{member: name, score: score}
		}
		return nil
	}
	return fmt.Errorf("type: want string, hash, list, set or zset; got %q", k.typ)
}

// restore writes keys, whose names differ, into m's database 0, which
// must be empty, as they were at now: a key or hash field whose expiry has passed is left out,
// the others get the time to live they have left.
func restore(m *miniredis.Miniredis, keys []key, now time.Time) (int, error) {
	db := m.DB(0)
	left := func(t int64) time.Duration { return time.UnixMilli(t).Sub(now) }
	n := 0
	for i := range keys {
		k := &keys[i]
		if k.expires != 0 && left(k.expires) <= 0 {
			continue
		}
		var err error
		switch k.typ {
		case typeString:
			err = db.Set(k.name, k.str)
		case typeHash:
			var fv []string
			for f, v := range k.hash {
				if t, ok := k.fieldExpires[f]; !ok || left(t) > 0 {
					fv = append(fv, f, v)
				}
			}
			if len(fv) == 0 {
				continue
			}
			db.HSet(k.name, fv...)
			for f, t := range k.fieldExpires {
				if left(t) > 0 {
					db.HExpire(k.name, f, left(t))
				}
			}
		case typeList:
			if len(k.elems) == 0 {
				continue
			}
			_, err = db.Push(k.name, k.elems...)
		case typeSet:
			if len(k.elems) == 0 {
				continue
			}
			_, err = db.SetAdd(k.name, k.elems...)
		case typeZSet:
			if len(k.zset) == 0 {
				continue
			}
			for _, z := range k.zset {
				if _, err = db.ZAdd(k.name, z.score, z.member); err != nil {
					break
				}
			}
		}
		if err != nil {
			return n, fmt.Errorf("cannot restore key %q: %w", k.name, err)
		}
		if k.expires != 0 {
			db.SetTTL(k.name, left(k.expires))
		}
		n++
	}
	return n, nil
}
