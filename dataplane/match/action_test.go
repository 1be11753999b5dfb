package match

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestPartial(t *testing.T) {
	tests := []struct {
		keep     int
		in, want string
	}{
		{4, "4111-1111-1111-1111", "****-****-****-1111"},
		{4, "4111 1111 1111 1111", "**** **** **** 1111"},
		{4, "4111111111111111", "************1111"},
		{4, "123-45-6789", "***-**-6789"},
		{2, "123-45-6789", "***-**-**89"},
		{4, "bob@example.com", "***@******e.com"},
		{4, "10.1.2.3", "**.*.2.3"}, // at most half kept
		{4, "abc", "**c"},
		{16, "4111111111111111", "********11111111"},
		{4, "abc1", "**c1"},
		{0, "a-b", "*-*"},
		{4, "José-Ñúñez", "****-*úñez"},
	}
	for _, tt := range tests {
		if got := string(Partial(tt.keep).appendFor(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("Partial(%d) of %q: got %q; want %q", tt.keep, tt.in, got, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	a := Hash(key)
	got := string(a.appendFor(nil, []byte("123-45-6789")))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("123-45-6789"))
	want := TokenPrefix + hex.EncodeToString(mac.Sum(nil)[:8])
	if got != want {
		t.Fatalf("Hash: got %q; want %q", got, want)
	}
	if again := string(a.appendFor(nil, []byte("123-45-6789"))); again != got {
		t.Fatalf("Hash twice: got %q and %q; want the same token", got, again)
	}
	if other := string(Hash([]byte("another key, another key, another")).appendFor(nil, []byte("123-45-6789"))); other == got {
		t.Fatalf("Hash under two keys gave the same token %q", got)
	}
	if other := string(a.appendFor(nil, []byte("123-45-6780"))); other == got {
		t.Fatalf("Hash of two values gave the same token %q", got)
	}
}

func TestReplacerWith(t *testing.T) {
	d, _ := LookupDetector("credit_card")
	tests := []struct {
		r        Replacer
		in, want string
	}{
		{d.ReplacerWith(Partial(4)), "card=4111 1111 1111 1111 ok", "card=**** **** **** 1111 ok"},
		{mustCompile(t, `\d{3}-\d{2}-\d{4}`).ReplacerWith(Partial(4)), "ssn=123-45-6789", "ssn=***-**-6789"},
		{mustCompile(t, `user=\w+`).ReplacerWith(Mask("user=?")), "a user=bob b", "a user=? b"},
		{JSONAware(d.ReplacerWith(Partial(4)), false), `{"c":"4111\u00201111\u00201111\u00201111"}`, `{"c":"**** **** **** 1111"}`},
	}
	for _, tt := range tests {
		if got := replace(tt.r, []byte(tt.in)); got != tt.want {
			t.Errorf("%q: got %q; want %q", tt.in, got, tt.want)
		}
	}
}
