package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"streamgate/control/store"
	"streamgate/dataplane/processor"
	"streamgate/dataplane/rdb"
)

// t0 is the clock of the tests, on a whole millisecond.
var t0 = time.UnixMilli(1767225600000)

// logBuffer collects log lines; retries log from their own goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newSnapshotter returns a Snapshotter of a new miniredis to dir/FileName,
// at t0, and what it logs.
func newSnapshotter(t *testing.T, dir string) (*Snapshotter, *miniredis.Miniredis, *logBuffer) {
	t.Helper()
	var logs logBuffer
	m := miniredis.NewMiniRedis()
	s := New(m, filepath.Join(dir, FileName), Options{
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
		RetryEvery: 10 * time.Millisecond,
	})
	s.now = func() time.Time { return t0 }
	t.Cleanup(func() { s.Close() })
	return s, m, &logs
}

// dump describes every key of m's database 0: type, value and time to
// live, in a form tests compare.
func dump(m *miniredis.Miniredis) map[string]string {
	db := m.DB(0)
	out := map[string]string{}
	for _, k := range db.Keys() {
		var v any
		switch typ := db.Type(k); typ {
		case typeString:
			v, _ = db.Get(k)
		case typeHash:
			h := map[string]string{}
			fields, _ := db.HKeys(k)
			for _, f := range fields {
				h[f] = db.HGet(k, f)
				if ttl := db.HTTL(k, f); ttl != 0 {
					h[f] += fmt.Sprintf(" (ttl %s)", ttl)
				}
			}
			v = h
		case typeList:
			v, _ = db.List(k)
		case typeSet:
			v, _ = db.Members(k)
		case typeZSet:
			z, _ := db.SortedSet(k)
			s := map[string]string{}
			for m, score := range z {
				s[m] = fmt.Sprint(score)
			}
			v = s
		default:
			v = "(" + typ + ")"
		}
		out[k] = fmt.Sprintf("%s %q ttl=%s", db.Type(k), v, db.TTL(k))
	}
	return out
}

// fill writes one key of every type, and the awkward values: bytes that
// are not UTF-8, empty strings, infinite scores, times to live.
func fill(t *testing.T, m *miniredis.Miniredis) {
	t.Helper()
	db := m.DB(0)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(nil, db.Set("plain", `{"rules":[{"id":"a"}]}`))
	must(nil, db.Set("empty", ""))
	must(nil, db.Set("unicode ✓", "ünïcödé ✓"))
	must(nil, db.Set("bin\xff\x00key", "\x00\x01\xfe\xff"))
	must(nil, db.Set("volatile", "goes in 10s"))
	db.SetTTL("volatile", 10*time.Second)
	must(nil, db.Set("long-lived", "goes in an hour"))
	db.SetTTL("long-lived", time.Hour)
	db.HSet("hash", "f1", "v1", "f2", "", "bin\xfe", "v\xff")
	db.HSet("hash-ttl", "stays", "1", "goes", "2", "later", "3")
	db.HExpire("hash-ttl", "goes", 5*time.Second)
	db.HExpire("hash-ttl", "later", time.Hour)
	must(db.Push("list", "c", "a", "b", "a", ""))
	must(db.SetAdd("set", "x", "y", "z\xff"))
	must(db.ZAdd("zset", 2.5, "b"))
	must(db.ZAdd("zset", -1, "a"))
	must(db.ZAdd("zset", math.Inf(1), "top"))
	must(db.ZAdd("zset", math.Inf(-1), "bottom"))
	must(db.ZAdd("zset", 1767225600000, "heartbeat"))
}

