package processor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"testing"
)

// withHashKey sets the process's hash key for the test, or clears it for
// nil, and restores it after.
func withHashKey(t testing.TB, key []byte) {
	t.Helper()
	old := hashKey.Load()
	if key == nil {
		hashKey.Store(nil)
	} else if err := SetHashKey(key); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hashKey.Store(old) })
}

// token is what the hash action writes for v under key.
func token(key []byte, v string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v))
	return "tok_" + hex.EncodeToString(m.Sum(nil)[:8])
}

func TestRedactActions(t *testing.T) {
	key := []byte("test-key-0123456789abcdef")
	withHashKey(t, key)
	tests := []struct {
		params, in, want string
	}{
		{`{"detector": "credit_card", "action": "partial"}`, "card=4111-1111-1111-1111 ok", "card=****-****-****-1111 ok"},
		{`{"detector": "credit_card", "action": "partial", "keep": 2}`, "card=4111 1111 1111 1111", "card=**** **** **** **11"},
		{`{"pattern": "\\d{3}-\\d{2}-\\d{4}", "action": "partial"}`, "ssn=123-45-6789", "ssn=***-**-6789"},
		{`{"detector": "ssn", "action": "hash"}`, "ssn=123-45-6789 again 123-45-6789", "ssn=" + token(key, "123-45-6789") + " again " + token(key, "123-45-6789")},
		{`{"pattern": "user=\\w+", "action": "hash"}`, "a user=bob", "a " + token(key, "user=bob")},
		{`{"detector": "email", "action": "hash"}`, `{"e":"bob\u0040example.com"}`, `{"e":"` + token(key, "bob@example.com") + `"}`},
		{`{"detector": "email", "action": "mask", "replacement": "<email>"}`, "to bob@example.com", "to <email>"},
		{`{"detector": "email", "action": "drop"}`, "to bob@example.com", "<dropped>"},
		{`{"detector": "email", "action": "drop"}`, `{"to":"bob\u0040example.com"}`, "<dropped>"},
		{`{"detector": "email", "action": "drop"}`, "nothing here", "nothing here"},
	}
	for _, tt := range tests {
		if got := processLine(build(t, "redact", tt.params), tt.in); got != tt.want {
			t.Errorf("redact %s on %q: got %q; want %q", tt.params, tt.in, got, tt.want)
		}
	}
}

// TestRedactDropCounted: a line a drop rule removes is counted as filtered
// by that rule.
func TestRedactDropCounted(t *testing.T) {
	s, err := Build(Config{ID: "no_emails", Type: "redact", Params: json.RawMessage(`{"detector": "email", "action": "drop"}`)})
	if err != nil {
		t.Fatal(err)
	}
	var n counter
	s.Filtered = &n
	b := newBatch("a@b.io one", "clean", `{"x":"c\u0040d.io"}`, "also clean")
	NewChain(s).Run(b, false)
	if got := lines(b); len(got) != 2 || n != 2 {
		t.Fatalf("got %q, %d counted; want the two clean lines and 2 counted", got, n)
	}
}

// counter counts what a step filters.
type counter int

func (c *counter) Add(n int) { *c += counter(n) }

func TestRedactActionErrors(t *testing.T) {
	withHashKey(t, nil)
	tests := []struct{ params, want string }{
		{`{"detector": "ssn", "action": "hash"}`, "params.action: hash needs a key, and none is set"},
		{`{"detector": "ssn", "action": "partial", "replacement": "x"}`, `params.replacement: only with action mask; got action "partial"`},
		{`{"detector": "ssn", "keep": 2}`, "params.keep: only with action partial"},
		{`{"detector": "ssn", "action": "partial", "keep": -1}`, "params.keep: must not be negative; got -1"},
		{`{"detector": "ssn", "action": "shred"}`, `params.action: want "mask", "partial", "hash" or "drop"; got "shred"`},
	}
	for _, tt := range tests {
		if err := buildErr(t, "redact", tt.params); !regexp.MustCompile(regexp.QuoteMeta(tt.want)).MatchString(err.Error()) {
			t.Errorf("redact %s: got %q; want %q", tt.params, err, tt.want)
		}
	}
	if err := SetHashKey([]byte("short")); err == nil {
		t.Error("SetHashKey of 5 bytes: got nil; want an error")
	}
}

func TestRedactFields(t *testing.T) {
	key := []byte("test-key-0123456789abcdef")
	withHashKey(t, key)
	tests := []struct {
		params, in, want string
	}{
		{`{"fields": ["@secrets"]}`, `{"user":"bob","password":"hunter2","n":1}`, `{"user":"bob","password":"[REDACTED]","n":1}`},
		{`{"fields": "@secrets", "replacement": "***"}`, "login password=hunter2 ok", "login password=*** ok"},
		{`{"fields": ["headers.authorization"], "action": "hash"}`, `{"headers":{"authorization":"Bearer abc"}}`, `{"headers":{"authorization":"` + token(key, "Bearer abc") + `"}}`},
		{`{"detector": "ssn", "exclude_fields": ["trace_id"]}`, `{"trace_id":"123-45-6789","ssn":"123-45-6789"}`, `{"trace_id":"123-45-6789","ssn":"[REDACTED]"}`},
		{`{"fields": ["@secrets"], "action": "drop"}`, `{"token":"t"}`, "<dropped>"},
	}
	for _, tt := range tests {
		if got := processLine(build(t, "redact", tt.params), tt.in); got != tt.want {
			t.Errorf("redact %s on %q: got %q; want %q", tt.params, tt.in, got, tt.want)
		}
	}
	if err := buildErr(t, "redact", `{"fields": ["a..b"]}`); err.Error() != `params.fields[0]: "a..b" has an empty key` {
		t.Errorf("bad field path: got %q", err)
	}
}
