package snapshot

import (
	"bytes"
	"testing"

	"github.com/alicebob/miniredis/v2"
)

// FuzzDecode feeds the loader what a snapshot file could hold: it must
// never panic, and what it accepts must restore, and save again to a
// snapshot that loads to the same thing (encode ∘ restore ∘ decode is a
// fixed point after one pass).
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"format":"streamgate-redis-snapshot","version":1,"keys":[]}`,
		`{"format":"streamgate-redis-snapshot","version":1,"keys":[` +
			`{"key":"streamgate:draft","type":"string","value":"{\"rules\":[]}"},` +
			`{"key":"streamgate:manifests","type":"list","value":["{}","{}"]},` +
			`{"key":"streamgate:instance:a","type":"hash","value":{"id":"a","pid":"1"},"expires_unix_ms":1767225660000,"field_expires_unix_ms":{"pid":1767225601000}},` +
			`{"key":"streamgate:fleet","type":"zset","value":[{"member":"a","score":"1767225594000"},{"member":"b","score":"+Inf"}]},` +
			`{"key":"tags","type":"set","value":["x","y"]},` +
			`{"key":"/w==","type":"string","encoding":"base64","value":"AAE="}]}`,
		`{"format":"streamgate-redis-snapshot","version":2,"keys":[]}`,
		`{"format":"streamgate-redis-snapshot","version":1,"keys":[{"key":"a","type":"zset","value":[{"member":"m","score":"-0"},{"member":"m","score":"1"}]}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
		// Partial files, as a crash of something other than this writer
		// could leave them.
		for _, n := range []int{1, len(s) / 3, len(s) / 2, len(s) - 1} {
			f.Add([]byte(s[:n]))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := decode(data)
		if err != nil {
			return
		}
		once := roundTrip(t, keys)
		keys2, err := decode(once)
		if err != nil {
			t.Fatalf("cannot decode what was saved: %v\n%s", err, once)
		}
		if twice := roundTrip(t, keys2); !bytes.Equal(once, twice) {
			t.Fatalf("saved twice differently:\n%s\n%s", once, twice)
		}
	})
}

// roundTrip restores keys into a new Redis at t0 and encodes it.
func roundTrip(t *testing.T, keys []key) []byte {
	t.Helper()
	m := miniredis.NewMiniRedis()
	if _, err := restore(m, keys, t0); err != nil {
		t.Fatalf("cannot restore what decoded: %v", err)
	}
	data, _, err := encode(m, t0)
	if err != nil {
		t.Fatalf("cannot encode what restored: %v", err)
	}
	return data
}
