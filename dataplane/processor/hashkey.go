package processor

import (
	"fmt"
	"sync/atomic"
)

// MinHashKeyLen is the shortest key SetHashKey takes: 16 bytes, 32 or more
// recommended (HMAC-SHA256 uses up to 64).
const MinHashKeyLen = 16

// hashKey is the key of redact's hash action. It is process-wide and never
// part of a manifest: a manifest travels through Redis and the API, the key
// must not.
var hashKey atomic.Pointer[[]byte]

// SetHashKey sets the key of redact's hash action for the process; rules
// built afterwards use it. Every data plane of a fleet needs the same key,
// so that a value gives the same token everywhere, and so does the control
// plane, which validates rules as the data planes will. The key is kept in
// memory only; nothing shows it.
func SetHashKey(key []byte) error {
	if len(key) < MinHashKeyLen {
		return fmt.Errorf("cannot use the hash key: %d bytes; want at least %d", len(key), MinHashKeyLen)
	}
	k := append([]byte(nil), key...)
	hashKey.Store(&k)
	return nil
}
