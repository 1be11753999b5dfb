package match

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"sync"
	"unicode"
	"unicode/utf8"
)

// An Action says what replaces a finding: a fixed text (Mask), the finding
// with all but its last characters masked (Partial), or a keyed token
// (Hash).
type Action interface {
	// appendFor appends what replaces finding to dst. It does not keep
	// finding.
	appendFor(dst, finding []byte) []byte
}

// Mask replaces a finding with repl.
func Mask(repl string) Action { return maskAction(repl) }

type maskAction string

func (a maskAction) appendFor(dst, _ []byte) []byte { return append(dst, a...) }

// Partial keeps the last keep letters and digits of a finding, but never
// more than half of them, and replaces the others with '*', keeping every
// other character, such as separators: 4111-1111-1111-1111 becomes
// ****-****-****-1111 with keep 4, and abc1 becomes **c1.
func Partial(keep int) Action { return partialAction(keep) }

type partialAction int

func (a partialAction) appendFor(dst, finding []byte) []byte {
	// At most half the letters and digits are kept, so that a short
	// finding, or a large keep, never leaves a value whole.
	n := 0
	for i := 0; i < len(finding); {
		r, size := utf8.DecodeRune(finding[i:])
		if isAlnumRune(r) {
			n++
		}
		i += size
	}
	keep := min(int(a), n/2)
	// Count the letters and digits from the end, to know where masking
	// stops.
	kept, cut := 0, len(finding)
	for cut > 0 && kept < keep {
		r, size := utf8.DecodeLastRune(finding[:cut])
		cut -= size
		if isAlnumRune(r) {
			kept++
		}
	}
	for i := 0; i < cut; {
		r, size := utf8.DecodeRune(finding[i:])
		if isAlnumRune(r) {
			dst = append(dst, '*')
		} else {
			dst = append(dst, finding[i:i+size]...)
		}
		i += size
	}
	return append(dst, finding[cut:]...)
}

func isAlnumRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isAlnum(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// TokenPrefix starts every token Hash writes.
const TokenPrefix = "tok_"

// Hash replaces a finding with a keyed token: TokenPrefix and the first 16
// hex digits of its HMAC-SHA256 under key. The same value gives the same
// token wherever the same key is used, so counts and joins still work at
// the receiver; without the key, a token cannot be turned back into its
// value, even for values as few as the SSNs or IPv4 addresses, which a
// plain hash would give away to anyone who hashes them all.
func Hash(key []byte) Action {
	k := append([]byte(nil), key...)
	a := &hashAction{}
	a.pool.New = func() any { return &keyedMAC{h: hmac.New(sha256.New, k)} }
	return a
}

type hashAction struct {
	pool sync.Pool // of *keyedMAC
}

// keyedMAC is an HMAC with room for its sum, so that a token costs no
// allocation.
type keyedMAC struct {
	h   hash.Hash
	sum [sha256.Size]byte
}

func (a *hashAction) appendFor(dst, finding []byte) []byte {
	m := a.pool.Get().(*keyedMAC)
	m.h.Reset()
	m.h.Write(finding)
	sum := m.h.Sum(m.sum[:0])
	dst = append(dst, TokenPrefix...)
	dst = hex.AppendEncode(dst, sum[:8])
	a.pool.Put(m)
	return dst
}