// TestRoundTrip: every key type, and every awkward value, comes back as it
// was saved; times to live count on while the process is down, and what
// expired meanwhile is not restored.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, m, _ := newSnapshotter(t, dir)
	fill(t, m)
	want := dump(m)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name  string
		after time.Duration // since the save
		gone  []string      // keys that expired meanwhile
	}{
		{name: "at once"},
		{name: "4s later", after: 4 * time.Second},
		{name: "11s later", after: 11 * time.Second, gone: []string{"volatile"}},
		{name: "2h later", after: 2 * time.Hour, gone: []string{"volatile", "long-lived"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s2, m2, logs := newSnapshotter(t, dir)
			s2.now = func() time.Time { return t0.Add(c.after) }
			n, err := s2.Load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got := dump(m2)
			if n != len(got) {
				t.Errorf("Load restored %d keys; the Redis holds %d", n, len(got))
			}
			for k, w := range want {
				if slices.Contains(c.gone, k) {
					if g, ok := got[k]; ok {
						t.Errorf("key %q: got %s; want it expired", k, g)
					}
					continue
				}
				w = shiftTTLs(t, k, w, c.after)
				if got[k] != w {
					t.Errorf("key %q:\ngot  %s\nwant %s", k, got[k], w)
				}
			}
			if len(got) != len(want)-len(c.gone) {
				t.Errorf("got %d keys; want %d", len(got), len(want)-len(c.gone))
			}
			if logs.String() != "" {
				t.Errorf("Load logged %q; want nothing", logs.String())
			}
		})
	}
}

// shiftTTLs rewrites the times to live in a dump line as they are after
// more time went by, and drops the hash fields that expired.
func shiftTTLs(t *testing.T, key, line string, after time.Duration) string {
	t.Helper()
	switch key {
	case "volatile":
		return strings.Replace(line, "ttl=10s", "ttl="+(10*time.Second-after).String(), 1)
	case "long-lived":
		return strings.Replace(line, "ttl=1h0m0s", "ttl="+(time.Hour-after).String(), 1)
	case "hash-ttl":
		h := map[string]string{"stays": "1"}
		if after < 5*time.Second {
			h["goes"] = fmt.Sprintf("2 (ttl %s)", 5*time.Second-after)
		}
		if after < time.Hour {
			h["later"] = fmt.Sprintf("3 (ttl %s)", time.Hour-after)
		}
		return fmt.Sprintf("hash %q ttl=0s", h)
	}
	return line
}

// TestFileFormat: the file says what it is, its version, and each key's
// type and value readably; bytes that are not UTF-8 are base64.
func TestFileFormat(t *testing.T) {
	s, m, _ := newSnapshotter(t, t.TempDir())
	m.DB(0).Set("streamgate:draft", `{"rules":[]}`)
	m.DB(0).Set("bin", "\xff")
	m.DB(0).SetTTL("bin", time.Second)
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "format": "streamgate-redis-snapshot",
  "version": 1,
  "keys": [
    {
      "key": "Ymlu",
      "type": "string",
      "encoding": "base64",
      "expires_unix_ms": 1767225601000,
      "value": "/w=="
    },
    {
      "key": "streamgate:draft",
      "type": "string",
      "value": "{\"rules\":[]}"
    }
  ]
}
`
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
}

// TestStoreStateSurvives: what the control plane's store writes (draft,
// version counter, history, published manifest, heartbeats) is all saved
// by the store's Written hook, before each call returns, and a new Redis
// loaded from the file gives the store the same state.
func TestStoreStateSurvives(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, m, _ := newSnapshotter(t, dir)
	s.now = time.Now // real time: the heartbeat's time to live is counted from now
	if err := m.Start(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer c.Close()
	st := store.New(c, store.Options{Written: s.Changed})

	onDisk := func() map[string]string {
		t.Helper()
		m2 := miniredis.NewMiniRedis()
		s2 := New(m2, s.Path(), Options{})
		if _, err := s2.Load(); err != nil {
			t.Fatal(err)
		}
		return dump(m2)
	}
	filter := processor.Config{ID: "drop_debug", Type: "filter", Params: json.RawMessage(`{"value":"DEBUG"}`)}
	if err := st.AddRule(ctx, filter); err != nil {
		t.Fatal(err)
	}
	if got := onDisk()[store.DraftKey]; !strings.Contains(got, "drop_debug") {
		t.Fatalf("after AddRule, the file holds the draft %s; want the rule in it", got)
	}
	if _, _, err := st.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rdb.WriteHeartbeat(ctx, c, &rdb.Heartbeat{ID: "dp-1", Version: "1"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := st.SetBatchSize(ctx, 7); err != nil { // saves the heartbeat too
		t.Fatal(err)
	}
	want := dump(m)
	got := onDisk()
	for _, k := range []string{store.DraftKey, store.VersionKey, store.HistoryKey, rdb.ConfigKey, rdb.FleetKey, rdb.InstanceKeyPrefix + "dp-1"} {
		if _, ok := want[k]; !ok {
			t.Errorf("the store wrote no key %s; the test expects it", k)
		}
	}
	for k, w := range want {
		g := got[k]
		if k == rdb.InstanceKeyPrefix+"dp-1" { // its time to live counted down meanwhile
			g, w = g[:strings.LastIndex(g, "ttl=")], w[:strings.LastIndex(w, "ttl=")]
		}
		if g != w {
			t.Errorf("key %s on disk:\n%s\nwant\n%s", k, got[k], want[k])
		}
	}

	// A store on the restored Redis sees the same state.
	m2 := miniredis.NewMiniRedis()
	if _, err := New(m2, s.Path(), Options{}).Load(); err != nil {
		t.Fatal(err)
	}
	if err := m2.Start(); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	c2 := redis.NewClient(&redis.Options{Addr: m2.Addr()})
	defer c2.Close()
	st2 := store.New(c2, store.Options{})
	rules, err := st2.Rules(ctx)
	if err != nil || len(rules) != 1 || rules[0].ID != "drop_debug" {
		t.Errorf("restored rules: %v, %v; want drop_debug", rules, err)
	}
	if n, err := st2.BatchSize(ctx); err != nil || n != 7 {
		t.Errorf("restored batch size: %d, %v; want 7", n, err)
	}
	ms, err := st2.Manifests(ctx)
	if err != nil || len(ms) != 1 || ms[0].Version != "1" {
		t.Errorf("restored history: %v, %v; want version 1", ms, err)
	}
	if m, _, err := st2.Publish(ctx); err != nil || m.Version != "2" {
		t.Errorf("publish after restore: %v, %v; want version 2", m, err)
	}
}

// TestLoadMissing: no file is an empty Redis, and saving an empty Redis
// writes no file.
func TestLoadMissing(t *testing.T) {
	s, m, logs := newSnapshotter(t, filepath.Join(t.TempDir(), "data"))
	if n, err := s.Load(); n != 0 || err != nil {
		t.Fatalf("Load: %d, %v; want 0, nil", n, err)
	}
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(s.Path())); !os.IsNotExist(err) {
		t.Errorf("data directory: %v; want none created for an empty redis", err)
	}
	if len(m.Keys()) != 0 || logs.String() != "" {
		t.Errorf("keys %q, logs %q; want none", m.Keys(), logs.String())
	}
}

// TestLoadCorrupt: a snapshot that cannot be read or decoded is moved
// aside, whole, to a name of its own, an ERROR names both paths, the Redis
// starts empty, and the next save writes a new file without touching the
// one moved aside.
func TestLoadCorrupt(t *testing.T) {
	valid := `{"format":"streamgate-redis-snapshot","version":1,"keys":[%s]}`
	for _, c := range []struct {
		name string
		data string // "" for a directory in its place
		want string // in the error logged
	}{
		{name: "empty", data: "\n", want: "not JSON"},
		{name: "truncated", data: `{"format":"streamgate-redis-snapshot","version":1,"keys":[{"key":"a","type":"string","val`, want: "not JSON"},
		{name: "not a snapshot", data: `{"rules":[]}`, want: `format: want "streamgate-redis-snapshot"`},
		{name: "no version", data: `{"format":"streamgate-redis-snapshot","keys":[]}`, want: "version: want a positive number"},
		{name: "version 0", data: `{"format":"streamgate-redis-snapshot","version":0,"keys":[]}`, want: "version: want a positive number"},
		{name: "unknown field", data: `{"format":"streamgate-redis-snapshot","version":1,"keys":[],"extra":1}`, want: `unknown field "extra"`},
		{name: "data after", data: fmt.Sprintf(valid, "") + `{}`, want: "not JSON: invalid character '{' after top-level value"},
		{name: "unknown type", data: fmt.Sprintf(valid, `{"key":"a","type":"stream","value":[]}`), want: `keys[0]: key "a": value: type: want string, hash, list, set or zset; got "stream"`},
		{name: "wrong shape", data: fmt.Sprintf(valid, `{"key":"a","type":"list","value":"x"}`), want: `keys[0]: key "a": value: want an array of strings`},
		{name: "no value", data: fmt.Sprintf(valid, `{"key":"a","type":"string"}`), want: `keys[0]: key "a": value: missing`},
		{name: "null value", data: fmt.Sprintf(valid, `{"key":"a","type":"hash","value":null}`), want: `keys[0]: key "a": value: missing`},
		{name: "bad base64", data: fmt.Sprintf(valid, `{"key":"!!","type":"string","encoding":"base64","value":""}`), want: "keys[0]: key: illegal base64"},
		{name: "unknown encoding", data: fmt.Sprintf(valid, `{"key":"a","type":"string","encoding":"hex","value":""}`), want: `encoding: want "base64" or none; got "hex"`},
		{name: "NaN score", data: fmt.Sprintf(valid, `{"key":"z","type":"zset","value":[{"member":"m","score":"NaN"}]}`), want: `keys[0]: key "z": value: [0].score`},
		{name: "negative expiry", data: fmt.Sprintf(valid, `{"key":"a","type":"string","value":"","expires_unix_ms":-1}`), want: "expires_unix_ms: want a time after 1970"},
		{name: "field expiry on a list", data: fmt.Sprintf(valid, `{"key":"a","type":"list","value":["x"],"field_expires_unix_ms":{"x":1}}`), want: "only a hash has fields"},
		{name: "expiry of no field", data: fmt.Sprintf(valid, `{"key":"h","type":"hash","value":{"f":"v"},"field_expires_unix_ms":{"g":1}}`), want: `field "g" is not in the hash`},
		{name: "key twice", data: fmt.Sprintf(valid, `{"key":"a","type":"string","value":"1"},{"key":"a","type":"list","value":["2"]}`), want: `keys[1]: key "a" appears twice`},
		{name: "unreadable: a directory", want: "is a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, m, logs := newSnapshotter(t, dir)
			if c.data == "" {
				if err := os.Mkdir(s.Path(), 0o700); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(s.Path(), []byte(c.data), 0o600); err != nil {
				t.Fatal(err)
			}
			n, err := s.Load()
			if n != 0 || err != nil {
				t.Fatalf("Load: %d, %v; want 0, nil: start empty", n, err)
			}
			aside := s.Path() + ".corrupt-20260101T000000Z"
			if c.data != "" {
				if got, err := os.ReadFile(aside); err != nil || string(got) != c.data {
					t.Errorf("moved aside: %q, %v; want the file as it was", got, err)
				}
			} else if fi, err := os.Stat(aside); err != nil || !fi.IsDir() {
				t.Errorf("moved aside: %v; want the directory", err)
			}
			if _, err := os.Lstat(s.Path()); !os.IsNotExist(err) {
				t.Errorf("%s after Load: %v; want it gone", s.Path(), err)
			}
			log := logs.String()
			// The text handler quotes the error.
			for _, want := range []string{"level=ERROR", "path=" + s.Path(), "moved_to=" + aside, strings.Trim(strconv.Quote(c.want), `"`)} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if len(m.Keys()) != 0 {
				t.Errorf("keys %q; want an empty redis", m.Keys())
			}

			m.DB(0).Set("new", "state")
			if err := s.Save(); err != nil {
				t.Fatal(err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 2 {
				t.Errorf("directory holds %v; want the new snapshot and the one moved aside", entries)
			}
		})
	}
}

// TestMoveAsideKeepsEarlier: a second corrupt file in the same second gets
// a name of its own; the first one moved aside is kept.
func TestMoveAsideKeepsEarlier(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	var got []string
	for i := range 3 {
		if err := os.WriteFile(path, []byte(fmt.Sprint("corrupt ", i)), 0o600); err != nil {
			t.Fatal(err)
		}
		aside, err := moveAside(path, t0)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, filepath.Base(aside))
	}
	want := []string{FileName + ".corrupt-20260101T000000Z", FileName + ".corrupt-20260101T000000Z-2", FileName + ".corrupt-20260101T000000Z-3"}
	if !slices.Equal(got, want) {
		t.Fatalf("moved aside to %q; want %q", got, want)
	}
	for i, name := range want {
		if b, _ := os.ReadFile(filepath.Join(dir, name)); string(b) != fmt.Sprint("corrupt ", i) {
			t.Errorf("%s holds %q; want %q", name, b, fmt.Sprint("corrupt ", i))
		}
	}
}

// TestLoadNewerFormat: a snapshot of a newer format version is refused,
// and left as it is.
func TestLoadNewerFormat(t *testing.T) {
	dir := t.TempDir()
	s, m, _ := newSnapshotter(t, dir)
	data := `{"format":"streamgate-redis-snapshot","version":2,"keys":[],"new_field":true}`
	if err := os.WriteFile(s.Path(), []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load()
	if !errors.Is(err, ErrNewerFormat) || !strings.Contains(err.Error(), "format version 2, and this build reads version 1 at most") || !strings.Contains(err.Error(), s.Path()) {
		t.Fatalf("Load: %v; want ErrNewerFormat naming the file and both versions", err)
	}
	if got, _ := os.ReadFile(s.Path()); string(got) != data {
		t.Errorf("file after Load: %q; want it untouched", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 || len(m.Keys()) != 0 {
		t.Errorf("directory %v, keys %q; want the file alone and an empty redis", entries, m.Keys())
	}
}

// TestUnsupportedType: a key of a type a snapshot cannot hold fails the
// save, naming it, rather than being left out.
func TestUnsupportedType(t *testing.T) {
	s, m, _ := newSnapshotter(t, t.TempDir())
	m.DB(0).Set("kept", "1")
	if _, err := m.DB(0).XAdd("events", "*", []string{"f", "v"}); err != nil {
		t.Fatal(err)
	}
	err := s.Save()
	if err == nil || !strings.Contains(err.Error(), `key "events": a stream, which a snapshot cannot hold`) {
		t.Fatalf("Save: %v; want an error naming the stream", err)
	}
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Errorf("snapshot: %v; want none written", err)
	}
}

// TestFileModes: the data directory is created mode 0700, the snapshot
// written mode 0600.
func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s, m, _ := newSnapshotter(t, dir)
	m.DB(0).Set("k", "v")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{filepath.Dir(dir), 0o700}, {dir, 0o700}, {s.Path(), 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.want {
			t.Errorf("%s: mode %v; want %v", c.path, got, c.want)
		}
	}
}

// TestAtomicWrite: a write that fails leaves the previous snapshot whole
// and no temporary file behind.
func TestAtomicWrite(t *testing.T) {
	t.Run("sync fails", func(t *testing.T) {
		dir := t.TempDir()
		s, m, _ := newSnapshotter(t, dir)
		m.DB(0).Set("k", "old")
		if err := s.Save(); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(s.Path())

		defer func(f func(*os.File) error) { syncFile = f }(syncFile)
		syncFile = func(*os.File) error { return errors.New("disk on fire") }
		m.DB(0).Set("k", "new")
		if err := s.Save(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Fatalf("Save: %v; want the sync's error", err)
		}
		if after, _ := os.ReadFile(s.Path()); !bytes.Equal(after, before) {
			t.Errorf("snapshot after a failed write:\n%s\nwant as before:\n%s", after, before)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("directory holds %v; want the snapshot alone", entries)
		}
	})
	t.Run("rename fails", func(t *testing.T) {
		dir := t.TempDir()
		s, m, _ := newSnapshotter(t, dir)
		// A non-empty directory where the snapshot goes: no rename replaces it.
		if err := os.MkdirAll(filepath.Join(s.Path(), "x"), 0o700); err != nil {
			t.Fatal(err)
		}
		m.DB(0).Set("k", "v")
		if err := s.Save(); err == nil {
			t.Fatal("Save over a directory: got nil; want an error")
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 || entries[0].Name() != FileName {
			t.Errorf("directory holds %v; want no temporary file", entries)
		}
	})
	t.Run("leftovers removed at load", func(t *testing.T) {
		dir := t.TempDir()
		s, _, _ := newSnapshotter(t, dir)
		left := filepath.Join(dir, tempPrefix(s.Path())+"123")
		if err := os.WriteFile(left, []byte(`{"format":`), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(left); !os.IsNotExist(err) {
			t.Errorf("temporary file of an unfinished save: %v; want it removed", err)
		}
	})
}

// TestSaveWritesChangesOnly: an unchanged Redis is not written again; a
// change is; Close writes once more.
func TestSaveWritesChangesOnly(t *testing.T) {
	s, m, _ := newSnapshotter(t, t.TempDir())
	steps := []struct {
		name   string
		op     func() error
		writes uint64
	}{
		{"first", func() error { m.DB(0).Set("k", "1"); return s.Save() }, 1},
		{"unchanged", s.Save, 1},
		{"changed", func() error { m.DB(0).Set("k", "2"); return s.Save() }, 2},
		{"changed back and forth", func() error { m.DB(0).Set("k", "3"); m.DB(0).Set("k", "2"); return s.Save() }, 2},
		{"close", s.Close, 3},
		{"close again", s.Close, 3},
		{"save after close", func() error { m.DB(0).Set("k", "4"); return s.Save() }, 3},
	}
	for _, st := range steps {
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := s.Writes(); got != st.writes {
			t.Errorf("%s: %d writes; want %d", st.name, got, st.writes)
		}
	}
}

// TestChangedRetries: a save that fails is logged, counted and retried
// until it succeeds.
func TestChangedRetries(t *testing.T) {
	s, m, logs := newSnapshotter(t, t.TempDir())
	var mu sync.Mutex
	failing := true
	defer func(f func(*os.File) error) { syncFile = f }(syncFile)
	syncFile = func(f *os.File) error {
		mu.Lock()
		defer mu.Unlock()
		if failing {
			return errors.New("no space left on device")
		}
		return f.Sync()
	}
	m.DB(0).Set("k", "v")
	s.Changed()
	if s.Failures() != 1 || !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "no space left on device") {
		t.Fatalf("after a failed save: %d failures, logs %q; want 1 and an ERROR", s.Failures(), logs.String())
	}
	if _, err := os.Stat(s.Path()); !os.IsNotExist(err) {
		t.Fatalf("snapshot: %v; want none yet", err)
	}
	mu.Lock()
	failing = false
	mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), "saved again") {
		if time.Now().After(deadline) {
			t.Fatalf("no successful retry; logs:\n%s", logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	data, err := os.ReadFile(s.Path())
	if err != nil || !strings.Contains(string(data), `"value": "v"`) {
		t.Errorf("snapshot after the retry: %q, %v; want the key", data, err)
	}
}

// TestConcurrentChanges: concurrent writers each find their own write on
// disk when Changed returns.
func TestConcurrentChanges(t *testing.T) {
	s, m, _ := newSnapshotter(t, t.TempDir())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				k, v := fmt.Sprint("w", w), fmt.Sprint(i)
				m.DB(0).Set(k, v)
				s.Changed()
				data, err := os.ReadFile(s.Path())
				if err != nil {
					errs <- err
					return
				}
				var doc document
				if err := json.Unmarshal(data, &doc); err != nil {
					errs <- err
					return
				}
				i := slices.IndexFunc(doc.Keys, func(e entry) bool { return e.Key == k })
				if i < 0 || string(doc.Keys[i].Value) != fmt.Sprintf("%q", v) {
					errs <- fmt.Errorf("writer %d: after Changed, the file holds %v; want %s=%s", w, doc.Keys, k, v)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestLoadIntoNonEmpty: loading over keys is a bug of the caller's; the
// snapshot is left as it is, not taken for corrupt.
func TestLoadIntoNonEmpty(t *testing.T) {
	dir := t.TempDir()
	s, m, _ := newSnapshotter(t, dir)
	m.DB(0).Set("k", "v")
	if err := s.Save(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(s.Path())
	s2, m2, _ := newSnapshotter(t, dir)
	m2.DB(0).Set("other", "x")
	if _, err := s2.Load(); err == nil || !strings.Contains(err.Error(), "BUG") {
		t.Fatalf("Load into a redis with keys: %v; want a BUG error", err)
	}
	if after, _ := os.ReadFile(s.Path()); !bytes.Equal(after, before) {
		t.Errorf("snapshot after the refused load: %q; want it untouched", after)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v; want the snapshot alone", entries)
	}
}
